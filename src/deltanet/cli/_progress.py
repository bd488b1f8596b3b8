"""The progress bar of ``deltanet train``: epoch, loss, validation metric and time left.

The library's ``train()`` progress bar, drawn on the command line's stderr console: on a
terminal it animates; in a pipe or a log file Rich draws it once, when training ends.
"""

from __future__ import annotations

from ..training.callbacks import ProgressBar


class EpochBar(ProgressBar):
    """Rich progress bar over ``epochs``; call ``close()`` when training ends."""

    def __init__(self, epochs: int, metric: str, start: int = 0) -> None:
        from ._common import console

        super().__init__(epochs, start, metric, console=console(stderr=True), bar_width=30)
