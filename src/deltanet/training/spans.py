"""Several epochs in one call of an engine that can (``runs_epochs``), when nothing needs
Python between epochs: the same weights, history and random draws as one at a time, for a
tiny network whose epoch would otherwise cost the Python around it more than its updates.

Nothing needs Python between epochs without callbacks or a progress bar, validation, a
training metric, ``error_tol``, diagnostics, checkpoints, the plateau rule or early
stopping; the stopping rule ``tol`` runs inside the call. Such a run goes through stretches
from its first epoch on (``quiet_run``), a stretch of one epoch included: the engine keeps
and puts back an epoch's start weights itself, and the run builds no end-of-epoch
callbacks (``monitors``), recording what they would (the best epoch) here.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from .. import optimizers
from .monitors import tol_reason, track_best
from .optimizer import epoch_lrs

QUIET_SECONDS = 0.05  # the longest stretch of epochs run in one compiled call
QUIET_ORDERS = 2**20  # at most this many example indices drawn for one call
FIRST_WORK = 2**17  # at most this many weight updates in the first call (pace unknown)


def runs_quietly(run: Any) -> bool:
    """Whether the run may go several epochs per call (see the module docstring)."""
    s = run.settings
    return (run.engine.runs_epochs and not s.verbose and not run.callbacks.epoch
            and not run.callbacks.batch and run.val is None and not s.train_metric
            and s.error_tol is None and not s.diagnostics and s.checkpoint is None
            and run.optimizer.plateau is None and not s.early_stopping
            and _rates_ahead(run.optimizer))


def _rates_ahead(opt: Any) -> bool:
    """Whether the learning rates of a stretch may be worked out before it runs: a constant
    or a schedule by name. A callable of the user's may count its calls, or raise for an
    update that a stop would never have reached."""
    if opt.name == "custom":
        t = opt.transform
        return isinstance(t, (optimizers.SGD, optimizers.Adam)) and not callable(t.learning_rate)
    return not opt.schedule_name.startswith("callable")


def quiet_run(run: Any) -> None:
    """Every epoch of a quiet run (``runs_quietly``), in stretches of ``quiet_span``."""
    seconds = None
    while run.epoch < run.settings.epochs and not run.stop:
        epoch, tick = run.epoch + 1, time.perf_counter()
        span = quiet_span(run, epoch, seconds)
        quiet_epochs(run, epoch, span)
        seconds = (time.perf_counter() - tick) / span


def quiet_span(run: Any, epoch: int, seconds: float | None) -> int:
    """How many epochs, from ``epoch`` on, to run in one call: as many as fit in
    ``QUIET_SECONDS`` at the last epoch's pace (so that an interrupt is seen soon) and whose
    orders fit in ``QUIET_ORDERS``. Until that pace is known, as many as make at most
    ``FIRST_WORK`` weight updates (examples × weights): a fraction of a millisecond, so a
    tiny network's short run is one call, not one epoch and then the rest."""
    n = run.X.shape[0]
    most = min(run.settings.epochs - epoch + 1, QUIET_ORDERS // n)
    if seconds is None:
        return max(1, min(most, FIRST_WORK // (n * run.net.plan.n_params)))
    return max(1, min(most, int(QUIET_SECONDS / max(seconds, 1e-9))))


def quiet_epochs(run: Any, epoch: int, span: int) -> None:
    """Epochs ``epoch … epoch + span − 1`` in one call of the engine, recorded as one at a
    time records them: cost, learning rate, best epoch, the ``tol`` stop. The orders of
    epochs that a stop leaves unrun are given back to a caller's generator
    (``Run.callers_generator``); the run's own is not drawn from after a stop."""
    s, hist, n = run.settings, run.hist, run.X.shape[0]
    drawn = run.rng.bit_generator.state if run.callers_generator else None
    orders = _orders(run.rng, n, span, s.shuffle)
    try:
        res = run.engine.run_epochs(orders, run.state, s.tol,
                                    hist.cost[-1] if hist.cost else None)
    except BaseException:
        if drawn is not None:
            run.rng.bit_generator.state = drawn
        raise
    done = res.costs.shape[0] + (res.bad is not None)
    if done < span and drawn is not None:  # draw only the orders of the epochs run
        run.rng.bit_generator.state = drawn
        _orders(run.rng, n, done, s.shuffle)
    costs = res.costs.tolist()
    ran = len(costs)
    hist.cost += costs
    hist.lr += epoch_lrs(run.optimizer, run.state, len(run.bounds), ran)
    track_best(run, epoch, res.costs if ran > 16 else costs)
    run.state = res.state
    hist.updates += res.updates
    if ran:
        run.epoch = hist.epochs = epoch + ran - 1
        run.rows_unchecked = False  # the engine has read every row
    if res.bad is not None:
        run.diverged(epoch + ran, res.bad)
    if res.converged:
        run.stop = tol_reason(s.tol)


def _orders(rng: np.random.Generator, n: int, span: int, shuffle: bool) -> np.ndarray:
    """The orders of ``span`` epochs, one per row: those ``span`` calls of
    ``rng.permutation(n)`` draw (as one epoch at a time), or ``0 … n−1`` without shuffling."""
    if span == 1 and shuffle:
        return rng.permutation(n).reshape(1, n)
    rows = np.empty((span, n), dtype=np.int64)
    rows[:] = np.arange(n, dtype=np.int64)
    if shuffle and permuted_rows_match():
        rng.permuted(rows, axis=1, out=rows)  # one call instead of span
    elif shuffle:
        for row in rows:
            row[:] = rng.permutation(n)
    return rows


@functools.cache
def permuted_rows_match() -> bool:
    """Whether ``Generator.permuted(rows, axis=1)`` takes the same draws as one
    ``permutation`` per row, in turn (NumPy shuffles each row by the algorithm of
    ``shuffle``; checked once, so that grouping epochs can never change a run)."""
    one, each = np.random.default_rng(20261124), np.random.default_rng(20261124)
    rows = np.tile(np.arange(10, dtype=np.int64), (3, 1))
    one.permuted(rows, axis=1, out=rows)
    return (all(np.array_equal(row, each.permutation(10)) for row in rows)
            and one.random() == each.random())
