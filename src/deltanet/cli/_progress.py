"""The progress bar of ``deltanet train``: epoch, loss, validation metric and time left.

A ``train()`` callback drawing a Rich progress bar on stderr. On a terminal it animates;
in a pipe or a log file Rich draws it once, when training ends, 120 columns wide.
"""

from __future__ import annotations

import sys
from typing import Any


class EpochBar:
    """Rich progress bar over ``epochs``; call ``close()`` when training ends."""

    def __init__(self, epochs: int, metric: str, start: int = 0) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from ._common import console

        self.metric = metric
        self.progress = Progress(
            TextColumn("epoch"), MofNCompleteColumn(), BarColumn(bar_width=30),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("left"),
            TimeRemainingColumn(), console=console(stderr=True), transient=False)
        self.task = self.progress.add_task("train", total=epochs, completed=start, stats="")
        self.progress.start()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        stats = [f"loss {logs['cost']:.4g}"]
        if logs.get("val_cost") is not None:
            stats.append(f"val_loss {logs['val_cost']:.4g}")
        if logs.get("val_metric") is not None:
            stats.append(f"val_{self.metric} {logs['val_metric']:.4f}")
        self.progress.update(self.task, completed=epoch, stats="  ".join(stats))

    def close(self, failed: bool = False, epochs_done: int | None = None) -> None:
        """Stop drawing; after a failure the bar is removed, so the error stays one line."""
        if epochs_done is not None:
            self.progress.update(self.task, completed=epochs_done)
        if failed:
            self.progress.live.transient = True  # a terminal erases the bar
            self.progress.console.quiet = True  # a pipe or log gets nothing
        self.progress.stop()
        sys.stderr.flush()
