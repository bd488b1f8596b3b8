"""The acceptance claims, checked against the numbers measured in this run."""

from __future__ import annotations

import math

from report import Table, number
from timing import Row

ACCURACY_TOLERANCE = 0.03  # held-out accuracy may differ from the NumPy loop by 3 points


def _find(rows: list[Row], peer: str, dtype: str | None = None) -> Row | None:
    for row in rows:
        if row.peer == peer and (dtype is None or row.dtype == dtype) and row.per_unit:
            return row
    return None


def _claim(table: Table, claim: str, value: float | None, target: str, ok: bool) -> None:
    shown = "—" if value is None or math.isnan(value) else number(value)
    verdict = "PASS" if ok else ("FAIL" if shown != "—" else "n/a")
    table.rows.append([claim, shown, target, verdict])


def _accuracy_gap(rows: list[Row], dtype: str, reference: str = "numpy loop") -> float:
    mine, ref = _find(rows, "deltanet", dtype), _find(rows, reference)
    if mine is None or ref is None or mine.accuracy is None or ref.accuracy is None:
        return float("nan")
    return abs(mine.accuracy - ref.accuracy)


def per_example(table: Table, rows: list[Row]) -> None:
    """(a) digits: >= 100x PyTorch and scikit-learn; within 2x of the Numba loop; f32 faster."""
    for peer in ("pytorch eager", "scikit-learn"):
        row = _find(rows, peer, "float64")
        value = row.ratio if row else float("nan")
        _claim(table, f"(a) digits: {peer} time / deltanet f64 time", value, ">= 100",
               value >= 100)
    row = _find(rows, "numba loop", "float64")
    value = 1 / row.ratio if row else float("nan")
    _claim(table, "(a) digits: deltanet f64 time / numba loop f64 time", value, "<= 2",
           value <= 2)
    f64, f32 = _find(rows, "deltanet", "float64"), _find(rows, "deltanet", "float32")
    value = f32.median / f64.median if f64 and f32 else float("nan")
    _claim(table, "(a) digits: deltanet f32 time / deltanet f64 time", value, "< 1", value < 1)
    for dtype in ("float64", "float32"):
        gap = _accuracy_gap(rows, dtype)
        _claim(table, f"(a) digits: |accuracy deltanet {dtype} − numpy loop|", gap,
               f"<= {ACCURACY_TOLERANCE}", gap <= ACCURACY_TOLERANCE)


def minibatch(table: Table, rows: list[Row]) -> None:
    """(b): >= 1.4x PyTorch and scikit-learn at float32, >= 60% of the GEMM limit."""
    for peer in ("pytorch eager", "scikit-learn"):
        row = _find(rows, peer)
        value = row.ratio if row else float("nan")
        _claim(table, f"(b) {peer} time / deltanet time", value, ">= 1.4", value >= 1.4)
    row = _find(rows, "GEMM limit (3 per layer)")
    value = row.ratio if row else float("nan")
    _claim(table, "(b) GEMM limit / deltanet time", value, ">= 0.6", value >= 0.6)
    gap = _accuracy_gap(rows, "float32")
    _claim(table, "(b) |accuracy deltanet − numpy loop|", gap, f"<= {ACCURACY_TOLERANCE}",
           gap <= ACCURACY_TOLERANCE)


def scaling(table: Table, sweeps: list) -> None:
    """(c): time per epoch is a straight line in examples and in weights (R² >= 0.99)."""
    for sweep in sweeps:
        value = sweep.fit()[2] if all(row.per_unit for row in sweep.rows) else float("nan")
        _claim(table, f"(c) linear in {sweep.x_name}: {sweep.title.split(':')[0]} (R²)",
               value, ">= 0.99", value >= 0.99)


def table() -> Table:
    return Table("Acceptance checks", ["claim", "measured", "target", "verdict"])
