"""Whether the compiled engine's second and third per-example kernels earn their place.

    .venv/bin/python bench/kernel_variants.py

Per-example plain SGD on a ``Network.layered`` plan runs :mod:`deltanet.kernels._dense`; any
other plan runs the general kernel :mod:`deltanet.kernels._sgd`, which gives the same
results; a tiny layered network can also have a kernel compiled for its shape
(:mod:`deltanet.kernels._shaped`, ``engine="shaped"``), again with the same results. This
script trains the same layered networks each way (the general kernel forced by making the
runner see no dense chain, the dense one by allowing no kernel of a shape) and prints µs
per update, best of 5 timed runs after one untimed call (which compiles or loads), one
BLAS thread, timed by the thread's CPU time (``thread_time``: other processes on a shared
machine do not count; the kernels run on this one thread). The kernels' docstrings quote
the ratios; the other pair of variants (per-example kernel vs BLAS batch loop) is measured
by ``bench/engine_crossover.py``.
"""

from __future__ import annotations

import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import deltanet as dn
from deltanet.kernels import _runners, _shaped
from deltanet.training import run as run_module
from workloads import random_task

CASES = [([64, 32, 10], "logistic", 1347, 20), ([2, 2, 1], "logistic", 4, 50000),
         ([2, 3, 1], "logistic", 4, 50000), ([2, 4, 1], "logistic", 4, 50000),
         ([2, 6, 1], "logistic", 4, 50000), ([2, 4, 4, 1], "logistic", 4, 50000),
         ([4, 8, 3], "logistic", 16, 10000), ([784, 64, 10], "relu", 2000, 3)]
KERNELS = ("general", "dense", "shaped")


def _ran(runner) -> str:
    if runner._shaped is not None:
        return "shaped"
    return "dense" if runner._dense is not None else "general"


def us_per_update(sizes, hidden, n, epochs, kernel: str) -> float:
    rng = np.random.default_rng(0)
    X, Y, output, loss = random_task(sizes, n, rng)
    chain, most = _runners.is_dense_chain, _shaped.MAX_PARAMS
    if kernel == "general":
        _runners.is_dense_chain = lambda layout: False
    # no kernel of the shape but for its own column; there, one also for a network above
    # MAX_PARAMS, to show where that limit comes from
    _shaped.MAX_PARAMS = 10**9 if kernel == "shaped" else 0
    _runners._SHARED.clear()  # a small plan's layout is shared by structure: built afresh
    try:
        net = dn.Network.layered(sizes, hidden=hidden, output=output, random_state=0)
        kw = dict(loss=loss, batch_size=1, lr=0.01, random_state=0,
                  engine="shaped" if kernel == "shaped" else "numba")
        dn.train(net, X, Y, epochs=1, **kw)  # compile or load from the cache
        if _ran(run_module._LAST[net].engine) != kernel:  # never time another kernel
            raise RuntimeError(f"the {kernel} kernel did not run")
        best = float("inf")
        for _ in range(5):
            start = time.thread_time()
            dn.train(net, X, Y, epochs=epochs, **kw)
            best = min(best, (time.thread_time() - start) / epochs / n * 1e6)
        return best
    finally:
        _runners.is_dense_chain, _shaped.MAX_PARAMS = chain, most
        _runners._SHARED.clear()


def cpu_name() -> str:
    """The CPU's model name (Linux), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    print(f"CPU: {cpu_name()}")
    print("| network | weights | general kernel (_sgd) µs | dense kernel (_dense) µs | "
          "general / dense | kernel of the shape (_shaped) µs | dense / shaped |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for sizes, hidden, n, epochs in CASES:
        n_params = dn.Network.layered(sizes).plan.n_params
        general, dense = (us_per_update(sizes, hidden, n, epochs, k) for k in KERNELS[:2])
        shaped = (us_per_update(sizes, hidden, n, epochs, "shaped")
                  if n_params <= 100 else None)  # straight-line code for ~100 weights
        tail = "— | —" if shaped is None else f"{shaped:.3f} | {dense / shaped:.2f}x"
        print(f"| {'-'.join(map(str, sizes))} {hidden} | {n_params} | {general:.3f} | "
              f"{dense:.3f} | {general / dense:.2f}x | {tail} |")
    print(f"engine='shaped' takes networks of up to {_shaped.MAX_PARAMS} weights")


if __name__ == "__main__":
    main()
