"""NEURALNETTRAIN (seed 002, Lecture 07-4a): epochs of updates over random permutations::

    NEURALNETTRAIN(N, D)
      until a stopping condition holds, for each epoch:
        π ← a random permutation of the examples of D
        for each batch B of π (one example, k of them, or all):
          BACKPROPAGATE B:  Δ_j and ∂J/∂w_ij = (1/|B|) Σ_{e∈B} Δ_j^(e) a_i^(e)
          w ← w + Δw        (the optimizer's update; SGD: Δw = −α ∂J/∂w)
        record the epoch; stop at the epoch limit, when the cost stops changing (tol),
        when every error is small (error_tol), on early stopping, or when a callback asks

``batch_size=1`` is per-example stochastic gradient descent (the lecture's loop),
``batch_size=k`` mini-batch gradient descent (07-4b) and ``batch_size=None`` full-batch
gradient descent. The inner loop over the batches is the engine's (:mod:`deltanet.engines`:
the reference passes, or a compiled loop with the same arithmetic); the loop here does not
know which one runs. What happens at the end of an epoch (validation, diagnostics, the
stopping rules, checkpoints, progress) is callbacks (:mod:`.monitors`, :mod:`.callbacks`).
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import NonFiniteError, TargetValueError
from ..propagation import forward
from ..regularization import copy_bn_stats, put_bn_stats
from . import checkpoints, monitors, spans
from .callbacks import ProgressBar
from .history import History, TrainingError
from .metrics import evaluate
from .optimizer import current_lr
from .run import Run


def neural_net_train(run: Run) -> History:
    """Run the epochs of ``run`` (built by :func:`deltanet.training.run.prepare`) and return
    its history; the network is trained in place."""
    s, hist = run.settings, run.hist
    if run.finished:  # resumed from the checkpoint of a run that is over
        restore_best(run)
        return hist
    if spans.runs_quietly(run):  # nothing between epochs: several per call
        spans.quiet_run(run)
    else:
        _epoch_by_epoch(run)
    finish(run, run.stop or f"reached the epoch limit ({s.epochs})")
    return hist


def _epoch_by_epoch(run: Run) -> None:
    """The epochs of a run with something to do between them, one engine call each."""
    net, s, hist = run.net, run.settings, run.hist
    progress = _progress_bar(run) if s.verbose else None
    if run.monitors is None:
        run.monitors = monitors.monitors(run)
    started = time.perf_counter()
    try:
        while run.epoch < s.epochs and not run.stop:
            epoch = run.epoch + 1
            run.epoch_start, bn_start = net.params.copy(), copy_bn_stats(net.bn_state)
            drawn = _caller_generator_state(run)
            order = _order(run)  # π
            base = hist.updates
            try:
                # the batches of π: BACKPROPAGATE and the update, on the engine
                res = run.engine.run(order, run.state, _after_batch(run, epoch, base))
                run.state, hist.updates = res.state, base + res.updates
                if res.bad is not None:
                    run.diverged(epoch, res.bad)
            except (TrainingError, NonFiniteError, TargetValueError) as error:
                net.params[:] = run.epoch_start  # back to the last good epoch's end
                put_bn_stats(net.bn_state, bn_start)
                if drawn is not None and not isinstance(error, TrainingError):
                    run.rng.bit_generator.state = drawn  # a bad row: as if refused before
                raise
            run.rows_unchecked = False  # the engine has read every row
            run.stop = end_epoch(run, epoch, res.total / res.seen, started) or run.stop
    finally:
        if progress is not None:
            progress.close()


def _order(run: Run) -> np.ndarray | None:
    """π for the epoch; None for an engine over a stream, which draws it window by window
    (:mod:`.streaming`)."""
    if getattr(run.engine, "source", None) is not None:
        return None
    n = run.X.shape[0]
    return run.rng.permutation(n) if run.settings.shuffle else np.arange(n)


def _caller_generator_state(run: Run) -> dict | None:
    """The state of the caller's own ``Generator`` (``random_state=rng``) while the engine
    has not yet read every row: a bad row found then leaves it as a check before training
    would have (undrawn). None otherwise (the run's own generators are nobody else's)."""
    if run.rows_unchecked and run.callers_generator:
        return run.rng.bit_generator.state
    return None


def _after_batch(run: Run, epoch: int, base: int):
    """The engine's hook after every update: the user's per-update callbacks, or None.

    They run under the caller's NumPy error settings, as the epoch callbacks do: an engine
    that computes in NumPy silences overflow on its way to a non-finite cost
    (``engines.protocol.overflow_ignored``), which is no reason to silence the user's code."""
    if not run.callbacks.batch:
        return None
    callers = np.geterr()

    def after_batch(t: int, batch_cost: float, size: int) -> bool:
        run.hist.updates = base + t
        with np.errstate(**callers):
            run.stop = run.callbacks.batch_end(run.hist.updates, {
                "epoch": epoch, "update": run.hist.updates, "batch_cost": batch_cost,
                "batch_size": size})
        return bool(run.stop)

    return after_batch


def _progress_bar(run: Run) -> ProgressBar:
    """``verbose``: a progress bar on stderr, after a line that names the engine (and why
    it is not the one asked for)."""
    bar = ProgressBar(run.settings.epochs, run.epoch, run.metric[0])
    why = f" ({run.hist.engine_reason})" if run.hist.engine_reason else ""
    bar.note(f"engine: {run.hist.engine}{why}")
    run.callbacks.epoch.append(bar.on_epoch_end)
    return bar


def end_epoch(run: Run, epoch: int, cost: float, started: float) -> str | None:
    """Record the epoch (cost, validation, metrics, learning rate), then run the callbacks:
    the run's own (:mod:`.monitors`), then the user's. Returns the reason to stop, if any."""
    net, s, hist = run.net, run.settings, run.hist
    run.epoch = hist.epochs = epoch
    hist.cost.append(cost)
    monitored = cost
    if run.val is not None:
        monitored, out = evaluate(net, s.loss, *run.val)
        hist.val_cost.append(monitored)
        hist.val_metric.append(float(run.metric[1](run.val[1], out)))
    train_out = None
    if s.train_metric or s.error_tol is not None:
        train_out = forward(net.plan, net.params, run.X, bn_state=net.bn_state).outputs
    if s.train_metric:
        hist.train_metric.append(float(run.metric[1](run.Y, train_out)))
    hist.lr.append(current_lr(run.optimizer, run.state))
    reason = monitors.epoch_end(run.monitors, epoch,
                                {"monitored": monitored, "train_outputs": train_out})
    if not run.callbacks.epoch:
        return reason
    logs = {"epoch": epoch, "cost": cost, "updates": hist.updates,
            "val_cost": hist.val_cost[-1] if hist.val_cost else None,
            "val_metric": hist.val_metric[-1] if hist.val_metric else None,
            "train_metric": hist.train_metric[-1] if hist.train_metric else None,
            "lr": hist.lr[-1], "elapsed": time.perf_counter() - started}
    return run.callbacks.epoch_end(epoch, logs) or reason


def finish(run: Run, reason: str) -> None:
    """Write the final checkpoint, then put back the best weights (early stopping).

    The checkpoint keeps the weights of the last epoch (and the best ones beside them), so
    that a resume with a longer epoch limit goes on from where the run stopped.
    """
    run.hist.stop_reason = reason
    if run.settings.checkpoint is not None:
        checkpoints.save_run(run, finished=True)
    restore_best(run)


def restore_best(run: Run) -> None:
    """With early stopping and ``restore_best``: the weights and statistics of the best epoch."""
    s, best = run.settings, run.best
    if s.early_stopping and s.restore_best and best.params is not None:
        run.net.params[:] = best.params
        put_bn_stats(run.net.bn_state, best.bn)
