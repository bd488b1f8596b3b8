"""(c) How deltanet's cost grows: time per epoch against examples, width and batch size.

Four sweeps:

- mini-batch 784-256-128-10 (batch 128, float32) for 7.5k, 15k, 30k, 60k examples (an
  eighth, a quarter, a half and all of the (b) data);
- mini-batch 784-H-H/2-10 for H = 64, 128, 256, 512, 1024 (x = number of weights), with
  PyTorch eager and JAX measured at every point;
- mini-batch 784-256-128-10 at batch sizes 32, 128, 512, with PyTorch eager and JAX;
- per-example SGD on digits 64-H-10 for H = 16, 32, 64, 128 (x = number of weights).

All but the batch-size sweep get a straight-line fit t ≈ c0 + c1·x over deltanet's points:
linear growth shows as a near-constant cost per unit (time / x) and R² close to 1. The peers
start from deltanet's weights and example order (``suite_minibatch``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

import peers_deltanet
import suite_minibatch
from timing import Entry, Outcome, Row, linear_fit, measure_all, ratio
from workloads import Dataset

#: the peers of the mini-batch sweeps (width and batch size)
PEERS = [("pytorch eager", suite_minibatch.run_torch), ("jax jit + scan", suite_minibatch.run_jax)]


@dataclass
class Sweep:
    """One sweep: deltanet's rows (seconds per epoch), their x values and the straight-line
    fit; ``peers`` maps a peer to its rows at the same points (ratio: peer / deltanet)."""

    title: str
    x_name: str
    rows: list[Row]
    x: list[float]
    n_examples: list[int]
    n_weights: list[int]
    batch_sizes: list[int]
    peers: dict[str, list[Row]]
    linear: bool = True
    threads: int = 1

    def fit(self) -> tuple[float, float, float]:
        """(c0, c1, R²) of the medians against x."""
        return linear_fit(np.array(self.x), np.array([row.median for row in self.rows]))


def n_weights(sizes: list[int]) -> int:
    """Weights including biases: Σ (n_in + 1) n_out."""
    return sum((p + 1) * q for p, q in itertools.pairwise(sizes))


def _subset(data: Dataset, n: int) -> Dataset:
    return replace(data, X=data.X[:n], Y=data.Y[:n], y=data.y[:n])


def _per_epoch(
    data: Dataset,
    sizes: list[int],
    hidden: str,
    lr: float,
    batch_size: int,
    dtype: type,
    epochs: int = 1,
) -> Outcome:
    """``epochs`` epochs of deltanet training, reported per epoch (units = epochs)."""
    outcome = peers_deltanet.train(data, sizes, hidden, lr, epochs, batch_size, dtype)
    return Outcome(outcome.seconds, epochs, outcome.accuracy)


def _sweep(title: str, x_name: str, points: list[tuple], reps: int, threads: int = 1,
           peers: list | None = None, linear: bool = True) -> Sweep:
    """``points``: (label, x, data, sizes, hidden, lr, batch_size, dtype) per row.

    Short epochs (per-example SGD on digits takes milliseconds) are timed over several
    epochs, so that each timing lasts at least about a tenth of a second. Every peer is
    measured at every point, in turns with deltanet.
    """
    entries, xs, ns, ws, bs = [], [], [], [], []
    for label, x, data, sizes, hidden, lr, batch_size, dtype in points:
        args = (sizes, hidden, lr, batch_size, dtype, 20 if batch_size == 1 else 1)
        entries.append(Entry(label, "deltanet", np.dtype(dtype).name,
                             partial(_per_epoch, data, *args),
                             warmup=partial(_per_epoch, _subset(data, 256), *args)))
        for peer, runner in peers or []:
            w = suite_minibatch.MiniBatch(data, sizes, lr, batch_size, dtype=dtype,
                                          threads=threads)
            warm = data if peer in suite_minibatch.COMPILED else _subset(data, 512)
            entries.append(Entry(label, peer, np.dtype(dtype).name, partial(runner, w, data),
                                 warmup=partial(runner, w, warm)))
        xs.append(x)
        ns.append(data.X.shape[0])
        ws.append(n_weights(sizes))
        bs.append(batch_size)
    rows = measure_all(entries, reps)
    mine = [row for row in rows if row.peer == "deltanet"]
    by_peer = {}
    for peer, _ in peers or []:
        by_peer[peer] = [row for row in rows if row.peer == peer]
        for row, base in zip(by_peer[peer], mine, strict=True):
            row.ratio = ratio(row, base)
    return Sweep(title, x_name, mine, xs, ns, ws, bs, by_peer, linear, threads)


def run(minibatch_data: Dataset, digits: Dataset, reps: int, threads: int = 1) -> list[Sweep]:
    """All four sweeps."""
    sizes = [784, 256, 128, 10]
    full = minibatch_data.X.shape[0]
    by_examples = [
        (f"n={n:,}", n, _subset(minibatch_data, n), sizes, "relu", 0.1, 128, np.float32)
        for n in (full // 8, full // 4, full // 2, full)
    ]
    wide = _subset(minibatch_data, min(15_000, full))
    by_width = []
    for h in (64, 128, 256, 512, 1024):
        width_sizes = [784, h, h // 2, 10]
        label = "-".join(map(str, width_sizes))
        by_width.append(
            (label, n_weights(width_sizes), wide, width_sizes, "relu", 0.1, 128, np.float32)
        )
    by_batch = [(f"b{b}", b, wide, sizes, "relu", 0.1, b, np.float32) for b in (32, 128, 512)]
    per_example = []
    for h in (16, 32, 64, 128):
        digit_sizes = [64, h, 10]
        label = "-".join(map(str, digit_sizes))
        per_example.append(
            (label, n_weights(digit_sizes), digits, digit_sizes, "logistic", 0.1, 1, np.float64)
        )
    return [
        _sweep("mini-batch 784-256-128-10, b128, float32: examples", "examples", by_examples,
               reps),
        _sweep("mini-batch 784-H-H/2-10, b128, float32, 15,000 examples: width", "weights",
               by_width, reps, threads, PEERS),
        _sweep("mini-batch 784-256-128-10, float32, 15,000 examples: batch size", "batch sizes",
               by_batch, reps, threads, PEERS, linear=False),
        _sweep("per-example SGD, digits 64-H-10, float64, 20 epochs timed: width", "weights",
               per_example, reps),
    ]
