"""The compiled engine (``deltanet.kernels``) for the stochastic solvers.

With ``engine='auto'`` an estimator hands each epoch of Adam or of plain, momentum or
Nesterov SGD to the compiled engine whenever it computes the same updates as scikit-learn
(to rounding): no sample or class weights, batch normalisation, dropout, sparse input,
Poisson loss, squared error over several outputs, or an activation or loss of your own
(``kernels._layout.not_compiled``); ``engine_reason_`` records which stood in the way.
The engine picks its per-example kernel for small updates and its BLAS batch loop for
larger ones. scikit-learn divides the penalty by each batch's size
(``α/(2·|B|) Σ w²``), so the runner is built with ``l2 = α/2`` and
``penalty_over_batch``. ``engine='numba'`` insists and names what stands in the way;
``engine='numpy'`` never uses it, and runs scikit-learn's own loop (in float64, bit for
bit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import losses
from ..kernels import make_runner
from ..kernels._layout import not_compiled
from ..losses import Loss
from ._objective import reduction


def _kernel_loss(est: Any) -> str | Loss | None:
    if isinstance(est.loss, Loss):  # a Loss object: the kernels hold the built-in ones
        return est.loss if est.loss.builtin else None
    name = est._loss_name()
    if name == "squared_error":
        return "half_squared_error"
    if name == "log_loss":
        return "cross_entropy" if est.out_activation_ == "softmax" else "log_loss"
    return None


def _obstacles(est: Any, X, sample_weight, dropout, batch_size: int) -> list[str]:
    reasons = []
    if est._optimizer_config["solver"] not in ("sgd", "adam"):
        reasons.append(f"solver={est._optimizer_config['solver']!r} (it runs SGD and Adam "
                       "only)")
    if sample_weight is not None:
        reasons.append("sample or class weights")
    if est.batch_norm:
        reasons.append("batch_norm")
    if dropout:
        reasons.append("dropout")
    if hasattr(X, "toarray"):
        reasons.append("sparse X")
    custom = isinstance(est.loss, Loss) and not est.loss.builtin
    # the activations' reasons, and a user-defined loss's (a placeholder loss otherwise)
    reasons += not_compiled(est.network_.plan, est.loss if custom else HALF_SQUARED)
    if _kernel_loss(est) is None and not custom:
        reasons.append(f"loss={est._loss_name()!r}")
    if reduction(est):
        reasons.append("several outputs with loss='squared_error' (scikit-learn reports it "
                       "averaged over the outputs)")
    return reasons


HALF_SQUARED = losses.get("half_squared_error")


def use_kernel(est: Any, X, sample_weight, dropout, batch_size: int) -> bool:
    """Whether the epochs of this fit run on the compiled kernel (see module docstring);
    records why not in ``est.engine_reason_`` ('' when they do)."""
    if est.engine == "numpy":
        est.engine_reason_ = "engine='numpy'"
        return False
    reasons = _obstacles(est, X, sample_weight, dropout, batch_size)
    if est.engine == "numba" and reasons:
        raise ValueError(f"engine='numba' does not support {', '.join(reasons)}; use "
                         "engine='auto' or 'numpy'")
    est.engine_reason_ = "; ".join(reasons)
    return not reasons


class KernelEpochs:
    """Runs epochs on the kernel; rebuilt only when the learning rate changes."""

    def __init__(self, est: Any, X: np.ndarray, Y: np.ndarray, batch_size: int) -> None:
        self.est, self.batch_size = est, batch_size
        dtype = est.network_.dtype
        self.X = np.ascontiguousarray(X, dtype=dtype)
        self.Y = np.ascontiguousarray(Y, dtype=dtype)
        self.loss = losses.get(_kernel_loss(est))
        self.l2 = float(est.alpha) / 2.0  # divided by each batch's size in the kernel
        self.runner, self.lr = None, None
        self.start = np.empty_like(est.network_.params)  # an epoch's start weights

    def run(self, order: np.ndarray, optimizer: Any) -> float | None:
        """One epoch over ``order``; returns ``Σ_B |B| J_B`` and keeps the optimizer state.

        None when a batch's cost was not finite: the compiled loops stop there, where
        scikit-learn trains on (with Adam an infinite cost can leave finite weights). The
        weights and optimizer state of the epoch's start are then put back, for the caller
        to run the epoch on scikit-learn's loop."""
        est = self.est
        np.copyto(self.start, est.network_.params)
        if self.runner is None or self.lr != est._learning_rate:
            self.runner = make_runner("numba", est.network_, self.X, self.Y, None,
                                      self.batch_size, self.loss, optimizer, self.l2, 0.0,
                                      False, penalty_over_batch=True, check_targets=False)
            self.lr = est._learning_rate
        result = self.runner.run(np.asarray(order, dtype=np.int64), est._optimizer_state)
        if result.bad is not None:
            np.copyto(est.network_.params, self.start)
            return None
        est._optimizer_state = result.state
        return float(result.total)
