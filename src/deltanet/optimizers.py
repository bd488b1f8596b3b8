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

Every transform is a typed object (:mod:`deltanet._transforms`): ``sgd(...)`` is an
``SGD``, ``adam(...)`` an ``Adam``, ``chain(...)`` a ``Chain`` holding its parts. The
compiled engine chooses by type, and ``settings`` (JSON values) lets a checkpoint check that
a resumed run uses the same optimizer, chains included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _optimizer_state
from ._optimizer_state import (
    AdamState,
    CountState,
    EmptyState,
    LearningRateState,
    MomentumState,
    PlateauState,
    ReduceOnPlateau,
    RpropState,
    set_lr_scale,
    state_to_dict,
)
from ._transforms import (
    AddDecayedWeights,
    AddL1,
    Chain,
    ClipByGlobalNorm,
    GradientTransformation,
    Scale,
    ScaleByAdam,
    ScaleByLearningRate,
    ScaleByMomentum,
    ScaleByRprop,
    ScaleBySchedule,
    _setting,
)
from ._validation import check_choice, check_number, fail
from .schedules import Schedule, constant, cosine, inverse_scaling, step_decay

__all__ = [
    "SGD", "Adam", "AdamState", "AddDecayedWeights", "AddL1", "Chain", "ClipByGlobalNorm",
    "CountState", "EmptyState", "GradientTransformation", "LearningRateState",
    "MomentumState", "PlateauState", "ReduceOnPlateau", "Rprop", "RpropState", "Scale",
    "ScaleByAdam", "ScaleByLearningRate", "ScaleByMomentum", "ScaleByRprop",
    "ScaleBySchedule", "Schedule", "adam", "add_decayed_weights", "add_l1", "chain",
    "clip_by_global_norm", "constant", "cosine", "get", "inverse_scaling", "rprop", "scale",
    "scale_by_adam", "scale_by_learning_rate", "scale_by_momentum", "scale_by_rprop",
    "scale_by_schedule", "set_lr_scale", "sgd", "state_from_dict", "state_to_dict",
    "step_decay",
]

# the building blocks by their optax names
chain = Chain
scale = Scale
scale_by_schedule = ScaleBySchedule
add_decayed_weights = AddDecayedWeights
add_l1 = AddL1
clip_by_global_norm = ClipByGlobalNorm
scale_by_learning_rate = ScaleByLearningRate
scale_by_momentum = ScaleByMomentum
scale_by_adam = ScaleByAdam
scale_by_rprop = ScaleByRprop


# ----------------------------------------------------------------------- optimizers


class SGD(Chain):
    """Stochastic gradient descent: plain (``momentum=0``), momentum or Nesterov momentum.

    ``w ← w − η grad`` when ``momentum`` is 0, else ``ScaleByMomentum``'s rule. A chain of
    one rule, so its state is a 1-tuple; the compiled engine runs it in place.
    """

    name = "sgd"

    def __init__(self, learning_rate: float | Schedule = 0.1, momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        if not isinstance(nesterov, bool):
            fail("nesterov must be True or False", nesterov, "pass a bool", TypeError)
        mu = check_number("momentum", momentum, low=0, high=1, high_open=True)
        rule = (ScaleByLearningRate(learning_rate) if mu == 0
                else ScaleByMomentum(learning_rate, mu, nesterov))
        super().__init__(rule)
        self.learning_rate, self.momentum, self.nesterov = learning_rate, mu, nesterov

    @property
    def settings(self) -> list:
        return ["sgd", _setting(self.learning_rate), self.momentum, self.nesterov]

    def __repr__(self) -> str:
        return f"sgd({self.learning_rate!r}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam(Chain):
    """Adam with scikit-learn's defaults; see ``ScaleByAdam``. The compiled engine runs it
    in place."""

    name = "adam"

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        super().__init__(ScaleByAdam(learning_rate, beta_1, beta_2, epsilon))
        self.learning_rate = learning_rate
        self._given = [beta_1, beta_2, epsilon]  # as given, for the checkpoint's settings
        rule = self.transforms[0]
        self.beta_1, self.beta_2, self.epsilon = rule.beta_1, rule.beta_2, rule.epsilon

    @property
    def settings(self) -> list:
        return ["adam", _setting(self.learning_rate), *self._given]

    def __repr__(self) -> str:
        return f"adam({self.learning_rate!r})"


class Rprop(Chain):
    """iRprop- for full-batch gradient descent; see ``ScaleByRprop``."""

    name = "rprop"

    def __init__(self, step_init: float = 0.1, eta_plus: float = 1.2, eta_minus: float = 0.5,
                 step_min: float = 1e-6, step_max: float = 50.0) -> None:
        super().__init__(ScaleByRprop(step_init, eta_plus, eta_minus, step_min, step_max))
        self._given = [step_init, eta_plus, eta_minus, step_min, step_max]

    @property
    def settings(self) -> list:
        return ["rprop", *self._given]

    def __repr__(self) -> str:
        return "rprop()"


def sgd(learning_rate: float | Schedule = 0.1, momentum: float = 0.0,
        nesterov: bool = False) -> SGD:
    """Stochastic gradient descent (see ``SGD``).

    >>> import numpy as np
    >>> opt = sgd(0.5)
    >>> updates, state = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    >>> updates
    array([-1.])
    """
    return SGD(learning_rate, momentum, nesterov)


def adam(learning_rate: float | Schedule = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
         epsilon: float = 1e-8) -> Adam:
    """Adam with scikit-learn's defaults (see ``Adam``)."""
    return Adam(learning_rate, beta_1, beta_2, epsilon)


def rprop(step_init: float = 0.1, eta_plus: float = 1.2, eta_minus: float = 0.5,
          step_min: float = 1e-6, step_max: float = 50.0) -> Rprop:
    """iRprop- for full-batch gradient descent (see ``Rprop``)."""
    return Rprop(step_init, eta_plus, eta_minus, step_min, step_max)


_OPTIMIZERS: dict[str, Callable[..., GradientTransformation]] = {
    "sgd": sgd, "adam": adam, "rprop": rprop,
}


def get(name: str, **kwargs: Any) -> GradientTransformation:
    """Build the optimizer called ``name`` ('sgd', 'adam', 'rprop') with ``kwargs``."""
    return _OPTIMIZERS[check_choice("optimizer", name, _OPTIMIZERS)](**kwargs)


def state_from_dict(opt: GradientTransformation | ReduceOnPlateau | str, d: dict) -> Any:
    """Rebuild the state ``state_to_dict`` saved, for the same optimizer ``opt``.

    ``opt`` is the optimizer (built with the same settings), its name (default settings),
    or a ``ReduceOnPlateau``. 0-d arrays (as ``np.load`` returns) are accepted for scalars.
    """
    if isinstance(opt, str):
        opt = get(opt)
    return _optimizer_state.state_from_dict(opt, d)
