"""Training from a data source read window by window (a ``deltanet.data.Stream``).

The loop needs nothing new: a streamed run's engine is a :class:`StreamEngine`, which runs
an epoch as the epochs of the windows the source hands out. For each window (at most the
source's ``shuffle_buffer`` rows) it draws the permutation of the window's rows from the
run's generator, as NEURALNETTRAIN draws ``π`` over the whole table, builds the engine of
the run's kind over the window and runs its batches; the optimizer state goes on from one
window to the next. When one window holds the whole table this is the in-memory epoch,
draw for draw, so the weights are bit for bit those of the in-memory run.

Batches do not cross windows: the last batch of a window may be smaller. The source is any
object with ``windows(rng, shuffle, start)``, ``n_rows``, ``n_features``, ``n_targets``,
``rows``, ``shuffle_buffer`` and ``chunks()`` (the training loop does not import
``deltanet.data``).

**Checkpoints in the middle of an epoch.** With ``checkpoint_every="N windows"`` a
checkpoint is written after every N-th window of an epoch (atomically, as every checkpoint)
and holds, beside what an epoch's checkpoint holds, where the epoch stands
(:class:`Resume`): the epoch's order of the pieces (the first level of the shuffle), the
piece and the row in it where the next window begins, and the sums of the epoch's cost so
far. The run's one generator draws both levels of the shuffle (and dropout masks); its
state at the window's end is saved exactly. A resumed run refills the next window from
that position and goes on drawing where the generator stood, so that it ends with bit for
bit the weights of an uninterrupted run.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import engines
from .._archive import ModelFileError
from .._validation import check_finite, check_random_state, fail
from ..engines import EpochResult
from ..engines.protocol import overflow_ignored
from ..propagation import prepare_inputs, prepare_targets
from ..regularization import batch_bounds, uses_batch_norm
from . import checkpoints, monitors, resume
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
}


def is_source(X: Any) -> bool:
    """Whether ``X`` is a data source read window by window rather than an array."""
    return not isinstance(X, np.ndarray) and hasattr(X, "windows") and hasattr(X, "n_rows")


class Resume(NamedTuple):
    """Where an epoch stands after a window: the position of the next window (``order``,
    ``piece``, ``row``: see ``deltanet.data.stream.Position``) and the sums of the epoch so
    far (``total`` = Σ cost·|B|, ``seen`` examples, ``updates``, ``windows`` done)."""

    order: np.ndarray
    piece: int
    row: int
    total: float
    seen: int
    updates: int
    windows: int


class StreamEngine:
    """An engine over a data source (see the module docstring); it draws its own orders,
    so the loop passes ``order=None``. ``resume_at``: where the next epoch starts (a
    :class:`Resume` read from a checkpoint, used once); ``on_window(resume, state,
    counted)``: called after every window but an epoch's last (``counted``: whether the
    loop's per-update hook has counted this epoch's updates into the history)."""

    checks_inputs = False
    runs_epochs = False
    reusable = False

    def __init__(self, kind: str, source: Any, net, s: Settings, opt, rng) -> None:
        self.engine, self.kind, self.source = kind, kind, source
        self.net, self.s, self.opt, self.rng = net, s, opt, rng
        self.resume_at: Resume | None = None
        self.on_window = None

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

    @overflow_ignored
    def run(self, order: Any, state: Any, after_batch: Any = None) -> EpochResult:
        """One epoch: the windows of the source, one after another (from ``resume_at``)."""
        start, self.resume_at = self.resume_at, None
        total, seen, updates, windows = (0.0, 0, 0, 0) if start is None else start[3:]
        for X, Y, pos in self.source.windows(self.rng, self.s.shuffle, start):
            n, engine = self._window_engine(X, Y)
            perm = self.rng.permutation(n) if self.s.shuffle else np.arange(n)
            stopped: list = []
            res = engine.run(perm, state, _hook(after_batch, updates, stopped))
            state = res.state
            total, seen, updates = total + res.total, seen + res.seen, updates + res.updates
            windows += 1
            if res.bad is not None or any(stopped):
                return EpochResult(total, seen, updates, res.bad, state)
            if self.on_window is not None and not pos.at_end:
                self.on_window(Resume(pos.order, pos.piece, pos.row, total, seen, updates,
                                      windows), state, after_batch is not None)
        return EpochResult(total, seen, updates, None, state)


def _hook(after_batch: Any, done: int, stopped: list) -> Any:
    """The loop's per-update hook for a window's engine: updates counted from the epoch's
    start (``done`` before this window); a stop is noted in ``stopped``."""
    if after_batch is None:
        return None

    def hook(t: int, cost: float, size: int) -> bool:
        stop = after_batch(done + t, cost, size)
        stopped.append(stop)
        return stop
    return hook


def prepare_stream(net, source: Any, s: Settings) -> Run:
    """The run of ``train(net, stream, ...)``: ``prepare``'s checks on the first rows, the
    optimizer sized for the whole stream, and a :class:`StreamEngine`; with a checkpoint to
    resume from, the run as it was saved (at an epoch's end or in the middle of one)."""
    for name, fix in _IN_MEMORY_ONLY.items():
        value = getattr(s, name)
        if value is not None and value is not False:
            fail(f"{name} needs all training rows in memory and is not available when "
                 "training from a stream", value, fix)
    X0, Y0 = next(iter(source.chunks()))
    X0, _ = prepare_inputs(net, X0, finite=False)
    Y0 = prepare_targets(net, Y0, X0.shape[0], False, s.loss)
    check_loss_outputs(net, s.loss)
    val = _validation(net, s, X0, Y0)
    rng = check_random_state(s.random_state)
    n = source.n_rows
    size = n if s.batch_size is None else min(s.batch_size, n)
    n_batches = -(-n // size)  # batches of an epoch if it were one window
    opt = resolve_optimizer(s.optimizer, s.lr, s.momentum, s.lr_schedule, s.epochs,
                            n_batches, n, size >= n)
    metric = resolve_metric(s.metric, net, s.loss, Y0)
    choice = engines.choose(s.engine, net, s.loss, opt.transform, size, dropout=s.dropout)
    fp = {} if s.checkpoint is None else _fingerprint(net, source, s, opt, (X0, Y0, n),
                                                      val, size, metric[0], choice.kind)
    ckpt = resume.load_resume(s, fp)
    zero_padding(net)
    run = Run(net, s, X0, Y0, None, val, None, [], opt, opt.transform.init(net.params),
              opt.plateau.init() if opt.plateau is not None else None, rng, metric,
              CallbackList(s.callbacks), fp)
    run.hist.metric = metric[0]
    engine = run.engine = StreamEngine(choice.kind, source, net, s, opt, rng)
    if ckpt is not None:
        checkpoints.restore_run(run, ckpt)
        zero_padding(net)
        engine.resume_at = saved_position(ckpt, source)
    if s.checkpoint is not None:
        engine.on_window = lambda at, state, counted: _save_position(run, at, state, counted)
    run.hist.engine, run.hist.engine_reason = choice
    run.monitors = monitors.monitors(run)
    return run


def _validation(net, s: Settings, X0: np.ndarray, Y0: np.ndarray) -> tuple | None:
    """The validation arrays (a validation stream is read into memory once), or None."""
    if s.validation_data is None:
        return None
    vd = s.validation_data
    if is_source(vd):
        vd = tuple(np.concatenate(part) for part in zip(*vd.chunks(), strict=True))
    return split(X0, Y0, None, None, validation_arrays(net, s.loss, vd), None, net.dtype)[3]


def _fingerprint(net, source: Any, s: Settings, opt, first: tuple, val: tuple | None,
                 size: int, metric: str, kind: str) -> dict:
    """What a resumed streamed run must share with its checkpoint: the settings as for an
    in-memory run; the table by its first piece's rows, the rows of every piece and the
    rows of the part trained on (a pass over the table would cost an epoch's reading);
    the shuffle buffer, which makes the windows."""
    X0, Y0, n = first
    rows = np.asarray(source.rows, dtype=np.int64)
    fp = resume.fingerprint(net, s, opt, (X0, Y0, rows), val, size, metric, kind, None)
    part = getattr(source, "part", None)
    fp["stream"] = {"rows": n, "shuffle_buffer": int(source.shuffle_buffer),
                    "part": None if part is None else [float(v) for v in part]}
    return fp


def _save_position(run: Run, at: Resume, state: Any, counted: bool) -> None:
    """After a window: a checkpoint when ``checkpoint_every="N windows"`` makes one due.
    The history's update count is the epoch's start count (as at the epoch's end the loop
    adds the epoch's updates, which ``at`` carries)."""
    every = run.settings.checkpoint_every
    if not isinstance(every, checkpoints.Windows) or at.windows % every.count:
        return
    before = run.hist.updates
    run.hist.updates = before - (at.updates if counted else 0)
    run.state = state
    try:
        checkpoints.save_run(run, position={**at._asdict(),
                                            "order": np.asarray(at.order, dtype=np.int64)})
    finally:
        run.hist.updates = before


def saved_position(ckpt: Any, source: Any) -> Resume | None:
    """The position in an epoch that ``ckpt`` saved (checked against ``source``), or None
    when it was written at an epoch's end."""
    saved = ckpt.header.get("position")
    if saved is None:
        return None
    order = ckpt.arrays.get("position/order")
    try:
        at = Resume(order, *(saved[k] for k in Resume._fields[1:]))
        counts_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in (at.piece, at.row, at.seen, at.updates, at.windows))
        n = len(source.rows)
        ok = (counts_ok and isinstance(at.total, float) and order is not None
              and order.dtype.kind in "iu" and order.shape == (n,)
              and np.array_equal(np.sort(order), np.arange(n)) and at.piece < n
              and (at.row == 0 or at.row < source.rows[int(order[at.piece])]))
    except (TypeError, KeyError):
        ok = False
    if not ok:
        raise ModelFileError(f"{ckpt.path.name}: the saved position in the epoch is invalid "
                             "for this stream; delete the file to start afresh")
    return at._replace(order=order.astype(np.int64))
