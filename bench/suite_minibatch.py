"""(b) Mini-batch SGD: 784-256-128-10 ReLU, batch 128, one epoch of 60,000 examples.

Peers: deltanet, a plain NumPy loop, PyTorch eager, ``torch.compile``, JAX (``jit`` + a
``lax.scan`` over the batches), scikit-learn (float32 only, given float32), and the GEMM limit
(matrix products alone) measured in the same run. Every peer but scikit-learn starts from
deltanet's own starting weights and visits the examples in deltanet's order, so all reach the
same accuracy (up to rounding). Cost is seconds per epoch. The caller sets the thread count of
the benchmark's process (BLAS, Numba, torch); ``MiniBatch.threads`` goes to the JAX worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

import gemm_limit
import peers_deltanet
import peers_jax
import peers_numpy
import workloads
from timing import Entry, Outcome, Row, measure_all, ratio
from workloads import Dataset


@dataclass(frozen=True)
class MiniBatch:
    """A mini-batch workload with ReLU hidden layers and softmax + cross-entropy output;
    ``data`` is already in ``dtype``."""

    data: Dataset
    sizes: list[int]
    lr: float = 0.1
    batch_size: int = 128
    epochs: int = 1
    dtype: type = np.float32
    threads: int = 1

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} b{self.batch_size}"


def _start(w: MiniBatch, data: Dataset) -> tuple[list[tuple], np.ndarray]:
    """deltanet's starting weights and example orders (see ``peers_deltanet``)."""
    return (peers_deltanet.start(w.sizes, "relu", w.dtype),
            peers_deltanet.orders(data.X.shape[0], w.epochs))


def run_numpy(w: MiniBatch, data: Dataset) -> Outcome:
    layers, orders = _start(w, data)
    seconds = peers_numpy.sgd_minibatch(layers, data.X, data.Y, w.lr, orders, w.batch_size)
    outputs = peers_numpy.forward(layers, data.X_test, "relu")
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test))


def run_torch(w: MiniBatch, data: Dataset) -> Outcome:
    import peers_torch

    layers, orders = _start(w, data)
    model = peers_torch.build(layers, "relu")
    seconds = peers_torch.train(model, data.X, data.Y, w.lr, orders, w.batch_size)
    outputs = peers_torch.predict(model, data.X_test)
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test))


def run_torch_compile(w: MiniBatch, data: Dataset) -> Outcome:
    import peers_torch

    layers, orders = _start(w, data)
    sizes = {min(w.batch_size, data.X.shape[0])} | ({data.X.shape[0] % w.batch_size} - {0})
    model, fast, compile_seconds = peers_torch.compiled(layers, "relu", data.X, data.Y, sizes)
    seconds = peers_torch.train(fast, data.X, data.Y, w.lr, orders, w.batch_size)
    outputs = peers_torch.predict(model, data.X_test)
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test),
                   compile_seconds)


def run_jax(w: MiniBatch, data: Dataset) -> Outcome:
    layers, orders = _start(w, data)
    return peers_jax.train(data, layers, orders, w.lr, "relu", w.batch_size, w.dtype,
                           w.threads)


def run_sklearn(w: MiniBatch, data: Dataset) -> Outcome:
    import peers_sklearn

    model = peers_sklearn.make(w.sizes[1:-1], "relu", w.lr, w.batch_size, w.epochs)
    seconds = peers_sklearn.train(model, data.X, data.y)
    outputs = peers_sklearn.predict(model, data.X_test)
    return Outcome(seconds, w.epochs, workloads.accuracy(outputs, data.y_test))


def run_deltanet(w: MiniBatch, data: Dataset) -> Outcome:
    return peers_deltanet.train(data, w.sizes, "relu", w.lr, w.epochs, w.batch_size, w.dtype)


def run_gemm(w: MiniBatch, data: Dataset, skip_input_delta: bool) -> Outcome:
    n = data.X.shape[0] * w.epochs
    seconds = gemm_limit.epoch_seconds(
        w.sizes, n, w.batch_size, w.dtype, skip_input_delta=skip_input_delta
    )
    return Outcome(seconds, w.epochs)


Runner = Callable[[MiniBatch, Dataset], Outcome]

#: peers whose first call at a new shape compiles: warmed up on the full data (the compile
#: itself is never timed, and is reported apart)
COMPILED = {"torch.compile", "jax jit + scan"}

# (peer, runner); ratio = peer time / deltanet time, so for the GEMM rows it is the
# fraction of the GEMM limit that deltanet reaches
PEERS: list[tuple[str, Runner]] = [
    ("deltanet", run_deltanet),
    ("numpy loop", run_numpy),
    ("pytorch eager", run_torch),
    ("torch.compile", run_torch_compile),
    ("jax jit + scan", run_jax),
    ("scikit-learn", run_sklearn),
    ("GEMM limit (3 per layer)", partial(run_gemm, skip_input_delta=False)),
    ("GEMM, no input-layer Δ", partial(run_gemm, skip_input_delta=True)),
]
#: float64: scikit-learn (its own start, and the slowest) and torch.compile are left out
PEERS_FLOAT64 = [(peer, runner) for peer, runner in PEERS
                 if peer not in ("scikit-learn", "torch.compile")]


def tiny(data: Dataset, n: int = 512) -> Dataset:
    """The first ``n`` training examples: enough to compile / warm up a peer."""
    return replace(data, X=data.X[:n], Y=data.Y[:n], y=data.y[:n])


def run(workload: MiniBatch, reps: int, peers: list[tuple[str, Runner]] | None = None) -> list[Row]:
    """Measure every peer on the workload, seconds per epoch; ratios are peer / deltanet."""
    if peers is None:
        peers = PEERS if workload.dtype == np.float32 else PEERS_FLOAT64
    warm = {peer: workload.data if peer in COMPILED else tiny(workload.data)
            for peer, _ in peers}
    entries = [
        Entry(workload.label, peer, np.dtype(workload.dtype).name,
              partial(runner, workload, workload.data),
              warmup=partial(runner, workload, warm[peer]))
        for peer, runner in peers
    ]
    rows = measure_all(entries, reps)
    baseline = next((row for row in rows if row.peer == "deltanet"), None)
    for row in rows:
        row.ratio = ratio(row, baseline)
    return rows


def as_dtype(data: Dataset, dtype: type) -> Dataset:
    """The data set with its inputs and targets in ``dtype`` (the labels kept)."""
    return replace(data, X=data.X.astype(dtype), Y=data.Y.astype(dtype),
                   X_test=data.X_test.astype(dtype))


def workload(n: int = 60_000, dtype: type = np.float32, threads: int = 1,
             data: Dataset | None = None) -> MiniBatch:
    """The (b) workload: n synthetic teacher examples (plus 10,000 held out)."""
    data = workloads.teacher(n=n) if data is None else data
    if data.X.dtype != dtype:
        data = as_dtype(data, dtype)
    return MiniBatch(data, [784, 256, 128, 10], dtype=dtype, threads=threads)
