"""Training diagnostics: gradient norms per group, saturation, dead units, and the vanishing
gradient experiment of seed 002 (Lecture 07-3d).

Along a chain, ``Δ_2 = [g'(in_2) w_23][g'(in_3) w_34] ... [g'(in_5)(−2(y − a_5))]``: one factor
``g'(in_j) w`` per layer. The logistic ``g' = g(1 − g) ≤ 0.25`` makes the product shrink
geometrically with depth, so the first layers barely learn; ReLU has ``g' = 1`` on active
units and keeps it. :func:`vanishing_gradient_experiment` measures exactly that ratio.

Run ``python -m deltanet.diagnostics`` to print the experiment's table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_choice, check_number, fail
from .propagation import backprop, forward, prepare_inputs

# the per-epoch measures live with training; their names stay part of this module
from .training.diagnostics import (  # noqa: F401
    SAMPLE_SIZE,
    SATURATED_SLOPE,
    SATURATED_TANH,
    epoch_diagnostics,
    sample_indices,
)
from .training.diagnostics import can_batch as _can_batch
from .training.diagnostics import saturated as _saturated
from .training.diagnostics import weights_of as _weights_of


def gradient_norms(net, X: Any, Y: Any, loss: Any = "squared_error") -> dict[int, float]:
    """``‖∂J/∂W_g‖₂`` for every group (layer index → norm), over the arcs into the group.

    ``J`` is the mean loss over ``(X, Y)``; bias arcs are left out. Groups are the compiled
    layers (neurons of equal depth and activation); see ``net.summary()``.
    """
    trace = backprop(net, X, Y, loss, training=_can_batch(net, X))
    return {g.layer: float(np.linalg.norm(_weights_of(net, g.layer, trace.grad_flat)))
            for g in net.plan.groups}


def _hidden_activations(net, X: Any):
    X2, _ = prepare_inputs(net, X)
    cache = forward(net.plan, net.params, X2, bn_state=net.bn_state)
    return [(g, cache.a[g.layer]) for g in net.plan.groups if not g.is_output]


def saturation(net, X: Any) -> dict[int, float]:
    """Fraction of saturated outputs in each logistic or tanh hidden group, over ``X``.

    A logistic unit is saturated on an example when ``a(1 − a) < 0.01`` (its slope is under
    4% of the maximum), a tanh unit when ``|a| > 0.99``. Other groups are left out.
    """
    out = {}
    for g, a in _hidden_activations(net, X):
        sat = _saturated(g.activation.name, a)
        if sat is not None:
            out[g.layer] = float(sat.mean())
    return out


def dead_units(net, X: Any) -> dict[int, float]:
    """Fraction of dead units in each ReLU hidden group: ``a_j = 0`` on every example of X.

    A dead ReLU unit has ``g'(in_j) = 0`` everywhere, so it never learns again.
    """
    return {g.layer: float(np.all(a <= 0, axis=0).mean())
            for g, a in _hidden_activations(net, X) if g.activation.name == "relu"}


# ------------------------------------------------------------------ the experiment
@dataclass(frozen=True)
class VanishingGradientRow:
    """One network of the experiment: ``ratio = grad_norm_first / grad_norm_last``."""

    activation: str
    depth: int  # hidden layers
    init: str
    grad_norm_first: float
    grad_norm_last: float
    ratio: float


class VanishingGradientTable(Sequence):
    """The rows of :func:`vanishing_gradient_experiment`; ``str()`` gives a text table and
    Rich renders it as a table."""

    def __init__(self, rows: Iterable[VanishingGradientRow]) -> None:
        self.rows = list(rows)

    def __getitem__(self, i):
        return self.rows[i]

    def __len__(self) -> int:
        return len(self.rows)

    def ratios(self, activation: str) -> list[float]:
        """The ratios of ``activation``, in order of depth."""
        return [r.ratio for r in sorted(self.rows, key=lambda r: r.depth)
                if r.activation == activation]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(r.__dict__) for r in self.rows]

    _HEAD = ("activation", "hidden layers", "init", "‖∂J/∂W₁‖", "‖∂J/∂W_last‖", "ratio")

    def _cells(self) -> list[tuple[str, ...]]:
        return [(r.activation, str(r.depth), r.init, f"{r.grad_norm_first:.3e}",
                 f"{r.grad_norm_last:.3e}", f"{r.ratio:.3e}") for r in self.rows]

    def __str__(self) -> str:
        cells = [self._HEAD, *self._cells()]
        widths = [max(len(row[k]) for row in cells) for k in range(len(self._HEAD))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __rich__(self):
        from rich.table import Table

        table = Table(title="Vanishing gradient: ‖∂J/∂W first group‖ / ‖∂J/∂W last group‖")
        for k, name in enumerate(self._HEAD):
            table.add_column(name, justify="left" if k in (0, 2) else "right")
        for row in self._cells():
            table.add_row(*row)
        return table


def _experiment_data(n: int, width: int, rng: np.random.Generator):
    X = rng.standard_normal((n, width))
    y = np.tanh(X @ rng.standard_normal(width) / np.sqrt(width))  # a smooth target
    return X, y


def vanishing_gradient_experiment(
    depths: Sequence[int] = (2, 4, 8, 12),
    width: int = 16,
    activations: Sequence[str] = ("logistic", "relu"),
    n: int = 256,
    random_state: Any = 0,
    *,
    init: str = "auto",
    trials: int = 3,
) -> VanishingGradientTable:
    """Seed 002's vanishing gradient, measured: deep logistic versus deep ReLU networks.

    For every depth (number of hidden layers of ``width`` units) and hidden activation,
    fresh fully connected networks ``width → width → … → 1`` (identity output, squared error,
    ``n`` standard-normal inputs, target ``tanh(x·v/√width)``) are built and backpropagated
    once at initialisation. The row reports ``‖∂J/∂W‖`` of the first group (inputs → first
    hidden layer) and of the last (last hidden layer → output), and their ratio: the
    geometric mean over ``trials`` networks (NaN when the last group's gradient is 0 in a
    trial: nothing flows back through a dead network). ``init="auto"`` uses each
    activation's usual initialisation: Glorot for logistic and tanh, He for ReLU; name one
    to use it for all.
    Data and weights come from ``random_state``, the same for every activation.

    >>> table = vanishing_gradient_experiment(depths=(2, 8), trials=1)
    >>> table.ratios("logistic")[1] < table.ratios("logistic")[0]
    True
    """
    depths = [int(check_number("depth", d, low=1, integer=True)) for d in depths]
    width = int(check_number("width", width, low=1, integer=True))
    n = int(check_number("n", n, low=1, integer=True))
    trials = int(check_number("trials", trials, low=1, integer=True))
    if isinstance(activations, str):
        activations = (activations,)
    if not depths or not activations:
        fail("depths and activations must not be empty", (depths, activations),
             "e.g. depths=(2, 4, 8), activations=('logistic', 'relu')")
    if init != "auto":
        check_choice("init", init, ("glorot", "he", "rand"))
    from .network import Network

    seeds = np.random.SeedSequence(np.random.default_rng(random_state).integers(2**63))
    X, y = _experiment_data(n, width, np.random.default_rng(seeds.spawn(1)[0]))
    rows = []
    for act in activations:
        chosen = init if init != "auto" else ("he" if act == "relu" else "glorot")
        for depth in depths:
            first, last = [], []
            for t in range(trials):
                net = Network.layered([width] * (depth + 1) + [1], hidden=act,
                                      output="identity", init=chosen,
                                      random_state=[depth, t, int(seeds.entropy % 2**32)])
                norms = gradient_norms(net, X, y, "squared_error")
                first.append(norms[1])
                last.append(norms[len(norms)])
            g_first, g_last = _geometric_mean(first), _geometric_mean(last)
            ratio = g_first / g_last if g_last > 0 else float("nan")  # a dead network
            rows.append(VanishingGradientRow(act, depth, chosen, g_first, g_last, ratio))
    return VanishingGradientTable(rows)


def _geometric_mean(values: list[float]) -> float:
    """``(Π v)^(1/k)``; 0 when any value is 0 (a network whose gradient died)."""
    if min(values) <= 0:
        return 0.0
    return float(np.exp(np.mean(np.log(values))))


def print_vanishing_gradient_experiment(**kwargs: Any) -> VanishingGradientTable:
    """Run :func:`vanishing_gradient_experiment` (same arguments), print its table to
    standard output (a Rich table) and return it."""
    from rich.console import Console

    table = vanishing_gradient_experiment(**kwargs)
    Console().print(table)
    return table


if __name__ == "__main__":
    print_vanishing_gradient_experiment()
