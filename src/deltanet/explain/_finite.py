"""Refuse a step that diverged: a derivation is only worth reading with finite numbers.

An ``exp`` output with ``in_2 = 800`` gives ``a_2 = e^800 = inf``, then ``Δ_2 = inf``,
weights ``−inf`` and an "improved" loss. Training stops such a run with a TrainingError;
explain says, before writing anything, which quantity of which step became non-finite
(in the order the derivation would show it) and what to change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ._expr import Deriv, Expr, Sym
from ._render_expr import ExprRenderer

# where each quantity appears in the derivation
_PARTS = {"forward": "the forward pass", "loss": "the loss", "backward": "the backward pass",
          "gradients": "the gradients", "updates": "the weight update",
          "effect": "the forward pass with the new weights"}


def _processing(net: Any) -> range:
    return range(net.n_inputs + 1, net.n_neurons)


def _forward(net: Any, trace: Any, sup: str | None) -> Iterator[tuple[str, Expr, float]]:
    part = "effect" if sup else "forward"
    for j in _processing(net):
        yield part, Sym("in", j, sup), trace.in_[j]
        yield part, Sym("a", j, sup), trace.a[j]
    yield ("effect" if sup else "loss"), Sym("ell", None, sup), float(trace.losses[0])
    yield ("effect" if sup else "loss"), Sym("J", None, sup), float(trace.loss)


def _quantities(before: Any, trace: Any, after: Any,
                trace_after: Any) -> Iterator[tuple[str, Expr, float]]:
    """``(part, symbol, value)`` of one step, in the order the derivation writes them."""
    yield from _forward(before, trace, None)
    for j in reversed(_processing(before)):
        yield "backward", Sym("Delta", j), trace.delta[j]
    for i, j in before.arcs:
        yield "gradients", Deriv(Sym("J"), Sym("w", (i, j))), trace.grad[i, j]
    for i, j in before.arcs:
        yield "updates", Sym("w", (i, j), "new"), after.weights[i, j]
    yield from _forward(after, trace_after, "new")


def check_step_finite(index: int, before: Any, trace: Any, after: Any, trace_after: Any,
                      lr: float) -> None:
    """A ValueError naming the first non-finite quantity of step ``index``, if any."""
    for part, sym, value in _quantities(before, trace, after, trace_after):
        if not math.isfinite(value):
            name = ExprRenderer("text", 4, numbers=False)(sym)
            # before the first update only the weights and inputs are to blame
            fix = "use smaller weights or inputs"
            if index > 1 or part in ("updates", "effect"):
                fix = f"use a smaller learning rate than lr={lr:g}, or smaller weights or inputs"
            raise ValueError(f"step {index} diverged in {_PARTS[part]}: {name} = {value} is "
                             f"not a finite number, and explain writes out finite steps only; "
                             f"{fix}")
