"""The GEMM limit: the time of the matrix products alone for one epoch of mini-batch training.

A layer l with weights W (n_in, n_out) costs three GEMMs per batch of m examples:

    forward    in = a @ W              (m, n_in) x (n_in, n_out)
    gradient   grad_W = aᵀ @ Δ          (n_in, m) x (m, n_out)
    backward   Δ_prev = Δ @ Wᵀ          (m, n_out) x (n_out, n_in)

Timing only these products (into preallocated arrays, with the same BLAS and thread count as
the peers) bounds what any implementation built on that BLAS can reach. The first layer's
``Δ_prev`` is not needed by training, so ``skip_input_delta=True`` gives the tighter bound of
a loop that leaves it out.
"""

from __future__ import annotations

import itertools
import time

import numpy as np


def _batch_sizes(n: int, batch_size: int) -> list[int]:
    full, rest = divmod(n, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def epoch_seconds(
    sizes: list[int],
    n: int,
    batch_size: int = 128,
    dtype: type = np.float32,
    seed: int = 0,
    skip_input_delta: bool = False,
) -> float:
    """Seconds for the GEMMs of one epoch of n examples through a layered network ``sizes``."""
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((p, q)).astype(dtype) for p, q in itertools.pairwise(sizes)]
    a = [rng.standard_normal((batch_size, p)).astype(dtype) for p in sizes]
    deltas = [np.empty_like(x) for x in a]
    grads = [np.empty_like(W) for W in Ws]
    start = time.perf_counter()
    for m in _batch_sizes(n, batch_size):
        for l, W in enumerate(Ws):
            np.matmul(a[l][:m], W, out=a[l + 1][:m])
        for l in range(len(Ws) - 1, -1, -1):
            np.matmul(a[l][:m].T, a[l + 1][:m], out=grads[l])
            if l > 0 or not skip_input_delta:
                np.matmul(a[l + 1][:m], Ws[l].T, out=deltas[l][:m])
    return time.perf_counter() - start


def gflops(sizes: list[int], n: int) -> float:
    """Floating-point operations of the 3 GEMMs per layer for n examples, in GFLOP."""
    weights = sum(p * q for p, q in itertools.pairwise(sizes))
    return 3 * 2 * weights * n / 1e9
