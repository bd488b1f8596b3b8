"""The data of a run: the validation split, validation arrays, class and sample weights,
and the check that a loss suits the network's outputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_array, check_choice, check_number, fail
from ..propagation import normalize_sample_weight, prepare_inputs, prepare_targets

# losses that take the log of the outputs, so need outputs that are probabilities
PROBABILITY_OUTPUTS = {"log_loss": ("logistic", "softmax"),
                       "cross_entropy": ("softmax", "logistic")}


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


def draws_split(validation_data: Any, validation_fraction: Any, early_stopping: bool) -> bool:
    """Whether ``split_validation`` holds examples out (and so draws from the generator): a
    fraction given, or early stopping without validation data (0.1 then)."""
    return validation_data is None and (validation_fraction is not None or early_stopping)


def split_validation(rng: np.random.Generator, n: int, validation_data: Any,
                     validation_fraction: Any, early_stopping: bool) -> np.ndarray | None:
    """Indices of the examples held out for validation (drawn from ``rng``), or None."""
    if validation_data is not None and validation_fraction is not None:
        fail("give validation_data or validation_fraction, not both", validation_fraction,
             "drop one of them")
    if not draws_split(validation_data, validation_fraction, early_stopping):
        return None
    if validation_fraction is None:
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


def split(X, Y, sw, val_idx, val_data, class_weight, dtype):
    """Training and validation arrays and their (class-)weights, each scaled to mean 1."""
    if val_idx is not None:
        keep = np.ones(X.shape[0], dtype=bool)
        keep[val_idx] = False
        val_sw = None if sw is None else sw[val_idx]
        val_data = (X[val_idx], Y[val_idx], val_sw)
        X, Y, sw = X[keep], Y[keep], None if sw is None else sw[keep]
    w = combined_weights(sw, class_weight, Y, dtype)
    weights = normalize_sample_weight(w, X.shape[0], dtype)
    val = None
    if val_data is not None:
        Xv, Yv, swv = val_data
        if class_weight is not None:
            per_class = compute_class_weight(class_weight, Y)
            class_weight = per_class  # the training set's class weights, for both parts
        wv = combined_weights(swv, class_weight, Yv, dtype)
        val = (Xv, Yv, normalize_sample_weight(wv, Xv.shape[0], dtype))
    return X, Y, weights, val
