"""Mini-batch epochs compiled whole: Numba loops around the BLAS ``?gemm`` NumPy itself uses.

The NumPy engine (:mod:`._minibatch`) spends its time in matrix products, but between them
every update costs some forty Python-level calls, a gather by ``np.take`` and several passes
over the batch. Here one compiled call runs a whole epoch: per batch of ``m`` examples::

    gather     a_0 ← X[order[batch]], and the targets and weights of the same rows
    forward    in_g = a_src @ W (+ further blocks, β = 1);  per row in_g += b_g, a_g = g(in_g)
    output     Δ_out = w · ∂ℓ/∂in per row (``_elementwise.output_loss``), ℓ summed into the cost
    backward   up_src = Δ_g @ Wᵀ (β = 1 for a second downstream block);  Δ_g = g'(in_g) ⊙ up_g,
               the bias gradient Σ_rows Δ_g summed in the same pass

The products are Fortran ``?gemm`` calls on row-major buffers (a row-major ``C = A @ B`` is
the column-major ``Cᵀ = Bᵀ Aᵀ``), made from compiled code through a function pointer: NumPy's
own BLAS when it exports ``?gemm`` (so the products are those of ``np.matmul``), else SciPy's
``cython_blas``. (On AMD Zen 4, OpenBLAS's AVX2 kernels beat the AVX-512 ones it picks for
large float32 products; a user who wants them sets ``OPENBLAS_CORETYPE=Haswell`` before
starting Python: see the README's speed section.)
Plain SGD whose only output group is the last layer updates each block in its gradient
product (``W ← 1·W + aᵀ(−η/m · Δ)``, β = 1) right after the block's Δ has been
propagated; any other case (momentum, Nesterov, weight decay, masked blocks, several output
groups) sums the gradient into a vector and steps with ``_sgd._apply_batch``, the compiled
kernel's own optimizer step. A batch whose cost is not finite stops the epoch before its
update, and so does a batch with a NaN or infinite input or a target the loss does not
take (each row is checked as it is copied, which is free, so ``train()`` skips its own
passes over ``X`` and ``Y``). Everything lives in
buffers allocated once per ``train()`` call.
"""

from __future__ import annotations

import math

import numpy as np

from .._memory import aligned_zeros
from ._elementwise import (
    ONE,
    ZERO,
    act_backward,
    activate,
    exp_nonpositive,
    kernel,
    output_loss,
    relu,
    relu_derivative,
    softmax_normalise,
    softmax_shift,
)
from ._gemm import N_, T_, _gemm, _product, gemm_function, scipy_gemm
from ._layout import (
    ACT,
    BIAS,
    HAS_DOWN,
    N_SRC,
    OFFSET,
    OUT_HI,
    OUT_LO,
    RELU,
    SIZE,
    SOFTMAX,
    SRC,
    W_OFFSET,
)
from ._sgd import _apply_batch, _batch_penalty, targets_fine

__all__ = ["blas_epoch", "buffers", "gemm_function", "scipy_gemm"]

U = np.uint64
@kernel(inline="always")
def _finite_row(x):
    """Whether every value of ``x`` is finite."""
    for v in x:
        if not math.isfinite(v):
            return False
    return True


@kernel(fastmath={"reassoc"})
def _gather(X, Y, y_range, sample_weight, order, start, m, out_cols, a, ty, tw):
    """Row ``r`` of the batch: ``a[r, :] = X[e, :]``, ``ty[r, :] = Y[e, out_cols]`` and
    ``tw[r] = w_e`` for ``e = order[start + r]``. Returns the first ``e`` whose inputs are
    not all finite or whose targets are not all finite and in ``y_range`` (the values the
    loss takes, ``_sgd.targets_fine``), else −1.

    The rows are scattered over memory, so the copy waits on it: eight rows are copied side
    by side (eight streams of reads in flight; two side by side took 0.011 s more per
    epoch of 60,000 × 784 float32), after the targets (whose reads overlap the copy); the
    last ``m mod 8`` rows go one by one. The check is Σ_i 0·x_i per row: 0 unless some x_i
    is NaN or infinite. Adding zeros in any order gives the same result, so the sum may be
    reassociated (the one fast-math flag here), which lets it vectorise and costs nothing
    next to the copy.
    """
    n, K = U(X.shape[1]), U(out_cols.shape[0])
    weighted = sample_weight.shape[0] > 0
    zero = X.dtype.type(0)
    tb = m  # the first row of the batch with a bad target
    for r in range(m):
        e = order[start + r]
        for k in range(K):
            ty[U(r) * K + k] = Y[e, out_cols[k]]
        if weighted:
            tw[r] = sample_weight[e]
        if tb == m and not targets_fine(Y, e, y_range[0], y_range[1]):
            tb = r
    full = m - m % 8
    for r in range(0, full, 8):  # rows r .. r+7
        x0, x1, x2, x3 = X[order[start + r]], X[order[start + r + 1]], \
            X[order[start + r + 2]], X[order[start + r + 3]]
        x4, x5, x6, x7 = X[order[start + r + 4]], X[order[start + r + 5]], \
            X[order[start + r + 6]], X[order[start + r + 7]]
        o0, o1, o2, o3 = U(r) * n, U(r + 1) * n, U(r + 2) * n, U(r + 3) * n
        o4, o5, o6, o7 = U(r + 4) * n, U(r + 5) * n, U(r + 6) * n, U(r + 7) * n
        c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = zero
        for i in range(n):
            v0, v1, v2, v3, v4, v5, v6, v7 = x0[i], x1[i], x2[i], x3[i], x4[i], x5[i], x6[i], \
                x7[i]
            a[o0 + i] = v0
            a[o1 + i] = v1
            a[o2 + i] = v2
            a[o3 + i] = v3
            a[o4 + i] = v4
            a[o5 + i] = v5
            a[o6 + i] = v6
            a[o7 + i] = v7
            c0 += v0 * zero
            c1 += v1 * zero
            c2 += v2 * zero
            c3 += v3 * zero
            c4 += v4 * zero
            c5 += v5 * zero
            c6 += v6 * zero
            c7 += v7 * zero
        if c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 != zero:  # some row here is bad: the first
            for q in range(r, r + 8):
                if not _finite_row(X[order[start + q]]):
                    return order[start + min(q, tb)]
    for r in range(full, m):  # the rest one by one
        x, o = X[order[start + r]], U(r) * n
        check = zero
        for i in range(n):
            a[o + i] = x[i]
            check += x[i] * zero
        if check != zero:
            return order[start + min(r, tb)]
    return order[start + tb] if tb < m else -1


@kernel()
def _forward(f, m, groups, blocks, block_ptr, params, base, a, in_, lse, ch, iw, fw, c):
    """FORWARDPROPAGATE the gathered batch (``a`` at ``base[0]``); ``lse[layer, r]`` keeps
    log Σ e^{in} of softmax rows."""
    item = U(params.itemsize)
    P, A, Z = U(params.ctypes.data), U(a.ctypes.data), U(in_.ctypes.data)
    for layer in range(1, groups.shape[0]):
        n, o = U(groups[layer, SIZE]), base[layer]
        if block_ptr[layer] == block_ptr[layer + 1]:  # only bias arcs: in_j = w_0j
            for t in range(U(m) * n):
                in_[o + t] = c[ZERO]
        for k in range(block_ptr[layer], block_ptr[layer + 1]):
            src = blocks[k, SRC]
            n_src = blocks[k, N_SRC]
            beta = c[ZERO] if k == block_ptr[layer] else c[ONE]
            _product(f, A + base[src] * item, n_src, P + U(blocks[k, W_OFFSET]) * item, n,
                     Z + o * item,
                     m, n, n_src, beta, ch, iw, fw, c[ONE])
        _bias_activate(groups[layer, ACT], m, n, o, params, U(groups[layer, BIAS]), in_, a,
                       lse[layer], c)


@kernel()
def _bias_activate(act, m, n, o, params, bias, in_, a, lse, c):
    """``in_ += b`` and ``a = g(in_)`` row by row; ReLU in one pass (so the loop
    vectorises), softmax by ``_softmax_rows``, the others through
    ``_elementwise.activate``."""
    for r in range(m):
        row = o + U(r) * n
        if act == RELU:
            for j in range(n):
                z = in_[row + j] + params[bias + j]
                in_[row + j] = z
                a[row + j] = relu(z)
        else:
            for j in range(n):
                in_[row + j] = in_[row + j] + params[bias + j]
            if act != SOFTMAX:
                lse[r] = activate(act, in_, a, row, n, c)
    if act == SOFTMAX:
        _softmax_rows(m, n, o, in_, a, lse, c)


@kernel()
def _softmax_rows(m, n, o, in_, a, lse, c):
    """Softmax of each row, with ``lse[r] = log Σ e^{in}``: the passes of
    ``_elementwise.activate`` (so the same values), but with the exponentials of the whole
    batch in one flat loop, which vectorises. Row by row, a softmax over 10 classes leaves
    that loop scalar: it took 12 µs per batch of 128, the flat loop 3.5 µs."""
    for r in range(m):
        lse[r] = softmax_shift(in_, a, o + U(r) * n, n)
    for t in range(U(m) * n):
        a[o + t] = exp_nonpositive(a[o + t], c)
    for r in range(m):
        lse[r] = lse[r] + softmax_normalise(a, o + U(r) * n, n, c)


@kernel()
def _output_rows(layer, m, weighted, loss, groups, K, base, a, in_, delta, lse, ty, tw,
                 tmp, scale, c):
    """Add ``scale · w · ∂ℓ/∂in`` of output group ``layer`` to its Δ rows (targets and
    weights as gathered in ``ty``, ``tw``; ``tmp`` holds a row's targets and the loss's
    scratch); returns Σ w ℓ."""
    n, o, act = U(groups[layer, SIZE]), base[layer], groups[layer, ACT]
    lo = U(groups[layer, OUT_LO])
    cost = 0.0
    for r in range(m):
        w = tw[r] if weighted else c[ONE]
        for k in range(n):
            tmp[k] = ty[U(r) * K + lo + k]
        value = output_loss(loss, act, in_, a, o + U(r) * n, n, tmp, U(0), delta,
                            lse[layer, r], w * scale, c)
        cost += float(value * w)
    return cost


@kernel()
def _delta_rows(layer, m, groups, base, a, in_, up, delta, c, out, beta, with_sum):
    """``Δ = g'(in) ⊙ up`` on every row of ``layer`` (zero when nothing lies downstream);
    ``with_sum`` also does ``_bias_sum`` on the way (each row added as it is made)."""
    n, o, act = U(groups[layer, SIZE]), base[layer], groups[layer, ACT]
    bias = U(groups[layer, BIAS])
    zero = delta.dtype.type(0)
    if with_sum:
        for j in range(n):
            out[bias + j] = out[bias + j] * beta
    for r in range(m):
        row = o + U(r) * n
        if not groups[layer, HAS_DOWN]:
            for j in range(n):
                delta[row + j] = zero
        elif act == RELU:  # as act_backward, without the dispatch (vectorises)
            for j in range(n):
                delta[row + j] = relu_derivative(in_[row + j], a[row + j]) * up[row + j]
        else:
            act_backward(act, in_, a, row, up, row, delta, row, n, c)
        if with_sum:
            for j in range(n):
                out[bias + j] = out[bias + j] + delta[row + j]


@kernel()
def _bias_sum(layer, m, groups, base, delta, out, beta):
    """``out[bias] ← beta · out[bias] + Σ_rows Δ`` (rows added in order)."""
    n, o, bias = U(groups[layer, SIZE]), base[layer], U(groups[layer, BIAS])
    for j in range(n):
        out[bias + j] = out[bias + j] * beta
    for r in range(m):
        row = o + U(r) * n
        for j in range(n):
            out[bias + j] = out[bias + j] + delta[row + j]


@kernel()
def _backward(f, m, in_place, scale, weighted, loss, groups, blocks, block_ptr, K, params,
              grad, base, a, in_, up, delta, lse, ty, tw, tmp, fresh, ch, iw, fw, c):
    """BACKPROPAGATE the batch; returns Σ_rows w ℓ (NaN/inf stops it before any update when
    ``in_place``).

    Layers are visited from the last: by then every block out of a layer has added its
    ``Δ_dst Wᵀ`` to ``up``, so Δ is complete. The gradient products go into the weights
    themselves when ``in_place`` (Δ then carries ``scale`` = −η/m), else into ``grad``.
    """
    item = U(params.itemsize)
    P, A, UP = U(params.ctypes.data), U(a.ctypes.data), U(up.ctypes.data)
    target = params if in_place else grad
    TG = U(target.ctypes.data)
    keep = c[ONE] if in_place else c[ZERO]  # β of the gradient products
    fresh[:] = 1
    cost = 0.0
    for layer in range(groups.shape[0] - 1, 0, -1):
        n, o = U(groups[layer, SIZE]), base[layer]
        is_output = groups[layer, OUT_HI] > groups[layer, OUT_LO]
        _delta_rows(layer, m, groups, base, a, in_, up, delta, c, target, keep, not is_output)
        if is_output:
            cost += _output_rows(layer, m, weighted, loss, groups, K, base, a, in_, delta,
                                 lse, ty, tw, tmp, scale, c)
            if in_place and not math.isfinite(cost):
                return cost
        D = U(delta.ctypes.data) + o * item
        for k in range(block_ptr[layer], block_ptr[layer + 1]):
            src, n_src = blocks[k, SRC], blocks[k, N_SRC]
            W = P + U(blocks[k, W_OFFSET]) * item
            if src > 0:  # up_src (+)= Δ Wᵀ with W before its update; the inputs need none
                beta = c[ZERO] if fresh[src] else c[ONE]
                fresh[src] = 0
                _gemm(f, T_, N_, n_src, m, n, c[ONE], W, n, D, n, beta,
                      UP + base[src] * item, n_src, ch, iw, fw)
            # target_W ← β target_W + a_srcᵀ Δ   (column-major: Wᵀ ← β Wᵀ + Δᵀ a_src)
            _gemm(f, N_, T_, n, n_src, m, c[ONE], D, n, A + base[src] * item, n_src, keep,
                  TG + U(blocks[k, W_OFFSET]) * item, n, ch, iw, fw)
        if is_output:
            _bias_sum(layer, m, groups, base, delta, target, keep)
    return cost


@kernel()
def blas_epoch(order, X, Y, y_range, sample_weight, batch_size, loss, groups, blocks,
               block_ptr, out_cols, params, grad, grad_mask, decay, hyper, velocity, neg_lr,
               base, a, in_, up, delta, lse, ty, tw, tmp, fresh, f, ch, iw, fw, c):
    """Run the batches of ``order``; returns ``(Σ_batches cost·|B|, −1, −1)``, or
    ``(cost, t, −1)`` when the cost of batch ``t`` is not finite, or ``(nan, t, e)`` when
    example ``e`` of batch ``t`` has a NaN or infinite input, or a target that is not
    finite or outside ``y_range``: the epoch stops there, before the batch's update.

    ``hyper`` as in ``_sgd._apply_batch``; plain SGD (no penalty, momentum, Adam or mask) on
    a plan whose only output group is the last layer updates the weights inside the
    products.
    ``base[l]`` is where layer ``l``'s rows start in the buffers ``a, in_, up, delta``.
    """
    G = groups.shape[0] - 1
    n_out = 0
    for layer in range(1, G + 1):
        n_out += groups[layer, OUT_HI] > groups[layer, OUT_LO]
    in_place = hyper[5] == 0 and hyper[6] == 0 and hyper[7] == 0 and grad_mask.shape[0] == 0 \
        and n_out == 1 and groups[G, OUT_HI] > groups[G, OUT_LO]
    n, K, weighted = order.shape[0], U(out_cols.shape[0]), sample_weight.shape[0] > 0
    total = 0.0
    for t in range((n + batch_size - 1) // batch_size):
        start = t * batch_size
        m = min(n, start + batch_size) - start
        scale = neg_lr[t] / params.dtype.type(m) if in_place else c[ONE]
        bad = _gather(X, Y, y_range, sample_weight, order, start, m, out_cols, a, ty, tw)
        if bad >= 0:
            return math.nan, t, bad
        _forward(f, m, groups, blocks, block_ptr, params, base, a, in_, lse, ch, iw, fw, c)
        cost = _backward(f, m, in_place, scale, weighted, loss, groups, blocks, block_ptr, K,
                         params, grad, base, a, in_, up, delta, lse, ty, tw, tmp, fresh, ch,
                         iw, fw, c) / m
        if not in_place and hyper[5] != 0:
            cost += _batch_penalty(params, decay, hyper, m)
        if not math.isfinite(cost):
            return cost, t, -1
        if not in_place:
            _apply_batch(params, grad, params.dtype.type(m), grad_mask, decay, hyper,
                         velocity, neg_lr[t])
        total += cost * m
    return total, -1, -1


def buffers(layout, batch_size: int, dtype) -> dict:
    """The work buffers of ``blas_epoch`` for batches of up to ``batch_size`` rows."""
    size = layout.groups[:, SIZE]
    base = (batch_size * layout.groups[:, OFFSET]).astype(np.uint64)
    rows = batch_size * layout.n_units
    n_layers = size.shape[0]
    return {"base": base, "a": aligned_zeros(rows, dtype), "in_": aligned_zeros(rows, dtype),
            "up": aligned_zeros(rows, dtype), "delta": aligned_zeros(rows, dtype),
            "lse": np.zeros((n_layers, batch_size), dtype),
            "ty": aligned_zeros(batch_size * layout.out_cols.shape[0], dtype),
            "tw": np.zeros(batch_size, dtype), "tmp": np.zeros(2 * int(size.max()), dtype),
            "fresh": np.ones(n_layers, np.int64)}
