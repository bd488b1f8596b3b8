"""FORWARDPROPAGATE and BACKPROPAGATE over the compiled groups (seed 002, Lecture 07-3b).

Vectorised over the neurons of a group and the examples of a batch::

    forward   in_g = b_g + Σ_blocks out_src @ W          a_g = g(in_g)
    backward  Δ_g  = g'(in_g) ⊙ Σ_downstream Δ_dst @ Wᵀ   (output groups: from the loss)
    gradient  ∂J/∂W = out_srcᵀ @ Δ_g / |B|                ∂J/∂b = mean(Δ_g)

which is the lecture's ``Δ_j = g'(in_j) Σ_{j'} w_{j,j'} Δ_{j'}`` and ``∂J/∂w_ij = Δ_j a_i``.
Hidden groups may batch-normalise (:mod:`deltanet.batchnorm`) and drop out
(:mod:`deltanet.dropout`) their outputs ``a_g`` before they are fed downstream (``out_g``);
both are undone in the same order on the way back. :func:`predict`, :func:`backprop` and
:func:`step` are ``Network.forward``, ``Network.backprop`` and ``Network.step``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import losses as _losses
from . import network as _network
from ._inputs import normalize_sample_weight, prepare_inputs, prepare_targets
from ._plan import Plan
from ._validation import check_number, check_random_state, fail
from .batchnorm import BN_EPS, normalise, normalise_backward, update_bn_stats
from .dropout import drop, resolve_dropout
from .trace import Cache, Trace

__all__ = ["BN_EPS", "Cache", "GradCheck", "Trace", "backprop", "backward", "decay_mask",
           "forward", "gradcheck", "normalize_sample_weight", "predict", "prepare_inputs",
           "prepare_targets", "regularization", "step"]


def forward(plan: Plan, params: np.ndarray, X: np.ndarray, *, training: bool = False,
            bn_state: dict | None = None, dropout: dict | None = None,
            rng: np.random.Generator | None = None) -> Cache:
    """FORWARDPROPAGATE a batch ``X`` (n, p); returns the Cache of every ``in_j``, ``a_j``.

    ``training``: batch normalisation uses the batch's statistics (else the running ones).
    ``dropout`` (``{layer: rate}``) drops units with masks drawn from ``rng`` whenever it is
    given; prediction passes none.
    """
    cache = Cache(plan, [None], [X], [X], training=training)
    if dropout and dropout.get(0):
        cache.out[0], cache.drop[0] = drop(X, dropout[0], rng)
    for g in plan.groups:
        in_ = np.tile(plan.bias(params, g), (X.shape[0], 1))
        with np.errstate(over="ignore", invalid="ignore"):
            for b in plan.blocks_in[g.layer - 1]:
                in_ += cache.out[b.src] @ plan.W(params, b)
        if not training and not np.isfinite(in_).all():
            in_ = _scaled_net_input(cache, plan, params, g)
        a = g.activation.value(in_)
        out = a
        if g.batch_norm:
            out = normalise(cache, plan, params, g, a, training, bn_state)
        if dropout and dropout.get(g.layer):
            out, cache.drop[g.layer] = drop(out, dropout[g.layer], rng)
        cache.in_.append(in_)
        cache.a.append(a)
        cache.out.append(out)
    return cache


def _scaled_net_input(cache: Cache, plan: Plan, params: np.ndarray, g) -> np.ndarray:
    """``in_g`` for huge inputs (say 1e300): ``in = s (b/s + Σ (out/s) @ W)``.

    The sum is formed on numbers near 1, so terms of opposite sign cancel instead of
    overflowing to ``inf − inf = nan``; the result is ±inf only when the true value is beyond
    the floating-point range.
    """
    sources = [cache.out[b.src] for b in plan.blocks_in[g.layer - 1]]
    finite = [np.abs(np.where(np.isfinite(o), o, 0.0)).max(initial=0.0) for o in sources]
    s = max(1.0, *finite)
    in_ = np.tile(plan.bias(params, g) / s, (sources[0].shape[0], 1))
    with np.errstate(over="ignore", invalid="ignore"):  # inf inputs: checked by the caller
        for o, b in zip(sources, plan.blocks_in[g.layer - 1], strict=True):
            in_ += (o / s) @ plan.W(params, b)
        return in_ * s


def backward(plan: Plan, params: np.ndarray, cache: Cache, Y: np.ndarray, loss,
             weights: np.ndarray | None = None, *, mean: bool = True
             ) -> tuple[np.ndarray, list, np.ndarray]:
    """BACKPROPAGATE: returns (∂J/∂params flat, Δ per layer, loss per example).

    ``weights`` are per-example cost weights normalised to mean 1 (sample weights);
    ``J = (1/n) Σ_e w_e ℓ_e``. ``mean=False`` returns the sum ``Σ_e w_e Δ_j a_i`` instead,
    for callers that divide by another total. Overflow is not warned about here: a
    diverging run shows up as a non-finite cost, which training reports with its epoch.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _backward(plan, params, cache, Y, loss, weights, mean)


def _backward(plan, params, cache, Y, loss, weights, mean=True):
    n = Y.shape[0]
    grad = np.zeros_like(params)
    upstream: list = [None] * plan.n_layers  # ∂(nJ)/∂out_g accumulated from downstream
    deltas: list = [None] * plan.n_layers
    per_example = np.zeros(n, dtype=params.dtype)
    out_cols = iter(plan.out_cols)
    outs = [(g, next(out_cols)) if g.is_output else (g, None) for g in plan.groups]
    for g, cols in reversed(outs):
        in_, a = cache.in_[g.layer], cache.a[g.layer]
        delta = np.zeros_like(in_)
        if upstream[g.layer] is not None:
            d_out = upstream[g.layer]
            if g.layer in cache.drop:
                d_out = d_out * cache.drop[g.layer]
            if g.batch_norm:
                d_out = normalise_backward(cache, plan, params, grad, g, d_out)
            delta = g.activation.backward(in_, a, d_out)
        if cols is not None:
            y = Y[:, cols]
            per_example += loss.value(y, a, in_, g.activation)
            d_loss = loss.delta(y, a, in_, g.activation)
            delta = delta + (d_loss if weights is None else d_loss * weights[:, None])
        deltas[g.layer] = delta
        grad[g.bias_offset:g.bias_offset + g.size] = delta.sum(axis=0)
        for b in plan.blocks_in[g.layer - 1]:
            W = plan.W(params, b)
            grad[b.offset:b.offset + b.size] = (cache.out[b.src].T @ delta).reshape(-1)
            if b.src > 0:
                back = delta @ W.T
                upstream[b.src] = back if upstream[b.src] is None else upstream[b.src] + back
    if mean:
        grad /= n
    if plan.grad_mask is not None:
        grad *= plan.grad_mask
    return grad, deltas, per_example


def decay_mask(plan: Plan, decay_bias: bool, dtype: Any) -> np.ndarray:
    """1 on the parameters weight decay applies to: the weights, and the biases too when
    ``decay_bias`` (never batch normalisation's γ and β). Read-only: it may be the plan's."""
    mask = plan.decay_mask
    if decay_bias:
        mask = (plan.grad_mask if plan.grad_mask is not None else np.ones_like(mask)).copy()
        for g in plan.groups:
            if g.batch_norm:
                mask[g.bn_offset:g.bn_offset + 2 * g.size] = 0.0
    return mask.astype(dtype, copy=False)


def regularization(plan: Plan, params: np.ndarray, l2: float, l1: float,
                   decay_bias: bool) -> tuple[float, np.ndarray | None]:
    """Weight decay (seed 002, 07-4d): ``J += λ Σ w²`` adds ``2λ w`` to the gradient; L1 adds
    ``λ₁ sign(w)``. Bias arcs are decayed only when ``decay_bias``."""
    if not l2 and not l1:
        return 0.0, None
    w = params * decay_mask(plan, decay_bias, params.dtype)  # float32 stays float32
    cost = l2 * float(w @ w) + l1 * float(np.abs(w).sum())
    return cost, (2.0 * l2) * w + l1 * np.sign(w)


def predict(net, X: Any, *, training: bool = False) -> np.ndarray:
    """FORWARDPROPAGATE: the outputs ``h(x)`` for a batch ``(n, p)`` or one example
    (``Network.forward``)."""
    X2, single = prepare_inputs(net, X)
    cache = forward(net.plan, net.params, X2, bn_state=net.bn_state, training=training)
    out = cache.outputs
    if np.isnan(out).any():
        fail("the outputs overflowed the floating-point range for inputs this large",
             float(np.abs(X2).max()), "scale the inputs first, e.g. with "
             "deltanet.data.MinMaxScaler, as the network was trained on")
    return out[0] if single else out


def backprop(net, X: Any, Y: Any, loss: Any = "squared_error", *, sample_weight=None,
             l2: float = 0.0, l1: float = 0.0, decay_bias: bool = False,
             training: bool = False, dropout: Any = None, rng: Any = None) -> Trace:
    """Run FORWARDPROPAGATE and BACKPROPAGATE on ``(X, Y)`` and return the Trace
    (``Network.backprop``).

    ``training`` makes batch normalisation use the batch's statistics. ``dropout`` (a rate
    for every hidden layer, or ``{layer: rate}``, layer 0 = the inputs) is applied whenever
    it is given, with masks drawn from ``rng`` (a seed or ``numpy.random.Generator``; the
    same seed gives the same masks), and the gradient is that of the dropped network.
    """
    loss = _losses.get(loss)
    X2, single = prepare_inputs(net, X)
    Y2 = prepare_targets(net, Y, X2.shape[0], single, loss)
    l2 = check_number("l2", l2, low=0.0)
    l1 = check_number("l1", l1, low=0.0)
    weights = normalize_sample_weight(sample_weight, X2.shape[0], net.dtype)
    dropout = resolve_dropout(net, dropout)
    rng = check_random_state(rng) if dropout else None
    cache = forward(net.plan, net.params, X2, training=training, bn_state=net.bn_state,
                    dropout=dropout, rng=rng)
    grad, deltas, per_example = backward(net.plan, net.params, cache, Y2, loss, weights)
    J = float(np.mean(per_example if weights is None else per_example * weights))
    reg_cost, reg_grad = regularization(net.plan, net.params, l2, l1, decay_bias)
    if reg_grad is not None:
        grad += reg_grad.astype(grad.dtype)
    return Trace(net.plan, cache, deltas, grad, per_example, J + reg_cost, single)


def step(net, X: Any, Y: Any, lr: float = 0.1, loss: Any = "squared_error",
         **kwargs: Any) -> Trace:
    """One gradient-descent update ``w_ij ← w_ij − α ∂J/∂w_ij`` (``Network.step``).

    ``kwargs`` go to :func:`backprop`. With batch normalisation ``training`` defaults to
    True (the batch's statistics, and the running statistics move towards them). Returns
    the Trace computed before the update.
    """
    lr = check_number("lr", lr, low=0.0, low_open=True)
    if net.bn_state:
        kwargs.setdefault("training", True)
    trace = backprop(net, X, Y, loss=loss, **kwargs)
    if trace.cache.training and trace.cache.bn:
        update_bn_stats(net.bn_state, trace.cache)
    net.params -= (lr * trace.grad_flat).astype(net.dtype)
    return trace


_network.bind_passes(predict, backprop, step)


# ------------------------------------------------------------------ gradient check
@dataclass
class GradCheck:
    """Backprop gradient vs fourth-order central finite differences (see ``gradcheck``).

    ``at_kink`` marks the parameters whose finite differences straddle a kink of the cost
    (a ReLU or threshold unit, a perceptron-loss output or an L1 term changing side); their
    numeric gradient is no derivative, so the maximum errors leave them out.
    """

    analytic: np.ndarray
    numeric: np.ndarray
    indices: np.ndarray
    max_abs_error: float
    max_rel_error: float
    at_kink: np.ndarray

    def __repr__(self) -> str:
        kinks = int(self.at_kink.sum())
        return (f"GradCheck(params={len(self.indices)}, max_abs_error={self.max_abs_error:.3g},"
                f" max_rel_error={self.max_rel_error:.3g}"
                + (f", at_kink={kinks} (left out)" if kinks else "") + ")")


#: activations whose derivative jumps where ``in_j`` crosses 0
KINKED = ("relu", "threshold")


def _sides(trace: Trace, loss_name: str, params: np.ndarray, kwargs: dict) -> np.ndarray:
    """On which side of every kink the cost is: the sign of ``in_j`` of ReLU and threshold
    units (and of perceptron-loss outputs), and the sign of every weight L1 applies to."""
    parts = [np.sign(trace.cache.in_[g.layer]).ravel() for g in trace.plan.groups
             if g.activation.name in KINKED or (g.is_output and loss_name == "perceptron")]
    if kwargs.get("l1"):
        parts.append(np.sign(params) * decay_mask(trace.plan, kwargs.get("decay_bias", False),
                                                  params.dtype))
    return np.concatenate(parts) if parts else np.zeros(0)


def gradcheck(net, X: Any, Y: Any, loss: Any = "squared_error", *, h: float = 1e-4,
              floor: float = 1e-5, max_params: int | None = 500, random_state: Any = 0,
              seed: int = 0, **kwargs: Any) -> GradCheck:
    """Compare ``net.backprop`` with finite differences on (a sample of) the parameters.

    The numeric gradient is the fourth-order central difference
    ``(−J(w+2h) + 8J(w+h) − 8J(w−h) + J(w−2h)) / 12h`` (truncation error O(h⁴), rounding
    error about 1e-16·J/h). The relative error is ``|g − ĝ| / max(|g|, |ĝ|, floor)``:
    gradients smaller than ``floor`` are compared absolutely. ``kwargs`` go to backprop
    (``l2``, ``l1``, ``sample_weight``, ``training``, ``dropout``); dropout masks are drawn
    from ``seed`` afresh for every evaluation, so they stay fixed (``training`` is not
    needed for dropout; it selects batch statistics for batch normalisation).

    Where the points ``w ± h, w ± 2h`` lie on both sides of a kink (a ReLU or threshold
    unit's ``in_j = 0``, a perceptron-loss output's, or ``w = 0`` under L1) the difference
    quotient measures the jump, not a derivative: such parameters are marked in
    ``at_kink`` and left out of ``max_abs_error`` and ``max_rel_error``.
    """
    if np.dtype(net.dtype) != np.float64:
        fail("gradcheck needs float64 parameters", net.dtype, "use net.astype(numpy.float64)")
    h = check_number("h", h, low=0.0, low_open=True)
    floor = check_number("floor", floor, low=0.0, low_open=True)
    loss_name = _losses.get(loss).name

    def cost_at(idx: int, value: float) -> tuple[float, np.ndarray]:
        old = params[idx]
        params[idx] = value
        try:
            trace = backprop(net, X, Y, loss, rng=np.random.default_rng(seed), **kwargs)
            return trace.loss, _sides(trace, loss_name, params, kwargs)
        finally:
            params[idx] = old

    params = net.params
    base = backprop(net, X, Y, loss, rng=np.random.default_rng(seed), **kwargs)
    analytic = base.grad_flat.copy()
    sides = _sides(base, loss_name, params, kwargs)
    candidates = np.arange(net.plan.n_params)
    if net.plan.grad_mask is not None:
        candidates = candidates[net.plan.grad_mask > 0]
    if max_params is not None and len(candidates) > max_params:
        pick = np.random.default_rng(random_state).choice(len(candidates), max_params,
                                                          replace=False)
        candidates = np.sort(candidates[pick])
    numeric = np.empty(len(candidates))
    at_kink = np.zeros(len(candidates), dtype=bool)
    for k, idx in enumerate(candidates):
        w = float(params[idx])
        (j2, s2), (j1, s1), (m1, t1), (m2, t2) = (cost_at(idx, w + d * h)
                                                  for d in (2, 1, -1, -2))
        numeric[k] = (-j2 + 8 * j1 - 8 * m1 + m2) / (12 * h)
        at_kink[k] = any(not np.array_equal(side, sides) for side in (s2, s1, t1, t2))
    a = analytic[candidates]
    err = np.where(at_kink, 0.0, np.abs(a - numeric))
    rel = err / np.maximum(np.maximum(np.abs(a), np.abs(numeric)), floor)
    return GradCheck(a, numeric, candidates, float(err.max(initial=0.0)),
                     float(rel.max(initial=0.0)), at_kink)
