"""Data and shared starting points for the benchmark: digits, XOR, synthetic teacher data.

Every generator takes a seed and uses its own ``numpy.random.Generator``; nothing here touches
global random state, so every peer sees exactly the same examples in every run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """A classification data set split into training and held-out examples.

    ``Y`` is the training target matrix (one-hot for several classes, a 0/1 column for one
    output); ``y`` and ``y_test`` are the integer class labels.
    """

    name: str
    X: np.ndarray
    Y: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        return max(2, self.Y.shape[1])


def one_hot(y: np.ndarray, n_classes: int, dtype: type = np.float64) -> np.ndarray:
    """Targets y_k = 1 for the example's class k, 0 elsewhere."""
    Y = np.zeros((y.shape[0], n_classes), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


def xor(dtype: type = np.float64, signed: bool = True) -> Dataset:
    """The four XOR examples, inputs in {−1, 1} (or {0, 1}); held out = the same four points."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    if signed:
        X = 2 * X - 1
    y = np.array([0, 1, 1, 0])
    return Dataset("xor", X, y[:, None].astype(dtype), y, X.copy(), y.copy())


def digits(dtype: type = np.float64, seed: int = 0, signed: bool = False) -> Dataset:
    """scikit-learn's 8x8 digits scaled to [0, 1] (or [-1, 1]); 3/4 train, 1/4 held out."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = (bunch.data / 16.0).astype(dtype)
    if signed:
        X = 2 * X - 1
    order = np.random.default_rng(seed).permutation(X.shape[0])
    n_train = 3 * X.shape[0] // 4
    train, test = order[:n_train], order[n_train:]
    y = bunch.target
    return Dataset("digits", X[train], one_hot(y[train], 10, dtype), y[train], X[test], y[test])


def teacher(
    n: int = 60_000,
    n_test: int = 10_000,
    n_inputs: int = 784,
    n_classes: int = 10,
    n_hidden: int = 64,
    seed: int = 0,
) -> Dataset:
    """Synthetic float32 classification data labelled by a random teacher network.

    x ~ N(0, I); the label is argmax_k of a random tanh network's outputs, with each output
    shifted by its median so that every class is about equally frequent. The structure is
    learnable (a student network can recover the teacher's decision regions).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_test, n_inputs), dtype=np.float32)
    W1 = rng.standard_normal((n_inputs, n_hidden)) / np.sqrt(n_inputs)
    W2 = rng.standard_normal((n_hidden, n_classes)) / np.sqrt(n_hidden)
    logits = np.tanh(X @ W1.astype(np.float32)) @ W2.astype(np.float32)
    labels = np.argmax(logits - np.median(logits, axis=0), axis=1)
    Y = one_hot(labels[:n], n_classes, np.float32)
    return Dataset("teacher", X[:n], Y, labels[:n], X[n:], labels[n:])


def glorot(sizes: list[int], rng: np.random.Generator, dtype: type) -> list[tuple]:
    """Glorot-uniform weights W (n_in, n_out) and zero biases b for a layered network."""
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        limit = np.sqrt(6.0 / (n_in + n_out))
        W = rng.uniform(-limit, limit, size=(n_in, n_out)).astype(dtype)
        layers.append((W, np.zeros(n_out, dtype=dtype)))
    return layers


def permutations(n: int, epochs: int, seed: int) -> np.ndarray:
    """One random order of the n examples per epoch, shape (epochs, n)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(epochs)])


def accuracy(outputs: np.ndarray, y: np.ndarray) -> float:
    """Fraction classified right: argmax of the outputs, or output >= 0.5 for one output."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 1 or outputs.shape[1] == 1:
        predicted = (outputs.reshape(-1) >= 0.5).astype(int)
    else:
        predicted = np.argmax(outputs, axis=1)
    return float(np.mean(predicted == y))


def random_task(sizes: list[int], n: int, rng: np.random.Generator):
    """``n`` random examples for a network of ``sizes``: ``(X, Y, output, loss)``, softmax
    and cross-entropy for several outputs, logistic and log loss for one 0/1 output."""
    X = rng.standard_normal((n, sizes[0]))
    if sizes[-1] > 1:
        return X, one_hot(rng.integers(0, sizes[-1], n), sizes[-1]), "softmax", "cross_entropy"
    return X, (rng.random((n, 1)) > 0.5).astype(float), "logistic", "log_loss"
