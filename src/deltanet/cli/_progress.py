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
