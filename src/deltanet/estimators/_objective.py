"""The cost ``J`` an estimator minimises and its gradient, on the deltanet engine.

For a batch ``B`` with sample weights ``s_e`` (all 1 by default) and ``S = Σ_e s_e``::

    J = (1/S) Σ_e s_e ℓ(y_e, h(x_e)) + (α / 2S) Σ_{weights} w_ij²
    ∂J/∂w_ij = (1/S) Σ_e s_e Δ_j^(e) a_i^(e) + (α/S) w_ij        (bias arcs: no α term)

which is scikit-learn's ``_backprop`` (the L2 term is divided by the batch's ``S``). The
forward and backward passes are ``deltanet.propagation.forward``/``backward``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..propagation import Cache, backward, forward
from ._losses import delta_only


def loss_grad(est: Any, params: np.ndarray, X: Any, Y: np.ndarray,
              sample_weight: np.ndarray | None, *, training: bool = False,
              dropout: dict | None = None, rng: np.random.Generator | None = None,
              as_reported: bool = False) -> tuple[float, np.ndarray, Cache]:
    """``(J, ∂J/∂params, cache)`` for the estimator's network at ``params``.

    The arithmetic is scikit-learn's, operation for operation (``Σ_e s_e Δ a + α W``, then
    one division by ``S``; the L2 term summed layer by layer), so the two agree bit for bit.
    ``as_reported``: ``J`` as scikit-learn's stochastic solvers report it (``reduction``);
    the gradient is the same either way.
    """
    net = est.network_
    plan = net.plan
    cache = forward(plan, params, X, training=training, bn_state=net.bn_state,
                    dropout=dropout, rng=rng)
    loss = est._output_loss()
    grad, _, _ = backward(plan, params, cache, Y, delta_only(loss), sample_weight, mean=False)
    s_sum = X.shape[0] if sample_weight is None else sample_weight.sum()
    alpha = est.alpha
    squares = 0
    for b in plan.blocks:
        W = plan.W(params, b).ravel()
        squares += np.dot(W, W)
        grad[b.offset:b.offset + b.size] += alpha * W
    grad /= s_sum
    J = _mean_loss(loss, Y, cache.outputs, sample_weight, as_reported and reduction(est)) \
        + (0.5 * alpha) * squares / s_sum
    return float(J), grad, cache


def reduction(est: Any) -> bool:
    """Whether scikit-learn reports the loss averaged over the outputs, not summed: its
    squared error is (its log and Poisson losses are summed). Its gradient sums over the
    outputs all the same (scikit-learn #8349), so the stochastic solvers report the average
    and follow the summed loss's gradient, as scikit-learn does; L-BFGS minimises the sum,
    whose gradient that is."""
    return est._loss_name() == "squared_error" and est.n_outputs_ > 1


def _mean_loss(loss: Any, Y: np.ndarray, outputs: np.ndarray,
               sample_weight: np.ndarray | None, average_outputs: bool = False) -> float:
    # the (weighted) mean over examples, summed (or averaged) over outputs
    per_output = np.average(loss.f(Y, outputs), weights=sample_weight, axis=0)
    return float(per_output.mean() if average_outputs else per_output.sum())


def data_loss(est: Any, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None,
              as_reported: bool = False) -> float:
    """The mean loss ``(1/S) Σ s_e ℓ_e`` of the fitted network (no penalty): the value
    recorded in ``validation_loss_curve_`` (``as_reported``: see ``loss_grad``)."""
    return _mean_loss(est._output_loss(), Y, predict_outputs(est, X), sample_weight,
                      as_reported and reduction(est))


def predict_outputs(est: Any, X: Any) -> np.ndarray:
    """FORWARDPROPAGATE in inference mode (batch-norm running statistics): ``(n, K)``."""
    net = est.network_
    return forward(net.plan, net.params, X, bn_state=net.bn_state).outputs
