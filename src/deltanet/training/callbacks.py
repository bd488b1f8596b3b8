"""Callbacks for ``train()``: hooks at the end of every epoch or update, and a progress bar.

A callback is a function ``f(epoch, logs)`` (called at the end of every epoch) or an object
with ``on_epoch_end(epoch, logs)`` and/or ``on_batch_end(update, logs)``. Raising
:class:`StopTraining` (or returning it, the class or an instance) ends training cleanly:
the history records the reason and checkpoints and best weights are handled as for any
other stop. ``on_batch_end`` callbacks run after every update, so give one only when you
need it: epoch-end hooks cost nothing in the update loop.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .._validation import fail


class StopTraining(Exception):
    """Raise or return this from a callback to end training; the message is the reason."""


class Callback:
    """Base class for callbacks; override ``on_epoch_end`` and/or ``on_batch_end``.

    ``logs`` at epoch end: ``epoch, cost, val_cost, val_metric, train_metric, lr, updates,
    elapsed`` (None where not recorded); at batch end: ``epoch, update, batch_cost,
    batch_size``.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> Any:
        return None

    def on_batch_end(self, update: int, logs: dict[str, Any]) -> Any:
        return None


def _overrides(cb: Any, name: str) -> bool:
    method = getattr(type(cb), name, None)
    return method is not None and method is not getattr(Callback, name)


def _call(fn, step: int, logs: dict[str, Any]) -> str | None:
    try:
        result = fn(step, logs)
    except StopTraining as stop:
        return str(stop) or "a callback stopped training"
    if result is StopTraining or isinstance(result, StopTraining):
        return str(result) if isinstance(result, StopTraining) and str(result) \
            else "a callback stopped training"
    return None


class CallbackList:
    """Checked callbacks, split into epoch-end and batch-end hooks."""

    def __init__(self, callbacks: Any) -> None:
        self.epoch, self.batch = [], []
        if callbacks is None:
            return
        if callable(callbacks) or isinstance(callbacks, Callback):
            callbacks = [callbacks]
        if not isinstance(callbacks, (list, tuple)):
            fail("callbacks must be a list of functions or Callback objects",
                 type(callbacks).__name__, "e.g. callbacks=[lambda epoch, logs: print(logs)]",
                 TypeError)
        self.epoch, self.batch = [], []
        for cb in callbacks:
            has_epoch = hasattr(cb, "on_epoch_end") and not isinstance(cb, type)
            has_batch = hasattr(cb, "on_batch_end") and not isinstance(cb, type)
            if not (has_epoch or has_batch):
                if not callable(cb):
                    fail("a callback must be a function (epoch, logs) or have on_epoch_end / "
                         "on_batch_end", cb, "see deltanet.Callback", TypeError)
                self.epoch.append(cb)
                continue
            if has_epoch and (not isinstance(cb, Callback) or _overrides(cb, "on_epoch_end")):
                self.epoch.append(cb.on_epoch_end)
            if has_batch and (not isinstance(cb, Callback) or _overrides(cb, "on_batch_end")):
                self.batch.append(cb.on_batch_end)

    def epoch_end(self, epoch: int, logs: dict[str, Any]) -> str | None:
        """Run the epoch-end hooks; return a stop reason if one asked to stop."""
        reason = None
        for fn in self.epoch:
            reason = _call(fn, epoch, logs) or reason
        return reason

    def batch_end(self, update: int, logs: dict[str, Any]) -> str | None:
        reason = None
        for fn in self.batch:
            reason = _call(fn, update, logs) or reason
        return reason


class ProgressBar:
    """A Rich progress bar on stderr: epoch, loss, validation metric and time left.

    When stderr is not a terminal Rich draws no animation and prints the final state once,
    so logs and pipes stay readable. ``console`` is a Rich Console (default: stderr).
    """

    def __init__(self, epochs: int, start_epoch: int = 0, metric: str = "metric", *,
                 console: Any = None, bar_width: int | None = 40) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.metric = metric
        self.progress = Progress(
            TextColumn("epoch"), MofNCompleteColumn(), BarColumn(bar_width=bar_width),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("left"),
            TimeRemainingColumn(), console=console or Console(file=sys.stderr),
            transient=False)
        self.task = self.progress.add_task("train", total=epochs, completed=start_epoch,
                                           stats="")
        self.progress.start()
        self.started = time.perf_counter()

    def note(self, text: str) -> None:
        """Print a line of text above the bar."""
        self.progress.console.print(text, markup=False, highlight=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        stats = [f"loss {logs['cost']:.4g}"]
        if logs.get("val_cost") is not None:
            stats.append(f"val_loss {logs['val_cost']:.4g}")
        if logs.get("val_metric") is not None:
            stats.append(f"val_{self.metric} {logs['val_metric']:.4f}")
        self.progress.update(self.task, completed=epoch, stats="  ".join(stats))

    def close(self, failed: bool = False, epochs_done: int | None = None) -> None:
        """Stop drawing; after a failure the bar is removed, so an error stays one line."""
        if epochs_done is not None:
            self.progress.update(self.task, completed=epochs_done)
        if failed:
            self.progress.live.transient = True  # a terminal erases the bar
            self.progress.console.quiet = True  # a pipe or log gets nothing
        self.progress.stop()
        sys.stderr.flush()
