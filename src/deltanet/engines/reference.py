"""The reference engine: the lecture's passes of :mod:`deltanet.propagation`, batch by batch.

Every update: FORWARDPROPAGATE the batch (in training mode: batch statistics, dropout
masks drawn from the run's generator), BACKPROPAGATE its mean gradient
``∂J/∂w_ij = (1/|B|) Σ_{e∈B} Δ_j^(e) a_i^(e)``, add the penalty's gradient, and apply the
optimizer's update ``w ← w + Δw``. It runs every setting (batch normalisation, dropout, any
optimizer); the compiled engines agree with it to rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..propagation import backward, forward, regularization
from ..regularization import update_bn_stats
from .protocol import AfterBatch, EpochResult, overflow_ignored


class ReferenceEngine:
    """Epochs on the reference passes; ``bounds`` are the batches ``(start, stop)`` of an
    epoch's order; ``rng`` draws the dropout masks."""

    engine = "reference"
    checks_inputs = False
    runs_epochs = False
    reusable = False
    source = None

    def __init__(self, net, X, Y, weights, bounds, loss, optimizer: Any, l2: float,
                 l1: float, decay_bias: bool, dropout: Any, rng: np.random.Generator) -> None:
        self.net, self.X, self.Y, self.weights = net, X, Y, weights
        self.bounds, self.loss, self.optimizer = bounds, loss, optimizer
        self.penalty, self.dropout, self.rng = (l2, l1, decay_bias), dropout, rng

    @overflow_ignored
    def run(self, order: np.ndarray, state: Any, after_batch: AfterBatch = None
            ) -> EpochResult:
        net = self.net
        plan, params = net.plan, net.params
        total, seen, t = 0.0, 0, 0
        for t, (start, stop) in enumerate(self.bounds, start=1):
            idx = order[start:stop]
            wb = None if self.weights is None else self.weights[idx]
            cache = forward(plan, params, self.X[idx], training=True, bn_state=net.bn_state,
                            dropout=self.dropout, rng=self.rng)
            grad, _, per_ex = backward(plan, params, cache, self.Y[idx], self.loss, wb)
            reg_cost, reg_grad = regularization(plan, params, *self.penalty)
            if reg_grad is not None:
                grad += reg_grad.astype(grad.dtype)
            cost = float(np.mean(per_ex if wb is None else per_ex * wb)) + reg_cost
            if not math.isfinite(cost):
                return EpochResult(total, seen, t - 1, cost, state)
            if cache.bn:
                update_bn_stats(net.bn_state, cache)
            updates, state = self.optimizer.update(grad, state, params)
            params += updates.astype(params.dtype, copy=False)
            total, seen = total + cost * len(idx), seen + len(idx)
            if after_batch is not None and after_batch(t, cost, len(idx)):
                break
        return EpochResult(total, seen, t, None, state)
