"""Epoch runners: the fast engines, following :class:`deltanet.engines.Engine`.

``runner.run(order, state, after_batch=None) -> EpochResult`` makes the updates of one epoch
over the examples in ``order`` and hands back the new optimizer state. ``after_batch(update,
batch_cost, batch_size) -> bool`` (update counted from 1 in the epoch) is called after every
update when given; True ends the epoch there. Everything per-epoch around it (history,
callbacks, checkpoints, stopping rules) stays in ``train()``, shared by all engines.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from .._inputs import TARGET_RANGES, check_training_rows
from .._memory import aligned_zeros
from .._validation import fail
from ..engines.protocol import AfterBatch, EpochResult, SpanResult, overflow_ignored
from ._layout import LOSS_CODES, build_layout, is_dense_chain
from ._minibatch import Workspace, batch_update
from ._optim import Penalty, UpdateRule, decay_mask


class NumpyRunner:
    """Mini-batch epochs on NumPy/BLAS with preallocated buffers (see ``_minibatch``)."""

    engine = "numpy"
    checks_inputs = False  # X and Y are checked before training (see BlasRunner)
    runs_epochs = False
    reusable = False
    source = None

    def __init__(self, net, X, Y, weights, batch_size: int, loss, optimizer: Any,
                 l2: float, l1: float, decay_bias: bool) -> None:
        self.X, self.Y, self.weights = X, Y, weights
        self.batch_size, self.loss = batch_size, loss
        self.ws = Workspace(net, batch_size, Y.shape[1], weights is not None)
        self.penalty = Penalty(net.plan, net.params, l2, l1, decay_bias)
        self.rule = UpdateRule(optimizer, net.params)

    @overflow_ignored
    def run(self, order: np.ndarray, state: Any, after_batch: AfterBatch = None) -> EpochResult:
        n, bs, rule = order.shape[0], self.batch_size, self.rule
        rule.begin_epoch(state, -(-n // bs))
        total, seen, t = 0.0, 0, 0
        for t, start in enumerate(range(0, n, bs), start=1):
            idx = order[start:start + bs]
            cost = batch_update(self.ws, self.X, self.Y, self.weights, idx, self.loss, rule,
                                self.penalty, t - 1)
            if not math.isfinite(cost):
                return EpochResult(total, seen, t - 1, cost, rule.end_epoch(t - 1))
            total, seen = total + cost * len(idx), seen + len(idx)
            if after_batch is not None and after_batch(t, cost, len(idx)):
                break
        return EpochResult(total, seen, t, None, rule.end_epoch(t))


#: what a compiled runner builds from the plan alone, per plan and dtype (see ``_prepared``)
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: the same for small plans, by their structure (``_structure``): a new network of a shape
#: seen before builds none of it (for a tiny network that would cost more than its training)
_SHARED: dict[tuple, dict[str, Any]] = {}
SHARED_MAX_PARAMS = 4096  # plans up to this many parameters share by structure (≤ 32 KB each)
_SHARED_MAX = 32  # structures kept


def _prepared(plan, dt: np.dtype) -> dict[str, Any]:
    """The layout, constants and work vectors of ``plan`` in ``dt``, built once and kept
    with the plan (a warm ``train()`` call on the same network builds none of them again)
    and, for a small plan, with its structure. The work vectors hold nothing between
    kernel calls (``grad`` is all zeros after each), and the kernels run under the GIL, one
    at a time, so runners of one plan (or of one structure) share them."""
    per_plan = _PREPARED.setdefault(plan, {})
    if dt not in per_plan:
        if plan.n_params > SHARED_MAX_PARAMS:
            per_plan[dt] = _build(plan, dt)
        else:
            key = (_structure(plan), dt)
            if key not in _SHARED:
                if len(_SHARED) >= _SHARED_MAX:
                    _SHARED.clear()
                _SHARED[key] = _build(plan, dt)
            per_plan[dt] = _SHARED[key]
    return per_plan[dt]


def _structure(plan) -> tuple:
    """Everything of ``plan`` that ``build_layout`` and the work vectors read: two plans
    with equal structures get equal layouts."""
    return (plan.n_inputs, plan.n_params, plan.grad_mask is None,
            tuple((g.layer, g.size, g.activation.name, g.bias_offset, g.is_output)
                  for g in plan.groups),
            tuple((b.src, b.dst, b.offset, b.shape) for b in plan.blocks),
            tuple(tuple(cols.tolist()) for cols in plan.out_cols))


def _build(plan, dt: np.dtype) -> dict[str, Any]:
    from . import _elementwise

    lay = build_layout(plan)
    return {
        "layout": lay, "dense": is_dense_chain(lay), "c": _elementwise.constants(dt),
        "work": [aligned_zeros(lay.n_units, dt) for _ in range(4)],  # a, in_, up, Δ
        "scratch": aligned_zeros(2 * lay.max_size + len(lay.groups), dt),
        "start": aligned_zeros(plan.n_params, dt),  # an epoch's start (run_epochs)
        "grad": aligned_zeros(plan.n_params, dt)}


_INDEX = np.dtype(np.int64)  # the kernels' example indices


def _typed(values: np.ndarray, dt: np.dtype) -> np.ndarray:
    """``np.ascontiguousarray(values, dt)``; an array that is so already is taken as it is
    without a NumPy call (a warm call's rows)."""
    if type(values) is np.ndarray and values.dtype == dt and values.flags.c_contiguous:
        return values
    return np.ascontiguousarray(values, dtype=dt)


#: the empty sample-weight vector (no weights) per dtype: never written, shared
_NO_WEIGHTS = {np.dtype(t): np.zeros(0, t) for t in (np.float32, np.float64)}


class _CompiledRunner:
    """What the compiled runners share: the inputs typed like the parameters, the optimizer
    settings as the kernels read them (``hyper``), and the epoch loop around ``_call``
    (which each subclass defines: its kernel over ``order``, starting at update ``t``).
    ``penalty_over_batch``: see ``kernels.make_runner``."""

    engine = "numba"
    checks_inputs = False
    runs_epochs = False  # whether it has run_epochs (several epochs per call)
    reusable = True  # bind() points it at other rows
    source = None

    def __init__(self, net, X, Y, weights, batch_size: int, loss, optimizer: Any,
                 l2: float, l1: float, decay_bias: bool, penalty_over_batch: bool = False,
                 check_targets: bool = True) -> None:
        plan, params = net.plan, net.params
        dt = params.dtype
        self.prepared = _prepared(plan, dt)
        self.layout = self.prepared["layout"]
        self.params, self.batch_size = params, batch_size
        self.loss = LOSS_CODES[loss.name]
        #: the targets the loss takes (the kernels check each row of Y against them), and
        #: the loss whose check ``stopped`` repeats; ``check_targets=False``: no check
        self.y_range = np.array(TARGET_RANGES.get(loss.name, (-math.inf, math.inf))
                                if check_targets else NO_TARGET_CHECK)
        self.checked_loss = loss if check_targets else None
        self.bind(X, Y, weights)
        self.rule = UpdateRule(optimizer, params, compiled=True)
        self.penalty = bool(l2 or l1)
        b1, b2, eps = (0.0, 0.0, 0.0) if self.rule.adam is None else self.rule.adam[1:]
        self.hyper = np.array([2.0 * l2, l1, l2, self.rule.mu, self.rule.nesterov,
                               self.penalty, self.rule.momentum, self.rule.adam is not None,
                               b1, 1 - b1, b2, 1 - b2, eps, penalty_over_batch], dtype=dt)
        self.grad_mask = np.zeros(0, dt) if plan.grad_mask is None else plan.grad_mask.astype(dt)
        self.decay = decay_mask(plan, decay_bias, dt) if self.penalty else np.zeros(0, dt)
        self.grad, self.c = self.prepared["grad"], self.prepared["c"]

    def bind(self, X, Y, weights) -> None:
        """Run on these rows from now on (typed like the parameters): a later run with the
        same plan, settings and number of rows takes the runner over (``reusable``)."""
        dt = self.params.dtype
        self.X, self.Y = _typed(X, dt), _typed(Y, dt)
        self.weights = _NO_WEIGHTS[dt] if weights is None else _typed(weights, dt)

    def release(self) -> None:
        """Let go of the rows until the next ``bind``."""
        self.X = self.Y = self.weights = None

    def stopped(self, rows: np.ndarray) -> None:
        """The kernel stopped before the update of ``rows``: a bad row, or a cost that was
        not finite. For ``train()`` (the targets checked), the checks it makes before
        training when the engine does not check the rows, over all rows
        (``_inputs.check_training_rows``): every engine reports the same first bad value,
        also when a diverging cost came before the bad row. Without the targets' check, the
        error for ``X`` when one of ``rows`` holds a NaN or an infinity. Nothing when the
        rows are fine: the cost was not finite."""
        if self.checked_loss is not None or not np.isfinite(self.X[rows]).all():
            check_training_rows(self.X, self.Y, self.checked_loss)

    def run(self, order: np.ndarray, state: Any, after_batch: AfterBatch = None) -> EpochResult:
        order = _typed(order, _INDEX)
        n, bs, rule = order.shape[0], self.batch_size, self.rule
        n_updates = -(-n // bs)
        rule.begin_epoch(state, n_updates)
        if after_batch is None:
            value, failed_at = self._call(order, 0)
            if failed_at >= 0:
                return EpochResult(math.nan, 0, failed_at, value, rule.end_epoch(failed_at))
            return EpochResult(value, n, n_updates, None, rule.end_epoch(n_updates))
        total, seen, t = 0.0, 0, 0
        for t, start in enumerate(range(0, n, bs), start=1):
            part = order[start:start + bs]
            value, failed_at = self._call(part, t - 1)
            if failed_at >= 0:
                return EpochResult(total, seen, t - 1, value, rule.end_epoch(t - 1))
            total, seen = total + value, seen + len(part)
            if after_batch(t, value / len(part), len(part)):
                break
        return EpochResult(total, seen, t, None, rule.end_epoch(t))


class NumbaRunner(_CompiledRunner):
    """Per-example and small-batch epochs in one compiled call each (see ``_sgd``); with
    ``after_batch``, one call per batch; ``run_epochs``: several epochs in one call. Every
    row is checked as the kernel reads it, X for NaN and infinity, Y also for the targets
    the loss takes: a bad one raises (``stopped``) before its update."""

    runs_epochs = True
    checks_inputs = True

    def __init__(self, net, X, Y, weights, batch_size: int, loss, optimizer: Any,
                 l2: float, l1: float, decay_bias: bool, penalty_over_batch: bool = False,
                 check_targets: bool = True, shaped: bool = False) -> None:
        from . import _sgd

        super().__init__(net, X, Y, weights, batch_size, loss, optimizer, l2, l1, decay_bias,
                         penalty_over_batch, check_targets)
        prep = self.prepared
        self.work, self.scratch, self.start = prep["work"], prep["scratch"], prep["start"]
        # the kernels' limits (``_sgd.sgd_epoch``): a call per epoch or batch (read only),
        # and run_epochs' (the first two set per call; the kernel keeps the start weights)
        self._no_tol = np.array([-1.0, math.nan, *self.y_range, 0.0])
        self._limits = np.array([-1.0, math.nan, *self.y_range, 1.0])
        self._cost = np.empty(1)
        plain = not (self.penalty or self.rule.momentum or self.rule.adam) \
            and net.plan.grad_mask is None
        self._dense = self._shaped = None
        if batch_size == 1 and plain and prep["dense"]:
            from ._dense import dense_epoch

            self._dense, self.X_flat = dense_epoch, self.X.reshape(-1)
            self._shaped = _shaped_epoch(prep, net.plan.n_params, self.loss, shaped)
        if shaped and self._shaped is None:
            _refuse_shaped(batch_size, plain, prep["dense"], net.plan.n_params)
        self._epoch = _sgd.sgd_epoch

    def bind(self, X, Y, weights) -> None:
        super().bind(X, Y, weights)
        if getattr(self, "_dense", None) is not None:  # not yet set on the first bind
            self.X_flat = self.X.reshape(-1)

    def release(self) -> None:
        super().release()
        self.X_flat = None

    def _call(self, order: np.ndarray, t: int) -> tuple[float, int]:
        """The kernel over ``order``, whose first batch is update ``t`` of the epoch."""
        _, failed_at, value, _ = self._kernel(order, 1, self._no_tol, self._cost,
                                              self.rule.neg_lr[t:])
        return float(value), int(failed_at)

    def _kernel(self, order: np.ndarray, n_epochs: int, limits: np.ndarray,
                costs: np.ndarray, neg_lr: np.ndarray) -> tuple:
        lay = self.layout
        if self._shaped is not None:
            result = self._shaped(order, n_epochs, limits, costs, self.start, self.X, self.Y,
                                  self.weights, self.params, neg_lr, self.c)
        elif self._dense is not None:
            result = self._dense(
                order, n_epochs, limits, costs, self.start, self.X_flat, self.Y,
                self.weights, self.loss, lay.groups, lay.blocks, lay.out_cols, self.params,
                neg_lr, *self.work, self.scratch, self.c)
        else:
            result = self._epoch(
                order, n_epochs, limits, costs, self.start, self.X, self.Y, self.weights,
                self.batch_size, self.loss, lay.groups, lay.blocks, lay.block_ptr,
                lay.out_cols, self.params, self.grad_mask, self.decay, self.hyper,
                self.rule.velocity, neg_lr, *self.work, self.scratch, self.grad, self.c)
        if result[1] >= 0:  # stopped before update failed_at of epoch done
            self.grad[:] = 0  # the batch may have stopped half-summed
            n, (done, failed_at) = order.shape[0] // n_epochs, result[:2]
            lo = done * n + failed_at * self.batch_size
            rows = order[lo:min(lo + self.batch_size, (done + 1) * n)]
            self.stopped(rows)  # or else the cost was not finite
        return result

    def run_epochs(self, orders: np.ndarray, state: Any, tol: float | None,
                   prev_cost: float | None) -> SpanResult:
        """One epoch per row of ``orders``, all in one compiled call. Stops early at a
        non-finite cost (the weights of that epoch's start are put back) or after an epoch
        whose mean cost differs from the one before (``prev_cost`` for the first) by less
        than ``tol``."""
        n_epochs, n = orders.shape
        n_updates = -(-n // self.batch_size)
        rule = self.rule
        rule.begin_epoch(state, n_epochs * n_updates)
        limits = self._limits
        limits[0] = -1.0 if tol is None else tol
        limits[1] = math.nan if prev_cost is None else prev_cost
        costs = np.empty(n_epochs)
        done, failed_at, value, converged = self._kernel(
            _typed(orders, _INDEX).reshape(-1), n_epochs, limits, costs, rule.neg_lr)
        updates, bad = done * n_updates, None
        if failed_at >= 0:
            updates, bad = updates + failed_at, float(value)
        return SpanResult(costs if done == n_epochs else costs[:done], updates, bad,
                          bool(converged), rule.end_epoch(updates))


def _shaped_epoch(prep: dict[str, Any], n_params: int, loss: int, compile: bool):
    """The kernel of this shape (``_shaped``) for a dense layered plan of ``prep``, when it
    is small enough and compiled already, or ``compile``; else None. A shape without one
    is remembered with its structure (``_prepared``), so a new network of that shape does
    not look again, unless asked to compile."""
    from . import _shaped

    if n_params > _shaped.MAX_PARAMS:
        return None
    known = prep.setdefault("shaped", {})
    if known.get(loss) is None and (compile or loss not in known):
        dt = prep["c"].dtype
        try:
            known[loss] = _shaped.epoch_for(prep["layout"], n_params, loss, dt,
                                            compile=compile)
        except OSError as err:
            if compile:
                fail(f"engine='shaped' could not keep its kernel: {err}", "shaped",
                     "set DELTANET_CACHE_DIR to a folder of your own that you can write")
            known[loss] = None
        except Exception:  # a kernel on disk that does not load: without it, not an error
            if compile:
                raise
            known[loss] = None
    return known[loss]


def _refuse_shaped(batch_size: int, plain: bool, dense: bool, n_params: int) -> None:
    """engine='shaped' on a run it cannot take: a ValueError that says what it needs."""
    from ._shaped import MAX_PARAMS

    needs = []
    if batch_size != 1:
        needs.append(f"one example per update (batch_size=1, not {batch_size})")
    if not plain:
        needs.append("plain SGD (no momentum, Adam or weight decay)")
    if not dense:
        needs.append("a layered network (Network.layered)")
    if n_params > MAX_PARAMS:
        needs.append(f"at most {MAX_PARAMS} weights and biases (this network has {n_params})")
    fail("engine='shaped' compiles a kernel for a tiny layered network trained example by "
         f"example with plain SGD, and needs {', '.join(needs)}", "engine='shaped'",
         "use engine='numba' (or 'auto'), which runs every network")


class BlasRunner(_CompiledRunner):
    """Mini-batch epochs in one compiled call each, the products by BLAS (see ``_blas``);
    with ``after_batch``, one call per batch. Every gathered row is checked as for
    ``NumbaRunner``: a bad one raises (``stopped``) before its batch's update."""

    checks_inputs = True

    def __init__(self, net, X, Y, weights, batch_size: int, loss, optimizer: Any,
                 l2: float, l1: float, decay_bias: bool, penalty_over_batch: bool = False,
                 check_targets: bool = True) -> None:
        from . import _blas

        super().__init__(net, X, Y, weights, batch_size, loss, optimizer, l2, l1, decay_bias,
                         penalty_over_batch, check_targets)
        dt = self.params.dtype
        self.buffers = _blas.buffers(self.layout, batch_size, dt)
        self.gemm, itype, _ = _blas.gemm_function(dt)
        self.ch = np.frombuffer(b"NT", dtype=np.uint8).copy()
        self.iw, self.fw = np.zeros(6, itype), np.zeros(2, dt)
        self._epoch = _blas.blas_epoch

    def _call(self, order: np.ndarray, t: int) -> tuple[float, int]:
        """The kernel over ``order``, whose first batch is update ``t`` of the epoch."""
        lay, b = self.layout, self.buffers
        value, failed_at, bad_row = self._epoch(
            order, self.X, self.Y, self.y_range, self.weights, self.batch_size, self.loss,
            lay.groups, lay.blocks, lay.block_ptr, lay.out_cols, self.params, self.grad,
            self.grad_mask, self.decay, self.hyper, self.rule.velocity, self.rule.neg_lr[t:],
            b["base"], b["a"], b["in_"], b["up"], b["delta"], b["lse"], b["ty"], b["tw"],
            b["tmp"], b["fresh"], self.gemm, self.ch, self.iw, self.fw, self.c)
        if failed_at >= 0:
            self.stopped(np.array([bad_row]) if bad_row >= 0 else order[:0])
        if bad_row >= 0:
            fail("a row of X or Y was refused by the kernel", f"row {bad_row}",
                 "check the row's inputs and targets")
        return float(value), int(failed_at)


#: a ``y_range`` that switches the kernels' check of the targets off (``_sgd.targets_fine``)
NO_TARGET_CHECK = (math.inf, -math.inf)
