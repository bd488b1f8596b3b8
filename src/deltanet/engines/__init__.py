"""Engines: what runs the updates of an epoch (layer 4; the training loop is above).

Every engine follows :class:`~deltanet.engines.protocol.Engine`. Three implement it (the
compiled one in two forms):

* ``"numba"``: the compiled engine of :mod:`deltanet.kernels` (a per-example loop, or a
  loop around BLAS products for larger batches), for the activations, losses and
  optimizers it compiles (``optimizers.SGD`` and ``optimizers.Adam``, chosen by type);
* ``"shaped"``: the compiled engine with a kernel compiled for the network's shape (tiny
  layered networks, per-example plain SGD; :mod:`deltanet.kernels._shaped`);
* ``"numpy"``: mini-batches on BLAS from Python with preallocated buffers, any optimizer;
* ``"reference"``: the lecture's passes (:mod:`.reference`), for everything else (batch
  normalisation, dropout).

:func:`choose` resolves ``engine='auto' | 'numba' | 'shaped' | 'numpy'`` to one of them and says, in
words, why it is not the one asked for; :func:`build` makes it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import kernels
from .protocol import AfterBatch, Engine, EpochResult, SpanResult
from .reference import ReferenceEngine

__all__ = ["AfterBatch", "Choice", "Engine", "EpochResult", "ReferenceEngine", "SpanResult",
           "build", "choose"]


class Choice(NamedTuple):
    """The engine that runs (``kind``: 'numba', 'shaped', 'numpy' or 'reference') and
    ``reason``: why it is not the one asked for, or ``''``."""

    kind: str
    reason: str


def choose(engine: str, net, loss, optimizer: Any, batch_size: int, *,
           dropout: Any = None) -> Choice:
    """Resolve ``engine``; ``'numba'`` with a setting it cannot compile is a ValueError."""
    kind = kernels.choose_engine(engine, net, loss, optimizer, batch_size, dropout=dropout)
    reasons = []
    if engine == "auto" and kind != "numba":
        missing = kernels.unsupported_features(net, loss, optimizer, dropout=dropout)
        reasons.append(f"the compiled engine does not support {', '.join(missing)}")
    if kind == "reference":
        missing = kernels.unsupported_features(net, loss, optimizer, dropout=dropout,
                                               engine="numpy")
        reasons.append(f"the buffered NumPy loop does not support {', '.join(missing)}, so "
                       "the reference passes run")
    return Choice(kind, "; ".join(reasons))


def build(kind: str, net, X, Y, weights, bounds: list, loss, optimizer: Any, l2: float,
          l1: float, decay_bias: bool, dropout: Any, rng) -> Engine:
    """The engine ``kind`` (from :func:`choose`) for one run."""
    if kind == "reference":
        return ReferenceEngine(net, X, Y, weights, bounds, loss, optimizer, l2, l1,
                               decay_bias, dropout, rng)
    start, stop = bounds[0]
    return kernels.make_runner(kind, net, X, Y, weights, stop - start, loss, optimizer, l2,
                               l1, decay_bias)
