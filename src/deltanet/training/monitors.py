"""The run's own callbacks, called at the end of every epoch before the user's: training
diagnostics, the best epoch, the plateau rule, early stopping, ``error_tol``, ``tol`` and
checkpoints (Keras's ``EarlyStopping``, ``ReduceLROnPlateau``, ``ModelCheckpoint``...).

Each sees the run (as a Keras callback sees its model) and the epoch's ``logs``, which hold
``monitored`` (the validation cost, else the training cost), ``train_outputs`` (when
``train_metric`` or ``error_tol`` needs them) and ``stop`` (the reason to stop found so far
this epoch, or None). ``on_epoch_end`` returns a reason to stop, or None; the first reason
of an epoch is the one recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import optimizers
from ..regularization import copy_bn_stats
from . import checkpoints
from .callbacks import Callback
from .diagnostics import epoch_diagnostics


@dataclass
class Best:
    """Early-stopping bookkeeping: the best monitored value and, if kept, its weights."""

    value: float = math.inf
    epoch: int | None = None
    wait: int = 0
    params: np.ndarray | None = None
    bn: dict | None = None


def track_best(run: Any, epoch: int, monitored: Any) -> None:
    """Keep the best monitored value (and its weights, for early stopping with restore)
    among the values ``monitored`` (a sequence or array) of epochs ``epoch, epoch + 1, …``
    (several at once after a stretch of epochs run in one call, which never has early
    stopping: one pass, no call per epoch)."""
    s, best = run.settings, run.best
    value, at, wait, floor = best.value, best.epoch, best.wait, s.min_delta
    improved = False
    costs = np.asarray(monitored, dtype=float) if len(monitored) > 16 else None
    low = costs.argmin() if costs is not None and floor == 0 else None
    if low is not None and not math.isnan(costs[low]):
        # the best so far is the running minimum: the last epoch that lowered it is the
        # first at the lowest value (argmin gives the first), if that beats ``value``
        if costs[low] < value:
            value, at, improved = float(costs[low]), epoch + int(low), True
            wait = len(costs) - 1 - int(low)
        else:
            wait += len(costs)
    else:
        for i, cost in enumerate(monitored):
            if cost < value - floor:
                value, at, wait, improved = float(cost), epoch + i, 0, True
            else:
                wait += 1
    best.value, best.epoch, best.wait = value, at, wait
    if improved and s.early_stopping and s.restore_best:
        best.params = run.net.params.copy()
        best.bn = copy_bn_stats(run.net.bn_state)
    run.hist.best_epoch = best.epoch


def tol_reason(tol: float) -> str:
    return f"the cost changed less than tol={tol:g} across an epoch"


class RunCallback(Callback):
    """A callback of the run itself: it holds the run, as a Keras callback its model."""

    def __init__(self, run: Any) -> None:
        self.run = run


class Diagnostics(RunCallback):
    """``diagnostics=True``: the measures of :func:`epoch_diagnostics` on a fixed sample."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        run = self.run
        idx = run.diag_idx
        rec = epoch_diagnostics(run.net, run.X[idx], run.Y[idx], run.settings.loss,
                                run.epoch_start)
        run.hist.diagnostics.append({"epoch": epoch, **rec})


class BestEpoch(RunCallback):
    """The epoch of the lowest monitored cost (and its weights, with early stopping)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        track_best(self.run, epoch, (logs["monitored"],))


class Plateau(RunCallback):
    """``lr_schedule='plateau'``: scale the learning rate down when the cost stalls; stop
    once it reached its minimum."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> str | None:
        run, plateau = self.run, self.run.optimizer.plateau
        scale, run.plateau_state = plateau.update(logs["monitored"], run.plateau_state)
        run.state = optimizers.set_lr_scale(run.state, scale)
        if run.plateau_state.done:
            return "the learning rate reached its minimum on a plateau"
        return None


class EarlyStopping(RunCallback):
    """Stop after ``patience`` epochs without an improvement of ``min_delta``."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> str | None:
        run, patience = self.run, self.run.settings.patience
        if run.best.wait < patience:
            return None
        what = "validation cost" if run.val is not None else "cost"
        return (f"early stopping: the {what} did not improve by min_delta for {patience} "
                f"epochs (best epoch {run.best.epoch})")


class ErrorTolerance(RunCallback):
    """Stop when every training error ``|y − a|`` is below ``error_tol``."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> str | None:
        tol = self.run.settings.error_tol
        if np.max(np.abs(logs["train_outputs"] - self.run.Y)) < tol:
            return f"every training error is below error_tol={tol:g}"
        return None


class CostTolerance(RunCallback):
    """Stop when the cost changes less than ``tol`` across an epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> str | None:
        cost, tol = self.run.hist.cost, self.run.settings.tol
        if epoch > 1 and abs(cost[-2] - cost[-1]) < tol:
            return tol_reason(tol)
        return None


class Checkpointing(RunCallback):
    """Write a checkpoint every ``checkpoint_every`` epochs (every epoch with ``"N windows"``;
    the last one at the end)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if not logs["stop"] and checkpoints.epoch_due(self.run.settings.checkpoint_every,
                                                      epoch):
            checkpoints.save_run(self.run)


def monitors(run: Any) -> list[RunCallback]:
    """The run's own callbacks for its settings, in the order they run."""
    s = run.settings
    chosen = [Diagnostics] if s.diagnostics else []
    chosen.append(BestEpoch)
    chosen += [Plateau] if run.optimizer.plateau is not None else []
    chosen += [EarlyStopping] if s.early_stopping else []
    chosen += [ErrorTolerance] if s.error_tol is not None else []
    chosen += [CostTolerance] if s.tol is not None else []
    chosen += [Checkpointing] if s.checkpoint is not None else []
    return [cls(run) for cls in chosen]


def epoch_end(callbacks: list[RunCallback], epoch: int, logs: dict[str, Any]) -> str | None:
    """Run the run's callbacks; the first reason to stop is the one returned."""
    logs["stop"] = None
    for cb in callbacks:
        logs["stop"] = logs["stop"] or cb.on_epoch_end(epoch, logs)
    return logs["stop"]
