"""What one FORWARDPROPAGATE / BACKPROPAGATE computed, read by lecture numbers.

``Cache`` holds the pass per layer (layer 0 = the inputs); ``Trace`` adds the deltas, the
gradient and the cost, and reads them by neuron: ``trace.in_[j]``, ``trace.a[j]``,
``trace.delta[j]``, ``trace.grad[i, j]`` (scalars for one example, arrays over a batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._plan import Plan
from ._validation import fail


@dataclass
class Cache:
    """Everything one forward pass computed, per layer (layer 0 = the inputs)."""

    plan: Plan
    in_: list  # net inputs in_g (None for layer 0)
    a: list  # activations a_g = g(in_g) (layer 0: x)
    out: list  # what layer g feeds downstream (after batch norm and dropout)
    bn: dict = field(default_factory=dict)  # layer -> (x_hat, inv_std, mu, var)
    drop: dict = field(default_factory=dict)  # layer -> scaled keep mask
    training: bool = False  # batch statistics (True) or running statistics

    @property
    def outputs(self) -> np.ndarray:
        """Network outputs ``(n, K)`` in the order of ``plan.outputs``."""
        n = self.a[0].shape[0]
        groups = [g for g in self.plan.groups if g.is_output]
        out = np.empty((n, len(self.plan.outputs)), dtype=self.a[0].dtype)
        for g, cols in zip(groups, self.plan.out_cols, strict=True):
            out[:, cols] = self.a[g.layer]
        return out


class _NeuronValues:
    """``trace.in_[j]`` / ``trace.a[j]`` / ``trace.delta[j]`` by lecture number."""

    def __init__(self, trace: Trace, kind: str) -> None:
        self._t, self._kind = trace, kind

    def __getitem__(self, j: int):
        t, plan = self._t, self._t.plan
        j = int(j)
        if not 0 <= j < plan.n_neurons:
            fail("no such neuron", j, f"neurons are numbered 0..{plan.n_neurons - 1}")
        layer = int(plan.layer_of[j])
        if layer < 1 and self._kind != "a":
            fail(f"neuron {j} is an input; {self._kind} is defined for processing neurons",
                 j, f"use neurons {plan.n_inputs + 1}..{plan.n_neurons - 1}")
        if j == 0:
            col = np.ones(t.n)
        else:
            source = {"in_": t.cache.in_, "a": t.cache.a, "delta": t.deltas,
                      "out": t.cache.out}[self._kind]
            col = source[layer][:, plan.pos_of[j]]
        return float(col[0]) if t.single else col.copy()


class _ArcValues:
    def __init__(self, trace: Trace) -> None:
        self._t = trace

    def __getitem__(self, key):
        i, j = key
        idx = self._t.plan.flat_index(int(i), int(j))
        if idx is None:
            fail(f"({i}, {j}) is not an arc of this network", key, "list arcs with net.arcs",
                 KeyError)
        return float(self._t.grad_flat[idx])


@dataclass
class Trace:
    """One BACKPROPAGATE: ``in_[j]``, ``a[j]``, ``delta[j]``, ``grad[i, j]`` and the cost.

    Values are scalars for one example and arrays over the batch otherwise; ``grad`` is
    ``∂J/∂w_ij``, the mean over the batch of ``Δ_j a_i`` (plus weight decay when set).
    """

    plan: Plan
    cache: Cache
    deltas: list
    grad_flat: np.ndarray
    losses: np.ndarray  # ℓ_e per example
    loss: float  # J: mean loss (+ regularisation)
    single: bool

    @property
    def n(self) -> int:
        return self.cache.a[0].shape[0]

    @property
    def in_(self) -> _NeuronValues:
        return _NeuronValues(self, "in_")

    @property
    def a(self) -> _NeuronValues:
        return _NeuronValues(self, "a")

    @property
    def out(self) -> _NeuronValues:
        return _NeuronValues(self, "out")

    @property
    def delta(self) -> _NeuronValues:
        return _NeuronValues(self, "delta")

    @property
    def grad(self) -> _ArcValues:
        return _ArcValues(self)

    @property
    def outputs(self) -> np.ndarray:
        out = self.cache.outputs
        return out[0] if self.single else out
