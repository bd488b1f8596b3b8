"""The worked examples of the lecture notes, by readable name.

``deltanet explain --list`` shows them; ``explain_example(name)`` runs one. Each builds
its network, example(s), loss and learning rate exactly as the notes state them; where
the notes leave something open (a target, a learning rate) the description says what
is chosen here. Example-specific remarks (``_seed_notes``) are computed from the steps,
including the notes' own rounded arithmetic where it differs from the exact values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import init
from .._validation import check_choice
from ..network import Network
from . import _seed_notes as notes
from .explanation import Explanation, explain

SEED002_ARCS = [(1, 3), (2, 3), (1, 4), (2, 4), (3, 5), (4, 5)]
SEED002_WEIGHTS = {(0, 3): 5, (1, 3): 1, (2, 3): -2, (0, 4): 3, (1, 4): -4, (2, 4): 2,
                   (0, 5): -1, (3, 5): 4, (4, 5): 2}


@dataclass
class Setup:
    """What an example trains: network, example(s), loss, learning rate, weight decay."""

    net: Network
    x: Any
    y: Any
    loss: str
    lr: float
    l2: float = 0.0


@dataclass(frozen=True)
class Example:
    """A named worked example: where it comes from, what it shows, how to build it."""

    name: str
    title: str
    source: str
    description: tuple[str, ...]
    build: Callable[[], Setup]
    notes: Callable[[Explanation, Setup], Explanation] | None = None
    digits: int = 4

    def explain(self, format: str = "text", digits: int | None = None,
                steps: int | None = None) -> Explanation:
        """Run the example and return its Explanation (with its remarks)."""
        setup = self.build()
        ex = explain(setup.net, setup.x, setup.y, loss=setup.loss, lr=setup.lr, l2=setup.l2,
                     steps=steps, digits=self.digits if digits is None else digits,
                     format=format, title=self.title, source=self.source,
                     description=self.description)
        return self.notes(ex, setup) if self.notes is not None else ex


def _with_weights(net: Network, weights: dict) -> Network:
    for (i, j), w in weights.items():
        net.weights[i, j] = w
    return net


def _sgd_step() -> Setup:
    net = Network(2, [(1, 3), (2, 3)], "logistic", init=init.constant(0.1))
    return Setup(net, [0.4, 0.5], 1.0, "squared_error", 0.5)


def _forward() -> Setup:
    net = _with_weights(Network(2, SEED002_ARCS, "logistic"), SEED002_WEIGHTS)
    return Setup(net, [3.0, 4.0], 1.0, "squared_error", 0.5)


def _equal_weights() -> Setup:
    net = Network(2, SEED002_ARCS, "logistic", init=init.constant(0.3, bias=-0.2))
    return Setup(net, [[0.0, 1.0], [1.0, 1.0]], [1.0, 0.0], "squared_error", 0.5)


def _vanishing_chain() -> Setup:
    net = Network(1, [(1, 2), (2, 3), (3, 4), (4, 5)], "logistic",
                  init=init.constant(1.0, bias=0.0))
    return Setup(net, [0.8], 1.0, "squared_error", 0.5)


def _seed003_net() -> Network:
    return Network.layered([2, 3, 1], hidden="logistic", output="identity",
                           init=init.constant(1.0))


def _seed003() -> Setup:
    return Setup(_seed003_net(), [0.5, 0.5], 0.5, "half_squared_error", 1 / 3)


def _seed003_test() -> Setup:
    net = _seed003_net()
    net.step([0.5, 0.5], [0.5], lr=1 / 3, loss="half_squared_error")
    return Setup(net, [0.7, 0.7], -0.02, "half_squared_error", 1 / 3)


def _seed000() -> Setup:
    net = Network.layered([2, 2, 1], hidden="logistic", output="logistic",
                          init=init.constant(1.0, bias=0.0))
    return Setup(net, [[0.0, 0.0], [0.0, 1.0]], [0.0, 1.0], "half_squared_error", 1.0)


def _seed001() -> Setup:
    net = Network.layered([2, 2, 3], hidden="relu", output="softmax")
    _with_weights(net, {(0, 3): 0.1, (1, 3): 0.5, (2, 3): 0.2,
                        (0, 4): -0.2, (1, 4): -0.3, (2, 4): 0.4,
                        (0, 5): 0.0, (3, 5): 1.0, (4, 5): -1.0,
                        (0, 6): 0.1, (3, 6): 0.5, (4, 6): 1.0,
                        (0, 7): -0.1, (3, 7): -0.5, (4, 7): 0.5})
    return Setup(net, [1.0, 2.0], [0.0, 1.0, 0.0], "cross_entropy", 0.5)


def _seed004() -> Setup:
    net = Network.layered([2, 2, 1], hidden="logistic", output="logistic")
    _with_weights(net, {(0, 3): 0.5, (1, 3): -1.0, (2, 3): 1.0,
                        (0, 4): -0.5, (1, 4): 1.0, (2, 4): 0.5,
                        (0, 5): 0.2, (3, 5): 1.0, (4, 5): -1.0})
    return Setup(net, [1.0, 0.5], 1.0, "log_loss", 0.5)


_CATALOGUE = [
    Example("seed002-sgd-step", "Example SGD iteration",
            "Seed 002, Lecture 07-2a: Training a simple neural network, example SGD iteration",
            ("One logistic neuron with w₀,₃ = w₁,₃ = w₂,₃ = 0.1, the example x = (0.4, 0.5) "
             "with y = 1, squared error and α = 0.5, followed by the lecture's “Evaluating "
             "the change in weights”.",),
            _sgd_step, notes.sgd_step),
    Example("seed002-forward", "Making predictions using forward propagation",
            "Seed 002, Lecture 07-2c: Forward propagation",
            ("The 2-2-1 logistic network of the lecture's prediction example, with "
             "x = (3, 4); its prediction is h(x) = a₅. The lecture stops after the forward "
             "pass; to complete a training step this example adds the target y = 1, squared "
             "error and α = 0.5. Numbers are shown to two decimals, as on the slide.",),
            _forward, notes.forward, digits=2),
    Example("seed002-equal-weights", "The problem with equal weights",
            "Seed 002, Lecture 07-4a: Stochastic gradient descent for neural networks",
            ("Hidden neurons 3 and 4 start with equal weights (w₀,ⱼ = −0.2, every other "
             "weight 0.3). They see the same inputs, get the same deltas and the same "
             "updates, so they stay equal after every step. Two SGD steps on (0, 1) → 1 and "
             "(1, 1) → 0, squared error, α = 0.5 (chosen here).",),
            _equal_weights, notes.equal_weights),
    Example("seed002-vanishing-chain", "The vanishing gradient problem",
            "Seed 002, Lecture 07-3d: The vanishing gradient problem",
            ("The chain 1 → 2 → 3 → 4 → 5 of logistic neurons, every weight 1 and every "
             "bias 0 (chosen here), x = 0.8, y = 1, squared error, α = 0.5. Each "
             "Δⱼ = g′(inⱼ) wⱼ,ⱼ₊₁ Δⱼ₊₁ multiplies by g′ ≤ 1/4, so the deltas shrink "
             "towards the input.",),
            _vanishing_chain, notes.vanishing_chain),
    Example("seed003-backprop", "Backprop: example",
            "Seed 003, Lecture 22: Neural networks, backpropagation algorithm",
            ("Two inputs, three logistic hidden units and one linear output, all weights "
             "and biases 1; x = (0.5, 0.5), t = 0.5, E = ½ (y − t)² and η = 1/3. Numbers "
             "are shown to two decimals, as on the slides.",),
            _seed003, notes.seed003, digits=2),
    Example("seed003-test", "Test: the updated network on a new example",
            "Seed 003, Lecture 22: Neural networks, backpropagation algorithm (Test)",
            ("The network of seed003-backprop after its update, on the test example "
             "x = (0.7, 0.7) with t = −0.02: the forward pass the lecture sets up, then "
             "one more step with the same loss and η = 1/3.",),
            _seed003_test, notes.seed003_test),
    Example("seed000-review", "Review: the first backprop updates",
            "Seed 000, Artificial neural networks: Review",
            ("A network with 2 inputs, 2 hidden units and 1 output (all logistic), all "
             "weights 1 and biases 0, squared loss L = ½ (y − h)² as in the lecture's "
             "derivation, and the examples (0, 0) → 0 and (0, 1) → 1, one SGD update each, "
             "in order. The lecture gives no learning rate; α = 1 is chosen here.",),
            _seed000, notes.seed000),
    Example("seed001-softmax-ce", "Softmax outputs with cross-entropy",
            "Seed 001, Lecture 11: Neural networks and deep learning",
            ("ReLU hidden neurons feed three softmax outputs pⱼ = e^(inⱼ) / Σₖ e^(inₖ), "
             "trained with cross-entropy L = −Σₖ yₖ log pₖ on x = (1, 2) of class 2 "
             "(y = (0, 1, 0)), α = 0.5; weights chosen here. The output deltas are "
             "∂L/∂inⱼ = pⱼ − yⱼ, the lecture's ∂L/∂bⱼ.",),
            _seed001, notes.softmax_ce),
    Example("seed004-log-loss", "The log-loss base case",
            "Seed 004, Assignment 6: Introduction to neural networks and backpropagation",
            ("A 2-2-1 logistic network trained with log loss e = −[y log h + (1 − y) "
             "log(1 − h)] on x = (1, 0.5), y = 1, α = 0.5; weights chosen here. The base "
             "case ∂e/∂h = −y/h + (1 − y)/(1 − h), carried through σ′, gives Δ = h − y.",),
            _seed004, notes.log_loss),
]

#: the examples by name, in the order of ``--list``
EXAMPLES: dict[str, Example] = {ex.name: ex for ex in _CATALOGUE}


def list_examples() -> list[Example]:
    """Every built-in example, in catalogue order."""
    return list(EXAMPLES.values())


def get_example(name: str) -> Example:
    """The example ``name``; an unknown name lists the valid ones."""
    return EXAMPLES[check_choice("example", name, EXAMPLES)]


def explain_example(name: str, format: str = "text", digits: int | None = None,
                    steps: int | None = None) -> Explanation:
    """Run the built-in example ``name`` (see :func:`list_examples`)."""
    return get_example(name).explain(format=format, digits=digits, steps=steps)
