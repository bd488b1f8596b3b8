"""Activation functions ``g`` and their derivatives ``g'``, looked up by name.

Seed 002 (Lecture 07-1b) lists the threshold, logistic, ReLU and softplus functions;
seed 001 adds linear and softmax neurons. Each activation knows its value ``g(in_j)``
and how to carry ``∂J/∂a_j`` back to ``Δ_j = ∂J/∂in_j`` (``backward``). For an
elementwise ``g`` this is ``Δ_j = g'(in_j) ∂J/∂a_j``; softmax couples the neurons of
its group, so it multiplies by its Jacobian instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import check_choice

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """A named activation: ``value(in_) -> a`` and ``derivative(in_, a) -> g'(in_)``.

    ``elementwise`` is False only for softmax, whose ``backward`` uses the Jacobian.
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    elementwise: bool = True
    formula: str = ""

    def backward(self, in_: Array, a: Array, grad_a: Array) -> Array:
        """Return ``Δ = ∂J/∂in`` given ``∂J/∂a`` (the chain rule through ``g``)."""
        if self.elementwise:
            return self.derivative(in_, a) * grad_a
        # softmax: ∂a_k/∂in_j = a_k (δ_kj − a_j)  =>  Δ_j = a_j (grad_j − Σ_k a_k grad_k)
        return a * (grad_a - np.sum(a * grad_a, axis=-1, keepdims=True))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __reduce__(self):
        # A built-in activation pickles as its name (its functions are lambdas); another
        # pickles field by field, which needs functions pickle can find by name.
        if ACTIVATIONS.get(self.name) is self:
            return get, (self.name,)
        return super().__reduce__()


def _threshold(in_: Array) -> Array:
    # g(in) = 1 if in >= 0 else 0 (seed 002); the perceptron's unit.
    return (in_ >= 0).astype(in_.dtype)


def _logistic(in_: Array) -> Array:
    # σ(in) = 1 / (1 + e^{−in}), computed without overflow for large |in|:
    # for in < 0 use e^{in} / (1 + e^{in}).
    out = np.empty_like(in_)
    pos = in_ >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-in_[pos]))
    e = np.exp(in_[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _softplus(in_: Array) -> Array:
    # log(1 + e^{in}) = logaddexp(0, in), stable for large |in|.
    return np.logaddexp(0.0, in_)


def _softmax(in_: Array) -> Array:
    # h_j = e^{in_j} / Σ_k e^{in_k} (seed 001); subtract the max so e^{·} cannot overflow.
    top = np.max(in_, axis=-1, keepdims=True)
    if np.isinf(top).any():  # overflowed net inputs: the largest ones share all the mass
        with np.errstate(invalid="ignore"):
            z = np.where(np.isinf(top), np.where(in_ == top, 0.0, -np.inf), in_ - top)
    else:
        z = in_ - top
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


ACTIVATIONS: dict[str, Activation] = {}


def _register(act: Activation, *aliases: str) -> None:
    for key in (act.name, *aliases):
        ACTIVATIONS[key] = act


_register(Activation("threshold", _threshold, lambda in_, a: np.zeros_like(in_),
                     formula=r"g(in) = 1 \text{ if } in \ge 0 \text{ else } 0"), "step")
_register(Activation("identity", lambda in_: in_.copy(), lambda in_, a: np.ones_like(in_),
                     formula="g(in) = in"), "linear")
_register(Activation("logistic", _logistic, lambda in_, a: a * (1.0 - a),
                     formula=r"g(in) = 1/(1+e^{-in})"), "sigmoid")
_register(Activation("tanh", np.tanh, lambda in_, a: 1.0 - a * a, formula=r"g(in) = \tanh(in)"))
_register(Activation("relu", lambda in_: np.maximum(in_, 0.0),
                     lambda in_, a: (in_ > 0).astype(in_.dtype), formula=r"g(in) = \max(0, in)"))
_register(Activation("softplus", _softplus, lambda in_, a: _logistic(in_),
                     formula=r"g(in) = \log(1+e^{in})"))
_register(Activation("exp", np.exp, lambda in_, a: a.copy(), formula=r"g(in) = e^{in}"))
_register(Activation("softmax", _softmax, lambda in_, a: a * (1.0 - a), elementwise=False,
                     formula=r"g(in_j) = e^{in_j}/\sum_k e^{in_k}"))

#: canonical names, without aliases
NAMES: tuple[str, ...] = tuple(dict.fromkeys(a.name for a in ACTIVATIONS.values()))


def get(name: str | Activation) -> Activation:
    """Look up an activation by name (aliases: linear, sigmoid, step)."""
    if isinstance(name, Activation):
        return name
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
