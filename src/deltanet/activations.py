"""Activation functions ``g`` and their derivatives ``g'``, defined once and looked up by name.

Seed 002 (Lecture 07-1b) lists the threshold, logistic, ReLU and softplus functions;
seed 001 adds linear and softmax neurons; leaky ReLU, ELU and GELU are the usual modern
additions. Each activation knows its value ``g(in_j)`` and how to carry ``∂J/∂a_j`` back to
``Δ_j = ∂J/∂in_j`` (``backward``). For an elementwise ``g`` this is
``Δ_j = g'(in_j) ∂J/∂a_j``; softmax couples the neurons of its group, so it multiplies by its
Jacobian instead.

Every elementwise activation is written twice, side by side, in the same formula: on arrays
(``value``, ``derivative``: the NumPy engine and the reference passes) and on one number
(``scalar_value``, ``scalar_derivative``: plain Python with ``math``, which the compiled
kernels hand to ``numba.njit``, so they hold no activation code of their own). The scalar
forms call :func:`exp_nonpositive` where the argument is ``<= 0``; the kernels give Numba a
form of it that vectorises.

Your own activation: ``custom(name, g, dg, formula=...)`` with ``g(x)`` and ``g'(x)`` on
arrays (``np.tanh``, ``np.logaddexp``, ...), then pass the object wherever a name goes, or
``register`` it to use it by name::

    mish = custom("mish", lambda x: x * np.tanh(np.logaddexp(0, x)), dmish,
                  formula=r"g(in) = in \\tanh(\\log(1+e^{in}))")
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validation import check_choice, fail

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """A named activation: ``value(in_) -> a`` and ``derivative(in_, a) -> g'(in_)``.

    ``elementwise`` is False only for softmax, whose ``backward`` uses the Jacobian.
    ``scalar_value(z)`` and ``scalar_derivative(z, a)`` are the same ``g`` and ``g'`` on one
    number (None where the definition gives only the array form).
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    elementwise: bool = True
    formula: str = ""
    scalar_value: Callable[[float], float] | None = None
    scalar_derivative: Callable[[float, float], float] | None = None

    def backward(self, in_: Array, a: Array, grad_a: Array) -> Array:
        """Return ``Δ = ∂J/∂in`` given ``∂J/∂a`` (the chain rule through ``g``)."""
        if self.elementwise:
            return self.derivative(in_, a) * grad_a
        # softmax: ∂a_k/∂in_j = a_k (δ_kj − a_j)  =>  Δ_j = a_j (grad_j − Σ_k a_k grad_k)
        return a * (grad_a - np.sum(a * grad_a, axis=-1, keepdims=True))

    @property
    def builtin(self) -> bool:
        """True for the activations deltanet defines (the compiled kernels know these)."""
        return _BUILTIN.get(self.name) is self

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __reduce__(self):
        # A built-in or registered activation pickles as its name (its functions are
        # lambdas); another pickles field by field, which needs functions pickle can find.
        if ACTIVATIONS.get(self.name) is self:
            return get, (self.name,)
        return super().__reduce__()


class _OfInput:
    """``derivative(in_, a)`` from a user's ``g'(in_)`` (picklable when ``dg`` is)."""

    def __init__(self, dg: Callable[[Array], Array]) -> None:
        self.dg = dg

    def __call__(self, in_: Array, a: Array) -> Array:
        return np.asarray(self.dg(in_), dtype=in_.dtype)


class _ArrayOf:
    """``value(in_)`` from a user's ``g``, always an array of ``in_``'s dtype."""

    def __init__(self, g: Callable[[Array], Array]) -> None:
        self.g = g

    def __call__(self, in_: Array) -> Array:
        return np.asarray(self.g(in_), dtype=in_.dtype)


# ---------------------------------------------------------------- scalar primitives
def exp_nonpositive(x: float) -> float:
    """``e^x`` for ``x <= 0``. The compiled kernels replace it by a vectorisable form."""
    return math.exp(x)


# ---------------------------------------------------------------- the definitions
# Each pair: the array form and the scalar form of one formula.

def _threshold(in_: Array) -> Array:
    # g(in) = 1 if in >= 0 else 0 (seed 002); the perceptron's unit.
    return (in_ >= 0).astype(in_.dtype)


def _threshold_s(z):
    return 1.0 if z >= 0.0 else 0.0


def _logistic(in_: Array) -> Array:
    # σ(in) = 1/(1 + e^{−in}) for in >= 0 and e^{in}/(1 + e^{in}) otherwise (no overflow);
    # both share t = e^{−|in|}.
    t = np.exp(-np.abs(in_))
    return np.where(in_ >= 0, 1.0, t).astype(in_.dtype, copy=False) / (1.0 + t)


def _logistic_s(z):
    t = exp_nonpositive(-abs(z))
    return (1.0 if z >= 0.0 else t) / (1.0 + t)


def _tanh_s(z):
    return math.tanh(z)


def _exp_s(z):
    return math.exp(z)


def _relu_s(z):
    return 0.0 if z <= 0.0 else z  # NaN passes through, as np.maximum


def _softplus(in_: Array) -> Array:
    # log(1 + e^{in}) = logaddexp(0, in), stable for large |in|.
    return np.logaddexp(0.0, in_)


def _softplus_s(z):
    # logaddexp(0, in) in NumPy's branch order
    if z == 0.0:
        return math.log(2.0)
    if z < 0.0:
        return math.log1p(math.exp(z))
    return z + math.log1p(math.exp(-z))


LEAK = 0.01  # leaky ReLU's slope for in < 0 (PyTorch's and Keras's default)


def _leaky_relu(in_: Array) -> Array:
    return np.where(in_ > 0, in_, LEAK * in_).astype(in_.dtype, copy=False)


def _leaky_relu_s(z):
    return z if z > 0.0 else LEAK * z


def _elu(in_: Array) -> Array:
    # in for in > 0, e^{in} − 1 otherwise (α = 1); expm1 only sees in <= 0
    return np.where(in_ > 0, in_, np.expm1(np.minimum(in_, 0.0))).astype(in_.dtype,
                                                                           copy=False)


def _elu_s(z):
    return z if z > 0.0 else math.expm1(z)


def _gelu(in_: Array) -> Array:
    # in Φ(in), Φ the standard normal CDF: ½ in (1 + erf(in/√2)) (the exact form)
    from scipy.special import erf

    return 0.5 * in_ * (1.0 + erf(in_ / math.sqrt(2.0)))


def _gelu_d(in_: Array, a: Array) -> Array:
    # Φ(in) + in φ(in), φ(in) = e^{−in²/2}/√(2π)
    from scipy.special import erf

    return (0.5 * (1.0 + erf(in_ / math.sqrt(2.0)))
            + in_ * np.exp(-0.5 * in_ * in_) / math.sqrt(2.0 * math.pi))


def _gelu_s(z):
    return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))


_SQRT_2PI = math.sqrt(2.0 * math.pi)  # a global, so that the kernels type it like z


def _gelu_ds(z, a):
    return (0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
            + z * math.exp(-0.5 * z * z) / _SQRT_2PI)


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
_BUILTIN: dict[str, Activation] = {}


def _builtin(act: Activation, *aliases: str) -> None:
    for key in (act.name, *aliases):
        ACTIVATIONS[key] = act
    _BUILTIN[act.name] = act


_builtin(Activation(
    "threshold", _threshold, lambda in_, a: np.zeros_like(in_),
    formula=r"g(in) = 1 \text{ if } in \ge 0 \text{ else } 0",
    scalar_value=_threshold_s, scalar_derivative=lambda z, a: 0.0), "step")
_builtin(Activation(
    "identity", lambda in_: in_.copy(), lambda in_, a: np.ones_like(in_),
    formula="g(in) = in",
    scalar_value=lambda z: z, scalar_derivative=lambda z, a: 1.0), "linear")
_builtin(Activation(
    "logistic", _logistic, lambda in_, a: a * (1.0 - a),
    formula=r"g(in) = 1/(1+e^{-in})",
    scalar_value=_logistic_s, scalar_derivative=lambda z, a: a * (1.0 - a)), "sigmoid")
_builtin(Activation(
    "tanh", np.tanh, lambda in_, a: 1.0 - a * a, formula=r"g(in) = \tanh(in)",
    scalar_value=_tanh_s, scalar_derivative=lambda z, a: 1.0 - a * a))
_builtin(Activation(
    "relu", lambda in_: np.maximum(in_, 0.0), lambda in_, a: (in_ > 0).astype(in_.dtype),
    formula=r"g(in) = \max(0, in)",
    scalar_value=_relu_s, scalar_derivative=lambda z, a: 1.0 if z > 0.0 else 0.0))
_builtin(Activation(
    "softplus", _softplus, lambda in_, a: _logistic(in_),
    formula=r"g(in) = \log(1+e^{in})",
    scalar_value=_softplus_s, scalar_derivative=lambda z, a: _logistic_s(z)))
_builtin(Activation(
    "exp", np.exp, lambda in_, a: a.copy(), formula=r"g(in) = e^{in}",
    scalar_value=_exp_s, scalar_derivative=lambda z, a: a))
_builtin(Activation(
    "softmax", _softmax, lambda in_, a: a * (1.0 - a), elementwise=False,
    formula=r"g(in_j) = e^{in_j}/\sum_k e^{in_k}"))
_builtin(Activation(
    "leaky_relu", _leaky_relu,
    lambda in_, a: np.where(in_ > 0, 1.0, LEAK).astype(in_.dtype),
    formula=r"g(in) = in \text{ if } in > 0 \text{ else } 0.01\, in",
    scalar_value=_leaky_relu_s, scalar_derivative=lambda z, a: 1.0 if z > 0.0 else LEAK),
    "leakyrelu")
_builtin(Activation(
    "elu", _elu, lambda in_, a: np.where(in_ > 0, 1.0, a + 1.0).astype(in_.dtype),
    formula=r"g(in) = in \text{ if } in > 0 \text{ else } e^{in} - 1",
    scalar_value=_elu_s, scalar_derivative=lambda z, a: 1.0 if z > 0.0 else a + 1.0))
_builtin(Activation(
    "gelu", _gelu, _gelu_d,
    formula=r"g(in) = in\, \Phi(in) = \tfrac{1}{2} in \left(1 + \operatorname{erf}"
            r"(in/\sqrt{2})\right)",
    scalar_value=_gelu_s, scalar_derivative=_gelu_ds))

#: canonical names of the built-in activations, without aliases
NAMES: tuple[str, ...] = tuple(_BUILTIN)


def custom(name: str, g: Callable[[Array], Array], dg: Callable[[Array], Array], *,
           formula: str = "") -> Activation:
    """Your own elementwise activation from ``g(in)`` and ``g'(in)`` on arrays.

    ``formula`` (LaTeX, e.g. ``r"g(in) = in \\tanh(\\log(1+e^{in}))"``) is what ``explain``
    prints. Pass the result wherever an activation name goes, or :func:`register` it.
    ``deltanet.gradcheck`` verifies ``g'`` against finite differences of ``g``. Functions
    written with ``math`` or NumPy ufuncs on scalars are also the scalar forms; whether the
    compiled engine can use them is decided there (else training runs on NumPy, saying why).
    """
    if not isinstance(name, str) or not name.isidentifier():
        fail("an activation's name must be a word", name, "e.g. custom('mish', g, dg)")
    if name in _BUILTIN:
        fail(f"{name!r} is a built-in activation", name, "give your activation another name")
    for what, fn in (("g", g), ("dg", dg)):
        if not callable(fn):
            fail(f"{what} must be a function of the net input", fn,
                 "e.g. lambda x: x * np.tanh(x)", TypeError)
    if not isinstance(formula, str):
        fail("formula must be a LaTeX string", formula, r"e.g. formula=r'g(in) = \tanh(in)'",
             TypeError)
    return Activation(name, _ArrayOf(g), _OfInput(dg), formula=formula or f"g(in) = {name}(in)",
                      scalar_value=g, scalar_derivative=None)


def register(act: Activation) -> Activation:
    """Make ``act`` available by its name (a built-in name cannot be taken)."""
    if not isinstance(act, Activation):
        fail("register takes an Activation", act, "build one with activations.custom(...)",
             TypeError)
    if act.name in _BUILTIN or (act.name in ACTIVATIONS and ACTIVATIONS[act.name] is not act):
        fail(f"the name {act.name!r} is taken", act.name, "give your activation another name")
    ACTIVATIONS[act.name] = act
    return act


def get(name: str | Activation) -> Activation:
    """Look up an activation by name (aliases: linear, sigmoid, step, leakyrelu), or
    return an :class:`Activation` given as such."""
    if isinstance(name, Activation):
        return name
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
