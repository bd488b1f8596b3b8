"""Per-example plain SGD on a dense layered plan: the common case, with tighter loops.

A plan is *dense layered* when layer ``l`` has exactly one incoming block, unmasked, from
layer ``l − 1``, and only the last layer is an output group (``Network.layered``). For plain
SGD on single examples (no momentum, no weight decay) ``_sgd.sgd_epoch`` then does more work
than needed; this epoch runs the same arithmetic in fewer passes over the weights:

* forward: ``in_j += a_i W_ij`` four rows of ``W`` per pass over ``in_`` (each ``in_j``
  still summed over ``i`` in order: the same bits as one row at a time);
* backward, layer ``l >= 2``: each row ``i`` of ``W_l`` is read once to propagate
  ``up_i = Σ_j W_ij Δ_j`` with the old weights and is then updated,
  ``W_ij ← W_ij + (a_i Δ_j)(−η)`` (``W_l`` is not needed again for this example);
* the first layer's update is fused with the next example's first-layer forward sum: the
  row just updated is the one that sum needs.

All deltas are computed before any weight they depend on changes, and every weight gets
``w + (a_i Δ_j)(−η)`` as in ``optimizers.sgd``, so the results are those of ``sgd_epoch``.
Every helper is inlined: a call passes each array as seven words on the stack, and the
three row loops as calls cost XOR 2-2-1 a fifth of its update (0.196 against 0.152 µs). Work
vectors and offsets are as in ``_sgd`` (a flat ``X``: example ``r`` starts at
``r · n_inputs``).
"""

from __future__ import annotations

import math

import numpy as np

from ._elementwise import ONE, ZERO, act_backward, activate, kernel, output_loss
from ._sgd import dot_four_rows, epoch_cost, keep_start, keeps_start, stop_at, targets_fine

U = np.uint64


@kernel(inline="always")
def _forward_rows(x, xo, n_src, W, off, n, z, o):
    """``z[o + j] += Σ_i x[xo + i] W[off + i·n + j]``, four rows per pass over ``z``."""
    i, four = U(0), U(4)
    while i + four <= n_src:
        r0 = off + i * n
        r1, r2, r3 = r0 + n, r0 + U(2) * n, r0 + U(3) * n
        x0, x1, x2, x3 = x[xo + i], x[xo + i + U(1)], x[xo + i + U(2)], x[xo + i + U(3)]
        for j in range(n):
            z[o + j] = (((z[o + j] + x0 * W[r0 + j]) + x1 * W[r1 + j]) + x2 * W[r2 + j]) \
                + x3 * W[r3 + j]
        i += four
    while i < n_src:
        x0, r0 = x[xo + i], off + i * n
        for j in range(n):
            z[o + j] = z[o + j] + x0 * W[r0 + j]
        i += U(1)


@kernel(inline="always")
def _update_forward_rows(x, xo, nx, nxo, n_src, W, off, n, d, do, s, z, o, zero):
    """``W_ij ← W_ij + (x_i Δ_j) s`` and, with the new row, the next example's
    ``z[o + j] += Σ_i nx[nxo + i] W_ij`` (four rows per pass). Returns the next example's
    ``Σ_i nx_i · 0`` (NaN for a NaN or an infinity: ``input_check``)."""
    i, four, check = U(0), U(4), zero
    while i + four <= n_src:
        r0 = off + i * n
        r1, r2, r3 = r0 + n, r0 + U(2) * n, r0 + U(3) * n
        x0, x1, x2, x3 = x[xo + i], x[xo + i + U(1)], x[xo + i + U(2)], x[xo + i + U(3)]
        y0, y1 = nx[nxo + i], nx[nxo + i + U(1)]
        y2, y3 = nx[nxo + i + U(2)], nx[nxo + i + U(3)]
        check += ((y0 * zero + y1 * zero) + y2 * zero) + y3 * zero
        for j in range(n):
            d_j = d[do + j]
            w0, w1 = W[r0 + j] + (x0 * d_j) * s, W[r1 + j] + (x1 * d_j) * s
            w2, w3 = W[r2 + j] + (x2 * d_j) * s, W[r3 + j] + (x3 * d_j) * s
            W[r0 + j], W[r1 + j], W[r2 + j], W[r3 + j] = w0, w1, w2, w3
            z[o + j] = (((z[o + j] + y0 * w0) + y1 * w1) + y2 * w2) + y3 * w3
        i += four
    while i < n_src:
        x0, y0, r0 = x[xo + i], nx[nxo + i], off + i * n
        check += y0 * zero
        for j in range(n):
            w0 = W[r0 + j] + (x0 * d[do + j]) * s
            W[r0 + j] = w0
            z[o + j] = z[o + j] + y0 * w0
        i += U(1)
    return check


@kernel(inline="always")
def input_check(x, xo, n, zero):
    """``Σ_i x[xo + i] · 0``: 0 for a row of finite numbers, NaN when it holds a NaN or
    an infinity (``inf · 0`` is NaN); no sum to overflow."""
    check = zero
    for i in range(n):
        check += x[xo + i] * zero
    return check


@kernel(inline="always")
def _update_rows(x, xo, n_src, W, off, n, d, do, s):
    """``W_ij ← W_ij + (x_i Δ_j) s`` (the last example of an epoch: no next forward)."""
    for i in range(n_src):
        x_i, row = x[xo + i], off + i * n
        for j in range(n):
            W[row + j] = W[row + j] + (x_i * d[do + j]) * s


@kernel(inline="always")
def _backprop_update_rows(a, ao, n_src, W, off, n, d, do, s, up, uo, c):
    """``up[uo + i] = Σ_j W_ij Δ_j`` with the old row, then ``W_ij ← W_ij + (a_i Δ_j) s``.

    Four rows per step, each sum over ``j`` in order (four independent chains).
    """
    i, four = U(0), U(4)
    while i + four <= n_src:
        r0 = off + i * n
        s0, s1, s2, s3 = dot_four_rows(W, r0, n, d, do, c)
        q = uo + i
        up[q], up[q + U(1)], up[q + U(2)], up[q + U(3)] = s0, s1, s2, s3
        _update_rows(a, ao + i, four, W, r0, n, d, do, s)
        i += four
    while i < n_src:
        row, s0 = off + i * n, c[ZERO]
        for j in range(n):
            s0 += W[row + j] * d[do + j]
        up[uo + i] = s0
        _update_rows(a, ao + i, U(1), W, row, n, d, do, s)
        i += U(1)


@kernel(inline="always")
def _bias(params, bias, n, d, do, s):
    for j in range(n):
        params[bias + j] = params[bias + j] + d[do + j] * s


@kernel(inline="always")
def _forward(summed, X, xo, params, groups, blocks, a, in_, lse, c):
    """FORWARDPROPAGATE; layer 1 reads the inputs from ``X`` at ``xo``, and its sum
    ``in_ = b + x W`` is skipped when ``summed`` (made by the previous update)."""
    for layer in range(1, groups.shape[0]):
        n, o, bias = U(groups[layer, 0]), U(groups[layer, 1]), U(groups[layer, 3])
        if layer > 1 or not summed:
            for j in range(n):
                in_[o + j] = params[bias + j]
            if layer == 1:
                _forward_rows(X, xo, U(groups[0, 0]), params, U(blocks[0, 2]), n, in_, o)
            else:
                _forward_rows(a, U(groups[layer - 1, 1]), U(groups[layer - 1, 0]), params,
                              U(blocks[layer - 1, 2]), n, in_, o)
        lse[layer] = activate(groups[layer, 2], in_, a, o, n, c)


@kernel(inline="always")
def _output(Y, r, w, loss, groups, out_cols, in_, a, delta, lse, tmp, c):
    """Δ of the last (output) layer; returns ℓ."""
    last = groups.shape[0] - 1
    n, o = U(groups[last, 0]), U(groups[last, 1])
    for j in range(n):
        delta[o + j] = c[ZERO]
    lo = U(groups[last, 4])
    for k in range(n):
        tmp[k] = Y[r, out_cols[lo + k]]
    return output_loss(loss, groups[last, 2], in_, a, o, n, tmp, U(0), delta, lse[last], w, c)


@kernel(refcounts=False)
def dense_epoch(order, n_epochs, limits, costs, start, X, Y, sample_weight, loss, groups,
                blocks, out_cols, params, neg_lr, a, in_, up, delta, scratch, c):
    """``n_epochs`` epochs of per-example plain SGD, as ``_sgd.sgd_epoch`` (the same
    arguments and results, each row of ``X`` and ``Y`` checked as it is read); ``X`` is
    the flat input matrix."""
    n_layers = groups.shape[0]
    lse = scratch[scratch.shape[0] - n_layers:]
    tmp = scratch[:scratch.shape[0] - n_layers]
    n_in = U(groups[0, 0])
    weighted = sample_weight.shape[0] > 0
    n1, o1, b1 = U(groups[1, 0]), U(groups[1, 1]), U(groups[1, 3])
    n_ex = order.shape[0] // n_epochs
    total, before, keep = 0.0, limits[1], keeps_start(n_epochs, limits)
    for ep in range(n_epochs):
        keep_start(keep, params, start)
        first, total = ep * n_ex, 0.0
        for t in range(first, first + n_ex):
            r = order[t]
            xo = U(r) * n_in
            if t == first:
                check = input_check(X, xo, n_in, c[ZERO])
            # a NaN or infinity in this row of X, or a bad target: no update
            if math.isnan(check) or not targets_fine(Y, r, limits[2], limits[3]):
                return stop_at(ep, t - first, math.nan, keep, params, start)
            w = sample_weight[r] if weighted else c[ONE]
            _forward(t > first, X, xo, params, groups, blocks, a, in_, lse, c)
            cost = float(_output(Y, r, w, loss, groups, out_cols, in_, a, delta, lse, tmp, c)
                         * w)
            if not math.isfinite(cost):
                return stop_at(ep, t - first, cost, keep, params, start)
            total += cost
            s = neg_lr[t]
            for layer in range(n_layers - 1, 1, -1):  # propagate Δ_l down, then update W_l
                n, o = U(groups[layer, 0]), U(groups[layer, 1])
                sn, so = U(groups[layer - 1, 0]), U(groups[layer - 1, 1])
                _backprop_update_rows(a, so, sn, params, U(blocks[layer - 1, 2]), n, delta, o,
                                      s, up, so, c)
                _bias(params, U(groups[layer, 3]), n, delta, o, s)
                act_backward(groups[layer - 1, 2], in_, a, so, up, so, delta, so, sn, c)
            _bias(params, b1, n1, delta, o1, s)
            if t + 1 < first + n_ex:  # W_1's update and the next example's Σ x_i W_ij
                for j in range(n1):
                    in_[o1 + j] = params[b1 + j]
                check = _update_forward_rows(X, xo, X, U(order[t + 1]) * n_in, n_in,
                                             params, U(blocks[0, 2]), n1, delta, o1, s,
                                             in_, o1, c[ZERO])
            else:
                _update_rows(X, xo, n_in, params, U(blocks[0, 2]), n1, delta, o1, s)
        before, converged = epoch_cost(ep, total, n_ex, costs, limits[0], before)
        if converged:
            return ep + 1, -1, total, True
    return n_epochs, -1, total, False
