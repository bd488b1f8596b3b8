"""The engine interface: what the training loop asks of whatever runs its updates.

An engine is built for one run (a plan, the training data, a loss, an optimizer and the
penalties) and then runs epochs: ``run(order, state, after_batch)`` makes the updates of
one epoch over the examples in ``order`` (one batch after another: BACKPROPAGATE gives the
batch's mean gradient, the optimizer turns it into the update) and hands back the new
optimizer state. An engine that can, also runs several epochs in one call
(``run_epochs``, with ``runs_epochs = True``). The loop never asks which engine it has.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import numpy as np

#: ``after_batch(update, batch_cost, batch_size) -> bool``: called after every update (the
#: update counted from 1 in the epoch) when given; True ends the epoch there.
AfterBatch = Callable[[int, float, int], bool] | None


class EpochResult(NamedTuple):
    """``total`` = Σ cost·|B| over the batches done (``seen`` examples, ``updates``
    updates); ``bad`` = the non-finite cost that stopped the epoch before its update, else
    None (the caller then restores the weights of the epoch's start)."""

    total: float
    seen: int
    updates: int
    bad: float | None
    state: Any


class SpanResult(NamedTuple):
    """What ``run_epochs`` did: ``costs`` = mean cost of each completed epoch; ``updates``
    made in all; ``bad`` = the non-finite cost that stopped the epoch after them (its start
    weights are back in place), else None; ``converged``: the last epoch met the ``tol``
    rule."""

    costs: np.ndarray  # float64
    updates: int
    bad: float | None
    converged: bool
    state: Any


class Engine(Protocol):
    """Runs the updates of epochs; see the module docstring.

    ``engine``: its name ('numba', 'numpy' or 'reference'; the compiled one is 'numba'
    with any of its kernels); ``checks_inputs``: whether it
    checks each gathered row itself, X for NaN and infinity and Y also for the targets the
    loss takes (then raises the error of ``_validation.check_finite`` or
    ``_inputs.check_target_values`` before the bad row's update); ``runs_epochs``: whether
    it also has ``run_epochs(orders, state, tol, prev_cost) -> SpanResult``, one epoch per row of
    ``orders`` in one call, stopping at a non-finite cost or when the ``tol`` rule holds;
    ``reusable``: whether it also has ``bind(X, Y, weights)``, which points it at other
    rows (as many as before), and ``release()``, which lets go of them: the next run of
    the same network with the same settings then takes it over instead of building its own;
    ``source`` (optional): the stream it reads window by window, drawing its own orders
    (the loop then passes ``order=None``), or None. An engine that computes with NumPy ignores
    overflow on the way to a non-finite cost itself (``overflow_ignored``): the loop's
    cost check reports it.
    """

    engine: str
    checks_inputs: bool
    runs_epochs: bool
    reusable: bool

    def run(self, order: np.ndarray, state: Any, after_batch: AfterBatch = None
            ) -> EpochResult:
        ...


def overflow_ignored(run: Callable) -> Callable:
    """``run`` (an engine's, computing with NumPy) with overflow and invalid values on the
    way to a non-finite cost silent: the loop's check of the cost reports them, with what
    to do. A compiled kernel never warns, so its engine needs no such wrapper (it would
    cost a warm call two microseconds per epoch)."""

    @functools.wraps(run)
    def silent(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            return run(*args, **kwargs)

    return silent
