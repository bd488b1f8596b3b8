"""Compile (or load from Numba's disk cache) every kernel of the compiled engine for one
dtype, on a few rows: ``python tests/warm_kernels.py float64``.

The test run calls it once per dtype, both at once, before the first test
(``conftest.pytest_sessionstart``): on a fresh checkout the cache is empty, and without it
every test process and every ``deltanet`` command that a test starts in its first minutes
would compile the same kernels again (about 50 s each, on this machine).
"""

from __future__ import annotations

import sys

import numpy as np

import deltanet as dn

#: (hidden units, train() settings): the per-example dense and general kernels, small
#: batches with momentum and a penalty, BLAS batches with Adam, per-example Adam
RUNS = [("logistic", dict(batch_size=1)),
        ("relu", dict(batch_size=4, optimizer="momentum", l2=1e-4)),
        ("tanh", dict(batch_size=32, optimizer="adam")),
        ("relu", dict(batch_size=1, optimizer="adam"))]


def warm(dtype: np.dtype) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 6)).astype(dtype)
    y = dn.one_hot(rng.integers(0, 3, 64))[0].astype(dtype)
    for hidden, kw in RUNS:
        net = dn.Network.layered([6, 40, 3], hidden=hidden, output="softmax",
                                 random_state=0, dtype=dtype)
        dn.train(net, X, y, loss="cross_entropy", epochs=2, random_state=0, engine="numba",
                 **kw)


if __name__ == "__main__":
    warm(np.dtype(sys.argv[1]))
