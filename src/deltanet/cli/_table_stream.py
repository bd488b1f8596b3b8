"""A table read in pieces for ``deltanet train``/``evaluate``/``search`` when it is larger
than the memory budget (``--memory``), or when ``--stream`` asks.

The pieces are a Parquet file's row groups (or those of every file of a folder), pieces of
a CSV file, or slices of a bundled dataset. Rows are numbered through the whole table; the
training, validation and test parts are the rows whose seeded hash ``u(r) ∈ [0, 1)`` falls
in each part's range (:meth:`deltanet.data.Stream.split`), so no part is ever held whole.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: rows of a CSV or dataset piece at most (fewer when the budget is small)
MAX_PIECE_ROWS = 65536


def budget(memory: int | None) -> int:
    """The memory budget in bytes: ``--memory``, or the default share of the RAM."""
    from deltanet.data.stream import default_memory

    return default_memory() if memory is None else int(memory)


def table_bytes(path: Path) -> int:
    """About how many bytes the table at ``path`` takes in memory: a CSV file's size, a
    Parquet file's (or folder's) uncompressed size; 0 when it is not a file or folder."""
    if path.is_dir():
        return sum(table_bytes(p) for p in sorted(path.rglob("*"))
                   if p.suffix.lower() in (".parquet", ".pq"))
    if not path.is_file():
        return 0
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(path).metadata
        except (OSError, ValueError):
            return 0  # reading it in memory reports the problem
        return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return path.stat().st_size


def should_stream(args: argparse.Namespace) -> bool:
    """``--stream``, or DATA larger than the memory budget."""
    return bool(getattr(args, "stream", False)) or \
        table_bytes(Path(args.data)) > budget(args.memory)


@dataclass
class Table:
    """A table in pieces: ``pieces[i]()`` reads ``rows[i]`` raw rows as a DataFrame."""

    name: str
    columns: list[str]
    pieces: list[Callable[[], Any]]
    rows: list[int]
    target: str | None  # a dataset's own target column

    def frames(self) -> Iterator[tuple[Any, np.ndarray]]:
        """Each piece in table order with the numbers of its rows."""
        start = 0
        for piece in self.pieces:
            frame = piece()
            yield frame, np.arange(start, start + len(frame))
            start += len(frame)


def open_table(data: str, memory: int | None, encoding: str | None = None,
               decimal_comma: bool = False) -> Table:
    """DATA in pieces: a CSV or Parquet file, a folder of Parquet files, or a dataset."""
    from deltanet.data.files import read_pieces

    from ._source import _looks_like_path, load_source

    path = Path(data)
    if path.exists() or _looks_like_path(data):
        step = _piece_rows(path, budget(memory))
        columns, pieces, rows = read_pieces(path, encoding, "," if decimal_comma else ".",
                                            step)
        return Table(path.name.split(".")[0] or path.name, columns, pieces, rows, None)
    source = load_source(data)
    frame, step = source.frame, MAX_PIECE_ROWS
    starts = range(0, len(frame), step)
    return Table(source.name, [str(c) for c in frame.columns],
                 [lambda a=a: frame.iloc[a:a + step] for a in starts],
                 [min(step, len(frame) - a) for a in starts], source.target)


def _piece_rows(path: Path, memory: int) -> int:
    """Rows of a CSV piece: at most a fiftieth of the budget (pandas holds a piece several
    times over while reading and coding it)."""
    if not path.is_file():
        return MAX_PIECE_ROWS
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    row_bytes = max(16, len(head) // max(1, head.count(b"\n")))
    return int(max(256, min(MAX_PIECE_ROWS, memory // (50 * row_bytes))))


def part_bounds(seed: int, val_size: float, test_size: float) -> dict[str, tuple]:
    """``{part: (seed, low, high)}``: a row is in the part when its hash is in
    ``[low, high)`` (the ranges of :meth:`deltanet.data.Stream.split`)."""
    from deltanet.data import Stream

    parts = Stream.from_arrays(np.zeros((1, 1)), np.zeros(1)).split(
        validation=val_size, test=test_size, random_state=seed)
    return {name: part.part for name, part in zip(("train", "validation", "test"), parts,
                                                   strict=True)}


def in_part(rows: np.ndarray, bounds: tuple) -> np.ndarray:
    """Which of ``rows`` (numbers in the table) fall in the part ``(seed, low, high)``."""
    from deltanet.data.stream import row_hash

    seed, low, high = bounds
    u = row_hash(rows, seed)
    return (u >= low) & (u < high)


def coded_stream(table: Table, code: Callable[[Any], tuple], n_inputs: int, n_outputs: int,
                 memory: int | None, shuffle_buffer: int | None) -> Any:
    """A :class:`deltanet.data.Stream` over the pieces of ``table`` coded by ``code``
    (raw rows -> inputs ``X`` and network targets ``Y``)."""
    from deltanet.data import Stream

    pieces = tuple((lambda i=i: code(table.pieces[i]())) for i in range(len(table.pieces)))
    return Stream._make(pieces, tuple(table.rows), n_inputs, n_outputs, budget(memory),
                        shuffle_buffer)


class CountedSource:
    """A stream whose windows advance a :class:`~._progress.StreamBar`'s rows."""

    def __init__(self, stream: Any, bar: Any) -> None:
        self.stream, self.bar = stream, bar

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def windows(self, rng: Any, shuffle: bool = True, start: Any = None) -> Iterator:
        for X, Y, position in self.stream.windows(rng, shuffle, start):
            yield X, Y, position
            self.bar.advance(len(X))
