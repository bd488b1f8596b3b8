"""What ``train()`` settles before the first epoch: optimizer and schedule, validation
split, class weights and the metric. Every setting is checked here, once."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import optimizers
from ._validation import check_array, check_choice, check_number, fail
from .losses import zero_one_error
from .propagation import normalize_sample_weight, prepare_inputs, prepare_targets

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rprop")
SCHEDULES = ("constant", "invscaling", "step", "cosine", "plateau")
METRICS = ("auto", "accuracy", "zero_one", "mse", "mae", "r2")
CLASSIFICATION_LOSSES = ("log_loss", "cross_entropy", "perceptron")
# losses that take the log of the outputs, so need outputs that are probabilities
PROBABILITY_OUTPUTS = {"log_loss": ("logistic", "softmax"),
                       "cross_entropy": ("softmax", "logistic")}


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
    """
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
    return [float(opt.schedule(max(count + per_epoch * (i + 1) - 1, 0)) * scale)
            for i in range(epochs)]


def check_loss_outputs(net, loss) -> None:
    """Refuse a loss that takes ``log a_k`` on outputs that are no probabilities: with
    identity, ReLU, tanh... outputs ``log a`` is undefined or the cost has no minimum, and
    training would stop on a NaN cost or run on without learning."""
    wanted = PROBABILITY_OUTPUTS.get(loss.name)
    if wanted is None:
        return
    for g in net.plan.groups:
        if g.is_output and g.activation.name not in wanted:
            fail(f"loss={loss.name!r} needs outputs that are probabilities, but output "
                 f"neurons {g.neurons.tolist()} use {g.activation.name!r}",
                 g.activation.name,
                 f"build the network with output={wanted[0]!r} (or {wanted[1]!r}), or use "
                 "loss='squared_error'")


# ------------------------------------------------------------------ data and weights
def split_validation(rng: np.random.Generator, n: int, validation_data: Any,
                     validation_fraction: Any, early_stopping: bool) -> np.ndarray | None:
    """Indices of the examples held out for validation (drawn from ``rng``), or None."""
    if validation_data is not None:
        if validation_fraction is not None:
            fail("give validation_data or validation_fraction, not both", validation_fraction,
                 "drop one of them")
        return None
    if validation_fraction is None:
        if not early_stopping:
            return None
        validation_fraction = 0.1
    frac = check_number("validation_fraction", validation_fraction, low=0.0, high=1.0,
                        low_open=True, high_open=True)
    n_val = math.ceil(frac * n)  # as scikit-learn's train_test_split
    if n_val < 1 or n - n_val < 1:
        fail(f"validation_fraction={frac:g} of {n} examples leaves an empty part", frac,
             "use more examples, another fraction, or validation_data=(Xv, Yv)")
    return np.sort(rng.permutation(n)[:n_val])


def validation_arrays(net, loss, validation_data: Any):
    """Check ``validation_data = (Xv, Yv)`` or ``(Xv, Yv, sample_weight_v)``."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        fail("validation_data must be a pair (Xv, Yv) or a triple (Xv, Yv, sample_weight)",
             type(validation_data).__name__, "e.g. validation_data=(X_val, Y_val)")
    Xv, _ = prepare_inputs(net, validation_data[0])
    Yv = prepare_targets(net, validation_data[1], Xv.shape[0], False, loss)
    sw = validation_data[2] if len(validation_data) == 3 else None
    return Xv, Yv, sw


def class_labels(Y: np.ndarray) -> np.ndarray:
    """Class of every example: the column of the 1 in a one-hot row, or the 0/1 value of
    one output. Other targets (multilabel, probabilities, numbers) have no class."""
    if Y.shape[1] > 1:
        bad = ~(np.all((Y == 0) | (Y == 1), axis=1) & (Y.sum(axis=1) == 1))
        if bad.any():
            row = int(np.argmax(bad))
            fail(f"class_weight needs one-hot targets for several outputs, and row {row} "
                 "is not one 1 with 0s elsewhere", Y[row].tolist(),
                 "one-hot encode class labels (Y, classes = deltanet.one_hot(y)); for "
                 "multilabel or numeric targets use sample_weight instead")
        return np.argmax(Y, axis=1)
    y = Y[:, 0]
    if not np.all((y == 0) | (y == 1)):
        fail("class_weight needs 0/1 targets for a single output", float(y[(y != 0) & (y != 1)][0]),
             "use 0/1 labels, one-hot targets, or sample_weight instead")
    return y.astype(np.int64)


def compute_class_weight(class_weight: Any, Y: np.ndarray) -> dict[int, float]:
    """Weight of every class, scikit-learn's rule for ``'balanced'``::

        w_c = n / (n_classes · n_c)

    with ``n_c`` the examples of class ``c`` and ``n_classes`` the classes present; a dict
    ``{class: weight}`` is taken as given (classes it omits weigh 1). ``Y`` holds one-hot
    rows, or one 0/1 target per example.
    """
    Y = check_array("Y", Y, ndim=(1, 2))
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    labels = class_labels(Y)
    n_classes = max(Y.shape[1], 2)
    if isinstance(class_weight, str):
        check_choice("class_weight", class_weight, ["balanced"])
        counts = np.bincount(labels, minlength=n_classes)
        present = counts > 0
        return {c: float(len(labels) / (present.sum() * counts[c])) if present[c] else 1.0
                for c in range(n_classes)}
    if not isinstance(class_weight, dict):
        fail("class_weight must be 'balanced' or a {class: weight} dict", class_weight,
             "e.g. class_weight={0: 1.0, 1: 5.0}")
    out = dict.fromkeys(range(n_classes), 1.0)
    for c, w in class_weight.items():
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) \
                or not 0 <= c < n_classes:
            fail("class_weight keys must be class indices", c,
                 f"use 0..{n_classes - 1} (the output column, or the 0/1 label)")
        out[int(c)] = check_number(f"class_weight[{c}]", w, low=0.0)
    return out


def combined_weights(sample_weight: Any, class_weight: Any, Y: np.ndarray,
                     dtype: Any) -> np.ndarray | None:
    """Sample weights times class weights (unnormalised), or None when neither is given."""
    if class_weight is None:
        return sample_weight
    per_class = compute_class_weight(class_weight, Y)
    cw = np.array([per_class[c] for c in range(len(per_class))], dtype=dtype)
    w = cw[class_labels(Y)]
    if sample_weight is None:
        return w
    normalize_sample_weight(sample_weight, Y.shape[0], dtype)  # shape and sign checks
    sw = np.asarray(sample_weight, dtype=dtype)
    with np.errstate(over="ignore"):
        both = sw * w
    if not np.all(np.isfinite(both)):  # only ratios matter: scale huge weights down first
        both = (sw / sw.max()) * w
    return both


# ------------------------------------------------------------------ metrics
def _accuracy(Y: np.ndarray, out: np.ndarray) -> float:
    if Y.shape[1] > 1:
        return float(np.mean(np.argmax(out, axis=1) == np.argmax(Y, axis=1)))
    lo, hi = float(Y.min()), float(Y.max())
    if lo == hi:
        lo, hi = min(lo, 0.0), max(hi, 1.0)
    pred = np.where(out[:, 0] >= (lo + hi) / 2, hi, lo)
    return float(np.mean(pred == Y[:, 0]))


def _r2(Y: np.ndarray, out: np.ndarray) -> float:
    ss_tot = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    ss_res = float(np.sum((Y - out) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


_METRIC_FNS = {
    "accuracy": _accuracy,
    "zero_one": lambda Y, out: zero_one_error(Y, out),  # the lecture's 0/1 error rate
    "mse": lambda Y, out: float(np.mean((Y - out) ** 2)),
    "mae": lambda Y, out: float(np.mean(np.abs(Y - out))),
    "r2": _r2,
}


def resolve_metric(metric: Any, net, loss, Y: np.ndarray) -> tuple[str, Callable]:
    """``(name, fn(Y, outputs) -> float)``. ``'auto'`` is accuracy for classification (a
    classification loss, or 0/1 targets on logistic/softmax/threshold outputs), else R²."""
    if callable(metric) and not isinstance(metric, str):
        return getattr(metric, "__name__", "metric"), metric
    name = check_choice("metric", metric, METRICS)
    if name == "auto":
        outs = {g.activation.name for g in net.plan.groups if g.is_output}
        binary = bool(np.all((Y == 0) | (Y == 1)))
        classify = loss.name in CLASSIFICATION_LOSSES or (
            binary and outs <= {"logistic", "softmax", "threshold"})
        name = "accuracy" if classify else "r2"
    return name, _METRIC_FNS[name]
