"""Mini-batch training with SGD or Adam, step for step as scikit-learn's ``_fit_stochastic``.

Every epoch shuffles the sample indices as ``sklearn.utils.shuffle`` does on the
estimator's ``RandomState``, walks ``gen_batches``, and applies one ``deltanet.optimizers``
update per batch (or hands the epoch to the compiled engine, ``_kernel``). ``loss_`` is
the epoch mean of the batch costs weighted by batch size; ``t_`` counts samples. Stopping
follows scikit-learn: after more than ``n_iter_no_change`` epochs without
an improvement of ``tol`` (training loss, or validation score with ``early_stopping``),
training stops, or with ``learning_rate='adaptive'`` the learning rate is divided by 5.

Early stopping monitors ``fit(validation_data=...)`` when it is given (then no internal
``validation_fraction`` split is taken and every training example trains), as Keras does;
otherwise scikit-learn's split. The best epoch's weights and, with batch normalisation, its
running statistics are restored at the end.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, gen_batches

from .. import optimizers
from ..regularization import copy_bn_stats, put_bn_stats, update_bn_stats
from ._kernel import KernelEpochs, use_kernel
from ._objective import data_loss, loss_grad


def _optimizer(config: dict, learning_rate: float) -> optimizers.GradientTransformation:
    if config["solver"] == "adam":
        return optimizers.adam(config["learning_rate_init"], config["beta_1"],
                               config["beta_2"], config["epsilon"])
    return optimizers.sgd(learning_rate, config["momentum"], config["nesterov"])


def _start_optimizer(est: Any) -> None:
    est._optimizer_config = {
        "solver": est.solver, "learning_rate_init": float(est.learning_rate_init),
        "momentum": float(est.momentum), "nesterov": bool(est.nesterovs_momentum),
        "beta_1": float(est.beta_1), "beta_2": float(est.beta_2),
        "epsilon": float(est.epsilon), "schedule": est.learning_rate,
        "power_t": float(est.power_t)}
    est._learning_rate = float(est.learning_rate_init)
    opt = _optimizer(est._optimizer_config, est._learning_rate)
    est._optimizer_state = opt.init(est.network_.params)


def _split(est: Any, X, Y, sw, y_labels):
    """scikit-learn's early-stopping split (same draws from the same RandomState)."""
    stratify = Y if is_classifier(est) and est.n_outputs_ == 1 else None
    arrays = [X, Y, y_labels] + ([] if sw is None else [sw])
    parts = train_test_split(*arrays, random_state=est._random_state,
                             test_size=est.validation_fraction, stratify=stratify)
    X_tr, X_val, Y_tr, Y_val, _, lab_val = parts[:6]
    sw_tr, sw_val = (None, None) if sw is None else parts[6:8]
    if X_val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return (X_tr, Y_tr, sw_tr), (X_val, Y_val, lab_val, sw_val)


def _shuffle(sample_idx: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
    """``sklearn.utils.shuffle(sample_idx, random_state=random_state)``: the same draw and
    result (``resample`` without replacement shuffles ``arange(n)`` in place and indexes
    with it), without its input checks, which cost more than a compiled epoch of a small
    data set."""
    order = np.arange(sample_idx.shape[0])
    random_state.shuffle(order)
    return sample_idx[order]


def _batch_size(est: Any, n: int) -> int:
    if est.batch_size == "auto":
        return min(200, n)
    if est.batch_size > n:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                      "to be clipped", stacklevel=4)
    return int(np.clip(est.batch_size, 1, n))


def _batches(n: int, batch_size: int, batch_norm: bool) -> list[slice]:
    batches = list(gen_batches(n, batch_size))
    if batch_norm and len(batches) > 1 and batches[-1].stop - batches[-1].start == 1:
        batches[-2:] = [slice(batches[-2].start, n)]  # no batch statistics from one example
    return batches


def _epoch(est: Any, X, Y, sw, sample_idx, batches, drop, rng) -> float:
    """One pass over the batches; returns the accumulated ``Σ_B |B| J_B``."""
    net, params = est.network_, est.network_.params
    opt = _optimizer(est._optimizer_config, est._learning_rate)
    state = est._optimizer_state
    accumulated = 0.0
    for batch in batches:
        idx = sample_idx[batch] if est.shuffle else batch
        Xb = _safe_indexing(X, idx) if est.shuffle else X[batch]
        swb = None if sw is None else sw[idx]
        if swb is not None and not swb.sum():
            continue  # a batch without weight has nothing to learn from (no division by 0)
        loss, grad, cache = loss_grad(est, params, Xb, Y[idx], swb, training=True,
                                      dropout=drop, rng=rng, as_reported=True)
        accumulated += loss * (batch.stop - batch.start)
        if cache.bn:
            update_bn_stats(net.bn_state, cache)
        updates, state = opt.update(grad, state, params)
        params += updates
    est._optimizer_state = state
    return accumulated


def fit_stochastic(est: Any, X, Y, sw, y_labels, incremental: bool, validation) -> None:
    """Train ``est.network_`` in place (see module docstring)."""
    if not incremental or not hasattr(est, "_optimizer_state"):
        _start_optimizer(est)
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if est.early_stopping and validation is None:
        (X, Y, sw), validation = _split(est, X, Y, sw, y_labels)
    n = X.shape[0]
    sample_idx = np.arange(n, dtype=int)
    batch_size = _batch_size(est, n)
    batches = _batches(n, batch_size, est.batch_norm)
    drop = est._dropout_layers()
    rng = np.random.default_rng(est._random_state.randint(2**31 - 1)) if drop else None
    kernel = KernelEpochs(est, X, Y, batch_size) if use_kernel(est, X, sw, drop,
                                                               batch_size) else None
    est.engine_ = "numpy" if kernel is None else "numba"
    try:
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            if est.shuffle:
                sample_idx = _shuffle(sample_idx, est._random_state)
            accumulated = None
            if kernel is not None:
                opt = _optimizer(est._optimizer_config, est._learning_rate)
                accumulated = kernel.run(sample_idx, opt)
                if accumulated is None:  # a non-finite cost: on as scikit-learn goes on
                    kernel, est.engine_ = None, "numpy"
            if accumulated is None:
                accumulated = _epoch(est, X, Y, sw, sample_idx, batches, drop, rng)
            if _end_epoch(est, accumulated, n, validation) or incremental:
                break
            if est.n_iter_ == est.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) "
                              "reached and the optimization hasn't converged yet.",
                              ConvergenceWarning, stacklevel=3)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=3)
    if est.early_stopping:
        est.network_.params[:] = est._best_params
        put_bn_stats(est.network_.bn_state, est._best_bn)


def _end_epoch(est: Any, accumulated: float, n: int, validation) -> bool:
    """Bookkeeping after an epoch, as scikit-learn's; True when training should stop."""
    est.n_iter_ += 1
    est.loss_ = accumulated / n
    est.t_ += n
    est.loss_curve_.append(est.loss_)
    if est.verbose:
        print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
    _record_validation(est, validation)
    _update_no_improvement_count(est, validation)
    _iteration_ends(est)
    if est._no_improvement_count > est.n_iter_no_change:
        if _stop(est):
            return True
        est._no_improvement_count = 0
    return False


def _record_validation(est: Any, validation) -> None:
    if validation is not None:
        X_val, Y_val, _, sw_val = validation
        est.validation_loss_curve_.append(data_loss(est, X_val, Y_val, sw_val,
                                                    as_reported=True))


def _update_no_improvement_count(est: Any, validation) -> None:
    if est.early_stopping:
        X_val, _, labels, sw_val = validation
        score = est._score(X_val, labels, sample_weight=sw_val)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_params = est.network_.params.copy()
            est._best_bn = copy_bn_stats(est.network_.bn_state)
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def _iteration_ends(est: Any) -> None:
    # 'invscaling': η = η_0 / (t + 1)^power_t with t the number of samples seen
    config = est._optimizer_config
    if config["solver"] == "sgd" and config["schedule"] == "invscaling":
        est._learning_rate = config["learning_rate_init"] / (est.t_ + 1) ** config["power_t"]


def _stop(est: Any) -> bool:
    """scikit-learn's ``trigger_stopping``: stop, or divide an adaptive rate by 5."""
    what = "Validation score" if est.early_stopping else "Training loss"
    msg = (f"{what} did not improve more than tol={est.tol:f} for "
           f"{est.n_iter_no_change} consecutive epochs.")
    config = est._optimizer_config
    adaptive = config["solver"] == "sgd" and config["schedule"] == "adaptive"
    if not adaptive:
        if est.verbose:
            print(msg + " Stopping.")
        return True
    if est._learning_rate <= 1e-6:
        if est.verbose:
            print(msg + " Learning rate too small. Stopping.")
        return True
    est._learning_rate /= 5.0
    if est.verbose:
        print(msg + f" Setting learning rate to {est._learning_rate:f}")
    return False
