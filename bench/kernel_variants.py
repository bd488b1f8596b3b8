"""Whether the compiled engine's second per-example kernel earns its place.

    .venv/bin/python bench/kernel_variants.py

Per-example plain SGD on a ``Network.layered`` plan runs :mod:`deltanet.kernels._dense`; any
other plan runs the general kernel :mod:`deltanet.kernels._sgd`, which gives the same
results. This script trains the same layered networks both ways (the general kernel forced
by making the runner see no dense chain) and prints µs per update, best of 5 timed runs
after one untimed call, one BLAS thread, timed by the thread's CPU time (``thread_time``:
other processes on a shared machine do not count; the kernels run on this one thread).
The kernels' docstring quotes the ratio; the other pair of variants (per-example kernel
vs BLAS batch loop) is measured by ``bench/engine_crossover.py``.
"""

from __future__ import annotations

import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import deltanet as dn
from deltanet.kernels import _runners
from deltanet.training import run as run_module
from workloads import random_task

CASES = [([64, 32, 10], "logistic", 1347, 20), ([2, 2, 1], "logistic", 4, 50000),
         ([784, 64, 10], "relu", 2000, 3)]


def us_per_update(sizes, hidden, n, epochs, dense: bool) -> float:
    rng = np.random.default_rng(0)
    X, Y, output, loss = random_task(sizes, n, rng)
    original = _runners.is_dense_chain
    _runners.is_dense_chain = original if dense else (lambda layout: False)
    _runners._SHARED.clear()  # a small plan's layout is shared by structure: built afresh
    try:
        net = dn.Network.layered(sizes, hidden=hidden, output=output, random_state=0)
        kw = dict(loss=loss, batch_size=1, engine="numba", lr=0.01, random_state=0)
        dn.train(net, X, Y, epochs=1, **kw)  # compile or load from the cache
        runner = run_module._LAST[net].engine
        if (runner._dense is not None) != dense:  # never time the other kernel by mistake
            raise RuntimeError(f"the {'dense' if dense else 'general'} kernel did not run")
        best = float("inf")
        for _ in range(5):
            start = time.thread_time()
            dn.train(net, X, Y, epochs=epochs, **kw)
            best = min(best, (time.thread_time() - start) / epochs / n * 1e6)
        return best
    finally:
        _runners.is_dense_chain = original
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
    print("| network | general kernel (_sgd) µs | dense kernel (_dense) µs | ratio |")
    print("| --- | --- | --- | --- |")
    for sizes, hidden, n, epochs in CASES:
        general = us_per_update(sizes, hidden, n, epochs, dense=False)
        dense = us_per_update(sizes, hidden, n, epochs, dense=True)
        print(f"| {'-'.join(map(str, sizes))} {hidden} | {general:.3f} | {dense:.3f} | "
              f"{general / dense:.2f}x |")


if __name__ == "__main__":
    main()
