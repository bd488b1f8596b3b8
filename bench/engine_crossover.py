"""Where the compiled engine's BLAS batch loop overtakes its per-example kernel.

    .venv/bin/python bench/engine_crossover.py

For a few network shapes, batch sizes and both compiled optimizers (SGD, Adam), trains with
``engine="numba"`` twice: once with every batch forced onto the per-example kernel
(``kernels._sgd``) and once onto the BLAS batch loop (``kernels._blas``), by setting
``kernels.BLAS_MIN_*_WORK``; prints µs per example (best of 3 runs of several epochs, one
BLAS thread) and marks with ``*`` the cases where the BLAS loop is faster. ``kernels.
blas_batches`` encodes the rule read from this table.
"""

from __future__ import annotations

import itertools
import os
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np

import deltanet as dn
from deltanet import kernels, optimizers
from workloads import random_task

# (sizes, hidden activation, examples, epochs per timing, batch sizes)
CASES = [
    ([2, 2, 1], "logistic", 4, 2000, [2, 4]),
    ([2, 8, 1], "tanh", 200, 200, [2, 4, 8, 32]),
    ([4, 100, 3], "relu", 2000, 5, [4, 32, 200]),
    ([10, 100, 1], "relu", 2000, 5, [4, 32, 200]),
    ([64, 32, 10], "relu", 2000, 5, [2, 4, 32, 200]),
    ([64, 100, 10], "relu", 2000, 5, [4, 32, 200]),
    ([784, 64, 10], "relu", 2000, 5, [4, 32, 200]),
]


def _force(blas: bool) -> None:
    huge = 2**62
    kernels.BLAS_MIN_BATCH_WORK = 0 if blas else huge
    kernels.BLAS_MIN_EPOCH_WORK = 0 if blas else huge


def per_example_us(sizes, hidden, n, epochs, batch_size, optimizer, blas: bool) -> float:
    rng = np.random.default_rng(0)
    X, Y, output, loss = random_task(sizes, n, rng)
    _force(blas)
    net = dn.Network.layered(sizes, hidden=hidden, output=output, random_state=0)
    kw = dict(loss=loss, batch_size=batch_size, engine="numba", optimizer=optimizer,
              random_state=0)
    dn.train(net, X, Y, epochs=1, **kw)  # compile / load from the cache
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        dn.train(net, X, Y, epochs=epochs, **kw)
        best = min(best, (time.perf_counter() - start) / epochs / n * 1e6)
    return best


def main() -> None:
    saved = kernels.BLAS_MIN_BATCH_WORK, kernels.BLAS_MIN_EPOCH_WORK
    print("µs per example: per-example kernel / BLAS loop (* where BLAS is faster), and "
          "batch examples × weights")
    for name, make in (("sgd", lambda: optimizers.sgd(0.01)),
                       ("adam", lambda: optimizers.adam(0.001))):
        for sizes, hidden, n, epochs, batches in CASES:
            n_params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
            cells = []
            for bs in batches:
                kernel = per_example_us(sizes, hidden, n, epochs, bs, make(), blas=False)
                blas = per_example_us(sizes, hidden, n, epochs, bs, make(), blas=True)
                mark = "*" if blas < kernel else " "
                cells.append(f"b{bs} {kernel:.2f}/{blas:.2f}{mark} ({bs * n_params:,})")
            label = "-".join(map(str, sizes))
            print(f"{name:4} {label:12} {hidden:8} n={n:<5} " + "  ".join(cells), flush=True)
    kernels.BLAS_MIN_BATCH_WORK, kernels.BLAS_MIN_EPOCH_WORK = saved


if __name__ == "__main__":
    main()
