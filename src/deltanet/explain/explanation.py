"""``explain(net, x, y, ...)``: the derivation of real SGD steps, in lecture notation."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import losses as _losses
from .._validation import check_choice, check_number, fail
from ..network import Network
from ..propagation import prepare_inputs, prepare_targets
from ..training.data import check_loss_outputs
from . import render_latex, render_markdown, render_text
from ._build import build_derivation
from .model import Derivation, Para, Step

FORMATS = ("text", "markdown", "latex")
SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".txt": "text"}
MAX_STEPS = 1000


class Explanation:
    """The derivation of one or more training steps, ready to show in three formats.

    ``str()`` gives the chosen ``format``; in Jupyter it displays itself as Markdown, in
    a Rich console as formatted text. ``network`` is the network after the last step
    (the caller's network is never modified).
    """

    def __init__(self, derivation: Derivation, network: Network, format: str = "text") -> None:
        self.derivation = derivation
        self.network = network
        self.format = check_choice("format", format, FORMATS)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.derivation.steps

    @property
    def digits(self) -> int:
        return self.derivation.digits

    @property
    def title(self) -> str:
        return self.derivation.title

    def to_markdown(self) -> str:
        """Markdown with ``$…$`` math (GitHub, Jupyter)."""
        return render_markdown.render(self.derivation)

    def to_latex(self) -> str:
        """A standalone LaTeX document."""
        return render_latex.render(self.derivation)

    def to_text(self, width: int = 100) -> str:
        """Plain Unicode text, wrapped at ``width`` columns."""
        return render_text.render(self.derivation, width=width)

    def render(self, format: str | None = None) -> str:
        """The document in ``format`` ("text", "markdown" or "latex"; default: own)."""
        fmt = check_choice("format", format or self.format, FORMATS)
        return {"text": self.to_text, "markdown": self.to_markdown,
                "latex": self.to_latex}[fmt]()

    def __rich__(self):
        return render_text.renderable(self.derivation)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return (f"Explanation({self.title!r}, steps={len(self.steps)}, "
                f"digits={self.digits}, format={self.format!r})")

    def save(self, path: str | os.PathLike, format: str | None = None) -> Path:
        """Write the document; the format comes from ``format``, the suffix, or own."""
        path = Path(path)
        fmt = format or SUFFIXES.get(path.suffix.lower(), self.format)
        from ..io import atomic_write

        atomic_write(path, self.render(fmt).encode("utf-8"))  # never half a document
        return path

    def with_notes(self, step_notes: dict[int, list[Para]] | None = None,
                   notes: tuple[Para, ...] | list[Para] = ()) -> Explanation:
        """A copy with remarks added after steps (by step index, from 1) and at the end."""
        step_notes = step_notes or {}
        steps = tuple(dataclasses.replace(s, notes=s.notes + tuple(step_notes.get(s.index, ())))
                      for s in self.steps)
        d = dataclasses.replace(self.derivation, steps=steps,
                                notes=self.derivation.notes + tuple(notes))
        return Explanation(d, self.network, self.format)


def _check_network(net: Any) -> None:
    if not isinstance(net, Network):
        fail("explain needs a deltanet Network", type(net).__name__,
             "build one with deltanet.Network(...) or Network.layered([...])", TypeError)
    if any(g.batch_norm for g in net.plan.groups):
        fail("explain does not cover batch normalisation", "batch_norm=True",
             "explain a network built with batch_norm=False")
    for j in net.outputs:
        if net.activation_of(j) == "softmax" and net.downstream(j):
            fail(f"softmax output neuron {j} also feeds other neurons", net.downstream(j),
                 "explain softmax neurons only as final outputs")


def explain(
    net: Network,
    x: Any,
    y: Any,
    *,
    loss: str = "squared_error",
    lr: float = 0.1,
    l2: float = 0.0,
    decay_bias: bool = False,
    steps: int | None = None,
    digits: int = 4,
    format: str = "text",
    title: str | None = None,
    source: str = "",
    description: str | tuple[str, ...] = (),
) -> Explanation:
    """Write out SGD training steps the way the lecture does, with the real numbers.

    For each step: (1) forward ``in_j = Σ_i w_ij a_i``, ``a_j = g(in_j)``; (2) the loss;
    (3) backward ``Δ_j`` for the outputs from the loss, then for hidden neurons
    ``Δ_j = g'(in_j) Σ_j' w_jj' Δ_j'``; (4) ``∂J/∂w_ij = Δ_j a_i`` for every arc;
    (5) ``w_ij ← w_ij − α Δ_j a_i`` (``− 2αλ w_ij`` with weight decay ``l2 = λ``);
    (6) the output and loss on the example before and after the update.

    Parameters
    ----------
    net : Network
        Any network of the core (any DAG, any activation, no batch normalisation).
        It is not modified; ``Explanation.network`` is the network after the steps.
    x, y : one example (``x`` of shape ``(p,)``) or a list of examples ``(n, p)``.
    loss : a loss name ("squared_error", "half_squared_error", "log_loss", ...).
    lr : the learning rate ``α``.
    l2 : weight decay ``λ`` (``J = ℓ + λ Σ_{(i,j)∈A} w_ij²``, seed 002, Lecture 07-4d).
    decay_bias : whether the bias arcs ``(0, j)`` are decayed too, as in the lecture's
        sum over all arcs ``A`` (``dn.train(..., decay_bias=True)``); by default they
        are left out, as ``dn.train`` does.
    steps : number of SGD steps; default one per example. The examples are used in
        order, starting again from the first when ``steps`` is larger.
    digits : decimals shown (a non-zero number that would show as 0, or one of 1e16 or
        more, gets ``digits`` significant digits instead: ``3.142e-5``, ``1.235e20``).
    format : what ``str()`` gives: "text", "markdown" or "latex".
    title, source, description : the document's heading and introduction.

    Examples
    --------
    Seed 002's example SGD iteration (Lecture 07-2a):

    >>> import deltanet as dn
    >>> net = dn.Network(2, [(1, 3), (2, 3)], "logistic", init=dn.init.constant(0.1))
    >>> ex = dn.explain(net, [0.4, 0.5], 1.0, loss="squared_error", lr=0.5)
    >>> round(ex.network.weights[1, 3], 4)
    0.1449
    >>> "w_{1,3} \\\\leftarrow" in ex.to_markdown()
    True
    """
    _check_network(net)
    loss_fn = _losses.get(loss)
    check_loss_outputs(net, loss_fn)
    lr = check_number("lr", lr, low=0.0, low_open=True)
    l2 = check_number("l2", l2, low=0.0)
    if not isinstance(decay_bias, (bool, np.bool_)):
        fail("decay_bias must be True or False", decay_bias,
             "pass decay_bias=True to decay the bias arcs too", TypeError)
    digits = int(check_number("digits", digits, low=1, high=12, integer=True))
    format = check_choice("format", format, FORMATS)
    X, single = prepare_inputs(net, x)
    Y = prepare_targets(net, y, X.shape[0], single, loss_fn)
    n_steps = X.shape[0] if steps is None else int(
        check_number("steps", steps, low=1, high=MAX_STEPS, integer=True))
    if title is None:
        title = "One training step" if n_steps == 1 else f"{n_steps} training steps"
    description = (description,) if isinstance(description, str) else tuple(description)
    derivation, final = build_derivation(
        net, np.asarray(X, dtype=net.dtype), Y, loss=loss_fn, lr=lr, l2=l2,
        decay_bias=bool(decay_bias), steps=n_steps,
        title=title, source=source, description=description, digits=digits)
    return Explanation(derivation, final, format)
