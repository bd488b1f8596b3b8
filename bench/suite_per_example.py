"""(a) Per-example SGD: XOR 2-2-1 and digits 64-32-10, logistic hidden units.

Every peer trains the same network for the same number of epochs over the same examples, one
update per example, and is scored on held-out data. Cost is reported in µs per update
(epoch time / updates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

import peers_deltanet
import peers_jax
import peers_numba
import peers_numpy
import workloads
from timing import Entry, Outcome, Row, measure_all, ratio
from workloads import Dataset


@dataclass(frozen=True)
class PerExample:
    """A per-example SGD workload; ``init_seed`` seeds the shared Glorot start and the orders.
    ``peers``: the names of the peers that run it (None: all of ``PEERS``)."""

    data: Dataset
    sizes: list[int]
    lr: float
    epochs: int
    init_seed: int = 0
    peers: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return (f"{self.data.name} {'-'.join(map(str, self.sizes))}, "
                f"{self.epochs * self.data.X.shape[0]:,} updates per call")


def _start(w: PerExample, data: Dataset, epochs: int, dtype: type) -> tuple:
    layers = workloads.glorot(w.sizes, np.random.default_rng(w.init_seed), dtype)
    orders = workloads.permutations(data.X.shape[0], epochs, w.init_seed)
    X, Y = data.X.astype(dtype), data.Y.astype(dtype)
    return layers, orders, X, Y


def _score(layers: list[tuple], data: Dataset, dtype: type) -> float:
    outputs = peers_numpy.forward(layers, data.X_test.astype(dtype), "logistic")
    return workloads.accuracy(outputs, data.y_test)


def run_numpy(w: PerExample, data: Dataset, epochs: int) -> Outcome:
    layers, orders, X, Y = _start(w, data, epochs, np.float64)
    seconds = peers_numpy.sgd_per_example(layers, X, Y, w.lr, orders)
    return Outcome(seconds, orders.size, _score(layers, data, np.float64))


def run_numba(
    w: PerExample, data: Dataset, epochs: int, dtype: type, fastmath: bool
) -> Outcome:
    layers, orders, X, Y = _start(w, data, epochs, dtype)
    seconds = peers_numba.sgd_per_example(layers, X, Y, w.lr, orders, fastmath)
    return Outcome(seconds, orders.size, _score(layers, data, dtype))


def run_torch(w: PerExample, data: Dataset, epochs: int) -> Outcome:
    import peers_torch

    layers, orders, X, Y = _start(w, data, epochs, np.float64)
    model = peers_torch.build(layers, "logistic")
    seconds = peers_torch.train(model, X, Y, w.lr, orders, batch_size=1)
    outputs = peers_torch.predict(model, data.X_test.astype(np.float64))
    return Outcome(seconds, orders.size, workloads.accuracy(outputs, data.y_test))


def run_sklearn(w: PerExample, data: Dataset, epochs: int) -> Outcome:
    import peers_sklearn

    model = peers_sklearn.make(w.sizes[1:-1], "logistic", w.lr, 1, epochs)
    seconds = peers_sklearn.train(model, data.X.astype(np.float64), data.y)
    outputs = peers_sklearn.predict(model, data.X_test.astype(np.float64))
    return Outcome(seconds, epochs * data.X.shape[0], workloads.accuracy(outputs, data.y_test))


def run_deltanet(w: PerExample, data: Dataset, epochs: int, dtype: type) -> Outcome:
    return peers_deltanet.train(data, w.sizes, "logistic", w.lr, epochs, 1, dtype)


Runner = Callable[[PerExample, Dataset, int], Outcome]

# (peer, dtype, runner); the deltanet rows are the baselines of the ratios
PEERS: list[tuple[str, str, Runner]] = [
    ("deltanet", "float64", partial(run_deltanet, dtype=np.float64)),
    ("deltanet", "float32", partial(run_deltanet, dtype=np.float32)),
    ("numba loop", "float64", partial(run_numba, dtype=np.float64, fastmath=False)),
    ("numba loop fastmath", "float64", partial(run_numba, dtype=np.float64, fastmath=True)),
    ("numba loop", "float32", partial(run_numba, dtype=np.float32, fastmath=False)),
    ("numba loop fastmath", "float32", partial(run_numba, dtype=np.float32, fastmath=True)),
    ("numpy loop", "float64", run_numpy),
    ("pytorch eager", "float64", run_torch),
    ("scikit-learn", "float64", run_sklearn),
]
# JAX (jit + lax.scan) and torch.compile, from deltanet's own start and example order
# (bench/peers_jax.py)
PEERS += peers_jax.per_example_peers()


def _tiny(data: Dataset) -> Dataset:
    """The first 8 training examples: enough to compile / warm up a peer."""
    return replace(data, X=data.X[:8], Y=data.Y[:8], y=data.y[:8])


def run(
    workload: PerExample, reps: int, peers: list[tuple[str, str, Runner]] | None = None
) -> list[Row]:
    """Measure every peer on one workload; ratios are peer / deltanet of the same dtype."""
    entries = [
        Entry(
            workload.data.name,
            peer,
            dtype,
            partial(runner, workload, workload.data, workload.epochs),
            warmup=partial(runner, workload, _tiny(workload.data), 1),
        )
        for peer, dtype, runner in peers or PEERS
        if workload.peers is None or peer in workload.peers
    ]
    rows = measure_all(entries, reps)
    baseline = {row.dtype: row for row in rows if row.peer == "deltanet"}
    for row in rows:
        row.ratio = ratio(row, baseline.get(row.dtype))
    return rows


#: the peers of the long XOR call: those that run 400,000 updates in well under a second
STEADY_PEERS = ("deltanet", "numba loop", "numba loop fastmath", "jax jit + scan")


def workloads_for(quick: bool) -> list[PerExample]:
    """XOR with inputs in {−1, 1} (2-2-1 can stall in a local minimum from some starts) and
    digits scaled to [0, 1]. XOR twice: 4,000 updates per call, where what a call costs
    beyond its updates shows, and 400,000 (the fastest peers only), the cost of an update
    alone."""
    return [
        PerExample(workloads.xor(), [2, 2, 1], lr=0.5, epochs=250 if quick else 1000),
        PerExample(workloads.xor(), [2, 2, 1], lr=0.5, epochs=10_000 if quick else 100_000,
                   peers=STEADY_PEERS),
        PerExample(workloads.digits(), [64, 32, 10], lr=0.1, epochs=2 if quick else 5),
    ]
