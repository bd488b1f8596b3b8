"""The passes of the BLAS batch loop (:mod:`._blas`) that are not products, over threads.

At two threads and more the products already run on every core (BLAS splits them), but
the gather of a batch's rows and the passes over its activations would leave all cores but
one idle. Here each is cut into one contiguous part per thread (Numba ``prange``):

    gather      the rows of the batch (a multiple of 8 per part, see ``_gather``)
    forward     in ← in + b, a = g(in), row by row (softmax rows stay in ``_blas``)
    backward    Δ = g'(in) ⊙ up, row by row; then Σ_rows Δ for the bias gradient, one part
                of the columns per thread, each column summed over the rows in order

Every value is computed exactly as by one thread: rows do not depend on each other, and a
column's sum adds its rows in the same order whatever the split. So these passes give the
same weights, bit for bit, at any thread count. ``threads_for`` gives the count: Numba's
(``NUMBA_NUM_THREADS``, ``numba.set_num_threads``), or the BLAS's own (threadpoolctl,
``OPENBLAS_NUM_THREADS``) when that is lower, and 1 when Numba's threading layer is OpenMP
waiting actively (its default, ``OMP_WAIT_POLICY`` not ``passive``): its workers then spin
between parallel regions on the very cores the BLAS threads need (an epoch took 4.7 times as
long on 2 busy cores). TBB, the workqueue layer (``NUMBA_THREADING_LAYER=workqueue``) and
OpenMP with ``OMP_WAIT_POLICY=passive`` let their workers sleep. The workqueue layer takes one
caller at a time: a second thread training meanwhile runs its passes on one thread. A pass
over fewer than ``PARALLEL_MIN`` values stays on one thread: waking a sleeping worker costs
more than the pass (a batch of 128 rows: the gather of 784 inputs splits, a ReLU pass over
256 units, 3 µs, does not).
"""

from __future__ import annotations

import functools
import math
import os
import threading

import numba
import numpy as np
from numba import prange

from ._elementwise import act_backward, activate, kernel, relu, relu_derivative
from ._gemm import blas_threads
from ._layout import ACT, BIAS, RELU, SIZE

__all__ = ["PARALLEL_MIN", "bias_activate_rows", "delta_rows", "gather", "parts",
           "threads_for"]

U = np.uint64
#: values in a pass (rows × units) from which it is split over threads
PARALLEL_MIN = 65_536
_ONE_CALLER = threading.Lock()  # the workqueue layer's: one parallel caller at a time


@functools.cache
def _layer() -> str:
    """Numba's threading layer, started if need be ('' when it cannot start)."""
    try:
        from numba.np.ufunc import parallel

        parallel._launch_threads()
        return numba.threading_layer()
    except Exception:  # no usable layer: everything stays on one thread
        return ""


def _workers_sleep(layer: str) -> bool:
    if layer == "omp":
        return os.environ.get("OMP_WAIT_POLICY", "").strip().lower() == "passive"
    return layer in ("tbb", "workqueue")


def threads_for(call, *args):
    """``call(*args, threads)`` with the thread count of the module's docstring."""
    threads, theirs = numba.get_num_threads(), blas_threads()
    if theirs is not None:
        threads = max(1, min(threads, theirs))
    if threads == 1 or not _workers_sleep(_layer()):
        return call(*args, 1)
    if _layer() != "workqueue":
        return call(*args, threads)
    if not _ONE_CALLER.acquire(blocking=False):
        return call(*args, 1)
    try:
        return call(*args, threads)
    finally:
        _ONE_CALLER.release()


@kernel(inline="always")
def parts(values, threads):
    """How many of the ``threads`` a pass over ``values`` values uses: 1 under
    ``PARALLEL_MIN``."""
    return 1 if values < PARALLEL_MIN else threads


@kernel(inline="always")
def _finite_row(x):
    """Whether every value of ``x`` is finite."""
    for v in x:
        if not math.isfinite(v):
            return False
    return True


@kernel(fastmath={"reassoc"})
def _gather(X, Y, sample_weight, order, start, m, out_cols, a, ty, tw):
    """Row ``r`` of the batch: ``a[r, :] = X[e, :]``, ``ty[r, :] = Y[e, out_cols]`` and
    ``tw[r] = w_e`` for ``e = order[start + r]``. Returns the first ``e`` whose inputs are
    not all finite, else −1.

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
    for r in range(m):
        e = order[start + r]
        for k in range(K):
            ty[U(r) * K + k] = Y[e, out_cols[k]]
        if weighted:
            tw[r] = sample_weight[e]
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
                    return order[start + q]
    for r in range(full, m):  # the rest one by one
        x, o = X[order[start + r]], U(r) * n
        check = zero
        for i in range(n):
            a[o + i] = x[i]
            check += x[i] * zero
        if check != zero:
            return order[start + r]
    return -1


@kernel(parallel=True)
def gather(X, Y, sample_weight, order, start, m, out_cols, a, ty, tw, threads):
    """``_gather`` with the rows cut into one part per thread (a multiple of 8 rows each);
    returns the first example whose inputs are not all finite, else −1."""
    n, K = U(X.shape[1]), U(out_cols.shape[0])
    p = parts(m * X.shape[1], threads)
    if p == 1:
        return _gather(X, Y, sample_weight, order, start, m, out_cols, a, ty, tw)
    step = ((m + p - 1) // p + 7) // 8 * 8
    bad = np.full(p, -1, np.int64)
    for q in prange(p):
        lo = q * step
        hi = min(m, lo + step)
        if lo < hi:
            bad[q] = _gather(X, Y, sample_weight, order, start + lo, hi - lo, out_cols,
                             a[U(lo) * n:], ty[U(lo) * K:], tw[lo:])
    for q in range(p):
        if bad[q] >= 0:
            return bad[q]
    return -1


@kernel(parallel=True)
def bias_activate_rows(layer, m, groups, o, params, in_, a, lse, c, threads):
    """``in_ += b`` and ``a = g(in_)`` on every row of a group that is not softmax, the rows
    cut into one part per thread; ReLU in one pass (so the loop vectorises)."""
    n, act, bias = U(groups[layer, SIZE]), groups[layer, ACT], U(groups[layer, BIAS])
    p = parts(m * groups[layer, SIZE], threads)
    step = (m + p - 1) // p
    for q in prange(p):
        for r in range(q * step, min(m, (q + 1) * step)):
            row = o + U(r) * n
            if act == RELU:
                for j in range(n):
                    z = in_[row + j] + params[bias + j]
                    in_[row + j] = z
                    a[row + j] = relu(z)
            else:
                for j in range(n):
                    in_[row + j] = in_[row + j] + params[bias + j]
                lse[r] = activate(act, in_, a, row, n, c)


@kernel(parallel=True)
def delta_rows(layer, m, groups, o, a, in_, up, delta, c, out, beta, threads):
    """``Δ = g'(in) ⊙ up`` on every row of a group with something downstream (rows cut
    into parts), then ``out[bias] ← beta · out[bias] + Σ_rows Δ`` (columns cut into parts,
    each column's rows added in order)."""
    n, act, bias = U(groups[layer, SIZE]), groups[layer, ACT], U(groups[layer, BIAS])
    p = parts(m * groups[layer, SIZE], threads)
    step = (m + p - 1) // p
    for q in prange(p):
        for r in range(q * step, min(m, (q + 1) * step)):
            row = o + U(r) * n
            if act == RELU:  # as act_backward, without the dispatch (vectorises)
                for j in range(n):
                    delta[row + j] = relu_derivative(in_[row + j], a[row + j]) * up[row + j]
            else:
                act_backward(act, in_, a, row, up, row, delta, row, n, c)
    width = (groups[layer, SIZE] + p - 1) // p
    for q in prange(p):
        lo, hi = U(q * width), U(min(groups[layer, SIZE], (q + 1) * width))
        for j in range(lo, hi):
            out[bias + j] = out[bias + j] * beta
        for r in range(m):
            row = o + U(r) * n
            for j in range(lo, hi):
                out[bias + j] = out[bias + j] + delta[row + j]
