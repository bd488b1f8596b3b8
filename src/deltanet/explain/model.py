"""The derivation model: what a worked example says, independent of how it is shown.

A :class:`Derivation` is a list of :class:`Step` (one SGD update on one example), each
with sections (forward, loss, backward, gradients, updates, effect) of :class:`Line`
records. A line reads ``lhs = symbolic = substituted ≈ value``; it holds the exact
floats, and ``ref`` names the quantity of the trace it shows (``("delta", 5)``), so a
test can compare every printed number with ``net.backprop``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._expr import Expr, Num, Ref, walk_numbers

#: the section keys of a step, in order
SECTION_KEYS = ("forward", "loss", "backward", "gradients", "updates", "effect")


@dataclass(frozen=True)
class Line:
    """``lhs relation symbolic = substituted = value``.

    ``symbolic`` is rendered in symbol mode and ``substituted`` in number mode (they
    may be the same expression); ``value`` is the exact float and ``ref`` names it.
    """

    lhs: Expr
    symbolic: Expr | None = None
    substituted: Expr | None = None
    value: float | None = None
    ref: Ref | None = None
    relation: str = "="
    note: str = ""

    def numbers(self) -> list[tuple[float, Ref | None, int | None]]:
        """Every number the line shows, in reading order: ``(value, ref, digits)``.

        ``ref`` is None for the constants of a formula; ``digits`` is set only where a
        number carries its own precision (the lecture's rounded arithmetic).
        """
        found = [(v, ref, getattr(node, "digits", None))
                 for node, v, ref in walk_numbers(self.substituted)]
        if self.value is not None:
            found.append((self.value, self.ref, None))
        return found


@dataclass(frozen=True)
class Para:
    """A paragraph: text and inline expressions (numbers mode), then display lines."""

    parts: tuple[str | Expr, ...]
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Section:
    """A titled group of lines; each row is shown on one line (several for compact lists)."""

    key: str
    title: str
    rows: tuple[tuple[Line, ...], ...]
    notes: tuple[Para, ...] = ()

    @property
    def lines(self) -> list[Line]:
        return [line for row in self.rows for line in row]


@dataclass(frozen=True)
class Step:
    """One SGD update: example ``example`` (0-based) of the list, ``index`` from 1;
    ``trace`` is the Trace of ``net.backprop`` before the update."""

    index: int
    example: int
    x: np.ndarray
    y: np.ndarray
    sections: tuple[Section, ...]
    notes: tuple[Para, ...] = ()
    trace: Any = field(default=None, repr=False, compare=False)

    def section(self, key: str) -> Section:
        """The section ``key`` (one of ``SECTION_KEYS``)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


@dataclass(frozen=True)
class Derivation:
    """A whole document: title, description, the setup, the steps and closing notes."""

    title: str
    source: str
    description: tuple[str, ...]
    setup: tuple[Para, ...]
    weights: Section
    steps: tuple[Step, ...]
    notes: tuple[Para, ...] = ()
    tasks: tuple[str, ...] = ()
    digits: int = 4


def rounded(value: float, digits: int) -> Num:
    """A number rounded the way a hand calculation rounds it (for lecture remarks)."""
    return Num(round(float(value), digits), None, digits)
