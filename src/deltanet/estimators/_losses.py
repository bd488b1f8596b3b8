"""The output losses of the estimators, computed exactly as scikit-learn's MLPs compute them.

Each is a :class:`deltanet.losses.Loss`, so ``propagation.backward`` uses it directly. With
its canonical output activation (the *link*) a loss is fused: the output delta is simply

    Δ_j = a_j − y_j

(identity + half squared error, logistic + binary log loss, softmax + log loss, exp + half
Poisson deviance); with any other output activation ``Δ_j = g'(in_j) ∂ℓ/∂a_j``.

Values follow scikit-learn: probabilities are clipped to ``[eps, 1 − eps]`` (``eps`` of the
dtype) before the logarithm, and ``xlogy`` makes ``0 log 0 = 0``. One deliberate
difference: the squared error is summed over the outputs of an example, ``ℓ = ½ Σ_k
(y_k − a_k)²``, so the cost ``J`` is the function whose gradient backpropagation computes
(scikit-learn averages over outputs in the value but not in the gradient, as its issue
#8349 reports). For one output the two agree. The stochastic solvers report scikit-learn's
averaged value (``_objective.reduction``); L-BFGS minimises the sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from ..losses import Loss


def _clip(a: np.ndarray) -> np.ndarray:
    eps = np.finfo(a.dtype).eps
    return np.clip(a, eps, 1 - eps)


def _canonical(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    # Δ = a − y: the derivative of a loss through its canonical link
    return a - y


def _binary_log_loss(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    p = _clip(a)
    return -(xlogy(y, p) + xlogy(1 - y, 1 - p))


def _binary_log_loss_da(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    p = _clip(a)
    return -y / p + (1 - y) / (1 - p)


HALF_SQUARED_ERROR = Loss(
    "half_squared_error", lambda y, a: 0.5 * (y - a) ** 2, lambda y, a: a - y,
    r"\ell = \tfrac12 \sum_k (y_k - a_k)^2", r"\Delta_j = (a_j - y_j)\, g'(in_j)",
    fused_with="identity", fused_delta=_canonical)

BINARY_LOG_LOSS = Loss(
    "binary_log_loss", _binary_log_loss, _binary_log_loss_da,
    r"\ell = -\sum_k [y_k \log a_k + (1 - y_k) \log(1 - a_k)]", r"\Delta_j = a_j - y_j",
    fused_with="logistic", fused_delta=_canonical)

LOG_LOSS = Loss(
    "log_loss", lambda y, a: -xlogy(y, _clip(a)), lambda y, a: -y / _clip(a),
    r"\ell = -\sum_k y_k \log p_k", r"\Delta_j = p_j - y_j",
    fused_with="softmax", fused_delta=_canonical)

HALF_POISSON_DEVIANCE = Loss(
    "half_poisson_deviance", lambda y, a: xlogy(y, y / a) - y + a, lambda y, a: 1 - y / a,
    r"\ell = \sum_k [y_k \log(y_k / a_k) - y_k + a_k]", r"\Delta_j = a_j - y_j",
    fused_with="exp", fused_delta=_canonical)


def output_loss(loss: str, out_activation: str) -> Loss:
    """The Loss for an estimator's ``loss`` name and output activation."""
    if loss == "poisson":
        return HALF_POISSON_DEVIANCE
    if loss == "squared_error":
        return HALF_SQUARED_ERROR
    return LOG_LOSS if out_activation == "softmax" else BINARY_LOG_LOSS


@dataclass(frozen=True)
class _DeltaOnly(Loss):
    """A Loss whose per-example value is skipped (zeros): for backward passes whose cost is
    reduced separately, in scikit-learn's order, so the loss is not computed twice."""

    def value(self, y: np.ndarray, a: np.ndarray, in_: np.ndarray, act) -> np.ndarray:
        return np.zeros(y.shape[0], dtype=a.dtype)


def _skipping_value(loss: Loss) -> Loss:
    return _DeltaOnly(**{f: getattr(loss, f) for f in loss.__dataclass_fields__})


_DELTA_ONLY = {id(loss): _skipping_value(loss)
               for loss in (HALF_SQUARED_ERROR, BINARY_LOG_LOSS, LOG_LOSS, HALF_POISSON_DEVIANCE)}


def delta_only(loss: Loss) -> Loss:
    """``loss`` with its per-example value skipped (see ``_DeltaOnly``); a loss given as
    ``loss=`` (a ``Loss`` object, e.g. your own) is used as it is."""
    return _DELTA_ONLY.get(id(loss), loss)
