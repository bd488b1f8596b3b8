"""Mini-batch training with SGD or Adam, step for step as scikit-learn's ``_fit_stochastic``,
run by NEURALNETTRAIN's loop (:func:`deltanet.training.loop.neural_net_train`).

The estimator gives the loop three things of its own: the order of every epoch
(``SklearnOrder``: the sample indices shuffled as ``sklearn.utils.shuffle`` does on the
estimator's ``RandomState``), an engine (``SklearnEpochs``: the batches of
``batch_bounds``, one ``deltanet.optimizers`` update per batch, or the epoch handed to the
compiled engine, ``_kernel``) and scikit-learn's stopping policy as an end-of-epoch
callback (``SklearnStopping``). ``loss_`` is the epoch mean of the batch costs weighted by
batch size; ``t_`` counts samples. Stopping follows scikit-learn: after more than
``n_iter_no_change`` epochs without an improvement of ``tol`` (training loss, or
validation score with ``early_stopping``), training stops, or with
``learning_rate='adaptive'`` the learning rate is divided by 5.

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
from sklearn.utils import _safe_indexing

from .. import optimizers
from ..engines import EpochResult
from ..engines.protocol import overflow_ignored
from ..regularization import batch_bounds, copy_bn_stats, put_bn_stats, update_bn_stats
from ..training.api import settings_for
from ..training.callbacks import Callback
from ..training.loop import neural_net_train
from ..training.run import run_for
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


class SklearnOrder:
    """The order of every epoch as scikit-learn draws it: the sample indices of the epoch
    before, shuffled as ``sklearn.utils.shuffle(sample_idx, random_state=...)`` does (the
    same draw and result: ``resample`` without replacement shuffles ``arange(n)`` in place
    and indexes with it), without its input checks, which cost more than a compiled epoch
    of a small data set. ``permutation(n)`` is the loop's π."""

    def __init__(self, random_state: np.random.RandomState, n: int) -> None:
        self.random_state, self.sample_idx = random_state, np.arange(n, dtype=int)

    def permutation(self, n: int) -> np.ndarray:
        order = np.arange(n)
        self.random_state.shuffle(order)
        self.sample_idx = self.sample_idx[order]
        return self.sample_idx


def _batch_size(est: Any, n: int) -> int:
    if est.batch_size == "auto":
        return min(200, n)
    if est.batch_size > n:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                      "to be clipped", stacklevel=4)
    return int(np.clip(est.batch_size, 1, n))


def _epoch(est: Any, X, Y, sw, sample_idx, batches, drop, rng) -> float:
    """One pass over the batches, scikit-learn's loop; returns ``Σ_B |B| J_B``."""
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


class SklearnEpochs:
    """The estimator's epochs as an engine (:class:`deltanet.engines.Engine`): on the
    compiled kernel when it computes what scikit-learn computes, else scikit-learn's own
    loop (``_epoch``), over scikit-learn's ``gen_batches`` (``batch_bounds``: with batch
    normalisation a last batch of one example joins the one before). The optimizer is
    built per epoch from the estimator's learning rate, which ``'invscaling'`` and
    ``'adaptive'`` change between epochs. A non-finite cost does not stop scikit-learn: the
    compiled loops stop there, so the epoch runs again on scikit-learn's loop, which goes
    on, and so do the epochs after it. ``seen`` is every sample (scikit-learn divides by
    them all, a batch without weight included)."""

    checks_inputs = False
    runs_epochs = False
    reusable = False

    def __init__(self, est: Any, X, Y, sw, batch_size: int, drop, rng) -> None:
        self.est, self.X, self.Y, self.sw, self.drop, self.rng = est, X, Y, sw, drop, rng
        self.batches = [slice(a, b) for a, b in batch_bounds(X.shape[0], batch_size,
                                                              est.batch_norm)]
        self.kernel = KernelEpochs(est, X, Y, batch_size) if use_kernel(
            est, X, sw, drop, batch_size) else None
        est.engine_ = "numpy" if self.kernel is None else "numba"

    @property
    def engine(self) -> str:
        return self.est.engine_

    @overflow_ignored
    def run(self, order: np.ndarray, state: Any, after_batch: Any = None) -> EpochResult:
        est = self.est
        est._optimizer_state = state
        accumulated = None
        if self.kernel is not None:
            opt = _optimizer(est._optimizer_config, est._learning_rate)
            accumulated = self.kernel.run(order, opt)
            if accumulated is None:  # a non-finite cost: on as scikit-learn goes on
                self.kernel, est.engine_ = None, "numpy"
                est.engine_reason_ = ("a non-finite cost (the compiled loops stop there; "
                                      "scikit-learn's loop trains on)")
        if accumulated is None:
            accumulated = _epoch(est, self.X, self.Y, self.sw, order, self.batches,
                                 self.drop, self.rng)
        return EpochResult(accumulated, self.X.shape[0], len(self.batches), None,
                           est._optimizer_state)


class SklearnStopping(Callback):
    """scikit-learn's stopping policy after every epoch: record ``loss_`` (the loop's epoch
    cost, ``Σ_B |B| J_B / n``), the validation loss and score, count the epochs without an
    improvement of ``tol`` and, after more than ``n_iter_no_change`` of them, stop (or
    divide an adaptive learning rate by 5)."""

    def __init__(self, est: Any, n: int, validation) -> None:
        self.est, self.n, self.validation, self.stopped = est, n, validation, False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> str | None:
        est = self.est
        if not _end_epoch(est, logs["monitored"], self.n, self.validation):
            return None
        self.stopped = True
        what = "validation score" if est.early_stopping else "training loss"
        return (f"the {what} did not improve by tol={est.tol:g} for "
                f"n_iter_no_change={est.n_iter_no_change} epochs")


def fit_stochastic(est: Any, X, Y, sw, y_labels, incremental: bool, validation) -> None:
    """Train ``est.network_`` in place (see module docstring)."""
    begin(est, incremental)
    if est.early_stopping and validation is None:
        (X, Y, sw), validation = _split(est, X, Y, sw, y_labels)
    n = X.shape[0]
    batch_size = _batch_size(est, n)
    drop = est._dropout_layers()
    engine = SklearnEpochs(est, X, Y, sw, batch_size, drop, dropout_rng(est, drop))
    train_epochs(est, engine, (X, Y), SklearnOrder(est._random_state, n), n, validation,
                 batch_size, incremental)


def begin(est: Any, incremental: bool) -> None:
    """A new optimizer state unless a partial fit goes on with the one it has."""
    if not incremental or not hasattr(est, "_optimizer_state"):
        _start_optimizer(est)
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")


def dropout_rng(est: Any, drop) -> np.random.Generator | None:
    """The generator of the dropout masks, seeded from the estimator's ``RandomState``."""
    return np.random.default_rng(est._random_state.randint(2**31 - 1)) if drop else None


def train_epochs(est: Any, engine: Any, data: tuple, order: Any, n: int, validation,
                 batch_size: int, incremental: bool) -> None:
    """NEURALNETTRAIN's loop over ``engine``'s epochs (``order``: the loop's π, or None
    when the engine draws its own), with scikit-learn's stopping policy; ``n`` examples
    train. With early stopping, the best epoch's weights are put back."""
    stopping = SklearnStopping(est, n, validation)
    settings = settings_for(est.network_, epochs=1 if incremental else est.max_iter,
                            batch_size=batch_size, shuffle=bool(est.shuffle))
    run = run_for(est.network_, *data, settings, engine, est._optimizer_state, order,
                  [stopping])
    est.n_iter_ = 0
    try:
        neural_net_train(run)
        if not incremental and not stopping.stopped and est.n_iter_ == est.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=4)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=4)
    if est.early_stopping:
        est.network_.params[:] = est._best_params
        put_bn_stats(est.network_.bn_state, est._best_bn)


def _end_epoch(est: Any, loss: float, n: int, validation) -> bool:
    """Bookkeeping after an epoch, as scikit-learn's; True when training should stop."""
    est.n_iter_ += 1
    est.loss_ = loss
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
    if validation is None:
        return
    if hasattr(validation, "loss"):  # rows read chunk by chunk (a stream's)
        est.validation_loss_curve_.append(validation.loss(est))
        return
    X_val, Y_val, _, sw_val = validation
    est.validation_loss_curve_.append(data_loss(est, X_val, Y_val, sw_val, as_reported=True))


def _validation_score(est: Any, validation) -> float:
    if hasattr(validation, "score"):  # rows read chunk by chunk (a stream's)
        return validation.score(est)
    X_val, _, labels, sw_val = validation
    return est._score(X_val, labels, sample_weight=sw_val)


def _update_no_improvement_count(est: Any, validation) -> None:
    if est.early_stopping:
        score = _validation_score(est, validation)
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
