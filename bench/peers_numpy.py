"""Plain NumPy training loops, written the straightforward way, as the reference peer.

Both loops use the lecture's backpropagation for a layered network with weights W (n_in, n_out)
and biases b:

    forward   in_l = a_{l-1} @ W_l + b_l,  a_l = g(in_l)
    output    Δ_L = a_L − y   (softmax + cross-entropy, or logistic + log loss)
    backward  Δ_{l-1} = g'(in_{l-1}) ⊙ (Δ_l @ W_lᵀ)
    update    W_l −= lr · a_{l-1}ᵀ Δ_l / |B|,  b_l −= lr · mean(Δ_l)
"""

from __future__ import annotations

import time

import numpy as np


def logistic(in_: np.ndarray) -> np.ndarray:
    """g(in) = 1 / (1 + e^−in)."""
    return 1.0 / (1.0 + np.exp(-in_))


def softmax(in_: np.ndarray) -> np.ndarray:
    """Softmax along the last axis, with the maximum subtracted for stability."""
    e = np.exp(in_ - in_.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def output_activation(n_outputs: int):
    """Softmax for several classes, logistic for a single 0/1 output."""
    return logistic if n_outputs == 1 else softmax


def forward(layers: list[tuple], X: np.ndarray, hidden: str) -> np.ndarray:
    """Network outputs a_L for the examples in X (rows)."""
    a = X
    for W, b in layers[:-1]:
        in_ = a @ W + b
        a = logistic(in_) if hidden == "logistic" else np.maximum(in_, 0)
    W, b = layers[-1]
    return output_activation(W.shape[1])(a @ W + b)


def sgd_per_example(
    layers: list[tuple], X: np.ndarray, Y: np.ndarray, lr: float, orders: np.ndarray
) -> float:
    """Per-example SGD with logistic hidden units; one epoch per row of ``orders``.

    ``layers`` is updated in place. Returns the seconds spent in the loop.
    """
    out = output_activation(layers[-1][0].shape[1])
    start = time.perf_counter()
    for order in orders:
        for t in order:
            a = [X[t]]
            for W, b in layers[:-1]:
                a.append(logistic(a[-1] @ W + b))
            delta = out(a[-1] @ layers[-1][0] + layers[-1][1]) - Y[t]
            for l in range(len(layers) - 1, -1, -1):
                W, b = layers[l]
                if l > 0:
                    back = (W @ delta) * a[l] * (1.0 - a[l])
                W -= lr * np.outer(a[l], delta)
                b -= lr * delta
                if l > 0:
                    delta = back
    return time.perf_counter() - start


def sgd_minibatch(
    layers: list[tuple],
    X: np.ndarray,
    Y: np.ndarray,
    lr: float,
    orders: np.ndarray,
    batch_size: int,
) -> float:
    """Mini-batch SGD with ReLU hidden units and softmax + cross-entropy output.

    ``layers`` is updated in place; arrays keep the dtype of X and the weights.
    Returns the seconds spent in the loop.
    """
    lr = X.dtype.type(lr)
    start = time.perf_counter()
    for order in orders:
        for first in range(0, order.shape[0], batch_size):
            batch = order[first : first + batch_size]
            a = [X[batch]]
            for W, b in layers[:-1]:
                a.append(np.maximum(a[-1] @ W + b, 0))
            delta = softmax(a[-1] @ layers[-1][0] + layers[-1][1]) - Y[batch]
            delta /= X.dtype.type(batch.shape[0])
            for l in range(len(layers) - 1, -1, -1):
                W, b = layers[l]
                grad_W = a[l].T @ delta
                grad_b = delta.sum(axis=0)
                if l > 0:
                    delta = (delta @ W.T) * (a[l] > 0)
                W -= lr * grad_W
                b -= lr * grad_b
    return time.perf_counter() - start
