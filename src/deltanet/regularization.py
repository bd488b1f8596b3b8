"""Regularisation in training: weight decay, L1, dropout and batch normalisation (seed 002).

The passes themselves live in :mod:`deltanet.propagation`; this module holds what training
needs around them:

* **Weight decay** (07-4d): ``J(w) = (1/n) Σ ℓ + λ Σ_{(i,j)∈A} w_ij²`` gives
  ``∂J/∂w_ij = Δ_j a_i + 2λ w_ij`` and the update ``w_ij ← w_ij − α Δ_j a_i − 2αλ w_ij``.
  Bias arcs ``(0, j)`` are not decayed unless ``decay_bias=True``; batch-norm ``γ, β`` never
  are. **L1** adds ``λ₁ Σ |w_ij|`` and ``λ₁ sign(w_ij)`` to the gradient. See
  :func:`penalty`.
* **Dropout** (07-5a): at every update each unit of a dropped layer (the inputs are layer 0)
  is kept with probability ``1 − r``; the survivors are rescaled by ``1/(1 − r)`` so that the
  expected output is unchanged. Masks come from the training generator, so a
  ``random_state`` reproduces them; prediction (``net.forward``) never drops.
* **Batch normalisation** (07-5b): ``â_j = γ (a_j − μ)/√(ε + σ²) + β`` with ``μ, σ²`` of the
  mini-batch in training and running statistics at prediction. Statistics of one example
  are meaningless, so training refuses ``batch_size=1`` and never makes a batch of one
  example: a last short batch of one is merged into the batch before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_number, fail, is_number
from .propagation import regularization as _penalty

BN_MOMENTUM = 0.1


def penalty(net, l2: float = 0.0, l1: float = 0.0,
            decay_bias: bool = False) -> tuple[float, np.ndarray | None]:
    """The penalty ``λ Σ w² + λ₁ Σ |w|`` and its gradient ``2λ w + λ₁ sign(w)`` (flat).

    Returns ``(0.0, None)`` when both are zero. Bias arcs count only with ``decay_bias``.
    """
    l2 = check_number("l2", l2, low=0.0)
    l1 = check_number("l1", l1, low=0.0)
    return _penalty(net.plan, net.params, l2, l1, bool(decay_bias))


def resolve_dropout(net, dropout: Any) -> dict[int, float] | None:
    """``dropout`` as ``{layer: rate}``: a rate for every hidden layer, or a mapping.

    Layer 0 is the inputs; output layers are never dropped. ``None`` or 0 turns it off.
    """
    if dropout is None or dropout is False:
        return None
    if is_number(dropout):  # a Python or NumPy number
        rate = check_number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        if rate == 0:
            return None
        return {g.layer: rate for g in net.plan.groups if not g.is_output}
    if not isinstance(dropout, dict):
        fail("dropout must be a rate or a {layer: rate} mapping", dropout,
             "e.g. dropout=0.2, or {0: 0.1, 1: 0.5} (layer 0 = the inputs)")
    hidden = {0} | {g.layer for g in net.plan.groups if not g.is_output}
    out = {}
    for layer, rate in dropout.items():
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) \
                or layer not in hidden:
            fail("dropout applies to the inputs (layer 0) and hidden layers only", layer,
                 f"choose among layers {sorted(hidden)} (see net.summary())")
        out[int(layer)] = check_number(f"dropout[{layer}]", rate, low=0.0, high=1.0,
                                       high_open=True)
    return {k: v for k, v in out.items() if v > 0} or None


def uses_batch_norm(net) -> bool:
    return any(g.batch_norm for g in net.plan.groups)


def batch_bounds(n: int, batch_size: int, batch_norm: bool) -> list[tuple[int, int]]:
    """``(start, stop)`` of every batch of an epoch over ``n`` examples.

    With batch normalisation a last batch of one example is merged into the one before it
    (that batch has ``batch_size + 1`` examples), since one example has no batch statistics.
    """
    bounds = list(zip(range(0, n, batch_size), [*range(batch_size, n, batch_size), n],
                      strict=True))
    if batch_norm:
        if batch_size < 2 or n < 2:
            fail("batch normalisation needs batches of at least 2 examples", batch_size,
                 "use batch_size >= 2 (or None for full batches) with at least 2 training "
                 "examples, or build the network with batch_norm=False")
        if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
            bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def update_bn_stats(bn_state: dict, cache, momentum: float = BN_MOMENTUM) -> None:
    """Running statistics for prediction, updated after every training batch in place::

        μ_run ← (1 − m) μ_run + m μ_B        σ²_run ← (1 − m) σ²_run + m σ²_B · |B|/(|B| − 1)

    (the batch variance is made unbiased before it enters the running average).
    """
    size = cache.a[0].shape[0]
    for layer, (_, _, mu, var) in cache.bn.items():
        run_mu, run_var = bn_state[layer]
        run_mu *= 1.0 - momentum
        run_mu += momentum * mu
        run_var *= 1.0 - momentum
        run_var += momentum * var * (size / max(size - 1, 1))


def copy_bn_stats(bn_state: dict) -> dict:
    """A copy of the running statistics ``{layer: (μ_run, σ²_run)}`` ({} without batch norm)."""
    return {layer: (mean.copy(), var.copy()) for layer, (mean, var) in bn_state.items()}


def put_bn_stats(bn_state: dict, saved: dict) -> None:
    """Copy ``saved`` statistics (from :func:`copy_bn_stats`) back into ``bn_state``'s arrays,
    in place, so that whoever holds those arrays sees the restored values."""
    for layer, (mean, var) in saved.items():
        bn_state[layer][0][:] = mean
        bn_state[layer][1][:] = var
