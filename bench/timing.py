"""Repetitions and summaries: every figure is a median with the min and max over repetitions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """One timed training run: loop seconds, work done (updates or epochs), accuracy reached;
    ``compile_seconds`` when the run had to compile first (kept out of ``seconds``)."""

    seconds: float
    units: int
    accuracy: float | None = None
    compile_seconds: float | None = None
    note: str = ""  # how the peer ran, for the row's note


@dataclass
class Row:
    """One peer on one workload, summarised over repetitions.

    ``per_unit`` is seconds per update (per-example SGD) or per epoch (mini-batch, scaling).
    """

    workload: str
    peer: str
    dtype: str = ""
    per_unit: list[float] = field(default_factory=list)
    accuracy: float | None = None
    note: str = ""
    ratio: float = float("nan")
    compile_seconds: float | None = None

    @property
    def median(self) -> float:
        return float(np.median(self.per_unit)) if self.per_unit else float("nan")

    @property
    def low(self) -> float:
        return float(np.min(self.per_unit)) if self.per_unit else float("nan")

    @property
    def high(self) -> float:
        return float(np.max(self.per_unit)) if self.per_unit else float("nan")


@dataclass(frozen=True)
class Entry:
    """One peer to measure: its labels, the timed ``run`` and an untimed ``warmup``."""

    workload: str
    peer: str
    dtype: str
    run: Callable[[], Outcome]
    warmup: Callable[[], object] | None = None


def _attempt(row: Row, call: Callable[[], object]) -> object | None:
    """Call unless the row already failed; a failure becomes the row's note, not a crash."""
    if row.note.startswith("failed"):
        return None
    try:
        return call()
    except Exception as error:  # report the failure in the table, keep the other peers
        row.per_unit = []
        row.note = f"failed: {type(error).__name__}: {error}"[:160]
        return None


def measure_all(entries: list[Entry], reps: int) -> list[Row]:
    """Warm every peer up once (untimed), then time them in turns, ``reps`` rounds.

    Taking turns (peer 1, 2, ..., then again) spreads any passing load on the machine over
    all peers instead of one, so the ratios stay fair. Each run starts from scratch. A peer
    that fails (e.g. a library missing) gives a row with no times and the error as its
    note, so one broken peer never hides the others.
    """
    rows = [Row(entry.workload, entry.peer, entry.dtype) for entry in entries]
    for row, entry in zip(rows, entries, strict=True):
        if entry.warmup is not None:
            outcome = _attempt(row, entry.warmup)
            if isinstance(outcome, Outcome) and outcome.compile_seconds is not None:
                row.compile_seconds = outcome.compile_seconds
    for _ in range(reps):
        for row, entry in zip(rows, entries, strict=True):
            outcome = _attempt(row, entry.run)
            if outcome is not None:
                row.per_unit.append(outcome.seconds / outcome.units)
                row.accuracy = outcome.accuracy
                if outcome.compile_seconds is not None:
                    row.compile_seconds = outcome.compile_seconds
                row.note = outcome.note or row.note
    for row in rows:
        shown = f"median {row.median:.3g} s per unit" if row.per_unit else row.note
        print(f"  {row.workload:<22} {row.peer:<26} {row.dtype:<8} {shown}",
              file=sys.stderr, flush=True)
    return rows


def ratio(numerator: Row | None, denominator: Row | None) -> float:
    """Median of ``numerator`` over median of ``denominator`` (nan when either is missing)."""
    if numerator is None or denominator is None:
        return float("nan")
    if not numerator.per_unit or not denominator.per_unit:
        return float("nan")
    return numerator.median / denominator.median


def linear_fit(x: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Least squares t ≈ c0 + c1·x; returns (c0, c1, R²)."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    c1, c0 = np.polyfit(x, t, 1)
    residual = t - (c0 + c1 * x)
    total = np.sum((t - t.mean()) ** 2)
    r2 = 1.0 - float(np.sum(residual**2) / total) if total > 0 else 1.0
    return float(c0), float(c1), r2
