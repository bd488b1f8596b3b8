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


#: per data set, (peer, direction, target): "<=" deltanet's time over the peer's at most
#: the target (the hand-written loop), ">=" the peer's time over deltanet's at least (JAX)
STRONGEST_PEERS = {"digits": [("numba loop fastmath", "<=", 1.15), ("jax jit + scan", ">=", 1.5)],
                   "xor": [("jax jit + scan", ">=", 1.0)]}


def per_example_peers(table: Table, data: str, workload: str, rows: list[Row]) -> None:
    """(a) against the strongest per-example peers, each dtype: digits within 1.15× of the
    hand-written fastmath Numba loop and ≥ 1.5× JAX; XOR at least JAX's speed."""
    for peer, direction, target in STRONGEST_PEERS.get(data, []):
        for dtype in ("float64", "float32"):
            row = _find(rows, peer, dtype)
            ratio = row.ratio if row is not None else float("nan")  # a peer missing: n/a
            if direction == "<=":
                _claim(table, f"(a) {workload}: deltanet {dtype} time / {peer} time",
                       1 / ratio, f"<= {number(target)}", 1 / ratio <= target)
            else:
                _claim(table, f"(a) {workload}: {peer} {dtype} time / deltanet time",
                       ratio, f">= {number(target)}", ratio >= target)


def fixed_cost(table: Table, results: dict[str, dict[str, float]], target: float) -> None:
    """(a) the fixed cost of a warm ``train()`` call, each dtype (``bench/fixed_cost.py``)."""
    for dtype, r in results.items():
        _claim(table, f"(a) fixed cost of a warm train() call, {dtype} (µs)", r["fixed"],
               f"<= {number(target)}", r["fixed"] <= target)


def minibatch(table: Table, rows: list[Row], dtype: str = "float32", threads: int = 1) -> None:
    """(b) float32, one thread: >= 1.4x PyTorch eager and scikit-learn, >= 60% of the GEMM
    limit; two threads or more: >= 65% of the GEMM limit and >= 1.3x JAX. Every table: the
    peers that start from deltanet's weights reach its accuracy."""
    tag = f"(b) {dtype}, {threads} thread{'s' if threads > 1 else ''}:"
    wanted = []
    if dtype == "float32" and threads == 1:
        wanted = [("pytorch eager", 1.4), ("scikit-learn", 1.4),
                  ("GEMM limit (3 per layer)", 0.6)]
    elif dtype == "float32":
        wanted = [("GEMM limit (3 per layer)", 0.65), ("jax jit + scan", 1.3)]
    for peer, target in wanted:
        row = _find(rows, peer)
        value = row.ratio if row else float("nan")
        _claim(table, f"{tag} {peer} time / deltanet time", value, f">= {target}",
               value >= target)
    mine = _find(rows, "deltanet")
    gaps = [abs(row.accuracy - mine.accuracy) for row in rows
            if mine is not None and mine.accuracy is not None and row.accuracy is not None
            and row.per_unit and row.peer != "scikit-learn"]
    gap = max(gaps) if gaps else float("nan")
    _claim(table, f"{tag} largest accuracy gap to deltanet (peers from its start)", gap,
           "<= 0.005", gap <= 0.005)


def scaling(table: Table, sweeps: list) -> None:
    """(c): time per epoch is a straight line in examples and in weights (R² >= 0.99)."""
    for sweep in (sweep for sweep in sweeps if sweep.linear):
        value = sweep.fit()[2] if all(row.per_unit for row in sweep.rows) else float("nan")
        _claim(table, f"(c) linear in {sweep.x_name}: {sweep.title.split(':')[0]} (R²)",
               value, ">= 0.99", value >= 0.99)


def table() -> Table:
    return Table("Acceptance checks", ["claim", "measured", "target", "verdict"])
