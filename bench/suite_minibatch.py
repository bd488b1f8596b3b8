"""(b) Mini-batch SGD: 784-256-128-10 ReLU, batch 128, float32, one epoch of 60,000 examples.

Peers: deltanet, a plain NumPy loop, PyTorch eager, scikit-learn (given float32), and the
GEMM limit (matrix products alone) measured in the same run. Cost is seconds per epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

import gemm_limit
import peers_deltanet
import peers_numpy
import workloads
from timing import Entry, Outcome, Row, measure_all, ratio
from workloads import Dataset


@dataclass(frozen=True)
class MiniBatch:
    """A mini-batch workload with ReLU hidden layers and softmax + cross-entropy output."""

    data: Dataset
    sizes: list[int]
    lr: float = 0.1
    batch_size: int = 128
    epochs: int = 1
    seed: int = 0


def run_numpy(w: MiniBatch, data: Dataset) -> Outcome:
    layers = workloads.glorot(w.sizes, np.random.default_rng(w.seed), np.float32)
    orders = workloads.permutations(data.X.shape[0], w.epochs, w.seed)
    seconds = peers_numpy.sgd_minibatch(layers, data.X, data.Y, w.lr, orders, w.batch_size)
    outputs = peers_numpy.forward(layers, data.X_test, "relu")
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test))


def run_torch(w: MiniBatch, data: Dataset) -> Outcome:
    import peers_torch

    layers = workloads.glorot(w.sizes, np.random.default_rng(w.seed), np.float32)
    orders = workloads.permutations(data.X.shape[0], w.epochs, w.seed)
    model = peers_torch.build(layers, "relu")
    seconds = peers_torch.train(model, data.X, data.Y, w.lr, orders, w.batch_size)
    outputs = peers_torch.predict(model, data.X_test)
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test))


def run_sklearn(w: MiniBatch, data: Dataset) -> Outcome:
    import peers_sklearn

    model = peers_sklearn.make(w.sizes[1:-1], "relu", w.lr, w.batch_size, w.epochs)
    seconds = peers_sklearn.train(model, data.X, data.y)
    outputs = peers_sklearn.predict(model, data.X_test)
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test))


def run_deltanet(w: MiniBatch, data: Dataset) -> Outcome:
    return peers_deltanet.train(
        data, w.sizes, "relu", w.lr, w.epochs, w.batch_size, np.float32
    )


def run_gemm(w: MiniBatch, data: Dataset, skip_input_delta: bool) -> Outcome:
    n = data.X.shape[0] * w.epochs
    seconds = gemm_limit.epoch_seconds(
        w.sizes, n, w.batch_size, np.float32, skip_input_delta=skip_input_delta
    )
    return Outcome(seconds, w.epochs)


Runner = Callable[[MiniBatch, Dataset], Outcome]

# (peer, runner); ratio = peer time / deltanet time, so for the GEMM rows it is the
# fraction of the GEMM limit that deltanet reaches
PEERS: list[tuple[str, Runner]] = [
    ("deltanet", run_deltanet),
    ("numpy loop", run_numpy),
    ("pytorch eager", run_torch),
    ("scikit-learn", run_sklearn),
    ("GEMM limit (3 per layer)", partial(run_gemm, skip_input_delta=False)),
    ("GEMM, no input-layer Δ", partial(run_gemm, skip_input_delta=True)),
]


def _tiny(data: Dataset) -> Dataset:
    """The first 512 training examples: enough to compile / warm up a peer."""
    return replace(data, X=data.X[:512], Y=data.Y[:512], y=data.y[:512])


def run(workload: MiniBatch, reps: int, peers: list[tuple[str, Runner]] | None = None) -> list[Row]:
    """Measure every peer on the workload, seconds per epoch; ratios are peer / deltanet."""
    name = f"{'-'.join(map(str, workload.sizes))} b{workload.batch_size}"
    entries = [
        Entry(
            name,
            peer,
            "float32",
            partial(runner, workload, workload.data),
            warmup=partial(runner, workload, _tiny(workload.data)),
        )
        for peer, runner in peers or PEERS
    ]
    rows = measure_all(entries, reps)
    baseline = next((row for row in rows if row.peer == "deltanet"), None)
    for row in rows:
        row.ratio = ratio(row, baseline)
    return rows


def workload(n: int = 60_000) -> MiniBatch:
    """The (b) workload: n synthetic teacher examples (plus 10,000 held out)."""
    return MiniBatch(workloads.teacher(n=n), [784, 256, 128, 10])
