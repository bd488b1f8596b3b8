"""Training diagnostics recorded per epoch (``train(..., diagnostics=True)``): gradient
norms, mean ``|Δ_j|``, weight changes, saturated and dead units, on a fixed sample.

:mod:`deltanet.diagnostics` (gradient checks, the vanishing-gradient experiment) builds its
own measures on the helpers here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..propagation import backprop

SATURATED_SLOPE = 0.01  # logistic: a(1 − a) < 0.01, i.e. a < 0.0101 or a > 0.9899
SATURATED_TANH = 0.99  # tanh: |a| > 0.99
SAMPLE_SIZE = 256


def weights_of(net, layer: int, flat: np.ndarray) -> np.ndarray:
    """The entries of ``flat`` on the arcs into group ``layer`` (bias arcs excluded; the
    padding of a masked block, which is no arc, left out)."""
    mask = net.plan.grad_mask
    parts = [flat[b.offset:b.offset + b.size] if mask is None
             else flat[b.offset:b.offset + b.size][mask[b.offset:b.offset + b.size] > 0]
             for b in net.plan.blocks_in[layer - 1]]
    return np.concatenate(parts) if parts else np.zeros(0)


def can_batch(net, X: Any) -> bool:
    # batch statistics for batch-norm networks when there are at least two examples
    return any(g.batch_norm for g in net.plan.groups) and np.ndim(X) == 2 and len(X) >= 2


def saturated(name: str, a: np.ndarray) -> np.ndarray | None:
    """Where a logistic (``a(1 − a) < 0.01``) or tanh (``|a| > 0.99``) unit is saturated;
    None for other activations."""
    if name == "logistic":
        return a * (1.0 - a) < SATURATED_SLOPE
    if name == "tanh":
        return np.abs(a) > SATURATED_TANH
    return None


def sample_indices(n: int, size: int = SAMPLE_SIZE) -> np.ndarray:
    """A fixed, evenly spaced sample of at most ``size`` of ``n`` examples (no randomness)."""
    return np.unique(np.linspace(0, n - 1, min(n, size)).round().astype(np.int64))


def epoch_diagnostics(net, X: np.ndarray, Y: np.ndarray, loss, before: np.ndarray) -> dict:
    """What training records per epoch with ``diagnostics=True`` (lists by group).

    ``grad_norm``: ``‖∂J/∂W_g‖`` on the sample; ``mean_abs_delta``: mean ``|Δ_j|`` over the
    group's neurons and the sample; ``mean_abs_update``: mean ``|w_after − w_before|`` over
    the group's arcs across the epoch; ``saturated`` / ``dead``: as
    :func:`deltanet.diagnostics.saturation` and :func:`deltanet.diagnostics.dead_units`
    (None for groups they do not apply to), with overall fractions.
    """
    trace = backprop(net, X, Y, loss, training=can_batch(net, X))
    change = np.abs(net.params - before)
    rec: dict[str, Any] = {"layer": [], "depth": [], "grad_norm": [], "mean_abs_delta": [],
                           "mean_abs_update": [], "saturated": [], "dead": []}
    sat_n = sat_k = dead_n = dead_k = 0
    for g in net.plan.groups:
        a = trace.cache.a[g.layer]
        rec["layer"].append(g.layer)
        rec["depth"].append(g.depth)
        rec["grad_norm"].append(float(np.linalg.norm(weights_of(net, g.layer,
                                                                trace.grad_flat))))
        rec["mean_abs_delta"].append(float(np.mean(np.abs(trace.deltas[g.layer]))))
        w_change = weights_of(net, g.layer, change)
        rec["mean_abs_update"].append(float(w_change.mean()) if w_change.size else 0.0)
        sat = None if g.is_output else saturated(g.activation.name, a)
        rec["saturated"].append(None if sat is None else float(sat.mean()))
        if sat is not None:
            sat_n, sat_k = sat_n + sat.size, sat_k + int(sat.sum())
        dead = np.all(a <= 0, axis=0) if g.activation.name == "relu" and not g.is_output \
            else None
        rec["dead"].append(None if dead is None else float(dead.mean()))
        if dead is not None:
            dead_n, dead_k = dead_n + dead.size, dead_k + int(dead.sum())
    rec["saturated_fraction"] = sat_k / sat_n if sat_n else None
    rec["dead_fraction"] = dead_k / dead_n if dead_n else None
    return rec
