"""Exercises for teachers: a small random network and example with "nice" numbers.

``make_exercise(seed)`` draws a 2-2-1 or 2-3-1 network with weights from
{−1, −0.5, 0.5, 1, 2}, inputs from {0, 0.5, 1} and a 0/1 target, and returns the
question (the network, the example and what to compute) and the solution (the full
derivation) separately. The same seed always gives the same exercise.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import init
from .._validation import check_choice, check_number
from ..network import Network
from .explanation import FORMATS, SUFFIXES, Explanation, explain

WEIGHTS = (-1.0, -0.5, 0.5, 1.0, 2.0)
INPUTS = (0.0, 0.5, 1.0)
LEARNING_RATES = (0.1, 0.5, 1.0)
LOSSES = {"identity": ("squared_error", "half_squared_error"),
          "logistic": ("squared_error", "log_loss")}
EXTENSIONS = {"markdown": ".md", "latex": ".tex", "text": ".txt"}
TASKS = (
    "Forward propagation: compute inⱼ = Σᵢ wᵢ,ⱼ aᵢ and aⱼ = g(inⱼ) for every processing "
    "neuron (a₀ = 1 is the bias unit).",
    "Compute the loss ℓ on this example.",
    "Backward propagation: compute Δⱼ of the output neuron from the loss, then "
    "Δⱼ = g′(inⱼ) Σ wⱼ,ₖ Δₖ for each hidden neuron (the sum runs over the neurons k it feeds).",
    "Compute the gradient ∂J/∂wᵢ,ⱼ = Δⱼ aᵢ of every weight.",
    "Update every weight: wᵢ,ⱼ ← wᵢ,ⱼ − α Δⱼ aᵢ.",
    "Compute the output and the loss again with the new weights. Did the loss go down?",
)


@dataclass(frozen=True)
class Exercise:
    """A question and its solution (both :class:`Explanation`), with its loss and ``α``."""

    seed: int
    question: Explanation
    solution: Explanation
    loss: str
    lr: float

    def render(self, format: str = "markdown") -> tuple[str, str]:
        """``(question, solution)`` as text in ``format``."""
        return self.question.render(format), self.solution.render(format)

    def save(self, out: str | os.PathLike, format: str = "markdown") -> tuple[Path, Path]:
        """Write ``<out>-question.md`` and ``<out>-solution.md`` (or .tex/.txt)."""
        fmt = check_choice("format", format, FORMATS)
        base = Path(out)
        if base.suffix.lower() in SUFFIXES:
            base = base.with_suffix("")
        paths = []
        for part, doc in (("question", self.question), ("solution", self.solution)):
            paths.append(doc.save(base.parent / f"{base.name}-{part}{EXTENSIONS[fmt]}", fmt))
        return paths[0], paths[1]


def _draw(rng: np.random.Generator) -> dict:
    hidden = int(rng.choice([2, 3]))
    out_act = str(rng.choice(list(LOSSES)))
    net = Network.layered([2, hidden, 1], hidden=str(rng.choice(["logistic", "relu"])),
                          output=out_act, init=init.constant(0.0))
    for i, j in net.arcs:
        net.weights[i, j] = float(rng.choice(WEIGHTS))
    return {"net": net, "x": rng.choice(INPUTS, size=2).astype(float),
            "y": float(rng.integers(0, 2)), "loss": str(rng.choice(LOSSES[out_act])),
            "lr": float(rng.choice(LEARNING_RATES))}


def _is_nice(spec: dict) -> bool:
    """At least one non-zero input, no ReLU exactly at its kink, some hidden neuron
    active, a linear output within 2 of its target (no huge steps), and an output delta
    large enough to move the weights visibly."""
    net, x = spec["net"], spec["x"]
    if not x.any():
        return False
    trace = net.backprop(x, spec["y"], loss=spec["loss"])
    hidden = [j for j in range(net.n_inputs + 1, net.n_neurons) if j not in net.outputs]
    in_ = np.array([trace.in_[j] for j in hidden])
    if net.activation_of(hidden[0]) == "relu" and (np.any(in_ == 0) or not np.any(in_ > 0)):
        return False
    out = net.outputs[0]
    if net.activation_of(out) == "identity" and abs(trace.a[out] - spec["y"]) > 2:
        return False
    return abs(trace.delta[out]) > 1e-3


def make_exercise(seed: int, *, digits: int = 4, format: str = "markdown") -> Exercise:
    """A deterministic exercise for ``seed``: the question and the solution.

    >>> ex = make_exercise(7)
    >>> "## Tasks" in ex.question.to_markdown() and "## Tasks" not in ex.solution.to_markdown()
    True
    """
    seed = int(check_number("seed", seed, low=0, integer=True))
    rng = np.random.default_rng(seed)
    spec = _draw(rng)
    while not _is_nice(spec):  # a nice draw comes within a few tries
        spec = _draw(rng)
    solution = explain(spec["net"], spec["x"], spec["y"], loss=spec["loss"], lr=spec["lr"],
                       digits=digits, format=format, title=f"Exercise {seed}: solution",
                       description=("One SGD step of backpropagation, worked out.",))
    d = solution.derivation
    question = dataclasses.replace(d, title=f"Exercise {seed}: one backpropagation step",
                                   description=("Carry out one step of stochastic gradient "
                                                "descent on this network and example.",),
                                   steps=(), notes=(), tasks=TASKS)
    return Exercise(seed, Explanation(question, spec["net"].copy(), format), solution,
                    spec["loss"], spec["lr"])
