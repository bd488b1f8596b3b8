"""Metrics recorded per epoch (accuracy, 0/1 error, MSE, MAE, R², or one's own) and the
validation cost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_choice
from ..losses import zero_one_error
from ..propagation import forward

METRICS = ("auto", "accuracy", "zero_one", "mse", "mae", "r2")
CLASSIFICATION_LOSSES = ("log_loss", "cross_entropy", "perceptron")


def _accuracy(Y: np.ndarray, out: np.ndarray) -> float:
    if Y.shape[1] > 1:
        return float(np.mean(np.argmax(out, axis=1) == np.argmax(Y, axis=1)))
    lo, hi = float(Y.min()), float(Y.max())
    if lo == hi:
        lo, hi = min(lo, 0.0), max(hi, 1.0)
    pred = np.where(out[:, 0] >= (lo + hi) / 2, hi, lo)
    return float(np.mean(pred == Y[:, 0]))


def _r2(Y: np.ndarray, out: np.ndarray) -> float:
    ss_tot = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    ss_res = float(np.sum((Y - out) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


_METRIC_FNS = {
    "accuracy": _accuracy,
    "zero_one": lambda Y, out: zero_one_error(Y, out),  # the lecture's 0/1 error rate
    "mse": lambda Y, out: float(np.mean((Y - out) ** 2)),
    "mae": lambda Y, out: float(np.mean(np.abs(Y - out))),
    "r2": _r2,
}


def resolve_metric(metric: Any, net, loss, Y: np.ndarray) -> tuple[str, Callable]:
    """``(name, fn(Y, outputs) -> float)``. ``'auto'`` is accuracy for classification (a
    classification loss, or 0/1 targets on logistic/softmax/threshold outputs), else R²."""
    if callable(metric) and not isinstance(metric, str):
        return getattr(metric, "__name__", "metric"), metric
    name = check_choice("metric", metric, METRICS)
    if name == "auto":
        classify = loss.name in CLASSIFICATION_LOSSES or (
            auto_reads_targets(metric, net, loss) and bool(np.all((Y == 0) | (Y == 1))))
        name = "accuracy" if classify else "r2"
    return name, _METRIC_FNS[name]


def auto_reads_targets(metric: Any, net, loss) -> bool:
    """Whether ``resolve_metric`` reads the targets' values to pick ``metric``: 'auto' with
    a loss that is no classification loss on logistic, softmax or threshold outputs (0/1
    targets then make it accuracy)."""
    if not isinstance(metric, str) or metric != "auto" or loss.name in CLASSIFICATION_LOSSES:
        return False
    outs = {g.activation.name for g in net.plan.groups if g.is_output}
    return outs <= {"logistic", "softmax", "threshold"}


def evaluate(net, loss, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None):
    """Mean loss (weighted by ``w``, no penalty) and outputs in prediction mode."""
    plan = net.plan
    cache = forward(plan, net.params, X, bn_state=net.bn_state)
    per_ex = np.zeros(X.shape[0])
    outs = [g for g in plan.groups if g.is_output]
    for g, cols in zip(outs, plan.out_cols, strict=True):
        per_ex += loss.value(Y[:, cols], cache.a[g.layer], cache.in_[g.layer], g.activation)
    cost = float(np.mean(per_ex if w is None else per_ex * w))
    return cost, cache.outputs
