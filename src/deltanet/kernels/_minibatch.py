"""Mini-batch NEURALNETTRAIN at the BLAS limit: the NumPy engine's epoch loop.

The same passes as :mod:`deltanet.propagation` (which stays the readable reference) but into
buffers allocated once per ``train()`` call, so an update costs its matrix products and a few
in-place elementwise passes, nothing more::

    forward    in_g = a_src @ W  (+ b_g, + further blocks)      a_g = g(in_g)   (in place)
    backward   Δ_g  = g'(in_g) ⊙ Σ Δ_dst @ Wᵀ    (never for the inputs: no Δ is needed there)
    gradient   ∂J/∂W = a_srcᵀ @ Δ_g / |B|        ∂J/∂b = Σ_rows Δ_g / |B|

Every product writes into its preallocated block of one flat gradient vector
(``np.matmul(..., out=)``); the batch is gathered once (``np.take(..., out=)``); SGD with or
without momentum updates the parameters in place, with ``−η/|B|`` folded into the output
deltas (saving two passes over the parameters). Plain SGD on a plan whose only output
group is the last layer goes further: once a layer's Δ has been propagated, its step is
added to the weights by the gradient GEMM itself (``W ← 1·W + aᵀΔ``, BLAS ``?gemm`` with
β = 1), so neither a gradient vector nor an update pass is needed. ReLU layers and the
softmax/cross-entropy output run as compiled row passes (:mod:`._fused`). Otherwise the
arithmetic is the reference's, operation for operation (the same bits on the same BLAS;
the softmax pass equal to rounding). Every other activation and loss is computed by its own
definition in ``activations``/``losses``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _fused
from ._optim import UpdateRule


@dataclass
class _Layer:
    """Buffers and parameter views of one group (layer ``g.layer``)."""

    group: object
    blocks: list  # (src layer, W view, grad W view) per incoming block
    b: np.ndarray
    grad_b: np.ndarray
    in_: np.ndarray
    a: np.ndarray
    delta: np.ndarray
    up: np.ndarray | None  # ∂(nJ)/∂a_g summed over downstream blocks
    extra: np.ndarray | None  # a second product / scratch of the same shape
    mask: np.ndarray | None  # boolean scratch (relu, threshold)
    y: np.ndarray | None  # targets of an output group when its columns are not 0..K-1
    cols: np.ndarray | None


class Workspace:
    """Everything one mini-batch update writes, allocated once for batches of ``size``."""

    def __init__(self, net, size: int, n_outputs: int, weighted: bool) -> None:
        plan, params, dt = net.plan, net.params, net.params.dtype
        self.plan, self.params = plan, params
        self.x = np.empty((size, plan.n_inputs), dt)
        self.y = np.empty((size, n_outputs), dt)
        self.w = np.empty(size, dt) if weighted else None
        self.grad = np.empty_like(params)
        self.per_example = np.empty(size, dt)
        self.rows = np.empty((size, 1), dt)
        # log Σ e^{in} per example of every softmax group, between forward and backward
        self.lse, self.no_weights = np.empty((len(plan.groups), size), dt), np.empty(0, dt)
        self.grad_mask = None if plan.grad_mask is None else plan.grad_mask.astype(dt)
        has_down = {b.src for b in plan.blocks if b.src > 0}
        out_cols = iter(plan.out_cols)
        self.layers = [self._layer(g, size, next(out_cols) if g.is_output else None,
                                   g.layer in has_down, n_outputs) for g in plan.groups]
        self.gemm = _in_place_gemm(self)
        self.cost = 0.0  # of the last batch, when backward updates the weights in place

    def _layer(self, g, size: int, cols, has_down: bool, n_outputs: int) -> _Layer:
        plan, dt, shape = self.plan, self.params.dtype, (size, g.size)
        if cols is not None and np.array_equal(cols, np.arange(n_outputs)):
            cols = None  # the group's targets are all of Y, in order: no gather needed
        blocks = [(b.src, plan.W(self.params, b), plan.W(self.grad, b))
                  for b in plan.blocks_in[g.layer - 1]]
        return _Layer(group=g, blocks=blocks, b=plan.bias(self.params, g),
                      grad_b=plan.bias(self.grad, g), in_=np.empty(shape, dt),
                      a=np.empty(shape, dt), delta=np.empty(shape, dt),
                      up=np.empty(shape, dt) if has_down else None,
                      extra=np.empty(shape, dt), mask=np.empty(shape, bool),
                      y=None if cols is None else np.empty((size, len(cols)), dt), cols=cols)

    def a_of(self, layer: int, m: int) -> np.ndarray:
        return self.x[:m] if layer == 0 else self.layers[layer - 1].a[:m]


def _in_place_gemm(ws: Workspace):
    """BLAS ``?gemm`` for updating the weights in place (``backward(in_place=True)``), or
    None when the plan does not allow it: the only output group must be the last layer (its
    cost is known before any update) and no gradient mask may apply."""
    from scipy.linalg import blas

    gemm = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}
    outputs = [L.group.is_output for L in ws.layers]
    if ws.grad_mask is not None or outputs.count(True) != 1 or not outputs[-1] \
            or ws.params.dtype not in gemm:
        return None
    if not all(W.T.flags.f_contiguous for L in ws.layers for _, W, _ in L.blocks):
        return None  # ?gemm would write into a copy
    return gemm[ws.params.dtype]


# ------------------------------------------------------------------ forward
def _activate(L: _Layer, m: int) -> None:
    """a = g(in_), by the activation's own definition (``deltanet.activations``)."""
    np.copyto(L.a[:m], L.group.activation.value(L.in_[:m]))


def forward(ws: Workspace, m: int) -> None:
    """FORWARDPROPAGATE the gathered batch ``ws.x[:m]``; ``in_ = b + Σ a_src @ W``."""
    for L in ws.layers:
        in_ = L.in_[:m]
        fused = L.group.activation.name in ("relu", "softmax") and len(L.blocks) == 1
        if not L.blocks:  # only bias arcs: in_j = w_0j
            in_[...] = L.b
        for k, (src, W, _) in enumerate(L.blocks):
            if k == 0:
                np.matmul(ws.a_of(src, m), W, out=in_)
                if not fused:
                    in_ += L.b  # b + P₁, as the reference's tile(b) + P₁
            else:
                np.matmul(ws.a_of(src, m), W, out=L.extra[:m])
                in_ += L.extra[:m]
        if fused and L.group.activation.name == "relu":
            _fused.bias_relu(in_, L.b, L.a[:m])
        elif fused:
            _fused.bias_softmax(in_, L.b, L.a[:m], ws.lse[L.group.layer - 1, :m])
        else:
            _activate(L, m)


# ------------------------------------------------------------------ backward
def _act_backward(L: _Layer, m: int) -> None:
    """Δ = g'(in) ⊙ up (softmax: its Jacobian), into L.delta, by the activation's own
    definition."""
    np.copyto(L.delta[:m], L.group.activation.backward(L.in_[:m], L.a[:m], L.up[:m]))


def _output_delta(L: _Layer, m: int, ws: Workspace, loss, fresh: bool, value: np.ndarray,
                  scale) -> np.ndarray:
    """Add ``scale · w ⊙ ∂ℓ/∂in`` of an output group to L.delta (or set it when ``fresh``)
    and return ℓ per example for this group (in ``value``, or a new array on the generic
    path). ``scale`` None means 1."""
    in_, a, d, t = L.in_[:m], L.a[:m], L.delta[:m], L.extra[:m]
    y = ws.y[:m]
    if L.cols is not None:
        y = np.take(ws.y[:m], L.cols, axis=1, out=L.y[:m], mode="clip")
    act = L.group.activation
    target = d if fresh else t  # where ∂ℓ/∂in goes before weighting and adding
    fused = fresh and loss.is_fused(act)
    if fused and act.name == "softmax" and len(L.blocks) == 1:  # ws.lse is set
        w = ws.no_weights if ws.w is None else ws.w[:m]
        scale = d.dtype.type(1.0 if scale is None else scale)
        _fused.softmax_cross_entropy(in_, a, y, ws.lse[L.group.layer - 1, :m], w, scale,
                                     value, d)
        return value
    value = loss.value(y, a, in_, act)
    np.copyto(target, loss.delta(y, a, in_, act))
    if ws.w is not None:
        target *= ws.w[:m, None]
    if scale is not None:
        target *= scale
    if not fresh:
        d += target
    return value


def backward(ws: Workspace, m: int, loss, scale=None, in_place: bool = False) -> np.ndarray:
    """BACKPROPAGATE into ``ws.grad``: ``Σ_batch a_i Δ_j`` (not yet divided by |B|).

    Every Δ is linear in the output deltas, so ``scale`` (applied to those) scales the whole
    gradient: the caller folds ``−η/|B|`` in here and saves two passes over the parameters.
    ``in_place`` (plain SGD, ``scale`` = −η/|B|, ``ws.gemm`` set): each layer's step is
    added to its weights as soon as its Δ has been propagated (``W ← W + aᵀΔ`` in one GEMM),
    unless the cost of the batch (left in ``ws.cost``) is not finite. Returns the loss ℓ of
    every example.
    """
    per_example = None
    fresh_up = {L.group.layer: True for L in ws.layers}
    for L in reversed(ws.layers):
        d = L.delta[:m]
        summed = L.up is not None and L.group.activation.name == "relu" and \
            not L.group.is_output
        if summed:  # Δ and Σ_rows Δ in one pass
            _fused.relu_backward(L.in_[:m], L.up[:m], d, L.grad_b)
        elif L.up is not None:
            _act_backward(L, m)
        if L.group.is_output:
            first = per_example is None
            value = _output_delta(L, m, ws, loss, L.up is None,
                                  ws.per_example[:m] if first else np.empty(m, d.dtype), scale)
            per_example = value if first else per_example + value
            if in_place:  # the only output group comes first: nothing updated yet
                ws.cost = _cost(ws, m, per_example, 0.0)
                if not np.isfinite(ws.cost):
                    return per_example
        if not summed:
            np.sum(d, axis=0, out=L.grad_b)
        for src, W, grad_W in L.blocks:
            if src > 0:  # the inputs need no Δ: skip the largest product of the net
                _propagate(ws, m, d, W, src, fresh_up)
            if in_place:  # Wᵀ ← Wᵀ + Δᵀ a (column-major view of W ← W + aᵀ Δ)
                ws.gemm(1.0, d.T, ws.a_of(src, m).T, 1.0, W.T, trans_b=1, overwrite_c=1)
            else:
                np.matmul(ws.a_of(src, m).T, d, out=grad_W)
        if in_place:
            L.b += L.grad_b
    return per_example


def _propagate(ws: Workspace, m: int, d: np.ndarray, W: np.ndarray, src: int,
               fresh_up: dict) -> None:
    """``up_src += Δ Wᵀ`` (or ``=`` for the first downstream block of ``src``)."""
    S = ws.layers[src - 1]
    if fresh_up[src]:
        np.matmul(d, W.T, out=S.up[:m])
        fresh_up[src] = False
    else:
        np.matmul(d, W.T, out=S.extra[:m])
        S.up[:m] += S.extra[:m]


def _cost(ws: Workspace, m: int, per_example: np.ndarray, reg_cost: float) -> float:
    if ws.w is not None:
        per_example = per_example * ws.w[:m]
    return float(np.mean(per_example)) + reg_cost


# ------------------------------------------------------------------ one epoch
def batch_update(ws: Workspace, X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None,
                 idx: np.ndarray, loss, rule: UpdateRule, penalty, t: int) -> float:
    """Update ``t`` of the epoch, on the examples ``idx``; returns its cost ``J`` (measured
    before the update, penalty included). A non-finite cost is returned without updating.

    ``penalty(params) -> (cost, grad or None)`` adds weight decay; ``rule.apply`` updates
    ``ws.params`` in place. For SGD without a penalty ``−η_t/|B|`` is folded into the
    backward pass, so ``ws.grad`` comes out as ``−η_t ∂J/∂w`` (equal to rounding).
    """
    m = idx.shape[0]
    np.take(X, idx, axis=0, out=ws.x[:m], mode="clip")
    np.take(Y, idx, axis=0, out=ws.y[:m], mode="clip")
    if weights is not None:
        np.take(weights, idx, out=ws.w[:m], mode="clip")
    forward(ws, m)
    folded = rule.settings is not None and not penalty.active
    in_place = folded and ws.gemm is not None and not rule.momentum
    per_example = backward(ws, m, loss, rule.neg_lr[t] / m if folded else None, in_place)
    if in_place:
        return ws.cost
    grad = ws.grad
    if not folded:
        grad /= m
    if ws.grad_mask is not None:
        grad *= ws.grad_mask
    reg_cost, reg_grad = penalty(ws.params)
    if reg_grad is not None:
        grad += reg_grad
    cost = _cost(ws, m, per_example, reg_cost)
    if np.isfinite(cost):
        rule.apply(grad, t, scaled=folded)
    return cost
