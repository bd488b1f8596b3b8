"""Optimizers as small pure transforms over one flat parameter vector (optax style).

A transform turns the gradient ``grad = ∂J/∂w`` into the update ``Δw`` that the caller adds::

    opt = sgd(learning_rate=0.1, momentum=0.9)
    state = opt.init(params)
    updates, state = opt.update(grad, state, params)
    params += updates                       # w ← w + Δw

Nothing here mutates ``grad``, ``params`` or the state passed in: every update returns new
arrays and a new state. States are NamedTuples of NumPy arrays and Python ints/floats, so
``state_to_dict``/``state_from_dict`` save and restore them bit for bit. An update that is
also part of the new state (the velocity of classical momentum) comes back as a read-only
view; ``params += updates`` works, ``updates *= 2`` raises.

``learning_rate`` is a positive float or a *schedule*: a callable ``step -> lr`` where
``step`` is the number of updates this transform has made so far (0 for the first update).
The learning rate used is ``schedule(step) * lr_scale``; ``lr_scale`` (1.0 at ``init``) lives
in the state so an epoch-level rule such as ``ReduceOnPlateau`` can change it with
``set_lr_scale``. The SGD and Adam rules match scikit-learn's ``SGDOptimizer`` and
``AdamOptimizer`` operation for operation, so they agree to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

# The plateau rule and the checkpoint helpers live in their own module; their names are
# part of this one (see ``__all__``).
from ._optimizer_state import (
    PlateauState,
    ReduceOnPlateau,
    set_lr_scale,
    state_from_dict,
    state_to_dict,
)
from ._validation import check_choice, check_number, fail
from .schedules import Schedule, _as_schedule, constant, cosine, inverse_scaling, step_decay

__all__ = [
    "AdamState", "CountState", "EmptyState", "GradientTransformation", "LearningRateState",
    "MomentumState", "PlateauState", "ReduceOnPlateau", "RpropState", "Schedule", "adam",
    "add_decayed_weights", "add_l1", "chain", "clip_by_global_norm", "constant", "cosine", "get",
    "inverse_scaling", "rprop", "scale", "scale_by_adam", "scale_by_learning_rate",
    "scale_by_momentum", "scale_by_rprop", "scale_by_schedule", "set_lr_scale", "sgd",
    "state_from_dict", "state_to_dict", "step_decay",
]

Array = np.ndarray


class GradientTransformation(NamedTuple):
    """A pair of pure functions: ``init(params) -> state`` and
    ``update(grad, state, params=None) -> (updates, new_state)``."""

    init: Callable[[Array], Any]
    update: Callable[..., tuple[Array, Any]]


class EmptyState(NamedTuple):
    """State of a transform that remembers nothing."""


class CountState(NamedTuple):
    """``count``: updates made so far (the step given to the schedule)."""

    count: int


class LearningRateState(NamedTuple):
    """State of plain gradient descent: step count and learning-rate scale."""

    count: int
    lr_scale: float


class MomentumState(NamedTuple):
    """State of SGD with momentum; ``velocity`` is the last update ``v``."""

    count: int
    lr_scale: float
    velocity: Array


class AdamState(NamedTuple):
    """State of Adam: first moment ``m`` and second moment ``v`` of the gradient."""

    count: int
    lr_scale: float
    m: Array
    v: Array


class RpropState(NamedTuple):
    """State of iRprop-: the step size of every weight and the previous gradient."""

    count: int
    step: Array
    prev_grad: Array


def _check_grad(grad: Any, like: Array) -> Array:
    grad = np.asarray(grad)
    if grad.shape != like.shape:
        fail("grad does not match the parameters the state was built for", grad.shape,
             f"pass a flat gradient of shape {like.shape} (trace.grad_flat)")
    return grad


def _need_params(params: Array | None, name: str) -> Array:
    if params is None:
        fail(f"{name} needs the parameters", params, "call update(grad, state, params)")
    return np.asarray(params)


def _read_only(x: Array) -> Array:
    view = x.view()
    view.flags.writeable = False
    return view


# ----------------------------------------------------------------- building blocks


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` one after another; the state is the tuple of their states."""
    for i, t in enumerate(transforms):
        if not isinstance(t, GradientTransformation):
            fail(f"chain argument {i} is not a GradientTransformation", type(t).__name__,
                 "pass transforms such as sgd(...), scale(...), add_decayed_weights(...)",
                 TypeError)

    def init(params: Array) -> tuple:
        return tuple(t.init(params) for t in transforms)

    def update(grad: Array, state: tuple, params: Array | None = None) -> tuple[Array, tuple]:
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            grad, s = t.update(grad, s, params)
            new_state.append(s)
        return grad, tuple(new_state)

    return GradientTransformation(init, update)


def _stateless(fn: Callable[[Array, Array | None], Array]) -> GradientTransformation:
    return GradientTransformation(lambda params: EmptyState(),
                                  lambda grad, state, params=None: (fn(grad, params), state))


def scale(c: float) -> GradientTransformation:
    """``updates = c · grad``."""
    c = check_number("c", c)
    return _stateless(lambda grad, params: np.multiply(grad, c))


def scale_by_schedule(schedule: Schedule) -> GradientTransformation:
    """``updates = schedule(t) · grad`` with ``t`` the update count."""
    if not callable(schedule):
        fail("schedule must be callable", schedule, "pass a function step -> factor", TypeError)

    def update(grad: Array, state: CountState, params: Array | None = None):
        return np.multiply(grad, schedule(state.count)), CountState(state.count + 1)

    return GradientTransformation(lambda params: CountState(0), update)


def _mask_off(mask: Any) -> Array | None:
    """The complement of a boolean ``mask`` (entries left alone), or None for no mask."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.ndim != 1:
        fail("mask must be a 1-D boolean array aligned with params", mask.dtype,
             "pass e.g. a boolean array that is False at the bias entries")
    return ~mask


def _add_penalty(grad: Array, penalty: Array, off: Array | None) -> Array:
    if off is not None:
        if off.shape != penalty.shape:
            fail("mask does not match params", off.shape, f"pass a mask of shape {penalty.shape}")
        np.copyto(penalty, 0, where=off)
    penalty += grad
    return penalty


def add_decayed_weights(l2: float, mask: Any = None) -> GradientTransformation:
    """Weight decay: ``updates = grad + 2 λ w`` on the entries where ``mask`` is True.

    ``2 λ w`` is the gradient of the penalty ``λ Σ w²`` added to the cost. Chain it before
    the optimizer: ``chain(add_decayed_weights(1e-4, mask), sgd(0.1))``.
    """
    l2 = check_number("l2", l2, low=0)
    off = _mask_off(mask)

    def fn(grad: Array, params: Array | None) -> Array:
        w = _need_params(params, "add_decayed_weights")
        return _add_penalty(grad, np.multiply(w, 2.0 * l2), off)

    return _stateless(fn)


def add_l1(l1: float, mask: Any = None) -> GradientTransformation:
    """L1 penalty ``λ Σ |w|``: ``updates = grad + λ sign(w)`` where ``mask`` is True."""
    l1 = check_number("l1", l1, low=0)
    off = _mask_off(mask)

    def fn(grad: Array, params: Array | None) -> Array:
        penalty = np.sign(_need_params(params, "add_l1"))
        penalty *= l1
        return _add_penalty(grad, penalty, off)

    return _stateless(fn)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """``updates = grad · min(1, max_norm / ‖grad‖₂)``; ``grad`` itself when not clipped."""
    max_norm = check_number("max_norm", max_norm, low=0, low_open=True)

    def fn(grad: Array, params: Array | None) -> Array:
        grad = np.asarray(grad)
        norm = math.sqrt(float(np.dot(grad, grad)))
        return grad if norm <= max_norm else np.multiply(grad, max_norm / norm)

    return _stateless(fn)


# ------------------------------------------------------------------- update rules


def scale_by_learning_rate(learning_rate: float | Schedule) -> GradientTransformation:
    """Gradient descent: ``updates = −η_t · grad``."""
    lr_at = _as_schedule(learning_rate)

    def update(grad: Array, state: LearningRateState, params: Array | None = None):
        lr = lr_at(state.count) * state.lr_scale
        return np.multiply(grad, -lr), LearningRateState(state.count + 1, state.lr_scale)

    return GradientTransformation(lambda params: LearningRateState(0, 1.0), update)


def scale_by_momentum(
    learning_rate: float | Schedule, momentum: float = 0.9, nesterov: bool = False
) -> GradientTransformation:
    """SGD with momentum, scikit-learn's rule: ``v ← μ v − η_t grad``; ``updates = v``.

    With ``nesterov``: ``updates = μ v − η_t grad`` using the new ``v``. The learning rate sits
    inside the velocity, so a changing ``η_t`` scales only the new gradient term.
    """
    lr_at = _as_schedule(learning_rate)
    mu = check_number("momentum", momentum, low=0, high=1, high_open=True)

    def init(params: Array) -> MomentumState:
        return MomentumState(0, 1.0, np.zeros_like(np.asarray(params)))

    def update(grad: Array, state: MomentumState, params: Array | None = None):
        grad = _check_grad(grad, state.velocity)
        lr = lr_at(state.count) * state.lr_scale
        lr_grad = np.multiply(grad, -lr)             # −η grad (exactly −(η grad))
        velocity = np.multiply(state.velocity, mu)
        velocity += lr_grad                          # v = μ v − η grad
        if nesterov:
            updates = np.multiply(velocity, mu)
            updates += lr_grad                       # μ v − η grad
        else:
            updates = _read_only(velocity)
        return updates, MomentumState(state.count + 1, state.lr_scale, velocity)

    return GradientTransformation(init, update)


def scale_by_adam(
    learning_rate: float | Schedule = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
) -> GradientTransformation:
    """Adam (Kingma & Ba), scikit-learn's form. With ``t`` = updates so far + 1::

        m ← β₁ m + (1 − β₁) grad        v ← β₂ v + (1 − β₂) grad²
        η'_t = η_t √(1 − β₂^t) / (1 − β₁^t)       updates = −η'_t m / (√v + ε)
    """
    lr_at = _as_schedule(learning_rate)
    b1 = check_number("beta_1", beta_1, low=0, high=1, high_open=True)
    b2 = check_number("beta_2", beta_2, low=0, high=1, high_open=True)
    eps = check_number("epsilon", epsilon, low=0, low_open=True)

    def init(params: Array) -> AdamState:
        zeros = np.zeros_like(np.asarray(params))
        return AdamState(0, 1.0, zeros, zeros.copy())

    def update(grad: Array, state: AdamState, params: Array | None = None):
        grad = _check_grad(grad, state.m)
        t = state.count + 1
        lr = lr_at(state.count) * state.lr_scale
        m = np.multiply(state.m, b1)
        work = np.multiply(grad, 1 - b1)
        m += work                                    # m = β₁ m + (1 − β₁) grad
        v = np.multiply(state.v, b2)
        np.multiply(grad, grad, out=work)
        work *= 1 - b2
        v += work                                    # v = β₂ v + (1 − β₂) grad²
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        np.sqrt(v, out=work)
        work += eps
        updates = np.multiply(m, -lr_t)
        updates /= work                              # −η'_t m / (√v + ε)
        return updates, AdamState(t, state.lr_scale, m, v)

    return GradientTransformation(init, update)


def scale_by_rprop(
    step_init: float = 0.1,
    eta_plus: float = 1.2,
    eta_minus: float = 0.5,
    step_min: float = 1e-6,
    step_max: float = 50.0,
) -> GradientTransformation:
    """iRprop- (Igel & Hüsken), for full-batch training; only the sign of ``grad`` is used.

    Per weight: if ``grad · prev_grad > 0`` the step grows, ``Δ ← min(η⁺ Δ, Δ_max)``; if it is
    ``< 0`` the step shrinks, ``Δ ← max(η⁻ Δ, Δ_min)``, and ``grad`` is taken as 0 (no move
    now, no sign test next time). ``updates = −sign(grad) · Δ``.
    """
    step_min = check_number("step_min", step_min, low=0, low_open=True)
    step_max = check_number("step_max", step_max, low=step_min)
    step_init = check_number("step_init", step_init, low=step_min, high=step_max)
    eta_plus = check_number("eta_plus", eta_plus, low=1, low_open=True)
    eta_minus = check_number("eta_minus", eta_minus, low=0, high=1, low_open=True, high_open=True)

    def init(params: Array) -> RpropState:
        params = np.asarray(params)
        return RpropState(0, np.full_like(params, step_init), np.zeros_like(params))

    def update(grad: Array, state: RpropState, params: Array | None = None):
        grad = _check_grad(grad, state.step)
        agree = np.multiply(grad, state.prev_grad)
        flipped = agree < 0
        step = np.multiply(state.step, eta_plus, where=agree > 0, out=state.step.copy())
        np.multiply(step, eta_minus, out=step, where=flipped)
        np.clip(step, step_min, step_max, out=step)
        grad = np.where(flipped, 0, grad)
        updates = np.sign(grad)
        updates *= step
        np.negative(updates, out=updates)
        return updates, RpropState(state.count + 1, step, grad)

    return GradientTransformation(init, update)


# ----------------------------------------------------------------------- optimizers


def sgd(
    learning_rate: float | Schedule = 0.1, momentum: float = 0.0, nesterov: bool = False
) -> GradientTransformation:
    """Stochastic gradient descent: plain (``momentum=0``), momentum or Nesterov momentum.

    ``w ← w − η grad`` when ``momentum`` is 0, else ``scale_by_momentum``'s rule.

    >>> import numpy as np
    >>> opt = sgd(0.5)
    >>> updates, state = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    >>> updates
    array([-1.])
    """
    if not isinstance(nesterov, bool):
        fail("nesterov must be True or False", nesterov, "pass a bool", TypeError)
    mu = check_number("momentum", momentum, low=0, high=1, high_open=True)
    if mu == 0:
        opt = chain(scale_by_learning_rate(learning_rate))
    else:
        opt = chain(scale_by_momentum(learning_rate, mu, nesterov))
    # the compiled engine (deltanet.kernels) reads the rule from here to run it in Numba
    opt.update.sgd_settings = (learning_rate, mu, nesterov)
    return _with_settings(opt, "sgd", learning_rate, mu, nesterov)


def adam(
    learning_rate: float | Schedule = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
) -> GradientTransformation:
    """Adam with scikit-learn's defaults; see ``scale_by_adam``."""
    opt = chain(scale_by_adam(learning_rate, beta_1, beta_2, epsilon))
    # the compiled engine (deltanet.kernels) reads the rule from here to run it in Numba
    opt.update.adam_settings = (learning_rate, float(beta_1), float(beta_2), float(epsilon))
    return _with_settings(opt, "adam", learning_rate, beta_1, beta_2, epsilon)


def rprop(
    step_init: float = 0.1,
    eta_plus: float = 1.2,
    eta_minus: float = 0.5,
    step_min: float = 1e-6,
    step_max: float = 50.0,
) -> GradientTransformation:
    """iRprop- for full-batch gradient descent; see ``scale_by_rprop``."""
    return _with_settings(chain(scale_by_rprop(step_init, eta_plus, eta_minus, step_min,
                                               step_max)),
                          "rprop", step_init, eta_plus, eta_minus, step_min, step_max)


def _with_settings(opt: GradientTransformation, name: str, *args: Any) -> GradientTransformation:
    """Record on ``opt.update`` what the optimizer was built with, as plain JSON values
    (``settings``): a checkpoint compares them when a run resumes. A schedule is recorded
    as ``"schedule"`` only: its values are not known without calling it."""
    opt.update.settings = [name, *("schedule" if callable(a) else a for a in args)]
    return opt


_OPTIMIZERS: dict[str, Callable[..., GradientTransformation]] = {
    "sgd": sgd, "adam": adam, "rprop": rprop,
}


def get(name: str, **kwargs: Any) -> GradientTransformation:
    """Build the optimizer called ``name`` ('sgd', 'adam', 'rprop') with ``kwargs``."""
    return _OPTIMIZERS[check_choice("optimizer", name, _OPTIMIZERS)](**kwargs)
