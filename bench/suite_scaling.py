"""(c) How deltanet's cost grows: time per epoch against examples and against width.

Three sweeps, each with a straight-line fit t ≈ c0 + c1·x over the points:

- mini-batch 784-256-128-10 (batch 128, float32) for 7.5k, 15k, 30k, 60k examples;
- mini-batch 784-H-H/2-10 for H = 64, 128, 256, 512 (x = number of weights);
- per-example SGD on digits 64-H-10 for H = 16, 32, 64, 128 (x = number of weights).

Linear growth shows as a near-constant cost per unit (time / x) and R² close to 1.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

import peers_deltanet
from timing import Entry, Outcome, Row, linear_fit, measure_all
from workloads import Dataset


@dataclass
class Sweep:
    """One sweep: the rows (seconds per epoch), their x values and the straight-line fit."""

    title: str
    x_name: str
    rows: list[Row]
    x: list[float]
    n_examples: list[int]
    n_weights: list[int]

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


def _sweep(title: str, x_name: str, points: list[tuple], reps: int) -> Sweep:
    """``points``: (label, x, data, sizes, hidden, lr, batch_size, dtype) per row.

    Short epochs (per-example SGD on digits takes milliseconds) are timed over several
    epochs, so that each timing lasts at least about a tenth of a second.
    """
    entries, xs, ns, ws = [], [], [], []
    for label, x, data, sizes, hidden, lr, batch_size, dtype in points:
        args = (sizes, hidden, lr, batch_size, dtype, 20 if batch_size == 1 else 1)
        entries.append(
            Entry(
                label,
                "deltanet",
                np.dtype(dtype).name,
                partial(_per_epoch, data, *args),
                warmup=partial(_per_epoch, _subset(data, 256), *args),
            )
        )
        xs.append(x)
        ns.append(data.X.shape[0])
        ws.append(n_weights(sizes))
    rows = measure_all(entries, reps)
    return Sweep(title, x_name, rows, xs, ns, ws)


def run(minibatch_data: Dataset, digits: Dataset, reps: int) -> list[Sweep]:
    """All three sweeps."""
    sizes = [784, 256, 128, 10]
    by_examples = [
        (f"n={n:,}", n, _subset(minibatch_data, n), sizes, "relu", 0.1, 128, np.float32)
        for n in (7_500, 15_000, 30_000, 60_000)
    ]
    wide = _subset(minibatch_data, 15_000)
    by_width = []
    for h in (64, 128, 256, 512):
        width_sizes = [784, h, h // 2, 10]
        label = "-".join(map(str, width_sizes))
        by_width.append(
            (label, n_weights(width_sizes), wide, width_sizes, "relu", 0.1, 128, np.float32)
        )
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
               by_width, reps),
        _sweep("per-example SGD, digits 64-H-10, float64, 20 epochs timed: width", "weights",
               per_example, reps),
    ]
