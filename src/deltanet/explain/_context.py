"""The quantities of one step as expression nodes, read from the real trace.

``StepContext.w(i, j)``, ``.a(i)``, ``.in_(j)``, ``.delta(j)``, ``.gp(j)``, ``.y(j)`` …
return quantities (symbol, exact value from ``net`` or ``trace``, reference). The
references are what a test looks up in its own ``net.backprop`` to check the numbers:

``("a", i)`` ``("in", j)`` ``("gp", j)`` (``g'(in_j)``) ``("dl", j)`` (``∂ℓ/∂a_j``)
``("delta", j)`` ``("y", j)`` ``("w", i, j)`` ``("grad", i, j)`` ``("lr",)`` ``("l2",)``
``("loss",)`` ``("J",)`` ``("sumsq",)``, and after the update ``("w_new", i, j)``
``("in_new", j)`` ``("a_new", j)`` ``("loss_new",)`` ``("J_new",)`` ``("sumsq_new",)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import Activation
from ..losses import Loss
from ._expr import Call, Deriv, Q, Sym


@dataclass
class StepContext:
    """One network state with its trace on one example ``(x, y)``."""

    net: object  # deltanet.Network (weights of this state)
    trace: object  # deltanet.Trace of net.backprop(x, y)
    loss: Loss
    targets: np.ndarray  # y, one value per output neuron (net.outputs order)
    lr: float
    l2: float
    decay_bias: bool = False  # the bias arcs (0, j) are decayed too (seed 002, 07-4d)
    new: bool = False  # the state after the update (symbols get a "new" superscript)

    @property
    def _sup(self) -> str | None:
        return "new" if self.new else None

    @property
    def _suffix(self) -> str:
        return "_new" if self.new else ""

    def processing(self) -> list[int]:
        return list(range(self.net.n_inputs + 1, self.net.n_neurons))

    def activation(self, j: int) -> Activation:
        plan = self.net.plan
        return plan.groups[int(plan.layer_of[j]) - 1].activation

    def group_of(self, j: int) -> list[int]:
        plan = self.net.plan
        return plan.groups[int(plan.layer_of[j]) - 1].neurons.tolist()

    # ------------------------------------------------------------------ quantities
    def w(self, i: int, j: int) -> Q:
        return Q(Sym("w", (i, j), self._sup), self.net.weights[i, j], (f"w{self._suffix}", i, j))

    def a(self, i: int) -> Q:
        if i <= self.net.n_inputs:  # bias unit and inputs do not change with the weights
            return Q(Sym("a", i), self.trace.a[i], ("a", i))
        return Q(Sym("a", i, self._sup), self.trace.a[i], (f"a{self._suffix}", i))

    def in_(self, j: int) -> Q:
        return Q(self.in_sym(j), self.trace.in_[j], (f"in{self._suffix}", j))

    def in_sym(self, j: int) -> Sym:
        return Sym("in", j, self._sup)

    def delta(self, j: int) -> Q:
        return Q(Sym("Delta", j), self.trace.delta[j], ("delta", j))

    def gp_value(self, j: int) -> float:
        in_, a = np.array([self.trace.in_[j]]), np.array([self.trace.a[j]])
        return float(self.activation(j).derivative(in_, a)[0])

    def gp(self, j: int) -> Q:
        return Q(Call("g'", (Sym("in", j),)), self.gp_value(j), ("gp", j))

    def y_value(self, j: int) -> float:
        return float(self.targets[self.net.outputs.index(j)])

    def y(self, j: int) -> Q:
        sym = Sym("y") if self.net.n_outputs == 1 else Sym("y", j)
        return Q(sym, self.y_value(j), ("y", j))

    def dl_value(self, j: int) -> float:
        y, a = np.array([self.y_value(j)]), np.array([self.trace.a[j]])
        return float(self.loss.df_da(y, a)[0])

    def dl(self, j: int) -> Q:
        return Q(Deriv(Sym("ell"), Sym("a", j)), self.dl_value(j), ("dl", j))

    def alpha(self) -> Q:
        return Q(Sym("alpha"), self.lr, ("lr",))

    def lam(self) -> Q:
        return Q(Sym("lambda"), self.l2, ("l2",))

    def loss_value(self) -> float:
        return float(self.trace.losses[0])

    def decayed(self, i: int, j: int) -> bool:
        """Whether weight decay applies to arc ``(i, j)``: bias arcs only with
        ``decay_bias``."""
        return bool(self.l2) and (i != 0 or self.decay_bias)

    def sum_of_squares(self) -> float:
        """``Σ w_ij²`` over the decayed arcs (all of them with ``decay_bias``, else every
        arc but the bias arcs)."""
        return float(sum(w * w for (i, _), w in self.net.weights.items()
                         if i != 0 or self.decay_bias))
