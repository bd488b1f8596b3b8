"""Readers of the pieces of a :class:`~deltanet.data.stream.Stream`: Parquet row groups,
CSV chunks (read again from their byte offset), data frames; the column choice; memory sizes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_number, fail

Piece = Callable[[], tuple[np.ndarray, np.ndarray]]


def columns(names: list, target: Any, features: Any) -> tuple[list, list]:
    """The target columns and the feature columns (all others unless ``features``)."""
    targets = [target] if isinstance(target, str) else list(target or [])
    missing = [t for t in targets if t not in names]
    if not targets or missing:
        fail("the target column is not in the table", target,
             f"pass target= one of {names}")
    feats = [c for c in names if c not in targets] if features is None else list(features)
    unknown = [c for c in feats if c not in names]
    if unknown:
        fail("feature columns not in the table", unknown, f"pick from {names}")
    return targets, feats


def _as_float(frame: Any, columns: list) -> np.ndarray:
    try:
        return np.asarray(frame[columns].to_numpy(dtype=np.float64))
    except (TypeError, ValueError):
        fail("a streamed table needs numeric columns", columns,
             "encode text and category columns as numbers first (or load the table into "
             "memory, where deltanet's table preprocessing codes them)")


def frame_piece(load: Callable, feats: list, targets: list) -> Piece:
    def piece() -> tuple[np.ndarray, np.ndarray]:
        frame = load()
        return _as_float(frame, feats), _as_float(frame, targets)
    return piece


def arrow_piece(fragment: Any, feats: list, targets: list) -> Piece:
    def piece() -> tuple[np.ndarray, np.ndarray]:
        table = fragment.to_table(columns=feats + targets)
        return _arrow_float(table, feats), _arrow_float(table, targets)
    return piece


def _arrow_float(table: Any, columns: list) -> np.ndarray:
    out = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        col = table.column(name)
        try:
            out[:, j] = col.to_numpy()
        except (TypeError, ValueError):
            fail("a streamed table needs numeric columns", name,
                 "encode text and category columns as numbers first")
    return out


def csv_offsets(path: str, step: int) -> tuple[list[int], list[int]]:
    """Byte offset and row count of each chunk of ``step`` data rows (one pass, in lines;
    a CSV whose quoted fields hold line breaks is read by pandas in the chunk it starts)."""
    offsets, rows = [], []
    with open(path, "rb") as f:
        f.readline()  # the header
        at, n = f.tell(), 0
        for line in iter(f.readline, b""):
            if n == 0:
                offsets.append(at)
            n += 1
            at += len(line)
            if n == step:
                rows.append(n)
                n = 0
        if n:
            rows.append(n)
    return offsets, rows


def csv_piece(path: str, names: list, feats: list, targets: list, at: int, n: int) -> Piece:
    def piece() -> tuple[np.ndarray, np.ndarray]:
        import pandas as pd

        with open(path, "rb") as f:
            f.seek(at)
            frame = pd.read_csv(f, header=None, names=names, nrows=n)
        return _as_float(frame, feats), _as_float(frame, targets)
    return piece


_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_bytes(memory: Any) -> int:
    """A memory budget in bytes: a number of bytes, or ``'2GB'``, ``'500MB'``, ``'1.5GiB'``."""
    if isinstance(memory, str):
        text = memory.strip().upper().replace(" ", "")
        unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if text.endswith(u)),
                    "B")
        number = text[:len(text) - len(unit)]
        try:
            value = float(number) * _UNITS[unit]
        except ValueError:
            fail("memory must be a size", memory, "e.g. '2GB', '500MB' or a number of bytes")
    else:
        value = check_number("memory", memory, low=1)
    if not value >= 1:
        fail("memory must be at least one byte", memory, "e.g. '2GB'")
    return int(value)
