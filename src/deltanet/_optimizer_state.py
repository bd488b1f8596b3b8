"""The optimizers' states, their epoch-level learning-rate rule and their checkpoints.

The states are NamedTuples of NumPy arrays and Python numbers (one type per update rule).
``ReduceOnPlateau`` scales the learning rate down when the epoch loss stops improving and
``set_lr_scale`` writes that scale into an optimizer state; ``state_to_dict`` and
``state_from_dict`` save and restore a state bit for bit. Import them from
:mod:`deltanet.optimizers`, which re-exports every name here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ._validation import check_number, fail

Array = np.ndarray


# ------------------------------------------------------------------ the states

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




# ------------------------------------------------------- learning rate on plateau


def set_lr_scale(state: Any, lr_scale: float) -> Any:
    """Return ``state`` with every ``lr_scale`` field set to ``lr_scale`` (arrays shared)."""
    lr_scale = check_number("lr_scale", lr_scale, low=0)
    if hasattr(state, "_fields"):
        if "lr_scale" in state._fields:
            return state._replace(lr_scale=lr_scale)
        return state
    if isinstance(state, tuple):
        return tuple(set_lr_scale(s, lr_scale) for s in state)
    return state


class PlateauState(NamedTuple):
    """``best_loss`` so far, ``n_bad`` epochs without improvement, current ``scale``, ``done``."""

    best_loss: float
    n_bad: int
    scale: float
    done: bool


@dataclass(frozen=True)
class ReduceOnPlateau:
    """Multiply the learning rate by ``factor`` when the epoch loss stops improving.

    scikit-learn's ``learning_rate='adaptive'`` with ``patience = n_iter_no_change``: an epoch
    whose loss is not below ``best_loss − tol`` counts as bad; after more than ``patience``
    bad epochs in a row the scale is multiplied by ``factor`` (0.2: "divide by 5") and the
    count restarts. If the scale is already ``<= min_scale`` then, ``done`` becomes True and
    training should stop (scikit-learn stops at ``η <= 1e-6``: ``min_scale = 1e-6 / η``).

    >>> plateau = ReduceOnPlateau(patience=0)
    >>> s = plateau.init()
    >>> for loss in [1.0, 1.0]:
    ...     scale, s = plateau.update(loss, s)   # then: state = set_lr_scale(state, scale)
    >>> scale
    0.2
    """

    factor: float = 0.2
    patience: int = 2
    tol: float = 1e-4
    min_scale: float = 0.0

    def __post_init__(self) -> None:
        check_number("factor", self.factor, low=0, high=1, low_open=True, high_open=True)
        check_number("patience", self.patience, low=0, integer=True)
        check_number("tol", self.tol, low=0)
        check_number("min_scale", self.min_scale, low=0)

    def init(self) -> PlateauState:
        return PlateauState(math.inf, 0, 1.0, False)

    def update(self, loss: float, state: PlateauState) -> tuple[float, PlateauState]:
        """Record one epoch's ``loss``; return the learning-rate scale and the new state."""
        loss = check_number("loss", loss)
        n_bad = state.n_bad + 1 if loss > state.best_loss - self.tol else 0
        best, scale, done = min(loss, state.best_loss), state.scale, state.done
        if n_bad > self.patience:
            if scale <= self.min_scale:
                done = True
            else:
                scale, n_bad = scale * self.factor, 0
        return scale, PlateauState(best, n_bad, scale, done)


# -------------------------------------------------------------------- checkpoints


def _flatten(state: Any, prefix: str, out: dict) -> None:
    if hasattr(state, "_fields"):
        for name, value in zip(state._fields, state, strict=True):
            if isinstance(value, tuple):
                _flatten(value, f"{prefix}{name}.", out)
            else:
                out[prefix + name] = value.copy() if isinstance(value, np.ndarray) else value
    elif isinstance(state, tuple):
        for i, s in enumerate(state):
            _flatten(s, f"{prefix}{i}.", out)
    else:
        fail("not an optimizer state", type(state).__name__, "pass a state from opt.init/update",
             TypeError)


def state_to_dict(state: Any) -> dict[str, Array | int | float]:
    """Flatten an optimizer state to ``{"0.velocity": array, "0.count": 3, ...}``.

    Arrays are copies; the dict can go to ``np.savez`` (or JSON after ``.tolist()``).
    """
    out: dict[str, Any] = {}
    _flatten(state, "", out)
    return out


def _unflatten(template: Any, prefix: str, d: dict) -> Any:
    if not hasattr(template, "_fields"):
        return tuple(_unflatten(s, f"{prefix}{i}.", d) for i, s in enumerate(template))
    values = []
    for name, like in zip(template._fields, template, strict=True):
        key = prefix + name
        if isinstance(like, tuple):
            values.append(_unflatten(like, key + ".", d))
        elif isinstance(like, np.ndarray):
            arr = np.array(d[key])
            if arr.shape != like.shape:
                fail(f"saved state entry {key!r} has the wrong shape", arr.shape,
                     f"expected {like.shape}; save and restore with the same parameters")
            values.append(arr)
        else:
            value = np.asarray(d[key])
            if value.size != 1:
                fail(f"saved state entry {key!r} must be one number", value.shape,
                     "save the state with state_to_dict")
            values.append(type(like)(value.item()))
    return type(template)(*values)


def state_from_dict(opt: Any, d: dict) -> Any:
    """Rebuild the state ``state_to_dict`` saved, for the same transform ``opt`` (an object
    with ``init``: the optimizer built with the same settings) or a ``ReduceOnPlateau``.
    0-d arrays (as ``np.load`` returns) are accepted for scalars. (``optimizers.state_from_dict``
    also takes an optimizer's name.)
    """
    if isinstance(opt, ReduceOnPlateau):
        template = opt.init()
    else:
        arrays = [np.asarray(v) for v in d.values() if np.ndim(v) == 1]
        like = arrays[0] if arrays else np.zeros(0)
        template = opt.init(np.zeros(like.shape, like.dtype))
    expected = sorted(state_to_dict(template))
    if sorted(d) != expected:
        fail("saved state does not fit this optimizer", sorted(d),
             f"expected the keys {expected}; build the optimizer with the saved settings")
    return _unflatten(template, "", d)
