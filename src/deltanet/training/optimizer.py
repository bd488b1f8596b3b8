"""The optimizer of a run: a transform by name (``'sgd'``, ``'momentum'``, ``'nesterov'``,
``'adam'``, ``'rprop'``) with its learning-rate schedule, or the transform given; and the
learning rate each update used, for the history."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import optimizers
from .._validation import PLAIN_TYPES, check_choice, check_number, fail

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rprop")
SCHEDULES = ("constant", "invscaling", "step", "cosine", "plateau")


@dataclass
class Optimizer:
    """The resolved optimizer: the transform, its learning-rate schedule when known (for
    the history) and the epoch-level plateau rule, if any."""

    transform: optimizers.GradientTransformation
    name: str
    schedule: Callable[[int], float] | None
    plateau: optimizers.ReduceOnPlateau | None
    schedule_name: str


def resolve_optimizer(optimizer: Any, lr: float, momentum: float, lr_schedule: Any,
                      epochs: int, steps: int, n: int, full_batch: bool) -> Optimizer:
    """Build the transform named by ``optimizer`` (or take the one given) and its schedule.

    ``steps`` is the number of updates per epoch; ``n`` the number of training examples.
    An optimizer and schedule given by name with plain numbers is built once per set of
    arguments (the transforms keep no state of their own: it lives in ``init``'s result).
    """
    if lr_schedule is None or (isinstance(lr_schedule, str) and lr_schedule == "constant"):
        epochs = steps = n = 0
    args = (optimizer, lr, momentum, lr_schedule, epochs, steps, n, full_batch)
    # only lr and momentum can be floats here; the cache would take -0.0 for 0.0
    if lr_schedule != "plateau" and PLAIN_TYPES.issuperset(map(type, args)) \
            and not (type(lr) is float and lr == 0) \
            and not (type(momentum) is float and momentum == 0):
        return _named(*args)
    return _resolve(*args)


@functools.lru_cache(maxsize=32, typed=True)
def _named(*args: Any) -> Optimizer:
    """``_resolve`` for arguments that are all plain values, kept."""
    return _resolve(*args)


def _resolve(optimizer: Any, lr: float, momentum: float, lr_schedule: Any,
             epochs: int, steps: int, n: int, full_batch: bool) -> Optimizer:
    """``resolve_optimizer`` without the cache."""
    plateau, sched_name = None, "constant"
    if isinstance(lr_schedule, optimizers.ReduceOnPlateau):
        plateau, sched_name, lr_schedule = lr_schedule, "plateau", None
    elif isinstance(lr_schedule, str):
        sched_name = check_choice("lr_schedule", lr_schedule, SCHEDULES)
        if sched_name == "plateau":
            plateau = optimizers.ReduceOnPlateau()
    elif callable(lr_schedule):
        sched_name = f"callable {getattr(lr_schedule, '__qualname__', type(lr_schedule))}"
    elif lr_schedule is not None:
        fail("lr_schedule must be a name, a ReduceOnPlateau or a callable update -> lr",
             lr_schedule, f"use one of {', '.join(SCHEDULES)}, or e.g. lambda t: 0.1 / (1 + t)")
    if isinstance(optimizer, optimizers.GradientTransformation):
        if sched_name not in ("constant", "plateau"):
            fail("lr_schedule only applies to an optimizer given by name", lr_schedule,
                 "build the schedule into your transform, e.g. "
                 "optimizers.sgd(optimizers.cosine(0.1, 1000))")
        return Optimizer(optimizer, "custom", None, plateau, sched_name)
    name = "sgd" if optimizer is None else optimizer
    if not isinstance(name, str):
        fail("optimizer must be a name or a deltanet.optimizers transform", optimizer,
             f"use one of {', '.join(OPTIMIZERS)}, or e.g. deltanet.optimizers.adam(0.01)",
             TypeError)
    name = check_choice("optimizer", name, OPTIMIZERS)
    lr = check_number("lr", lr, low=0.0, low_open=True)
    if name == "rprop":
        return _rprop(lr, sched_name, full_batch)
    schedule = _schedule(sched_name, lr_schedule, lr, epochs, steps, n)
    rate = lr if schedule is None else schedule
    if name == "adam":
        transform = optimizers.adam(rate)
    else:
        mu = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        transform = optimizers.sgd(rate, mu if name != "sgd" else 0.0, name == "nesterov")
    return Optimizer(transform, name, schedule or optimizers.constant(lr), plateau, sched_name)


def _rprop(lr: float, sched_name: str, full_batch: bool) -> Optimizer:
    if not full_batch:
        fail("rprop uses only the sign of the full gradient and needs full-batch training",
             "rprop", "pass batch_size=None (or optimizer='adam' for mini-batches)")
    if sched_name != "constant":
        fail("rprop adapts its own step sizes and takes no lr_schedule", sched_name,
             "leave lr_schedule unset (lr is rprop's initial step size Δ₀)")
    transform = optimizers.rprop(step_init=min(max(lr, 1e-6), 50.0))
    return Optimizer(transform, "rprop", None, None, "constant")


def _schedule(name: str, given: Any, lr: float, epochs: int, steps: int, n: int):
    if callable(given) and not isinstance(given, str):
        return given
    if name == "invscaling":  # scikit-learn's: η / (samples seen + 1)^0.5, once per epoch
        return optimizers.inverse_scaling(lr, 0.5, steps_per_epoch=steps, samples_per_epoch=n)
    if name == "step":  # halve every quarter of the run
        return optimizers.step_decay(lr, 0.5, every=max(1, epochs // 4) * steps)
    if name == "cosine":  # from lr down towards 0, reached just after the last update
        return optimizers.cosine(lr, total_steps=epochs * steps)
    return None


def current_lr(opt: Optimizer, state: Any) -> float | None:
    """Learning rate of the last update made (schedule × plateau scale), when known."""
    return epoch_lrs(opt, state, 0, 1)[0]


def epoch_lrs(opt: Optimizer, state: Any, per_epoch: int, epochs: int) -> list[float | None]:
    """``current_lr`` after each of the next ``epochs`` epochs of ``per_epoch`` updates (the
    plateau scale unchanged); with ``epochs=1, per_epoch=0``, ``current_lr`` now."""
    inner = state[0] if isinstance(state, tuple) and state else state
    count = getattr(inner, "count", None)
    scale = getattr(inner, "lr_scale", None)
    if opt.schedule is None or count is None or scale is None:
        return [None] * epochs
    if opt.schedule_name == "constant":  # one value for all (no call per epoch)
        return [float(opt.schedule(max(count + per_epoch - 1, 0)) * scale)] * epochs
    return [float(opt.schedule(max(count + per_epoch * (i + 1) - 1, 0)) * scale)
            for i in range(epochs)]
