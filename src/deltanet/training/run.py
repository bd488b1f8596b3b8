"""One training run: its state (``Run``) and how it is built from the data and settings.

``prepare`` checks the data, splits off the validation rows, builds the optimizer, chooses
the engine, and picks up a checkpoint when resuming; the loop then works on the ``Run``.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import engines, kernels
from .._inputs import check_target_values, check_training_rows
from .._validation import PLAIN_TYPES, check_random_state
from ..propagation import normalize_sample_weight, prepare_inputs, prepare_targets
from ..regularization import batch_bounds, uses_batch_norm
from . import checkpoints, monitors, resume
from .callbacks import CallbackList
from .data import (
    check_loss_outputs,
    compute_class_weight,
    draws_split,
    split,
    split_validation,
    validation_arrays,
)
from .diagnostics import sample_indices
from .history import History, TrainingError
from .metrics import auto_reads_targets, resolve_metric
from .optimizer import Optimizer, resolve_optimizer
from .settings import Settings


@dataclass
class Run:
    """Everything one training run works on and changes (what a checkpoint saves).

    ``X, Y, weights``: the training rows; ``val``: ``(Xv, Yv, weights_v)`` or None, and
    ``val_idx`` the rows held out for it; ``bounds``: the batches of an epoch; ``state``:
    the optimizer's; ``monitors``: the run's own callbacks (:mod:`.monitors`; None until a
    run that goes epoch by epoch builds them: a quiet run records what they would in
    :mod:`.spans`), ``callbacks`` the user's; ``epoch_start``: the weights at the start of
    the epoch being recorded.
    """

    net: Any
    settings: Settings
    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    val: tuple | None
    val_idx: np.ndarray | None
    bounds: tuple
    optimizer: Optimizer
    state: Any
    plateau_state: Any
    rng: np.random.Generator
    metric: tuple  # (name, fn)
    callbacks: CallbackList
    fingerprint: dict
    engine: engines.Engine | None = None
    hist: History = field(default_factory=History)
    best: monitors.Best = field(default_factory=monitors.Best)
    monitors: list | None = None  # None: those of the settings, made when first needed
    epoch: int = 0
    stop: str | None = None
    diag_idx: np.ndarray | None = None
    epoch_start: np.ndarray | None = None
    finished: bool = False  # resumed from the checkpoint of a finished run
    seed_state: dict | None = None  # the generator's state at a whole-number seed
    #: the rows were not checked before training: the engine checks each as it reads it
    rows_unchecked: bool = False

    @property
    def callers_generator(self) -> bool:
        """Whether the run draws from the caller's own generator (``random_state=rng``, a
        ``Generator``, or a ``BitGenerator``, which ``default_rng`` wraps without a copy):
        the draws of epochs that a stop leaves unrun are then given back, as they would be
        had the epochs run one at a time. Nobody else sees the run's own generators."""
        return isinstance(self.settings.random_state,
                          (np.random.Generator, np.random.BitGenerator))

    def diverged(self, epoch: int, batch_cost: float) -> None:
        """Stop: the cost of a batch of ``epoch`` became NaN or infinite."""
        self.hist.stop_reason = f"cost became {batch_cost} in epoch {epoch}"
        raise TrainingError(
            f"the cost became {batch_cost} in epoch {epoch} (update {self.hist.updates + 1});"
            " the weights of the end of the last good epoch were kept. Lower the "
            "learning rate, scale the inputs, or add weight decay", self.hist)


def prepare(net, X: Any, Y: Any, s: Settings) -> Run:
    """Check the data, split, build the optimizer and the engine; restore a checkpoint if
    resuming. The training rows (X for NaN and infinity, Y also for the values the loss
    takes) are checked here unless the engine checks each row as it gathers it."""
    X2, _ = prepare_inputs(net, X, finite=False)  # checked below, or by the engine
    n = X2.shape[0]
    Y2 = prepare_targets(net, Y, n, False, s.loss, values=False)  # the same
    last = _LAST.get(net)
    if last is not None and last.warm is not None and last.warm[0] is s \
            and last.warm[1] == n and last.key[0] is net.plan and last.key[1] is net.params:
        # the same settings object (plain values only) and as many rows as the network's
        # last run: everything below that comes from them alone comes out the same
        bounds, opt, metric = last.warm[2:]
        rng, seed_state = _generator(s.random_state)
        metric = metric or resolve_metric(s.metric, net, s.loss, Y2)
        return _start(net, s, X2, Y2, None, None, None, bounds, opt, rng, seed_state, metric,
                      {}, None, last.key, last, last.choice)
    check_loss_outputs(net, s.loss)
    sw = s.sample_weight
    if sw is not None:
        normalize_sample_weight(sw, n, net.dtype)  # shape and sign checks
        sw = np.asarray(sw, dtype=net.dtype)
    val_data = None
    if s.validation_data is not None:
        val_data = validation_arrays(net, s.loss, s.validation_data)
    if s.class_weight is not None:
        check_target_values(Y2, s.loss)
        compute_class_weight(s.class_weight, Y2)  # checked on all targets first
    if draws_split(s.validation_data, s.validation_fraction, s.early_stopping):
        check_training_rows(X2, Y2, s.loss)  # all rows (the engine sees the training rows
        # only), before the split draws from the generator
    rng, seed_state = _generator(s.random_state)
    val_idx = split_validation(rng, n, s.validation_data, s.validation_fraction,
                               s.early_stopping)
    n_train = n - (0 if val_idx is None else len(val_idx))
    batch_size = n_train if s.batch_size is None else min(s.batch_size, n_train)
    bounds = epoch_batches(n_train, batch_size, uses_batch_norm(net))
    opt = resolve_optimizer(s.optimizer, s.lr, s.momentum, s.lr_schedule, s.epochs,
                            len(bounds), n_train, batch_size >= n_train)
    metric = resolve_metric(s.metric, net, s.loss, Y2)
    key = (net.plan, net.params, bounds, opt.transform, s.loss, s.engine, s.dropout, s.l2,
           s.l1, s.decay_bias)
    last = _taken_over(net, key)
    choice = last.choice if last is not None else engines.choose(
        s.engine, net, s.loss, opt.transform, batch_size, dropout=s.dropout)
    # hashing the data and the arcs is a pass over both: only checkpoints need it
    fp = {} if s.checkpoint is None else resume.fingerprint(
        net, s, opt, (X2, Y2, sw), val_data, batch_size, metric[0], choice.kind,
        _engine_loop(choice.kind, batch_size, n_train, net))
    ckpt = resume.load_resume(s, fp)
    if ckpt is not None and val_idx is not None:
        val_idx = resume.saved_split(ckpt, val_idx, n)
    Xt, Yt, weights, val = split(X2, Y2, sw, val_idx, val_data, s.class_weight, net.dtype)
    warm = None
    if s.plain and sw is None and val is None and s.class_weight is None:
        warm = (s, n, bounds, opt, None if auto_reads_targets(s.metric, net, s.loss)
                else metric)
    return _start(net, s, Xt, Yt, weights, val, val_idx, bounds, opt, rng, seed_state,
                  metric, fp, ckpt, key, last, choice, warm)


def _start(net, s: Settings, X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None,
           val: tuple | None, val_idx: np.ndarray | None, bounds: tuple, opt: Optimizer,
           rng: np.random.Generator, seed_state: dict | None, metric: tuple, fp: dict,
           ckpt: Any, key: tuple, last: _Kept | None, choice: engines.Choice,
           warm: tuple | None = None) -> Run:
    """The run on the training rows ``X, Y`` (``prepare``): its state and its engine, the
    network's last one when ``last`` may be taken over (``choice`` picked the engine);
    ``warm``: what a later run with the same settings and rows may take from this one."""
    zero_padding(net)
    run = Run(net, s, X, Y, weights, val, val_idx, bounds, opt,
              opt.transform.init(net.params),
              opt.plateau.init() if opt.plateau is not None else None, rng, metric,
              CallbackList(s.callbacks), fp)
    run.hist.metric, run.seed_state = metric[0], seed_state
    if s.diagnostics:
        run.diag_idx = sample_indices(X.shape[0])
    if ckpt is not None:
        checkpoints.restore_run(run, ckpt)
        zero_padding(net)
    run.hist.engine, run.hist.engine_reason = choice
    if not run.finished:
        run.engine = _engine(run, choice, key, last, warm)
    if val_idx is None:
        run.rows_unchecked = _engine_checks_inputs(run)
        if not run.rows_unchecked:
            try:
                check_training_rows(X, Y, s.loss)
            except BaseException:
                release(run)  # a kept engine keeps no rows of a refused call alive
                raise
    return run


@dataclass(slots=True)
class _Kept:
    """A network's last reusable engine, the choice that picked it and what both were made
    from: ``key = (plan, params, bounds, optimizer, loss, engine, dropout, l2, l1,
    decay_bias)``. ``warm``: ``(settings, n, bounds, optimizer, metric)`` when that run's
    settings are of plain values alone (``Settings.plain``: shared by every call that gives
    the same ones; no callbacks, arrays or other objects of the caller's) and hold no data
    (no sample or class weights, validation): a run with the same settings object and as
    many rows takes them over instead of deriving them again (``metric`` None when 'auto'
    reads the targets)."""

    key: tuple
    choice: engines.Choice
    engine: engines.Engine
    warm: tuple | None


#: per network, what its last run kept (``_Kept``)
_LAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _taken_over(net, key: tuple) -> _Kept | None:
    """What the network's last run kept, when this run may take its engine over: the very
    same plan, weight vector, batches, optimizer transform and loss (objects, compared by
    identity), and equal plain settings, so that the same engine would be built; the
    engine is then pointed at this run's rows."""
    last = _LAST.get(net)
    if last is None:
        return None
    for a, b in zip(last.key, key, strict=True):
        if a is not b and not (type(a) in PLAIN_TYPES and type(b) is type(a) and a == b):
            return None
    return last


#: generators of whole-number seeds that no run holds, each with its state at the seed:
#: a run takes one (``_generator``) and hands it back when it is over (``release``)
_SEEDED: dict[int, tuple[np.random.Generator, dict]] = {}
_SEEDED_MAX = 16


def _generator(random_state: Any) -> tuple[np.random.Generator, dict | None]:
    """``check_random_state(random_state)`` and, for a whole-number seed, the generator's
    state at the seed. A generator handed back by an earlier run with that seed is set back
    to that state instead of seeding a new one (seeding hashes the seed: 15 µs against
    2). It is taken out while the run holds it: no two runs ever share one, and nothing
    outside a run draws from it."""
    if type(random_state) is not int:
        return check_random_state(random_state), None
    kept = _SEEDED.pop(random_state, None)
    if kept is not None:
        kept[0].bit_generator.state = kept[1]
        return kept
    rng = check_random_state(random_state)
    return rng, rng.bit_generator.state


def _engine(run: Run, choice: engines.Choice, key: tuple, last: _Kept | None,
            warm: tuple | None) -> engines.Engine:
    """The engine of ``run``: the network's last one (``_taken_over``) pointed at the
    run's rows, or a new one, kept for the next run when it is reusable (with ``warm``)."""
    if last is not None:
        last.engine.bind(run.X, run.Y, run.weights)
        if warm is not None:
            last.warm = warm
        return last.engine
    s = run.settings
    engine = engines.build(choice.kind, run.net, run.X, run.Y, run.weights, run.bounds,
                           s.loss, run.optimizer.transform, s.l2, s.l1, s.decay_bias,
                           s.dropout, run.rng)
    if engine.reusable:
        _LAST[run.net] = _Kept(key, choice, engine, warm)
    return engine


def release(run: Run) -> None:
    """After the run: its engine lets go of the rows (a kept engine keeps no data alive),
    and its seeded generator goes back for the next run with the seed."""
    if run.engine is not None and run.engine.reusable:
        run.engine.release()
    if run.seed_state is not None and len(_SEEDED) < _SEEDED_MAX:
        _SEEDED[run.settings.random_state] = (run.rng, run.seed_state)
        run.seed_state = None


@functools.lru_cache(maxsize=32)
def epoch_batches(n: int, batch_size: int, batch_norm: bool) -> tuple[tuple[int, int], ...]:
    """``batch_bounds`` as a tuple, kept for the shapes used last: a warm ``train()``
    call on the same data does not build its list of ``(start, stop)`` again (1347 pairs
    for per-example digits, a good part of the call's fixed cost)."""
    return tuple(batch_bounds(n, batch_size, batch_norm))


def run_for(net, X, Y, settings: Settings, engine: engines.Engine, state: Any, order: Any,
            monitors: list) -> Run:
    """A run for a caller with policies of its own (the estimators): its ``engine``, its
    optimizer ``state``, ``order`` (an object whose ``permutation(n)`` gives each epoch's
    order) and its end-of-epoch callbacks ``monitors`` (which decide when to stop)."""
    opt = Optimizer(None, "custom", None, None, "constant")
    run = Run(net, settings, X, Y, None, None, None, [], opt, state, None, order,
              ("", None), CallbackList(None), {}, engine)
    run.monitors = monitors
    run.hist.engine = engine.engine
    return run


def _engine_loop(kind: str, batch_size: int, n_train: int, net) -> str | None:
    """Which of the compiled engine's two loops runs (they too agree to rounding only)."""
    if kind not in ("numba", "shaped"):
        return None
    return ("batches on BLAS" if kernels.blas_batches(batch_size, n_train, net.plan.n_params)
            else "example by example")


def _engine_checks_inputs(run: Run) -> bool:
    """Whether the engine checks each batch's rows as it gathers them (X for NaN/inf, Y also
    for the targets the loss takes), before the batch's update: then a bad row stops the
    first epoch with the error a pass before training gives (``NonFiniteError``,
    ``TargetValueError``), the epoch's start weights are put back, and the separate passes
    over ``X`` and ``Y`` are saved. Not with
    per-update callbacks, which would have seen the updates before the bad row, nor when no
    epoch is left to run."""
    return (run.engine is not None and run.engine.checks_inputs and not run.callbacks.batch
            and run.epoch < run.settings.epochs)


def zero_padding(net) -> None:
    """Set to 0, in place, the entries of ``net.params`` that are no arc (the padding of a
    masked block, a bias arc left out). The passes read a block as a dense matrix, so a
    value left there would act as an arc the network does not have."""
    mask = net.plan.grad_mask
    if mask is not None:
        net.params[mask == 0] = 0.0

