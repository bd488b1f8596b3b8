"""The progress of ``deltanet train``: the epoch bar, drawn on the command line's stderr
console: on a terminal it animates; in a pipe or a log file Rich draws it once, when
training ends.
"""

from __future__ import annotations

from ..training.callbacks import ProgressBar


class EpochBar(ProgressBar):
    """Rich progress bar over ``epochs``; call ``close()`` when training ends."""

    def __init__(self, epochs: int, metric: str, start: int = 0) -> None:
        from ._common import console

        super().__init__(epochs, start, metric, console=console(stderr=True), bar_width=30)


def epochs_text(n: int, unit: str) -> str:
    """``1 epoch``, ``12 epochs``, ``1 iteration`` (``unit`` singular or plural)."""
    unit = unit[:-1] if unit.endswith("s") else unit
    return f"{n} {unit}{'' if n == 1 else 's'}"


class StreamBar(ProgressBar):
    """The progress of training on a stream: one bar of epochs and one of the rows of the
    current epoch, each with its time left (see :class:`EpochBar`)."""

    def __init__(self, epochs: int, metric: str, rows: int, start: int = 0) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from ._common import console

        self.metric, self.epochs = metric, epochs
        self.progress = Progress(
            TextColumn("{task.description:>6}"), MofNCompleteColumn(), BarColumn(bar_width=30),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("left"),
            TimeRemainingColumn(), console=console(stderr=True), transient=False)
        self.task = self.progress.add_task("epoch", total=epochs, completed=start, stats="")
        self.rows = self.progress.add_task("rows", total=rows, stats="")
        self.progress.start()

    def advance(self, rows: int) -> None:
        """``rows`` more rows of this epoch were trained on."""
        self.progress.advance(self.rows, rows)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        super().on_epoch_end(epoch, logs)
        if epoch < self.epochs:
            self.progress.reset(self.rows)
