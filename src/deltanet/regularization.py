"""Regularisation in training: weight decay, L1, dropout and batch normalisation (seed 002).

Weight decay and L1 live here (:func:`penalty`; the pass adds it in
:func:`deltanet.propagation.regularization`); dropout lives in :mod:`deltanet.dropout` and
batch normalisation in :mod:`deltanet.batchnorm`, whose public names this module also
offers (``resolve_dropout``, ``batch_bounds``, ``update_bn_stats``, ...):

* **Weight decay** (07-4d): ``J(w) = (1/n) Σ ℓ + λ Σ_{(i,j)∈A} w_ij²`` gives
  ``∂J/∂w_ij = Δ_j a_i + 2λ w_ij`` and the update ``w_ij ← w_ij − α Δ_j a_i − 2αλ w_ij``.
  Bias arcs ``(0, j)`` are not decayed unless ``decay_bias=True``; batch-norm ``γ, β`` never
  are. **L1** adds ``λ₁ Σ |w_ij|`` and ``λ₁ sign(w_ij)`` to the gradient. See
  :func:`penalty`.
* **Dropout** (07-5a): each unit of a dropped layer is kept with probability ``1 − r`` and
  rescaled by ``1/(1 − r)``.
* **Batch normalisation** (07-5b): ``â_j = γ (a_j − μ)/√(ε + σ²) + β``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_number
from .batchnorm import (
    BN_MOMENTUM,
    batch_bounds,
    copy_bn_stats,
    put_bn_stats,
    update_bn_stats,
    uses_batch_norm,
)
from .dropout import resolve_dropout
from .propagation import regularization as _penalty

__all__ = ["BN_MOMENTUM", "batch_bounds", "copy_bn_stats", "penalty", "put_bn_stats",
           "resolve_dropout", "update_bn_stats", "uses_batch_norm"]


def penalty(net, l2: float = 0.0, l1: float = 0.0,
            decay_bias: bool = False) -> tuple[float, np.ndarray | None]:
    """The penalty ``λ Σ w² + λ₁ Σ |w|`` and its gradient ``2λ w + λ₁ sign(w)`` (flat).

    Returns ``(0.0, None)`` when both are zero. Bias arcs count only with ``decay_bias``.
    """
    l2 = check_number("l2", l2, low=0.0)
    l1 = check_number("l1", l1, low=0.0)
    return _penalty(net.plan, net.params, l2, l1, bool(decay_bias))
