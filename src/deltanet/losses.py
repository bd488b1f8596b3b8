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

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import activations
from ._validation import check_choice, fail
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
    #: the same f and ∂f/∂a on one number (plain Python, for the compiled kernels)
    scalar_f: Callable[[float, float], float] | None = None
    scalar_df_da: Callable[[float, float], float] | None = None
    #: the fused form on one number: (y, in, a) -> (f, Δ)
    scalar_fused: Callable[[float, float, float], tuple[float, float]] | None = None

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

    @property
    def builtin(self) -> bool:
        """True for the losses deltanet defines (the compiled kernels know these)."""
        return _BUILTIN.get(self.name) is self

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


def _perceptron_s(y, z, a):
    slope = 1.0 - 2.0 * y
    wrong = (z >= 0.0) != (y > 0.5)
    return max(0.0, slope * z), (slope if wrong else 0.0)


class _PerceptronLoss(Loss):
    """ℓπ works on the net input ``in_j`` of a threshold unit, not on ``a_j``."""

    def value(self, y, a, in_, act):
        return np.sum(np.maximum(0.0, (1.0 - 2.0 * y) * in_), axis=-1)

    def delta(self, y, a, in_, act):
        return _perceptron_delta(y, in_)


# ---------------------------------------------------------------- scalar primitives
def clip_probability(x: float) -> float:
    """``x`` clipped into ``clip_bounds`` (scalar; the kernels use the bounds of the dtype)."""
    return min(max(x, 1e-300), 1.0 - 1e-16)


def floor_probability(x: float) -> float:
    """``max(x, low)`` (scalar; the kernels use the ``low`` of the dtype)."""
    return max(x, 1e-300)


def _low(a: Array) -> float:
    return clip_bounds(a.dtype)[0]


# ---------------------------------------------------------------- the definitions
def _log_loss_f(y: Array, a: Array) -> Array:
    a = np.clip(a, *clip_bounds(a.dtype))
    return -(y * np.log(a) + (1.0 - y) * np.log1p(-a))


def _log_loss_fs(y, a):
    a = clip_probability(a)
    return -(y * math.log(a) + (1.0 - y) * math.log1p(-a))


def _log_loss_da(y: Array, a: Array) -> Array:
    # seed 004: ∂e/∂h = −y/h + (1 − y)/(1 − h)
    a = np.clip(a, *clip_bounds(a.dtype))
    return -y / a + (1.0 - y) / (1.0 - a)


def _log_loss_das(y, a):
    a = clip_probability(a)
    return -y / a + (1.0 - y) / (1.0 - a)


def _log_loss_from_logits(y: Array, in_: Array) -> Array:
    # −[y log σ(in) + (1−y) log(1−σ(in))] = log(1 + e^{in}) − y·in
    return np.logaddexp(0.0, in_) - y * in_


def _log_loss_fused_s(y, z, a):
    return _SOFTPLUS(z) - y * z, a - y


def _cross_entropy_from_logits(y: Array, in_: Array) -> Array:
    # −Σ_k y_k log p_k with log p_k = in_k − log Σ_j e^{in_j}; returned per neuron, summed later
    m = np.max(in_, axis=-1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(in_ - m), axis=-1, keepdims=True))
    return -y * (in_ - lse)


_SOFTPLUS = activations.get("softplus").scalar_value
LOSSES: dict[str, Loss] = {}
_BUILTIN: dict[str, Loss] = {}


def _builtin(loss: Loss, *aliases: str) -> None:
    for key in (loss.name, *aliases):
        LOSSES[key] = loss
    _BUILTIN[loss.name] = loss


_builtin(Loss("squared_error", lambda y, a: (y - a) ** 2, lambda y, a: -2.0 * (y - a),
              r"\ell = \sum_k (y_k - a_k)^2", r"\Delta_j = -2 (y_j - a_j)\, g'(in_j)",
              scalar_f=lambda y, a: (y - a) * (y - a),
              scalar_df_da=lambda y, a: -2.0 * (y - a)),
         "l2", "squared")
_builtin(Loss("half_squared_error", lambda y, a: 0.5 * (y - a) ** 2, lambda y, a: a - y,
              r"\ell = \tfrac{1}{2}\sum_k (y_k - a_k)^2", r"\Delta_j = (a_j - y_j)\, g'(in_j)",
              scalar_f=lambda y, a: 0.5 * ((y - a) * (y - a)), scalar_df_da=lambda y, a: a - y),
         "half_squared")
_builtin(Loss("log_loss", _log_loss_f, _log_loss_da,
              r"\ell = -\sum_k [y_k \log a_k + (1-y_k)\log(1-a_k)]",
              r"\Delta_j = a_j - y_j",
              fused_with="logistic", fused_value=_log_loss_from_logits,
              fused_delta=lambda y, a: a - y, scalar_f=_log_loss_fs,
              scalar_df_da=_log_loss_das, scalar_fused=_log_loss_fused_s),
         "binary_cross_entropy", "log")
# The fused softmax form couples the neurons of the group (Σ_j e^{in_j}, Σ_k y_k): the
# compiled kernels compute it over the group, as ``_cross_entropy_from_logits`` does.
_builtin(Loss("cross_entropy", lambda y, a: -y * np.log(np.maximum(a, _low(a))),
              lambda y, a: -y / np.maximum(a, _low(a)),
              r"\ell = -\sum_k y_k \log p_k", r"\Delta_j = p_j - y_j",
              fused_with="softmax", fused_value=_cross_entropy_from_logits,
              # Δ_j = p_j Σ_k y_k − y_j, which is p_j − y_j for a one-hot (or any
              # probability vector) y
              fused_delta=lambda y, a: a * np.sum(y, axis=-1, keepdims=True) - y,
              scalar_f=lambda y, a: -y * math.log(floor_probability(a)),
              scalar_df_da=lambda y, a: -y / floor_probability(a)),
         "categorical_cross_entropy")
_builtin(_PerceptronLoss("perceptron", lambda y, a: np.zeros_like(a), lambda y, a: 0 * a,
                         r"\ell_\pi = \max\{0, (1-2y)\, in\}",
                         r"\Delta_j = (1-2y_j) \text{ if misclassified else } 0",
                         scalar_fused=_perceptron_s))

#: canonical names of the built-in losses, without aliases
NAMES: tuple[str, ...] = tuple(_BUILTIN)


def custom(name: str, f: Callable[[Array, Array], Array], df_da: Callable[[Array, Array], Array],
           *, formula: str = "") -> Loss:
    """Your own loss ``ℓ = Σ_k f(y_k, a_k)`` from ``f(y, a)`` and ``∂f/∂a(y, a)`` on arrays.

    ``formula`` (LaTeX, e.g. ``r"\\ell = \\sum_k |y_k - a_k|^3"``) is what ``explain``
    prints. Pass the result wherever a loss name goes, or :func:`register` it.
    ``deltanet.gradcheck`` verifies ``∂f/∂a`` against finite differences of ``f``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        fail("a loss's name must be a word", name, "e.g. custom('cubic', f, df_da)")
    if name in _BUILTIN:
        fail(f"{name!r} is a built-in loss", name, "give your loss another name")
    for what, fn in (("f", f), ("df_da", df_da)):
        if not callable(fn):
            fail(f"{what} must be a function of (y, a)", fn,
                 "e.g. lambda y, a: abs(y - a) ** 3", TypeError)
    if not isinstance(formula, str):
        fail("formula must be a LaTeX string", formula, r"e.g. formula=r'\ell = ...'",
             TypeError)
    return Loss(name, _ArrayOf(f), _ArrayOf(df_da), formula or rf"\ell = {name}(y, a)",
                r"\Delta_j = \frac{\partial \ell}{\partial a_j}\, g'(in_j)",
                scalar_f=f, scalar_df_da=df_da)


class _ArrayOf:
    """A user's ``f(y, a)`` that always answers an array of ``a``'s dtype (picklable when
    ``f`` is)."""

    def __init__(self, f: Callable[[Array, Array], Array]) -> None:
        self.f = f

    def __call__(self, y: Array, a: Array) -> Array:
        return np.asarray(self.f(y, a), dtype=a.dtype)


def register(loss: Loss) -> Loss:
    """Make ``loss`` available by its name (a built-in name cannot be taken)."""
    if not isinstance(loss, Loss):
        fail("register takes a Loss", loss, "build one with losses.custom(...)", TypeError)
    if loss.name in _BUILTIN or (loss.name in LOSSES and LOSSES[loss.name] is not loss):
        fail(f"the name {loss.name!r} is taken", loss.name, "give your loss another name")
    LOSSES[loss.name] = loss
    return loss


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
