"""Learning-rate schedules: callables ``step -> η`` where ``step`` counts the updates made.

Constant, inverse scaling (scikit-learn's ``'invscaling'``), step decay and cosine; an
epoch-level rule (reduce on plateau) lives with the optimizers, which hold ``lr_scale``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._validation import check_number, fail

Schedule = Callable[[int], float]


def constant(learning_rate: float) -> Schedule:
    """Schedule ``η_t = η``."""
    lr = check_number("learning_rate", learning_rate, low=0, low_open=True)
    return lambda step: lr


def inverse_scaling(
    learning_rate: float,
    power_t: float = 0.5,
    steps_per_epoch: int | None = None,
    samples_per_epoch: int | None = None,
) -> Schedule:
    """Schedule ``η_t = η / (t + 1)^power_t`` (scikit-learn's ``'invscaling'``).

    By default ``t`` is the update count. scikit-learn instead sets ``t`` to the number of
    samples seen, once per epoch; pass ``steps_per_epoch`` (updates per epoch) and
    ``samples_per_epoch`` to get ``t = (step // steps_per_epoch) * samples_per_epoch``,
    which reproduces scikit-learn's learning rates exactly.
    """
    lr = check_number("learning_rate", learning_rate, low=0, low_open=True)
    power_t = check_number("power_t", power_t, low=0)
    if (steps_per_epoch is None) != (samples_per_epoch is None):
        fail("steps_per_epoch and samples_per_epoch go together",
             (steps_per_epoch, samples_per_epoch), "pass both or neither")
    if steps_per_epoch is None:
        return lambda step: lr / (step + 1) ** power_t
    every = check_number("steps_per_epoch", steps_per_epoch, low=1, integer=True)
    n = check_number("samples_per_epoch", samples_per_epoch, low=1, integer=True)
    return lambda step: lr / ((step // every) * n + 1) ** power_t


def step_decay(learning_rate: float, drop: float = 0.5, every: int = 10) -> Schedule:
    """Schedule ``η_t = η · drop^⌊t / every⌋``: multiply by ``drop`` every ``every`` steps."""
    lr = check_number("learning_rate", learning_rate, low=0, low_open=True)
    drop = check_number("drop", drop, low=0, high=1, low_open=True)
    every = check_number("every", every, low=1, integer=True)
    return lambda step: lr * drop ** (step // every)


def cosine(learning_rate: float, total_steps: int, final_lr: float = 0.0) -> Schedule:
    """Schedule ``η_t = η_f + (η − η_f)(1 + cos(π min(t, T) / T)) / 2`` with ``T = total_steps``."""
    lr = check_number("learning_rate", learning_rate, low=0, low_open=True)
    total = check_number("total_steps", total_steps, low=1, integer=True)
    final = check_number("final_lr", final_lr, low=0, high=lr)

    def schedule(step: int) -> float:
        return final + (lr - final) * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))

    return schedule


def _as_schedule(learning_rate: float | Schedule) -> Schedule:
    """A float becomes ``constant``; a callable must give a number >= 0 at step 0."""
    if not callable(learning_rate):
        return constant(learning_rate)
    try:
        first = learning_rate(0)
    except Exception as err:  # the user's callable: report any failure the same way
        fail("learning_rate schedule failed at step 0", learning_rate,
             f"pass a callable step -> learning rate ({err})")
    check_number("learning_rate schedule value at step 0", first, low=0)
    return learning_rate
