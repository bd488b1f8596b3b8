"""Rosenblatt's perceptron (seed 002, Lecture 07-1c): one threshold unit,

    a = g(in) with g(in) = 1 if in >= 0 else 0,    w_i ← w_i + α (y − a) x_i   (x_0 = 1)

which updates only on misclassified examples. It is a special case of a single-layer
network; it converges when the data are linearly separable (and cannot learn XOR).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_array, check_number, fail
from .network import Network
from .training import History


def perceptron_network(n_inputs: int, dtype: Any = np.float64) -> Network:
    """A single threshold unit ``p+1`` with arcs from every input (and the bias)."""
    return Network(n_inputs, [(i, n_inputs + 1) for i in range(1, n_inputs + 1)],
                   "threshold", init=0.0, dtype=dtype)


def perceptron_train(X: Any, y: Any, *, lr: float = 1.0, epochs: int = 100,
                     net: Network | None = None, shuffle: bool = True,
                     random_state: Any = None) -> tuple[Network, History]:
    """Train a perceptron with Rosenblatt's rule; stop at the first epoch without a mistake.

    Returns the network (a single threshold unit, weights start at 0 unless ``net`` is
    given) and a History whose ``cost`` is the number of mistakes per epoch.
    """
    X = check_array("X", X, ndim=2)
    y = check_array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        fail(f"y has {y.shape[0]} labels for {X.shape[0]} examples", y.shape,
             "give one 0/1 label per row of X")
    if not np.isin(y, (0.0, 1.0)).all():
        fail("perceptron labels must be 0 or 1", np.unique(y)[:5].tolist(),
             "encode the two classes as 0 and 1")
    lr = check_number("lr", lr, low=0.0, low_open=True)
    epochs = int(check_number("epochs", epochs, low=1, integer=True))
    net = perceptron_network(X.shape[1]) if net is None else net
    p = X.shape[1]
    layout = [(i, p + 1) for i in range(p + 1)]  # params = [w_0j, w_1j, ..., w_pj]
    if net.n_inputs != p or net.arcs != layout or net.activation_of(p + 1) != "threshold":
        fail("the perceptron is one threshold unit with a bias arc and an arc from every "
             "input", repr(net), "pass net=None, or deltanet.perceptron.perceptron_network(p)")
    rng = np.random.default_rng(random_state)
    w = net.params  # layout of a single group: [w_0j, w_1j, ..., w_pj]
    hist = History()
    for epoch in range(1, epochs + 1):
        mistakes = 0
        for e in rng.permutation(len(y)) if shuffle else range(len(y)):
            a = 1.0 if w[0] + X[e] @ w[1:] >= 0 else 0.0
            if a != y[e]:
                w[0] += lr * (y[e] - a)
                w[1:] += lr * (y[e] - a) * X[e]
                mistakes += 1
                hist.updates += 1
        hist.cost.append(float(mistakes))
        hist.epochs = epoch
        if mistakes == 0:
            hist.stop_reason = "an epoch without a mistake: the data are separated"
            return net, hist
    hist.stop_reason = f"reached the epoch limit ({epochs}) with mistakes left"
    return net, hist
