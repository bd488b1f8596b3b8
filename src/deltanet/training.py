"""NEURALNETTRAIN (seed 002, Lecture 07-4a): epochs of updates over random permutations.

``batch_size=1`` is per-example stochastic gradient descent (the lecture's loop),
``batch_size=k`` mini-batch gradient descent (07-4b) and ``batch_size=None`` full-batch
gradient descent. Each update applies the mean gradient of its examples,
``∂J/∂w_ij = (1/|B|) Σ_{e∈B} Δ_j^(e) a_i^(e)``. Training stops when the epoch limit is
reached, when every training error is close to zero, or when the cost changes less than
``tol`` across an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import losses as _losses
from ._validation import check_number, fail
from .propagation import (
    backward,
    forward,
    normalize_sample_weight,
    prepare_inputs,
    prepare_targets,
    regularization,
)


class TrainingError(RuntimeError):
    """Training cannot go on (the cost became NaN or infinite). ``history`` is attached;
    the network keeps the last good weights."""

    def __init__(self, message: str, history: History | None = None) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What NEURALNETTRAIN did: cost per epoch, updates, epochs and why it stopped."""

    cost: list[float] = field(default_factory=list)
    epochs: int = 0
    updates: int = 0
    stop_reason: str = ""

    def __repr__(self) -> str:
        last = f"{self.cost[-1]:.6g}" if self.cost else "-"
        return (f"History(epochs={self.epochs}, updates={self.updates}, final_cost={last}, "
                f"stop_reason={self.stop_reason!r})")


def _resolve_dropout(net, dropout: Any) -> dict[int, float] | None:
    if dropout is None or dropout == 0:
        return None
    if isinstance(dropout, (int, float)):
        rate = check_number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        return {g.layer: rate for g in net.plan.groups if not g.is_output}
    if not isinstance(dropout, dict):
        fail("dropout must be a rate or a {layer: rate} mapping", dropout,
             "e.g. dropout=0.2, or {0: 0.1, 1: 0.5} (layer 0 = the inputs)")
    hidden = {0} | {g.layer for g in net.plan.groups if not g.is_output}
    out = {}
    for layer, rate in dropout.items():
        if layer not in hidden:
            fail("dropout applies to the inputs (layer 0) and hidden layers only", layer,
                 f"choose among layers {sorted(hidden)}")
        out[int(layer)] = check_number(f"dropout[{layer}]", rate, low=0.0, high=1.0,
                                       high_open=True)
    return out


def _update_bn_stats(net, cache, momentum: float = 0.1) -> None:
    # running ← (1 − m) running + m · batch; the variance is stored unbiased, as is usual
    for layer, (_, _, mu, var) in cache.bn.items():
        m = cache.a[0].shape[0]
        run_mu, run_var = net.bn_state[layer]
        run_mu *= 1.0 - momentum
        run_mu += momentum * mu
        run_var *= 1.0 - momentum
        run_var += momentum * var * (m / max(m - 1, 1))


def train(
    net,
    X: Any,
    Y: Any,
    *,
    loss: Any = "squared_error",
    lr: float = 0.1,
    batch_size: int | None = 1,
    epochs: int = 100,
    optimizer: Any = None,
    random_state: Any = None,
    shuffle: bool = True,
    tol: float | None = None,
    error_tol: float | None = None,
    l2: float = 0.0,
    l1: float = 0.0,
    decay_bias: bool = False,
    dropout: Any = None,
    sample_weight: Any = None,
) -> History:
    """Train ``net`` in place with NEURALNETTRAIN and return its History.

    Parameters
    ----------
    loss : loss name, e.g. "squared_error", "log_loss", "cross_entropy".
    lr : learning rate α (used when ``optimizer`` is None: plain SGD).
    batch_size : 1 (per-example SGD), k (mini-batch) or None (full batch).
    epochs : the epoch limit.
    optimizer : a ``deltanet.optimizers`` transform (default ``sgd(lr)``).
    random_state : seeds the permutations (and dropout masks).
    tol : stop when the cost changes less than ``tol`` across an epoch.
    error_tol : stop when every training error ``|y − a|`` is below ``error_tol``.
    l2, l1 : weight decay ``λ Σ w²`` and L1 penalty ``λ₁ Σ |w|`` (bias arcs only when
        ``decay_bias``).
    dropout : a rate for every hidden layer, or ``{layer: rate}`` (layer 0 = inputs).
    sample_weight : one non-negative weight per example: ``J = Σ s_e ℓ_e / Σ s_e``.

    Examples
    --------
    >>> import numpy as np, deltanet as dn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); y = np.array([0, 1, 1, 0.])
    >>> net = dn.Network.layered([2, 2, 1], random_state=3)
    >>> hist = dn.train(net, X, y, loss="log_loss", lr=0.5, epochs=3000, random_state=0)
    >>> (net.forward(X)[:, 0] > 0.5).astype(int).tolist()
    [0, 1, 1, 0]
    """
    from . import optimizers

    loss = _losses.get(loss)
    X2, _ = prepare_inputs(net, X)
    n = X2.shape[0]
    Y2 = prepare_targets(net, Y, n, False, loss)
    epochs = int(check_number("epochs", epochs, low=1, integer=True))
    if batch_size is None:
        batch_size = n
    batch_size = min(int(check_number("batch_size", batch_size, low=1, integer=True)), n)
    if tol is not None:
        tol = check_number("tol", tol, low=0.0)
    if error_tol is not None:
        error_tol = check_number("error_tol", error_tol, low=0.0, low_open=True)
    l2 = check_number("l2", l2, low=0.0)
    l1 = check_number("l1", l1, low=0.0)
    drop = _resolve_dropout(net, dropout)
    weights = normalize_sample_weight(sample_weight, n, net.dtype)
    if optimizer is None:
        optimizer = optimizers.sgd(check_number("lr", lr, low=0.0, low_open=True))
    rng = np.random.default_rng(random_state)
    state = optimizer.init(net.params)
    hist = History()
    plan, params = net.plan, net.params
    for epoch in range(1, epochs + 1):
        good = params.copy()
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb, Yb = X2[idx], Y2[idx]
            wb = None if weights is None else weights[idx]
            # a diverging run overflows: detected below and reported with its epoch
            with np.errstate(over="ignore", invalid="ignore"):
                cache = forward(plan, params, Xb, training=True, bn_state=net.bn_state,
                                dropout=drop, rng=rng)
                grad, _, per_ex = backward(plan, params, cache, Yb, loss, wb)
            reg_cost, reg_grad = regularization(plan, params, l2, l1, decay_bias)
            if reg_grad is not None:
                grad += reg_grad.astype(grad.dtype)
            batch_cost = float(np.mean(per_ex if wb is None else per_ex * wb)) + reg_cost
            if not np.isfinite(batch_cost):
                params[:] = good
                hist.stop_reason = f"cost became {batch_cost} in epoch {epoch}"
                raise TrainingError(
                    f"the cost became {batch_cost} in epoch {epoch} (update {hist.updates + 1});"
                    " the weights of the end of the last good epoch were kept. Lower the "
                    "learning rate, scale the inputs, or add weight decay", hist)
            if cache.bn:
                _update_bn_stats(net, cache)
            updates, state = optimizer.update(grad, state, params)
            params += updates.astype(params.dtype, copy=False)
            hist.updates += 1
            total += batch_cost * len(idx)
        cost = total / n
        hist.cost.append(cost)
        hist.epochs = epoch
        if error_tol is not None:
            out = forward(plan, params, X2, bn_state=net.bn_state).outputs
            if np.max(np.abs(out - Y2)) < error_tol:
                hist.stop_reason = f"every training error is below error_tol={error_tol:g}"
                return hist
        if tol is not None and epoch > 1 and abs(hist.cost[-2] - cost) < tol:
            hist.stop_reason = f"the cost changed less than tol={tol:g} across an epoch"
            return hist
    hist.stop_reason = f"reached the epoch limit ({epochs})"
    return hist
