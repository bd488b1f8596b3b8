"""Numba-compiled NEURALNETTRAIN epochs over a Layout (per-example and small-batch SGD
and Adam).

One call runs one epoch: the examples are visited in the given ``order``, in batches of
``batch_size``. For every example (seed 002, Lecture 07-3b)::

    forward    in_g = b_g + Σ_blocks a_src @ W        a_g = g(in_g)
    backward   Δ_g = g'(in_g) ⊙ Σ_downstream Δ_dst @ Wᵀ  (+ the loss delta on output groups)

All deltas of an example are computed with the weights before its update, as the lecture
and the NumPy engine do. The gradient ``∂J/∂w_ij = Δ_j a_i`` is then either applied at once
(plain SGD on single examples: ``w ← w + (a_i Δ_j)(−η)``) or summed over the batch and
applied with weight decay and momentum or Adam, operation for operation as
``deltanet.optimizers`` does, so both engines agree to rounding. Nothing is allocated
inside the loops.

``c`` holds constants typed like the parameters (``_elementwise.constants``).
"""

from __future__ import annotations

import math

import numpy as np

from ._elementwise import ONE, ZERO, act_backward, activate, kernel, output_loss

U = np.uint64  # unsigned offsets: no wraparound checks, vectorisable loops (see _elementwise)


@kernel(refcounts=False)
def _accumulate_rows(a, ao, n_src, W, off, n, z, o):
    """``z[o + j] += Σ_i a[ao + i] · W[off + i·n + j]``: one block of ``in_ = a_src @ W``.

    Row by row, each row a vectorised axpy (``z`` and ``W`` are separate arrays, which LLVM
    checks once per row before running the vector loop).
    """
    for i in range(n_src):
        a_i, row = a[ao + i], off + i * n
        for j in range(n):
            z[o + j] += a_i * W[row + j]


@kernel(refcounts=False)
def _forward(X, r, params, groups, blocks, block_ptr, a, in_, lse, c):
    """FORWARDPROPAGATE example ``X[r]``: ``in_g = b_g + Σ a_src W``, ``a_g = g(in_g)``.

    Returns ``Σ_i x_i · 0``: 0, or NaN when the row holds a NaN or an infinity (the check
    of ``X``, made as the row is read: see ``sgd_epoch``)."""
    check = c[ZERO]
    for i in range(X.shape[1]):
        x = X[r, i]
        a[i] = x
        check += x * c[ZERO]
    for layer in range(1, groups.shape[0]):
        n, o, bias = U(groups[layer, 0]), U(groups[layer, 1]), U(groups[layer, 3])
        for j in range(n):
            in_[o + j] = params[bias + j]
        for k in range(block_ptr[layer], block_ptr[layer + 1]):
            _accumulate_rows(a, U(groups[blocks[k, 0], 1]), U(blocks[k, 3]), params,
                             U(blocks[k, 2]), n, in_, o)
        lse[layer] = activate(groups[layer, 2], in_, a, o, n, c)
    return check


@kernel(refcounts=False)
def _backward(Y, r, w, loss, groups, blocks, block_ptr, out_cols, params, a, in_, lse, up,
              delta, tmp, c):
    """BACKPROPAGATE example ``r``: every Δ_g with the current weights; returns ℓ.

    ``up`` collects ``Σ_downstream Δ_dst Wᵀ`` = ∂ℓ/∂a_g; the inputs get none.
    """
    value = c[ZERO]
    for j in range(U(groups[0, 0]), U(up.shape[0])):
        up[j] = c[ZERO]
    for layer in range(groups.shape[0] - 1, 0, -1):
        n, o, act = U(groups[layer, 0]), U(groups[layer, 1]), groups[layer, 2]
        if groups[layer, 6]:
            act_backward(act, in_, a, o, up, o, delta, o, n, c)
        else:
            for j in range(n):
                delta[o + j] = c[ZERO]
        lo, hi = U(groups[layer, 4]), U(groups[layer, 5])
        if hi > lo:
            for k in range(n):
                tmp[k] = Y[r, out_cols[lo + k]]
            value += output_loss(loss, act, in_, a, o, n, tmp, U(0), delta, lse[layer], w, c)
        for k in range(block_ptr[layer], block_ptr[layer + 1]):
            src = blocks[k, 0]
            if src == 0:
                continue  # the inputs need no Δ
            _dot_rows(params, U(blocks[k, 2]), U(blocks[k, 3]), n, delta, o, up,
                      U(groups[src, 1]), c)
    return value


@kernel(inline="always")
def dot_four_rows(W, r0, n, d, o, c):
    """``Σ_j W[r + j] · d[o + j]`` for the four rows ``r = r0, r0 + n, r0 + 2n, r0 + 3n``,
    each summed over ``j`` in order (four independent chains that overlap)."""
    r1, r2, r3 = r0 + n, r0 + U(2) * n, r0 + U(3) * n
    s0, s1, s2, s3 = c[ZERO], c[ZERO], c[ZERO], c[ZERO]
    for j in range(n):
        d_j = d[o + j]
        s0, s1 = s0 + W[r0 + j] * d_j, s1 + W[r1 + j] * d_j
        s2, s3 = s2 + W[r2 + j] * d_j, s3 + W[r3 + j] * d_j
    return s0, s1, s2, s3


@kernel(refcounts=False)
def _dot_rows(W, off, n_src, n, d, o, up, so, c):
    """``up[so + i] += Σ_j W[off + i·n + j] · d[o + j]``: one block of ``Δ @ Wᵀ``.

    Four rows at a time, each summed over ``j`` in order as the plain loop does (the same
    bits), so that four independent sums overlap instead of waiting on one another.
    """
    i, four = U(0), U(4)
    while i + four <= n_src:
        s0, s1, s2, s3 = dot_four_rows(W, off + i * n, n, d, o, c)
        q = so + i
        up[q], up[q + U(1)] = up[q] + s0, up[q + U(1)] + s1
        up[q + U(2)], up[q + U(3)] = up[q + U(2)] + s2, up[q + U(3)] + s3
        i += four
    while i < n_src:
        row, s = off + i * n, c[ZERO]
        for j in range(n):
            s += W[row + j] * d[o + j]
        up[so + i] += s
        i += U(1)


@kernel(refcounts=False)
def _outer_products(groups, blocks, block_ptr, a, delta, out, scale):
    """``out_W += (a_i Δ_j) · scale`` for every block, ``out_b += Δ_j · scale`` for biases."""
    for layer in range(1, groups.shape[0]):
        n, o, bias = U(groups[layer, 0]), U(groups[layer, 1]), U(groups[layer, 3])
        for j in range(n):
            out[bias + j] = out[bias + j] + delta[o + j] * scale
        for k in range(block_ptr[layer], block_ptr[layer + 1]):
            so, off = U(groups[blocks[k, 0], 1]), U(blocks[k, 2])
            for i in range(U(blocks[k, 3])):
                a_i, row = a[so + i], off + i * n
                for j in range(n):
                    out[row + j] = out[row + j] + (a_i * delta[o + j]) * scale


@kernel(refcounts=False, fastmath=True)
def _penalty(params, decay, l2, l1):
    """The cost ``λ Σ (w m)² + λ₁ Σ |w m|`` (m: decay mask). It is only reported, never
    differentiated, so the sums may be reassociated (fastmath) and vectorised."""
    sq, ab = 0.0, 0.0
    for q in range(params.shape[0]):
        wd = float(params[q] * decay[q])
        sq += wd * wd
        ab += abs(wd)
    return l2 * sq + l1 * ab


@kernel(inline="always")
def _batch_penalty(params, decay, hyper, nb):
    """The penalty added to the cost of a batch of ``nb`` examples: ``_penalty``, divided
    by ``nb`` when ``hyper[13]`` says so (scikit-learn's ``α/(2·|B|) Σ w²``)."""
    value = _penalty(params, decay, float(hyper[2]), float(hyper[1]))
    return value / nb if hyper[13] != 0 else value


@kernel(refcounts=False)
def _apply_batch(params, grad, nb, grad_mask, decay, hyper, velocity, neg_lr):
    """One optimizer step from the gradient summed over ``nb`` examples; resets ``grad``.

    ``hyper`` = (2λ, λ₁, λ, μ, nesterov, has_penalty, momentum, adam, β₁, 1 − β₁, β₂,
    1 − β₂, ε, penalty over |B|) typed like params (``_runners._CompiledRunner``); with the
    last, 2λ and λ₁ are divided by the batch's size.
    grad ← grad / |B| ⊙ mask + 2λ w + λ₁ sign(w);  v ← μ v − η grad;  w ← w + v
    (Nesterov: w ← w + μ v − η grad; no momentum: w ← w − η grad). Adam (``neg_lr`` = −η'
    of this update, ``velocity`` = m then v): m ← m β₁ + grad (1 − β₁),
    v ← v β₂ + grad² (1 − β₂), w ← w + m (−η') / (√v + ε), as ``optimizers.scale_by_adam``.
    """
    two_l2, l1, mu = hyper[0], hyper[1], hyper[3]
    if hyper[13] != 0:
        two_l2, l1 = two_l2 / nb, l1 / nb
    nesterov, penalty, momentum = hyper[4] != 0, hyper[5] != 0, hyper[6] != 0
    n = params.shape[0]
    if hyper[7] != 0:
        _adam_step(params, grad, nb, grad_mask, decay, two_l2, l1, penalty, velocity[:n],
                   velocity[n:], hyper, neg_lr)
        return
    masked = grad_mask.shape[0] > 0
    for q in range(n):
        g = grad[q] / nb
        grad[q] = 0
        if masked:
            g = g * grad_mask[q]
        w = params[q]
        if penalty:
            wd = w * decay[q]
            g = g + (two_l2 * wd + l1 * np.sign(wd))
        step = g * neg_lr
        if momentum:
            v = velocity[q] * mu + step
            velocity[q] = v
            step = v * mu + step if nesterov else v
        params[q] = w + step


@kernel(inline="always")
def _adam_step(params, grad, nb, grad_mask, decay, two_l2, l1, penalty, m, v, hyper, neg_lr):
    """The Adam branch of ``_apply_batch``, a loop of its own: with the SGD rules in the same
    loop it did not vectorise (7.3 ns per weight in float64, 1.4 here). ``np.sqrt`` keeps
    float32 in float32, as NumPy does. The gradient's first lines repeat those of
    ``_apply_batch`` on purpose: moved into a shared inline helper, neither loop
    vectorised (momentum SGD went from 0.5 to 9.8 ns per weight)."""
    b1, one_b1, b2, one_b2, eps = hyper[8], hyper[9], hyper[10], hyper[11], hyper[12]
    masked = grad_mask.shape[0] > 0
    for q in range(params.shape[0]):
        g = grad[q] / nb
        grad[q] = 0
        if masked:
            g = g * grad_mask[q]
        w = params[q]
        if penalty:
            wd = w * decay[q]
            g = g + (two_l2 * wd + l1 * np.sign(wd))
        mq = m[q] * b1 + g * one_b1
        vq = v[q] * b2 + (g * g) * one_b2
        m[q] = mq
        v[q] = vq
        params[q] = w + (mq * neg_lr) / (np.sqrt(vq) + eps)


@kernel(inline="always")
def targets_fine(Y, r, low, high):
    """Whether row ``r`` of ``Y`` holds finite targets in ``[low, high]``, the values the
    loss takes (``_inputs.TARGET_RANGES``): the check of ``Y``, made as the row is read
    (``y − y`` is 0 exactly for a finite ``y``). An empty range (``low > high``) checks
    nothing (``_runners.NO_TARGET_CHECK``)."""
    if low > high:
        return True
    lo, hi = Y.dtype.type(low), Y.dtype.type(high)  # 0, 1 or ±inf: exact in float32
    least, most, check = hi, lo, Y.dtype.type(0)
    for k in range(Y.shape[1]):  # no branch per target
        y = Y[r, k]
        least, most, check = min(least, y), max(most, y), check + (y - y)
    return check == 0 and least >= lo and most <= hi


@kernel(inline="always")
def keeps_start(n_epochs, limits):
    """Whether the call keeps each epoch's start weights (``keep_start``) and puts them back
    at a stop (``stop_at``): when it runs several epochs, or when ``limits[4]`` asks for it
    (a call of one whole epoch); a caller that keeps its own copy (a call per batch) does
    without the copy."""
    return n_epochs > 1 or limits[4] != 0.0


@kernel(inline="always")
def keep_start(keep, params, start):
    """Before each epoch, when ``keep``: its start weights into ``start``."""
    if keep:
        for q in range(params.shape[0]):
            start[q] = params[q]


@kernel(inline="always")
def stop_at(ep, t, cost, keep, params, start):
    """Update ``t`` of epoch ``ep`` has the non-finite cost ``cost``: the result of the call.
    With ``keep`` the weights of the epoch's start are put back here; without, the caller
    keeps and puts back its own copy."""
    if keep:
        for q in range(params.shape[0]):
            params[q] = start[q]
    return ep, t, cost, False


@kernel(inline="always")
def epoch_cost(ep, total, n, costs, tol, before):
    """Epoch ``ep`` is done: ``costs[ep]`` = its mean cost ``total / n``. Returns that cost
    and whether it meets ``train()``'s ``tol`` rule: it differs from the epoch before
    (``before``; NaN for none) by less than ``tol`` (negative: no such rule)."""
    cost = total / n
    costs[ep] = cost
    return cost, tol >= 0 and not math.isnan(before) and abs(before - cost) < tol


@kernel(refcounts=False)
def sgd_epoch(order, n_epochs, limits, costs, start, X, Y, sample_weight, batch_size, loss,
              groups, blocks, block_ptr, out_cols, params, grad_mask, decay, hyper, velocity,
              neg_lr, a, in_, up, delta, scratch, grad, c):
    """Run ``n_epochs`` epochs, epoch ``ep`` over the examples of the ``ep``-th equal part of
    ``order``, its updates at ``−η = neg_lr[ep · updates per epoch + t]``.

    Returns ``(done, failed_at, value, converged)``: ``done`` epochs were completed and
    ``costs[ep]`` holds each one's mean cost; ``value`` is the last one's Σ_batches
    cost·|B|. ``failed_at >= 0``: the cost ``value`` of update ``failed_at`` of epoch
    ``done`` was not finite, or (``value`` NaN) a row of its batch held a NaN or an
    infinity (or a bad target, see below), and training stopped before that update (the
    weights of that epoch's start are put back when ``keeps_start``; ``start`` holds
    them). Each row is checked as it is read (``Σ x_i · 0`` is NaN exactly then): ``X``
    needs no pass of its own; nor does ``Y``: a target that is not finite or outside the
    range the loss takes stops training as a bad row of ``X`` does (``targets_fine``).
    ``converged``: the call ended early after an epoch that met the ``tol`` rule of
    ``epoch_cost``. ``limits`` = (tol, the mean cost of the epoch before the first or NaN
    for none, the lowest and the highest target the loss takes, 1 to keep the start weights
    also in a call of one epoch, else 0).

    ``a, in_, up, delta`` are work vectors of one value per unit (inputs included), separate
    arrays so that LLVM can tell them apart; ``scratch`` holds two vectors of the largest
    layer and one value per layer (log Σ e^{in} of softmax groups); ``grad`` is a vector like
    params. ``sample_weight`` is empty or the weights normalised to mean 1.
    """
    lse = scratch[scratch.shape[0] - groups.shape[0]:]
    tmp = scratch[:scratch.shape[0] - groups.shape[0]]
    weighted = sample_weight.shape[0] > 0
    # plain SGD on single examples of a dense plan: w ← w + (a_i Δ_j)(−η) right away
    at_once = batch_size == 1 and hyper[5] == 0 and hyper[6] == 0 and hyper[7] == 0 \
        and grad_mask.shape[0] == 0
    n = order.shape[0] // n_epochs
    n_updates = (n + batch_size - 1) // batch_size
    total, before, keep = 0.0, limits[1], keeps_start(n_epochs, limits)
    for ep in range(n_epochs):
        keep_start(keep, params, start)
        first, total = ep * n, 0.0
        for t in range(n_updates):
            start_at, stop = first + t * batch_size, first + min(n, (t + 1) * batch_size)
            eta = neg_lr[ep * n_updates + t]
            cost = 0.0
            for e in range(start_at, stop):
                r = order[e]
                w = sample_weight[r] if weighted else c[ONE]
                if math.isnan(_forward(X, r, params, groups, blocks, block_ptr, a, in_,
                                       lse, c)) or not targets_fine(Y, r, limits[2],
                                                                    limits[3]):
                    return stop_at(ep, t, math.nan, keep, params, start)  # no update
                value = _backward(Y, r, w, loss, groups, blocks, block_ptr, out_cols, params,
                                  a, in_, lse, up, delta, tmp, c)
                cost += float(value * w)
                if at_once:
                    if not math.isfinite(cost):
                        return stop_at(ep, t, cost, keep, params, start)
                    _outer_products(groups, blocks, block_ptr, a, delta, params, eta)
                else:
                    _outer_products(groups, blocks, block_ptr, a, delta, grad, c[ONE])
            cost /= stop - start_at
            if not at_once:
                if hyper[5] != 0:
                    cost += _batch_penalty(params, decay, hyper, stop - start_at)
                if not math.isfinite(cost):
                    return stop_at(ep, t, cost, keep, params, start)
                _apply_batch(params, grad, params.dtype.type(stop - start_at), grad_mask,
                             decay, hyper, velocity, eta)
            total += cost * (stop - start_at)
        before, converged = epoch_cost(ep, total, n, costs, limits[0], before)
        if converged:
            return ep + 1, -1, total, True
    return n_epochs, -1, total, False
