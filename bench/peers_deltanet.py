"""deltanet through its ordinary public API: ``Network.layered`` then ``train``.

Nothing here reaches into deltanet's internals: whatever engine ``dn.train`` picks by default
is what gets measured.
"""

from __future__ import annotations

import time

import numpy as np

from timing import Outcome
from workloads import Dataset, accuracy


def _output_and_loss(n_outputs: int) -> tuple[str, str]:
    """Softmax + cross-entropy for several classes, logistic + log loss for one 0/1 output."""
    return ("softmax", "cross_entropy") if n_outputs > 1 else ("logistic", "log_loss")


def train(
    data: Dataset,
    sizes: list[int],
    hidden: str,
    lr: float,
    epochs: int,
    batch_size: int,
    dtype: type = np.float64,
) -> Outcome:
    """Build a fresh layered network, train it, and score it on the held-out examples.

    Only the ``dn.train`` call is timed. ``Outcome.units`` is the number of updates for
    ``batch_size=1`` and the number of epochs otherwise.
    """
    import deltanet as dn

    output, loss = _output_and_loss(sizes[-1])
    net = dn.Network.layered(sizes, hidden=hidden, output=output, random_state=0, dtype=dtype)
    X = np.ascontiguousarray(data.X, dtype=dtype)
    Y = np.ascontiguousarray(data.Y, dtype=dtype)
    start = time.perf_counter()
    dn.train(
        net, X, Y, loss=loss, lr=lr, batch_size=batch_size, epochs=epochs, random_state=0
    )
    seconds = time.perf_counter() - start
    units = epochs * X.shape[0] if batch_size == 1 else epochs
    outputs = net.predict(np.ascontiguousarray(data.X_test, dtype=dtype))
    return Outcome(seconds, units, accuracy(outputs, data.y_test))


def version() -> str:
    import deltanet as dn

    return dn.__version__
