"""Loss functions ``ℓ(y, a)`` of the output neurons, and their deltas ``Δ_j = ∂ℓ/∂in_j``.

Every loss here is a sum over output neurons, ``ℓ = Σ_k f(y_k, a_k)``, and the cost is the
mean over examples, ``J = (1/|B|) Σ_e ℓ(y_e, h(x_e))`` (seed 002, Lecture 07-4b).

The base case of BACKPROPAGATE is ``Δ_j = g'(in_j) ∂ℓ/∂a_j`` (seed 002, Lecture 07-3a).
Two pairs are fused into their simple, stable closed forms:

* logistic output + log loss:        ``Δ_j = a_j − y_j``   (seed 004's base case)
* softmax output + cross-entropy:    ``Δ_j = p_j − y_j``   (seed 001)

and their values are computed from the net input ``in_j`` (logits), so a saturated unit
gives a large finite loss instead of ``log 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_choice
from .activations import Activation

Array = np.ndarray


def clip_bounds(dtype: Any) -> tuple[float, float]:
    """``(low, high)``: the unfused log losses clip a probability into ``[low, high]``, so
    that ``log a`` and ``log(1 − a)`` stay finite when it rounds to 0 or 1. ``high`` is the
    largest float below 1; ``low`` is 1e-300 in float64 and the smallest normal float32 in
    float32 (where 1e-300 would round to 0)."""
    return _CLIP_BOUNDS.get(np.dtype(dtype), _CLIP_BOUNDS[np.dtype(np.float64)])


_CLIP_BOUNDS = {  # computed once: np.finfo costs more than the clipping of a small batch
    np.dtype(np.float64): (1e-300, 1.0 - 1e-16),
    np.dtype(np.float32): (float(np.finfo(np.float32).tiny),
                           float(np.nextafter(np.float32(1), np.float32(0)))),
}


@dataclass(frozen=True)
class Loss:
    """A named loss ``ℓ = Σ_k f(y_k, a_k)`` with ``∂f/∂a`` and optional fused forms."""

    name: str
    f: Callable[[Array, Array], Array]
    df_da: Callable[[Array, Array], Array]
    formula: str
    delta_formula: str
    fused_with: str | None = None
    fused_value: Callable[[Array, Array], Array] | None = None  # (y, in_) -> f
    fused_delta: Callable[[Array, Array], Array] | None = None  # (y, a) -> Δ

    def value(self, y: Array, a: Array, in_: Array, act: Activation) -> Array:
        """Per-example loss ``ℓ_e`` (shape ``(n,)``) for one group of output neurons."""
        if self.fused_with == act.name and self.fused_value is not None:
            return np.sum(self.fused_value(y, in_), axis=-1)
        return np.sum(self.f(y, a), axis=-1)

    def delta(self, y: Array, a: Array, in_: Array, act: Activation) -> Array:
        """Output deltas ``Δ_j = ∂ℓ/∂in_j`` for one group of output neurons."""
        if self.fused_with == act.name and self.fused_delta is not None:
            return self.fused_delta(y, a)
        return act.backward(in_, a, self.df_da(y, a))

    def is_fused(self, act: Activation) -> bool:
        return self.fused_with == act.name

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"

    def __reduce__(self):
        # A built-in loss pickles as its name (its functions are lambdas).
        if LOSSES.get(self.name) is self:
            return get, (self.name,)
        return super().__reduce__()


def _perceptron_delta(y: Array, in_: Array) -> Array:
    # ℓπ = max{0, (1 − 2y) in}: slope (1 − 2y) on a misclassified example, 0 otherwise.
    # "Misclassified" follows the threshold unit (ŷ = 1 iff in >= 0), Rosenblatt's rule.
    wrong = (in_ >= 0) != (y > 0.5)
    return np.where(wrong, 1.0 - 2.0 * y, 0.0).astype(in_.dtype)


class _PerceptronLoss(Loss):
    """ℓπ works on the net input ``in_j`` of a threshold unit, not on ``a_j``."""

    def value(self, y, a, in_, act):
        return np.sum(np.maximum(0.0, (1.0 - 2.0 * y) * in_), axis=-1)

    def delta(self, y, a, in_, act):
        return _perceptron_delta(y, in_)


def _low(a: Array) -> float:
    return clip_bounds(a.dtype)[0]


def _log_loss_f(y: Array, a: Array) -> Array:
    a = np.clip(a, *clip_bounds(a.dtype))
    return -(y * np.log(a) + (1.0 - y) * np.log1p(-a))


def _log_loss_da(y: Array, a: Array) -> Array:
    # seed 004: ∂e/∂h = −y/h + (1 − y)/(1 − h)
    a = np.clip(a, *clip_bounds(a.dtype))
    return -y / a + (1.0 - y) / (1.0 - a)


def _log_loss_from_logits(y: Array, in_: Array) -> Array:
    # −[y log σ(in) + (1−y) log(1−σ(in))] = log(1 + e^{in}) − y·in
    return np.logaddexp(0.0, in_) - y * in_


def _cross_entropy_from_logits(y: Array, in_: Array) -> Array:
    # −Σ_k y_k log p_k with log p_k = in_k − log Σ_j e^{in_j}; returned per neuron, summed later
    m = np.max(in_, axis=-1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(in_ - m), axis=-1, keepdims=True))
    return -y * (in_ - lse)


LOSSES: dict[str, Loss] = {}


def _register(loss: Loss, *aliases: str) -> None:
    for key in (loss.name, *aliases):
        LOSSES[key] = loss


_register(Loss("squared_error", lambda y, a: (y - a) ** 2, lambda y, a: -2.0 * (y - a),
               r"\ell = \sum_k (y_k - a_k)^2", r"\Delta_j = -2 (y_j - a_j)\, g'(in_j)"),
          "l2", "squared")
_register(Loss("half_squared_error", lambda y, a: 0.5 * (y - a) ** 2, lambda y, a: a - y,
               r"\ell = \tfrac{1}{2}\sum_k (y_k - a_k)^2", r"\Delta_j = (a_j - y_j)\, g'(in_j)"),
          "half_squared")
_register(Loss("log_loss", _log_loss_f, _log_loss_da,
               r"\ell = -\sum_k [y_k \log a_k + (1-y_k)\log(1-a_k)]",
               r"\Delta_j = a_j - y_j",
               fused_with="logistic", fused_value=_log_loss_from_logits,
               fused_delta=lambda y, a: a - y), "binary_cross_entropy", "log")
_register(Loss("cross_entropy", lambda y, a: -y * np.log(np.maximum(a, _low(a))),
               lambda y, a: -y / np.maximum(a, _low(a)),
               r"\ell = -\sum_k y_k \log p_k", r"\Delta_j = p_j - y_j",
               fused_with="softmax", fused_value=_cross_entropy_from_logits,
               # Δ_j = p_j Σ_k y_k − y_j, which is p_j − y_j for a one-hot (or any
               # probability vector) y
               fused_delta=lambda y, a: a * np.sum(y, axis=-1, keepdims=True) - y),
          "categorical_cross_entropy")
_register(_PerceptronLoss("perceptron", lambda y, a: np.zeros_like(a), lambda y, a: 0 * a,
                          r"\ell_\pi = \max\{0, (1-2y)\, in\}",
                          r"\Delta_j = (1-2y_j) \text{ if misclassified else } 0"))

NAMES: tuple[str, ...] = tuple(dict.fromkeys(loss.name for loss in LOSSES.values()))


def get(name: str | Loss) -> Loss:
    """Look up a loss by name; an unknown name lists the valid ones."""
    if isinstance(name, Loss):
        return name
    return LOSSES[check_choice("loss", name, LOSSES)]


def zero_one_error(y: Array, a: Array) -> float:
    """The 0/1 error rate ``mean ℓ_{0/1}`` (seed 002): a metric, not differentiable.

    One output: the class is ``a >= 0.5``; several outputs: the argmax.
    """
    y = np.asarray(y)
    a = np.asarray(a)
    if a.ndim == 1 or a.shape[-1] == 1:
        return float(np.mean((a.reshape(-1) >= 0.5) != (y.reshape(-1) >= 0.5)))
    return float(np.mean(np.argmax(a, axis=-1) != np.argmax(y, axis=-1)))
