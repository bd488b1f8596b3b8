"""Repetitions and summaries: every figure is a median with the min and max over repetitions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """One timed training run: loop seconds, work done (updates or epochs), accuracy reached."""

    seconds: float
    units: int
    accuracy: float | None = None


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

    @property
    def median(self) -> float:
        return float(np.median(self.per_unit)) if self.per_unit else float("nan")

    @property
    def low(self) -> float:
        return float(np.min(self.per_unit)) if self.per_unit else float("nan")

    @property
    def high(self) -> float:
        return float(np.max(self.per_unit)) if self.per_unit else float("nan")


def measure(
    workload: str,
    peer: str,
    dtype: str,
    run: Callable[[], Outcome],
    reps: int,
    warmup: Callable[[], object] | None = None,
) -> Row:
    """Call ``warmup`` once (untimed), then ``run`` ``reps`` times from a fresh start each.

    A peer that fails (e.g. a library missing) gives a row with no times and the error as
    its note, so one broken peer never hides the others.
    """
    row = Row(workload, peer, dtype)
    try:
        if warmup is not None:
            warmup()
        for _ in range(reps):
            outcome = run()
            row.per_unit.append(outcome.seconds / outcome.units)
            row.accuracy = outcome.accuracy
    except Exception as error:  # report the failure in the table, keep the other peers
        row.per_unit = []
        row.note = f"failed: {type(error).__name__}: {error}"[:160]
    shown = f"median {row.median:.3g} s per unit" if row.per_unit else row.note
    print(f"  {workload:<22} {peer:<26} {dtype:<8} {shown}", file=sys.stderr, flush=True)
    return row


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
