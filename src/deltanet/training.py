"""NEURALNETTRAIN (seed 002, Lecture 07-4a): epochs of updates over random permutations.

``batch_size=1`` is per-example stochastic gradient descent (the lecture's loop),
``batch_size=k`` mini-batch gradient descent (07-4b) and ``batch_size=None`` full-batch
gradient descent. Each update applies the mean gradient of its examples,
``∂J/∂w_ij = (1/|B|) Σ_{e∈B} Δ_j^(e) a_i^(e)``, through an optimizer (a transform of
:mod:`deltanet.optimizers`). Training stops at the epoch limit, when every training error is
close to zero, when the cost changes less than ``tol`` across an epoch, when the validation
cost stops improving (early stopping), or when a callback asks.

The loop is split so each part can be read (and swapped) on its own: ``_run_epoch`` makes
the updates of one epoch; ``_end_epoch`` records the history, validation, diagnostics and
checkpoints; ``_finish`` restores the best weights and writes the last checkpoint.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import checkpoint as _ckpt
from . import optimizers
from ._callbacks import Callback, CallbackList, ProgressBar, StopTraining
from ._training_setup import compute_class_weight, current_lr, epoch_lrs
from ._validation import NonFiniteError, check_finite
from .propagation import backward, forward, regularization
from .regularization import copy_bn_stats, put_bn_stats, update_bn_stats

__all__ = ["Callback", "History", "StopTraining", "TrainingError", "compute_class_weight",
           "train"]


class TrainingError(RuntimeError):
    """Training cannot go on (the cost became NaN or infinite). ``history`` is attached;
    the network keeps the last good weights."""

    def __init__(self, message: str, history: History | None = None) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What NEURALNETTRAIN did, one entry per epoch.

    ``cost``: mean training cost ``J`` (with the penalty) over the epoch's updates;
    ``val_cost`` / ``val_metric``: loss and metric on the validation set (empty without
    one); ``train_metric``: the metric on the training set (with ``train_metric=True``);
    ``lr``: learning rate of the epoch's last update (None when the optimizer hides it);
    ``diagnostics``: per-epoch dicts (with ``diagnostics=True``, see
    :func:`deltanet.diagnostics.epoch_diagnostics`); ``best_epoch``: the epoch with the
    lowest validation cost (training cost without validation).
    """

    cost: list[float] = field(default_factory=list)
    epochs: int = 0
    updates: int = 0
    stop_reason: str = ""
    val_cost: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    train_metric: list[float] = field(default_factory=list)
    metric: str = ""
    lr: list[float | None] = field(default_factory=list)
    best_epoch: int | None = None
    diagnostics: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def __repr__(self) -> str:
        last = f"{self.cost[-1]:.6g}" if self.cost else "-"
        val = f", final_val_cost={self.val_cost[-1]:.6g}" if self.val_cost else ""
        return (f"History(epochs={self.epochs}, updates={self.updates}, final_cost={last}"
                f"{val}, stop_reason={self.stop_reason!r})")


@dataclass
class _Best:
    """Early-stopping bookkeeping: the best monitored value and, if kept, its weights."""

    value: float = math.inf
    epoch: int | None = None
    wait: int = 0
    params: np.ndarray | None = None
    bn: dict | None = None


@dataclass
class _Run:
    """Everything one training run works on (built by ``_training_run.prepare``)."""

    net: Any
    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    val: tuple | None  # (Xv, Yv, weights_v) or None
    val_idx: np.ndarray | None
    bounds: list
    loss: Any
    cfg: dict  # validated settings
    opt: Any  # _training_setup.Optimizer
    state: Any
    plateau_state: Any
    rng: np.random.Generator
    metric: tuple  # (name, fn)
    hooks: CallbackList
    fingerprint: dict
    hist: History = field(default_factory=History)
    best: _Best = field(default_factory=_Best)
    epoch: int = 0
    stop: str | None = None
    diag_idx: np.ndarray | None = None
    finished: bool = False  # resumed from the checkpoint of a finished run
    x_checked: bool = True  # False: X's finiteness is still to be checked
    runner: Any = None  # a deltanet.kernels epoch runner, or None for _run_epoch's loop


def train(
    net,
    X: Any,
    Y: Any,
    *,
    loss: Any = "squared_error",
    lr: float = 0.1,
    batch_size: int | None = 1,
    epochs: int = 100,
    optimizer: Any = None,
    random_state: Any = None,
    shuffle: bool = True,
    tol: float | None = None,
    error_tol: float | None = None,
    l2: float = 0.0,
    l1: float = 0.0,
    decay_bias: bool = False,
    dropout: Any = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    momentum: float = 0.9,
    lr_schedule: Any = None,
    validation_data: Any = None,
    validation_fraction: float | None = None,
    early_stopping: bool = False,
    patience: int = 10,
    min_delta: float = 0.0,
    restore_best: bool = True,
    metric: Any = "auto",
    train_metric: bool = False,
    callbacks: Any = None,
    verbose: bool = False,
    checkpoint: Any = None,
    checkpoint_every: int = 1,
    resume: Any = False,
    diagnostics: bool = False,
    engine: str = "auto",
) -> History:
    """Train ``net`` in place with NEURALNETTRAIN and return its History.

    Parameters
    ----------
    loss : loss name, e.g. "squared_error", "log_loss", "cross_entropy".
    lr : learning rate α (for rprop: the initial step size Δ₀).
    batch_size : 1 (per-example SGD), k (mini-batch) or None (full batch).
    epochs : the epoch limit.
    optimizer : 'sgd' (default), 'momentum', 'nesterov', 'adam', 'rprop' (full batch
        only), or a ``deltanet.optimizers`` transform.
    random_state : seeds the one generator of training: the validation split, the
        permutations and the dropout masks.
    tol : stop when the cost changes less than ``tol`` across an epoch.
    error_tol : stop when every training error ``|y − a|`` is below ``error_tol``.
    l2, l1 : weight decay ``λ Σ w²`` (update ``−2αλw``) and L1 penalty ``λ₁ Σ |w|``; bias
        arcs only when ``decay_bias``.
    dropout : a rate for every hidden layer, or ``{layer: rate}`` (layer 0 = the inputs);
        survivors are rescaled by ``1/(1 − rate)``; never applied by ``net.forward``.
    sample_weight : one non-negative weight per example: ``J = Σ s_e ℓ_e / Σ s_e``.
    class_weight : ``'balanced'`` (``w_c = n / (n_classes · n_c)``, as scikit-learn's
        ``compute_class_weight``) or ``{class: weight}``, for one-hot targets or one 0/1
        output; multiplies ``sample_weight``.
    momentum : μ of the 'momentum' and 'nesterov' optimizers.
    lr_schedule : 'constant', 'invscaling' (``α/√(t+1)``, t = examples seen, as
        scikit-learn), 'step' (halve every ``epochs // 4`` epochs), 'cosine'
        (``α(1 + cos(πt/T))/2`` over the T updates, t = 0..T−1: as PyTorch's and Optax's
        cosine schedules, it reaches 0 just after the last update, which still learns),
        'plateau' (divide by 5 when the monitored cost stalls; or pass a
        ``optimizers.ReduceOnPlateau``), or a callable ``update -> α``.
    validation_data : ``(Xv, Yv)`` or ``(Xv, Yv, sample_weight_v)``.
    validation_fraction : hold out this fraction of ``(X, Y)`` (drawn at random); early
        stopping without validation data holds out 0.1.
    early_stopping, patience, min_delta, restore_best : stop after ``patience`` epochs in
        which the validation cost did not fall below its best minus ``min_delta``; then
        (and at any other stop) put back the weights of the best epoch if ``restore_best``.
    metric : 'auto' (accuracy for classification, else R²), 'accuracy', 'mse', 'mae',
        'r2' or ``f(Y, outputs) -> float``; recorded on validation data each epoch, and on
        the training data with ``train_metric=True``.
    callbacks : functions ``f(epoch, logs)`` or objects with ``on_epoch_end(epoch, logs)`` /
        ``on_batch_end(update, logs)``; raising or returning ``StopTraining`` stops.
    verbose : show a progress bar on stderr (epoch, loss, validation metric, time left).
    checkpoint, checkpoint_every : write everything needed to continue to this file, every
        N epochs and when training ends (atomically).
    resume : True to continue from ``checkpoint`` if the file exists (else start afresh),
        or the path of a checkpoint. A resumed run ends with bit-for-bit the weights of an
        uninterrupted one; a different network, data or setting is refused. ``epochs`` may
        grow: a run that ended at its epoch limit goes on to the new one (as an
        uninterrupted run with that limit; refused for 'step' and 'cosine', which depend on
        the limit); fewer epochs than the checkpoint has are refused. A finished run that
        stopped for another reason gives back its weights and history without training.
    diagnostics : record per epoch, on a fixed sample of at most 256 examples, the
        gradient norm and mean ``|Δ_j|`` per group, the mean weight change, the fraction of
        saturated logistic/tanh units and of dead ReLU units (batch normalisation with the
        sample's own statistics, as in training, not the running ones of prediction).
    engine : 'auto' (default), 'numba' or 'numpy': how the updates of an epoch run (see
        :mod:`deltanet.kernels`). 'numba' compiles the whole epoch (a per-example loop for
        small updates, a loop around BLAS products for larger batches), 'numpy' runs
        mini-batches on BLAS from Python; both give the same weights to rounding. 'auto'
        picks Numba when it supports every setting; 'numba' with batch normalisation,
        dropout or Rprop/custom optimizers is a ValueError. When nothing needs Python
        between epochs (no callbacks or ``verbose``, validation, ``train_metric``,
        ``error_tol``, diagnostics, checkpoints, plateau schedule or early stopping), the
        per-example and small-batch engine runs many epochs per compiled call (about
        50 ms' worth), with the same weights, history and random draws as one at a time:
        a tiny network's epoch then costs its updates, not the Python around them.

    Batch normalisation needs batches of two or more: ``batch_size=1`` is refused, and a
    last batch of one example is merged into the batch before it.

    Examples
    --------
    >>> import numpy as np, deltanet as dn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); y = np.array([0, 1, 1, 0.])
    >>> net = dn.Network.layered([2, 3, 1], random_state=0)
    >>> hist = dn.train(net, X, y, loss="log_loss", lr=0.5, epochs=2000, random_state=0)
    >>> (net.forward(X)[:, 0] > 0.5).astype(int).tolist()
    [0, 1, 1, 0]
    """
    from ._training_run import prepare

    settings = {k: v for k, v in locals().items() if k not in ("net", "X", "Y")}
    run = prepare(net, X, Y, settings)
    if not run.finished:
        run.runner = _engine_runner(run, engine)
    if not run.x_checked and not _checks_inputs(run):
        check_finite("X", run.X)
    if run.finished:
        _restore_best(run)
        return run.hist
    progress = None
    if run.cfg["verbose"]:
        progress = ProgressBar(run.cfg["epochs"], run.epoch, run.metric[0])
        run.hooks.epoch.append(progress.on_epoch_end)
    started = time.perf_counter()
    quiet, seconds = _runs_quietly(run), None
    try:
        epoch = run.epoch + 1
        while epoch <= run.cfg["epochs"]:
            span = _quiet_span(run, epoch, seconds) if quiet else 1
            if span == 1:  # (a span's runner keeps each epoch's start weights itself)
                before, bn_before = net.params.copy(), copy_bn_stats(net.bn_state)
            tick = time.perf_counter()
            try:
                # overflow on the way to a non-finite cost is reported by the cost check
                with np.errstate(over="ignore", invalid="ignore"):
                    if span > 1:
                        _quiet_epochs(run, epoch, span)
                    else:
                        cost = _run_epoch(run, epoch)
            except (TrainingError, NonFiniteError) as err:
                if span == 1:
                    net.params[:] = before
                    put_bn_stats(net.bn_state, bn_before)
                if isinstance(err, TrainingError):
                    err.history = run.hist
                raise
            seconds = (time.perf_counter() - tick) / span
            if span == 1:
                run.stop = _end_epoch(run, epoch, cost, before, started) or run.stop
            epoch = run.epoch + 1
            if run.stop:
                break
    finally:
        if progress is not None:
            progress.close()
    _finish(run, run.stop or f"reached the epoch limit ({run.cfg['epochs']})")
    return run.hist


def _run_epoch(run: _Run, epoch: int) -> float:
    """One epoch of updates: a random permutation, then one update per batch.

    Returns the mean cost over the epoch's examples (each batch's cost measured before its
    update). The generator ``run.rng`` is used for the permutation and dropout only.
    """
    net, cfg = run.net, run.cfg
    plan, params, drop, update = net.plan, net.params, cfg["dropout"], run.opt.transform.update
    X, Y, weights, loss = run.X, run.Y, run.weights, run.loss
    l2, l1, decay_bias = cfg["l2"], cfg["l1"], cfg["decay_bias"]
    order = run.rng.permutation(X.shape[0]) if cfg["shuffle"] else np.arange(X.shape[0])
    if run.runner is not None:
        return _fast_epoch(run, epoch, order)
    total, seen = 0.0, 0
    for start, stop in run.bounds:
        idx = order[start:stop]
        wb = None if weights is None else weights[idx]
        cache = forward(plan, params, X[idx], training=True, bn_state=net.bn_state,
                        dropout=drop, rng=run.rng)
        grad, _, per_ex = backward(plan, params, cache, Y[idx], loss, wb)
        reg_cost, reg_grad = regularization(plan, params, l2, l1, decay_bias)
        if reg_grad is not None:
            grad += reg_grad.astype(grad.dtype)
        batch_cost = float(np.mean(per_ex if wb is None else per_ex * wb)) + reg_cost
        if not math.isfinite(batch_cost):
            _diverged(run, epoch, batch_cost)
        if cache.bn:
            update_bn_stats(net.bn_state, cache)
        updates, run.state = update(grad, run.state, params)
        params += updates.astype(params.dtype, copy=False)
        run.hist.updates += 1
        total, seen = total + batch_cost * len(idx), seen + len(idx)
        if run.hooks.batch:
            run.stop = run.hooks.batch_end(run.hist.updates, {
                "epoch": epoch, "update": run.hist.updates, "batch_cost": batch_cost,
                "batch_size": len(idx)})
            if run.stop:
                break
    return total / seen


def _diverged(run: _Run, epoch: int, batch_cost: float) -> None:
    run.hist.stop_reason = f"cost became {batch_cost} in epoch {epoch}"
    raise TrainingError(
        f"the cost became {batch_cost} in epoch {epoch} (update {run.hist.updates + 1});"
        " the weights of the end of the last good epoch were kept. Lower the "
        "learning rate, scale the inputs, or add weight decay", run.hist)


def _checks_inputs(run: _Run) -> bool:
    """Whether the runner checks each batch's rows for NaN/inf as it gathers them, before
    the batch's update: then a bad row stops the first epoch with ``NonFiniteError`` and the
    epoch's start weights are put back, and the separate pass over ``X`` is saved. Not with
    per-update callbacks, which would have seen the updates before the bad row, nor when no
    epoch is left to run."""
    return (run.runner is not None and run.runner.checks_inputs and not run.hooks.batch
            and run.epoch < run.cfg["epochs"])


def _engine_runner(run: _Run, engine: str):
    """The fast epoch runner ``engine`` resolves to, or None for the reference loop."""
    from . import kernels

    cfg, (start, stop) = run.cfg, run.bounds[0]
    kind = kernels.choose_engine(engine, run.net, run.loss, run.opt.transform, stop - start,
                                 dropout=cfg["dropout"])
    if kind == "reference":
        return None
    return kernels.make_runner(kind, run.net, run.X, run.Y, run.weights, stop - start,
                               run.loss, run.opt.transform, cfg["l2"], cfg["l1"],
                               cfg["decay_bias"])


def _fast_epoch(run: _Run, epoch: int, order: np.ndarray) -> float:
    """One epoch on a compiled or buffered engine: the same updates, per-update callbacks
    and mean cost as the loop of ``_run_epoch``."""
    base = run.hist.updates

    def after_batch(t: int, batch_cost: float, size: int) -> bool:
        run.hist.updates = base + t
        run.stop = run.hooks.batch_end(run.hist.updates, {
            "epoch": epoch, "update": run.hist.updates, "batch_cost": batch_cost,
            "batch_size": size})
        return bool(run.stop)

    res = run.runner.run(order, run.state, after_batch if run.hooks.batch else None)
    run.state, run.hist.updates = res.state, base + res.updates
    if res.bad is not None:
        _diverged(run, epoch, res.bad)
    return res.total / res.seen


QUIET_SECONDS = 0.05  # the longest stretch of epochs run in one compiled call


def _runs_quietly(run: _Run) -> bool:
    """Whether nothing needs Python between epochs, so that the compiled per-example engine
    may run several in one call (``NumbaRunner.run_epochs``): no callbacks or progress bar, no
    validation, training metric, ``error_tol``, diagnostics, checkpoints, plateau schedule
    or early stopping. The stopping rule ``tol`` runs inside the call."""
    cfg = run.cfg
    return (getattr(run.runner, "runs_epochs", False) and not run.hooks.epoch
            and not run.hooks.batch and run.val is None and not cfg["train_metric"]
            and cfg["error_tol"] is None and not cfg["diagnostics"]
            and cfg["checkpoint"] is None and run.opt.plateau is None
            and not cfg["early_stopping"] and _rates_ahead(run.opt))


def _rates_ahead(opt) -> bool:
    """Whether the learning rates of a stretch may be worked out before it runs: a constant
    or a schedule by name. A callable of the user's may count its calls, or raise for an
    update that a stop would never have reached."""
    if opt.name == "custom":
        from .kernels._optim import adam_settings, sgd_settings

        settings = sgd_settings(opt.transform) or adam_settings(opt.transform)
        return settings is not None and not callable(settings[0])
    return not opt.schedule_name.startswith("callable")


QUIET_ORDERS = 2**20  # at most this many example indices drawn for one call


def _quiet_span(run: _Run, epoch: int, seconds: float | None) -> int:
    """How many epochs, from ``epoch`` on, to run in one call: as many as fit in
    ``QUIET_SECONDS`` at the last epoch's pace (so that an interrupt is seen soon) and whose
    orders fit in ``QUIET_ORDERS``; one until that pace is known."""
    if seconds is None:
        return 1
    most = min(run.cfg["epochs"] - epoch + 1, QUIET_ORDERS // run.X.shape[0])
    return max(1, min(most, int(QUIET_SECONDS / max(seconds, 1e-9))))


def _quiet_epochs(run: _Run, epoch: int, span: int) -> None:
    """Epochs ``epoch … epoch + span − 1`` in one call of the runner, recorded as
    ``_end_epoch`` records them: cost, learning rate, best epoch, the ``tol`` stop."""
    cfg, hist, n = run.cfg, run.hist, run.X.shape[0]
    drawn = run.rng.bit_generator.state
    orders = _orders(run.rng, n, span, cfg["shuffle"])
    try:
        res = run.runner.run_epochs(orders, run.state, cfg["tol"],
                                    hist.cost[-1] if hist.cost else None)
    except BaseException:
        run.rng.bit_generator.state = drawn
        raise
    done = len(res.costs) + (res.bad is not None)
    if done < span:  # draw only the orders of the epochs run, as one at a time would
        run.rng.bit_generator.state = drawn
        _orders(run.rng, n, done, cfg["shuffle"])
    hist.cost += res.costs
    hist.lr += epoch_lrs(run.opt, run.state, len(run.bounds), len(res.costs))
    for i, cost in enumerate(res.costs):
        _track_best(run, epoch + i, cost)
    run.state = res.state
    hist.updates += res.updates
    if res.costs:
        run.epoch = hist.epochs = epoch + len(res.costs) - 1
    if res.bad is not None:
        _diverged(run, epoch + len(res.costs), res.bad)
    if res.converged:
        run.stop = _tol_reason(cfg["tol"])


def _orders(rng: np.random.Generator, n: int, span: int, shuffle: bool) -> np.ndarray:
    """The orders of ``span`` epochs, one per row: those ``span`` calls of
    ``rng.permutation(n)`` draw (as ``_run_epoch``), or ``0 … n−1`` without shuffling."""
    rows = np.tile(np.arange(n, dtype=np.int64), (span, 1))
    if shuffle and _permuted_rows_match():
        rng.permuted(rows, axis=1, out=rows)  # one call instead of span
    elif shuffle:
        for row in rows:
            row[:] = rng.permutation(n)
    return rows


@functools.cache
def _permuted_rows_match() -> bool:
    """Whether ``Generator.permuted(rows, axis=1)`` takes the same draws as one
    ``permutation`` per row, in turn (NumPy shuffles each row by the algorithm of
    ``shuffle``; checked once, so that grouping epochs can never change a run)."""
    one, each = np.random.default_rng(20261124), np.random.default_rng(20261124)
    rows = np.tile(np.arange(10, dtype=np.int64), (3, 1))
    one.permuted(rows, axis=1, out=rows)
    return (all(np.array_equal(row, each.permutation(10)) for row in rows)
            and one.random() == each.random())


def _evaluate(run: _Run, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None):
    """Mean loss (weighted by ``w``, no penalty) and outputs in prediction mode."""
    plan = run.net.plan
    cache = forward(plan, run.net.params, X, bn_state=run.net.bn_state)
    per_ex = np.zeros(X.shape[0])
    outs = [g for g in plan.groups if g.is_output]
    for g, cols in zip(outs, plan.out_cols, strict=True):
        per_ex += run.loss.value(Y[:, cols], cache.a[g.layer], cache.in_[g.layer],
                                 g.activation)
    cost = float(np.mean(per_ex if w is None else per_ex * w))
    return cost, cache.outputs


def _end_epoch(run: _Run, epoch: int, cost: float, before: np.ndarray,
               started: float) -> str | None:
    """Record the epoch, then decide whether to stop (returns the reason)."""
    net, cfg, hist = run.net, run.cfg, run.hist
    run.epoch = hist.epochs = epoch
    hist.cost.append(cost)
    monitored = cost
    if run.val is not None:
        monitored, out = _evaluate(run, *run.val)
        hist.val_cost.append(monitored)
        hist.val_metric.append(float(run.metric[1](run.val[1], out)))
    train_out = None
    if cfg["train_metric"] or cfg["error_tol"] is not None:
        train_out = forward(net.plan, net.params, run.X, bn_state=net.bn_state).outputs
    if cfg["train_metric"]:
        hist.train_metric.append(float(run.metric[1](run.Y, train_out)))
    hist.lr.append(current_lr(run.opt, run.state))
    if cfg["diagnostics"]:
        from .diagnostics import epoch_diagnostics

        idx = run.diag_idx
        rec = epoch_diagnostics(net, run.X[idx], run.Y[idx], run.loss, before)
        hist.diagnostics.append({"epoch": epoch, **rec})
    reason = _stop_reason(run, epoch, monitored, train_out)
    if cfg["checkpoint"] is not None and not reason and epoch % cfg["checkpoint_every"] == 0:
        _ckpt.save_run(run)
    logs = {"epoch": epoch, "cost": cost, "updates": hist.updates,
            "val_cost": hist.val_cost[-1] if hist.val_cost else None,
            "val_metric": hist.val_metric[-1] if hist.val_metric else None,
            "train_metric": hist.train_metric[-1] if hist.train_metric else None,
            "lr": hist.lr[-1], "elapsed": time.perf_counter() - started}
    return run.hooks.epoch_end(epoch, logs) or reason


def _stop_reason(run: _Run, epoch: int, monitored: float, train_out) -> str | None:
    """Early stopping, the plateau rule, ``error_tol`` and ``tol``, in that order."""
    cfg, best, hist = run.cfg, run.best, run.hist
    _track_best(run, epoch, monitored)
    if run.opt.plateau is not None:
        scale, run.plateau_state = run.opt.plateau.update(monitored, run.plateau_state)
        run.state = optimizers.set_lr_scale(run.state, scale)
        if run.plateau_state.done:
            return "the learning rate reached its minimum on a plateau"
    if cfg["early_stopping"] and best.wait >= cfg["patience"]:
        what = "validation cost" if run.val is not None else "cost"
        return (f"early stopping: the {what} did not improve by min_delta for "
                f"{cfg['patience']} epochs (best epoch {best.epoch})")
    if train_out is not None and cfg["error_tol"] is not None \
            and np.max(np.abs(train_out - run.Y)) < cfg["error_tol"]:
        return f"every training error is below error_tol={cfg['error_tol']:g}"
    if cfg["tol"] is not None and epoch > 1 and abs(hist.cost[-2] - hist.cost[-1]) < cfg["tol"]:
        return _tol_reason(cfg["tol"])
    return None


def _track_best(run: _Run, epoch: int, monitored: float) -> None:
    """Keep the best monitored value (and its weights, for early stopping with restore)."""
    cfg, best = run.cfg, run.best
    if monitored < best.value - cfg["min_delta"]:
        best.value, best.epoch, best.wait = monitored, epoch, 0
        if cfg["early_stopping"] and cfg["restore_best"]:
            best.params = run.net.params.copy()
            best.bn = copy_bn_stats(run.net.bn_state)
    else:
        best.wait += 1
    run.hist.best_epoch = best.epoch


def _tol_reason(tol: float) -> str:
    return f"the cost changed less than tol={tol:g} across an epoch"


def _finish(run: _Run, reason: str) -> None:
    """Write the final checkpoint, then put back the best weights (early stopping).

    The checkpoint keeps the weights of the last epoch (and the best ones beside them), so
    that a resume with a longer epoch limit goes on from where the run stopped.
    """
    run.hist.stop_reason = reason
    if run.cfg["checkpoint"] is not None:
        _ckpt.save_run(run, finished=True)
    _restore_best(run)


def _restore_best(run: _Run) -> None:
    """With early stopping and ``restore_best``: the weights and statistics of the best epoch."""
    best = run.best
    if run.cfg["early_stopping"] and run.cfg["restore_best"] and best.params is not None:
        run.net.params[:] = best.params
        put_bn_stats(run.net.bn_state, best.bn)
