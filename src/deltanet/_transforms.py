"""Gradient transforms as typed objects: the building blocks of :mod:`deltanet.optimizers`.

Every transform has ``init(params) -> state`` and ``update(grad, state, params=None) ->
(updates, new_state)``, and says what it is by its type: ``Chain``, ``Scale``,
``AddDecayedWeights``, ``ScaleByMomentum``... An engine that compiles an optimizer chooses
by type (``isinstance``), and ``settings`` describes a transform as plain JSON values, so a
checkpoint can tell whether a resumed run uses the same optimizer. A transform of one's own
is ``GradientTransformation(init, update)``: it runs, but no engine compiles it and its
``settings`` are unknown (None).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._optimizer_state import (
    AdamState,
    CountState,
    EmptyState,
    LearningRateState,
    MomentumState,
    RpropState,
)
from ._validation import check_number, fail
from .schedules import Schedule, _as_schedule

Array = np.ndarray


class GradientTransformation:
    """A transform: ``init(params) -> state`` and ``update(grad, state, params=None) ->
    (updates, new_state)``.

    Built from two functions, ``GradientTransformation(init, update)``, or subclassed (the
    typed transforms of this module override the two methods). It unpacks as the pair
    ``init, update``.
    """

    def __init__(self, init: Callable[[Array], Any] | None = None,
                 update: Callable[..., tuple[Array, Any]] | None = None) -> None:
        if type(self) is GradientTransformation and (init is None or update is None):
            fail("a GradientTransformation of your own needs both functions",
                 "missing: " + ", ".join(n for n, f in [("init", init), ("update", update)]
                                         if f is None),
                 "pass init(params) -> state and update(grad, state, params) -> "
                 "(updates, state), or use one of deltanet.optimizers")
        if init is not None:  # a transform of one's own: the functions shadow the methods
            self.init = init
        if update is not None:
            self.update = update

    def init(self, params: Array) -> Any:
        """The transform's first state for ``params`` (each subclass defines it)."""
        raise TypeError(f"{type(self).__name__} defines no init(params): define it, or pass "
                        "init= to GradientTransformation")

    def update(self, grad: Array, state: Any, params: Array | None = None) -> tuple[Array, Any]:
        """``(updates, new state)`` for ``grad`` (each subclass defines it)."""
        raise TypeError(f"{type(self).__name__} defines no update(grad, state, params): "
                        "define it, or pass update= to GradientTransformation")

    @property
    def settings(self) -> list | None:
        """What the transform was built with, as JSON values; None when unknown."""
        return None

    def __iter__(self):
        return iter((self.init, self.update))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _setting(value: Any) -> Any:
    """A setting as a JSON value: a schedule is recorded as ``"schedule"`` only (its values
    are not known without calling it)."""
    return "schedule" if callable(value) else value


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


class Chain(GradientTransformation):
    """Apply ``transforms`` one after another; the state is the tuple of their states."""

    name = "chain"

    def __init__(self, *transforms: GradientTransformation) -> None:
        for i, t in enumerate(transforms):
            if not isinstance(t, GradientTransformation):
                fail(f"chain argument {i} is not a GradientTransformation", type(t).__name__,
                     "pass transforms such as sgd(...), scale(...), add_decayed_weights(...)",
                     TypeError)
        self.transforms = tuple(transforms)

    def init(self, params: Array) -> tuple:
        return tuple([t.init(params) for t in self.transforms])

    def update(self, grad: Array, state: tuple, params: Array | None = None):
        new_state = []
        for t, s in zip(self.transforms, state, strict=True):
            grad, s = t.update(grad, s, params)
            new_state.append(s)
        return grad, tuple(new_state)

    @property
    def settings(self) -> list | None:
        parts = [t.settings for t in self.transforms]
        return None if any(p is None for p in parts) else [self.name, *parts]

    def __repr__(self) -> str:
        return f"chain({', '.join(map(repr, self.transforms))})"


class _Stateless(GradientTransformation):
    """A transform that remembers nothing: ``updates = fn(grad, params)``."""

    def init(self, params: Array) -> EmptyState:
        return EmptyState()

    def update(self, grad: Array, state: EmptyState, params: Array | None = None):
        return self.apply(grad, params), state

    def apply(self, grad: Array, params: Array | None) -> Array:
        raise TypeError(f"{type(self).__name__} defines no apply(grad, params): define it")


class Scale(_Stateless):
    """``updates = c · grad``."""

    def __init__(self, c: float) -> None:
        self.c = check_number("c", c)

    def apply(self, grad: Array, params: Array | None) -> Array:
        return np.multiply(grad, self.c)

    @property
    def settings(self) -> list:
        return ["scale", self.c]


class ScaleBySchedule(GradientTransformation):
    """``updates = schedule(t) · grad`` with ``t`` the update count."""

    def __init__(self, schedule: Schedule) -> None:
        if not callable(schedule):
            fail("schedule must be callable", schedule, "pass a function step -> factor",
                 TypeError)
        self.schedule = schedule

    def init(self, params: Array) -> CountState:
        return CountState(0)

    def update(self, grad: Array, state: CountState, params: Array | None = None):
        return np.multiply(grad, self.schedule(state.count)), CountState(state.count + 1)

    @property
    def settings(self) -> list:
        return ["scale_by_schedule", "schedule"]


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


class _Penalty(_Stateless):
    """A penalty's gradient added to ``grad`` on the entries where ``mask`` is True."""

    name, parameter = "", ""

    def __init__(self, strength: float, mask: Any = None) -> None:
        self.strength = check_number(self.parameter, strength, low=0)
        self.off = _mask_off(mask)

    @property
    def settings(self) -> list:
        mask = None if self.off is None else int(np.count_nonzero(~self.off))
        return [self.name, self.strength, mask]


class AddDecayedWeights(_Penalty):
    """Weight decay: ``updates = grad + 2 λ w`` on the entries where ``mask`` is True.

    ``2 λ w`` is the gradient of the penalty ``λ Σ w²`` added to the cost. Chain it before
    the optimizer: ``chain(add_decayed_weights(1e-4, mask), sgd(0.1))``.
    """

    name, parameter = "add_decayed_weights", "l2"

    def apply(self, grad: Array, params: Array | None) -> Array:
        w = _need_params(params, self.name)
        return _add_penalty(grad, np.multiply(w, 2.0 * self.strength), self.off)


class AddL1(_Penalty):
    """L1 penalty ``λ Σ |w|``: ``updates = grad + λ sign(w)`` where ``mask`` is True."""

    name, parameter = "add_l1", "l1"

    def apply(self, grad: Array, params: Array | None) -> Array:
        penalty = np.sign(_need_params(params, self.name))
        penalty *= self.strength
        return _add_penalty(grad, penalty, self.off)


class ClipByGlobalNorm(_Stateless):
    """``updates = grad · min(1, max_norm / ‖grad‖₂)``; ``grad`` itself when not clipped."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = check_number("max_norm", max_norm, low=0, low_open=True)

    def apply(self, grad: Array, params: Array | None) -> Array:
        grad = np.asarray(grad)
        norm = math.sqrt(float(np.dot(grad, grad)))
        return grad if norm <= self.max_norm else np.multiply(grad, self.max_norm / norm)

    @property
    def settings(self) -> list:
        return ["clip_by_global_norm", self.max_norm]


# ------------------------------------------------------------------- update rules


class ScaleByLearningRate(GradientTransformation):
    """Gradient descent: ``updates = −η_t · grad``."""

    def __init__(self, learning_rate: float | Schedule) -> None:
        self.learning_rate, self.lr_at = learning_rate, _as_schedule(learning_rate)

    def init(self, params: Array) -> LearningRateState:
        return LearningRateState(0, 1.0)

    def update(self, grad: Array, state: LearningRateState, params: Array | None = None):
        lr = self.lr_at(state.count) * state.lr_scale
        return np.multiply(grad, -lr), LearningRateState(state.count + 1, state.lr_scale)

    @property
    def settings(self) -> list:
        return ["scale_by_learning_rate", _setting(self.learning_rate)]


class ScaleByMomentum(GradientTransformation):
    """SGD with momentum, scikit-learn's rule: ``v ← μ v − η_t grad``; ``updates = v``.

    With ``nesterov``: ``updates = μ v − η_t grad`` using the new ``v``. The learning rate sits
    inside the velocity, so a changing ``η_t`` scales only the new gradient term.
    """

    def __init__(self, learning_rate: float | Schedule, momentum: float = 0.9,
                 nesterov: bool = False) -> None:
        self.learning_rate, self.lr_at = learning_rate, _as_schedule(learning_rate)
        self.momentum = check_number("momentum", momentum, low=0, high=1, high_open=True)
        self.nesterov = nesterov

    def init(self, params: Array) -> MomentumState:
        return MomentumState(0, 1.0, np.zeros_like(np.asarray(params)))

    def update(self, grad: Array, state: MomentumState, params: Array | None = None):
        grad = _check_grad(grad, state.velocity)
        mu = self.momentum
        lr = self.lr_at(state.count) * state.lr_scale
        lr_grad = np.multiply(grad, -lr)             # −η grad (exactly −(η grad))
        velocity = np.multiply(state.velocity, mu)
        velocity += lr_grad                          # v = μ v − η grad
        if self.nesterov:
            updates = np.multiply(velocity, mu)
            updates += lr_grad                       # μ v − η grad
        else:
            updates = _read_only(velocity)
        return updates, MomentumState(state.count + 1, state.lr_scale, velocity)

    @property
    def settings(self) -> list:
        return ["scale_by_momentum", _setting(self.learning_rate), self.momentum,
                bool(self.nesterov)]


class ScaleByAdam(GradientTransformation):
    """Adam (Kingma & Ba), scikit-learn's form. With ``t`` = updates so far + 1::

        m ← β₁ m + (1 − β₁) grad        v ← β₂ v + (1 − β₂) grad²
        η'_t = η_t √(1 − β₂^t) / (1 − β₁^t)       updates = −η'_t m / (√v + ε)
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        self.learning_rate, self.lr_at = learning_rate, _as_schedule(learning_rate)
        self.beta_1 = check_number("beta_1", beta_1, low=0, high=1, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0, high=1, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0, low_open=True)

    def init(self, params: Array) -> AdamState:
        zeros = np.zeros_like(np.asarray(params))
        return AdamState(0, 1.0, zeros, zeros.copy())

    def update(self, grad: Array, state: AdamState, params: Array | None = None):
        grad = _check_grad(grad, state.m)
        b1, b2, t = self.beta_1, self.beta_2, state.count + 1
        lr = self.lr_at(state.count) * state.lr_scale
        m = np.multiply(state.m, b1)
        work = np.multiply(grad, 1 - b1)
        m += work                                    # m = β₁ m + (1 − β₁) grad
        v = np.multiply(state.v, b2)
        np.multiply(grad, grad, out=work)
        work *= 1 - b2
        v += work                                    # v = β₂ v + (1 − β₂) grad²
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        np.sqrt(v, out=work)
        work += self.epsilon
        updates = np.multiply(m, -lr_t)
        updates /= work                              # −η'_t m / (√v + ε)
        return updates, AdamState(t, state.lr_scale, m, v)

    @property
    def settings(self) -> list:
        return ["scale_by_adam", _setting(self.learning_rate), self.beta_1, self.beta_2,
                self.epsilon]


class ScaleByRprop(GradientTransformation):
    """iRprop- (Igel & Hüsken), for full-batch training; only the sign of ``grad`` is used.

    Per weight: if ``grad · prev_grad > 0`` the step grows, ``Δ ← min(η⁺ Δ, Δ_max)``; if it is
    ``< 0`` the step shrinks, ``Δ ← max(η⁻ Δ, Δ_min)``, and ``grad`` is taken as 0 (no move
    now, no sign test next time). ``updates = −sign(grad) · Δ``.
    """

    def __init__(self, step_init: float = 0.1, eta_plus: float = 1.2, eta_minus: float = 0.5,
                 step_min: float = 1e-6, step_max: float = 50.0) -> None:
        self.step_min = check_number("step_min", step_min, low=0, low_open=True)
        self.step_max = check_number("step_max", step_max, low=self.step_min)
        self.step_init = check_number("step_init", step_init, low=self.step_min,
                                      high=self.step_max)
        self.eta_plus = check_number("eta_plus", eta_plus, low=1, low_open=True)
        self.eta_minus = check_number("eta_minus", eta_minus, low=0, high=1, low_open=True,
                                      high_open=True)

    def init(self, params: Array) -> RpropState:
        params = np.asarray(params)
        return RpropState(0, np.full_like(params, self.step_init), np.zeros_like(params))

    def update(self, grad: Array, state: RpropState, params: Array | None = None):
        grad = _check_grad(grad, state.step)
        agree = np.multiply(grad, state.prev_grad)
        flipped = agree < 0
        step = np.multiply(state.step, self.eta_plus, where=agree > 0, out=state.step.copy())
        np.multiply(step, self.eta_minus, out=step, where=flipped)
        np.clip(step, self.step_min, self.step_max, out=step)
        grad = np.where(flipped, 0, grad)
        updates = np.sign(grad)
        updates *= step
        np.negative(updates, out=updates)
        return updates, RpropState(state.count + 1, step, grad)

    @property
    def settings(self) -> list:
        return ["scale_by_rprop", self.step_init, self.eta_plus, self.eta_minus,
                self.step_min, self.step_max]
