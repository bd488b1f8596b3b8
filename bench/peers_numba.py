"""A hand-written Numba loop: per-example SGD for a 2-layer logistic / softmax network.

This is the speed reference for deltanet's compiled per-example path: plain loops over one
example at a time, weights W1 (p, h), W2 (h, K) updated in place, compiled once and cached on
disk (``cache=True``). It exists in float64 and float32, each with and without fastmath.

For one example x with target y (lecture notation):

    in_j = b_j + Σ_i x_i W1_ij        a_j = 1 / (1 + e^−in_j)
    in_k = b_k + Σ_j a_j W2_jk        a_k = softmax(in)_k  (logistic if K = 1)
    Δ_k = a_k − y_k                    Δ_j = a_j (1 − a_j) Σ_k W2_jk Δ_k
    W2_jk −= lr a_j Δ_k                W1_ij −= lr x_i Δ_j
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit


@njit(inline="always")
def _forward(x, W1, b1, W2, b2, a1, a2, one, zero):  # pragma: no cover - compiled
    """a1 = logistic(x W1 + b1), a2 = softmax(a1 W2 + b2) (logistic if one output)."""
    p, h = W1.shape
    K = W2.shape[1]
    a1[:] = b1
    for i in range(p):  # row by row: contiguous in W1
        x_i = x[i]
        for j in range(h):
            a1[j] += x_i * W1[i, j]
    for j in range(h):
        a1[j] = one / (one + math.exp(-a1[j]))
    a2[:] = b2
    for j in range(h):
        for k in range(K):
            a2[k] += a1[j] * W2[j, k]
    if K == 1:
        a2[0] = one / (one + math.exp(-a2[0]))
    else:
        top = a2.max()
        total = zero
        for k in range(K):
            a2[k] = math.exp(a2[k] - top)
            total += a2[k]
        for k in range(K):
            a2[k] /= total


@njit(inline="always")
def _backward_update(x, y, W1, b1, W2, b2, a1, a2, d1, lr, one, zero):  # pragma: no cover
    """Δ_k = a_k − y_k, Δ_j = a_j (1 − a_j) Σ_k W2_jk Δ_k, then the SGD step (Δ_k in a2)."""
    p, h = W1.shape
    K = W2.shape[1]
    for k in range(K):
        a2[k] -= y[k]
    for j in range(h):
        s = zero
        for k in range(K):
            s += W2[j, k] * a2[k]
        d1[j] = a1[j] * (one - a1[j]) * s
    for j in range(h):
        for k in range(K):
            W2[j, k] -= lr * a1[j] * a2[k]
    for k in range(K):
        b2[k] -= lr * a2[k]
    for i in range(p):
        step = lr * x[i]
        for j in range(h):
            W1[i, j] -= step * d1[j]
    for j in range(h):
        b1[j] -= lr * d1[j]


@njit(inline="always")
def _sgd_epochs(X, Y, W1, b1, W2, b2, lr, orders):  # pragma: no cover - compiled
    one = np.ones(1, dtype=W1.dtype)[0]  # 1 and 0 typed like the weights (no float64 upcast)
    zero = one - one
    a1 = np.empty(W1.shape[1], dtype=W1.dtype)
    d1 = np.empty(W1.shape[1], dtype=W1.dtype)
    a2 = np.empty(W2.shape[1], dtype=W1.dtype)
    for e in range(orders.shape[0]):
        for t in range(orders.shape[1]):
            n = orders[e, t]
            _forward(X[n], W1, b1, W2, b2, a1, a2, one, zero)
            _backward_update(X[n], Y[n], W1, b1, W2, b2, a1, a2, d1, lr, one, zero)


@njit(cache=True)
def sgd_epochs(X, Y, W1, b1, W2, b2, lr, orders):  # pragma: no cover - compiled
    """Per-example SGD epochs, strict IEEE arithmetic."""
    _sgd_epochs(X, Y, W1, b1, W2, b2, lr, orders)


@njit(cache=True, fastmath=True)
def sgd_epochs_fastmath(X, Y, W1, b1, W2, b2, lr, orders):  # pragma: no cover - compiled
    """Per-example SGD epochs with fastmath (reassociation lets LLVM vectorise the sums)."""
    _sgd_epochs(X, Y, W1, b1, W2, b2, lr, orders)


def sgd_per_example(
    layers: list[tuple],
    X: np.ndarray,
    Y: np.ndarray,
    lr: float,
    orders: np.ndarray,
    fastmath: bool = False,
) -> float:
    """Train a 2-layer network (``layers`` = [(W1, b1), (W2, b2)]) in place.

    All arrays must share one dtype (float64 or float32). Returns the seconds spent in the
    compiled loop (the first call of a process also includes loading or compiling it).
    """
    (W1, b1), (W2, b2) = layers
    dtype = W1.dtype
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.ascontiguousarray(Y, dtype=dtype)
    kernel = sgd_epochs_fastmath if fastmath else sgd_epochs
    start = time.perf_counter()
    kernel(X, Y, W1, b1, W2, b2, dtype.type(lr), np.ascontiguousarray(orders, dtype=np.int64))
    return time.perf_counter() - start
