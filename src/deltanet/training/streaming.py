"""Training from a data source read window by window (a ``deltanet.data.Stream``).

The loop needs nothing new: a streamed run's engine is a :class:`StreamEngine`, which runs
an epoch as the epochs of the windows the source hands out. For each window (at most the
source's ``shuffle_buffer`` rows) it draws the permutation of the window's rows from the
run's generator, as NEURALNETTRAIN draws ``π`` over the whole table, builds the engine of
the run's kind over the window and runs its batches; the optimizer state goes on from one
window to the next. When one window holds the whole table this is the in-memory epoch,
draw for draw, so the weights are bit for bit those of the in-memory run.

Batches do not cross windows: the last batch of a window may be smaller. The source is any
object with ``windows(rng, shuffle)``, ``n_rows``, ``n_features``, ``n_targets`` and
``chunks()`` (the training loop does not import ``deltanet.data``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import engines
from .._validation import check_finite, check_random_state, fail
from ..engines import EpochResult
from ..propagation import prepare_inputs, prepare_targets
from ..regularization import batch_bounds, uses_batch_norm
from . import monitors
from .callbacks import CallbackList
from .data import check_loss_outputs, split, validation_arrays
from .metrics import resolve_metric
from .optimizer import resolve_optimizer
from .run import Run, zero_padding
from .settings import Settings

#: settings that need all training rows at once, and what to do instead
_IN_MEMORY_ONLY = {
    "sample_weight": "weigh rows by repeating them in the table, or load it into memory",
    "class_weight": "load the table into memory, or balance the classes in the table",
    "validation_fraction": "split the stream: train, val, _ = stream.split(validation=0.1),"
                           " and pass validation_data=val",
    "train_metric": "evaluate on a sample of the training rows after training",
    "error_tol": "use tol or early stopping",
    "diagnostics": "run diagnostics on a sample of the rows in memory",
    "checkpoint": "train in memory to checkpoint (mid-epoch positions are not saved yet)",
}


def is_source(X: Any) -> bool:
    """Whether ``X`` is a data source read window by window rather than an array."""
    return hasattr(X, "windows") and hasattr(X, "n_rows")


class StreamEngine:
    """An engine over a data source (see the module docstring); it draws its own orders,
    so the loop passes ``order=None``."""

    checks_inputs = False
    runs_epochs = False

    def __init__(self, kind: str, source: Any, net, s: Settings, opt, rng) -> None:
        self.engine, self.kind, self.source = kind, kind, source
        self.net, self.s, self.opt, self.rng = net, s, opt, rng

    def _window_engine(self, X: np.ndarray, Y: np.ndarray):
        net, s = self.net, self.s
        X, _ = prepare_inputs(net, X, finite=False)
        Y = prepare_targets(net, Y, X.shape[0], False, s.loss)
        check_finite("X", X)
        n = X.shape[0]
        size = n if s.batch_size is None else min(s.batch_size, n)
        bounds = batch_bounds(n, size, uses_batch_norm(net))
        return n, engines.build(self.kind, net, X, Y, None, bounds, s.loss,
                                self.opt.transform, s.l2, s.l1, s.decay_bias, s.dropout,
                                self.rng)

    def run(self, order: Any, state: Any, after_batch: Any = None) -> EpochResult:
        """One epoch: the windows of the source, one after another."""
        total, seen, updates = 0.0, 0, 0
        for X, Y in self.source.windows(self.rng, self.s.shuffle):
            n, engine = self._window_engine(X, Y)
            perm = self.rng.permutation(n) if self.s.shuffle else np.arange(n)
            hook = None
            if after_batch is not None:
                done = updates
                stopped: list = []

                def hook(t: int, cost: float, size: int, done=done, stopped=stopped) -> bool:
                    stop = after_batch(done + t, cost, size)
                    stopped.append(stop)
                    return stop
            res = engine.run(perm, state, hook)
            state = res.state
            total, seen, updates = total + res.total, seen + res.seen, updates + res.updates
            if res.bad is not None or (hook is not None and any(stopped)):
                return EpochResult(total, seen, updates, res.bad, state)
        return EpochResult(total, seen, updates, None, state)


def prepare_stream(net, source: Any, s: Settings) -> Run:
    """The run of ``train(net, stream, ...)``: ``prepare``'s checks on the first rows, the
    optimizer sized for the whole stream, and a :class:`StreamEngine`."""
    for name, fix in _IN_MEMORY_ONLY.items():
        value = getattr(s, name)
        if value is not None and value is not False:
            fail(f"{name} needs all training rows in memory and is not available when "
                 "training from a stream", value, fix)
    X0, Y0 = next(iter(source.chunks()))
    X0, _ = prepare_inputs(net, X0, finite=False)
    Y0 = prepare_targets(net, Y0, X0.shape[0], False, s.loss)
    check_loss_outputs(net, s.loss)
    val = None
    if s.validation_data is not None:
        vd = s.validation_data
        if is_source(vd):  # a validation stream is read into memory once
            vd = tuple(np.concatenate(part) for part in zip(*vd.chunks(), strict=True))
        val = split(X0, Y0, None, None, validation_arrays(net, s.loss, vd), None,
                    net.dtype)[3]
    rng = check_random_state(s.random_state)
    n = source.n_rows
    size = n if s.batch_size is None else min(s.batch_size, n)
    n_batches = -(-n // size)  # batches of an epoch if it were one window
    opt = resolve_optimizer(s.optimizer, s.lr, s.momentum, s.lr_schedule, s.epochs,
                            n_batches, n, size >= n)
    metric = resolve_metric(s.metric, net, s.loss, Y0)
    choice = engines.choose(s.engine, net, s.loss, opt.transform, size, dropout=s.dropout)
    zero_padding(net)
    run = Run(net, s, X0, Y0, None, val, None, [], opt, opt.transform.init(net.params),
              opt.plateau.init() if opt.plateau is not None else None, rng, metric,
              CallbackList(s.callbacks), {})
    run.hist.metric = metric[0]
    run.hist.engine, run.hist.engine_reason = choice
    run.monitors = monitors.monitors(run)
    run.engine = StreamEngine(choice.kind, source, net, s, opt, rng)
    return run
