"""Batch normalisation (seed 002, Lecture 07-5b), all of it: the forward and backward
passes of a normalised group, the running statistics, and the batches training may form.

A normalised hidden group feeds downstream ``â_j = γ_j (a_j − μ_j)/√(σ²_j + ε) + β_j``
instead of ``a_j``, with ``μ, σ²`` of the mini-batch in training and running statistics at
prediction. ``γ, β`` are parameters of the network (``net.plan.gamma_beta``); the running
statistics live in ``net.bn_state`` as ``{layer: (μ_run, σ²_run)}``. Statistics of one
example are meaningless, so training refuses ``batch_size=1`` and never makes a batch of one
example: a last short batch of one is merged into the batch before it (``batch_bounds``).
"""

from __future__ import annotations

import numpy as np

from ._validation import fail

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def normalise(cache, plan, params: np.ndarray, g, a: np.ndarray, training: bool,
              bn_state: dict) -> np.ndarray:
    """``â = γ (a − μ)/√(ε + σ²) + β`` for group ``g``; keeps ``(x̂, 1/√(σ²+ε), μ, σ²)`` in
    ``cache.bn`` for the backward pass."""
    gamma, beta = plan.gamma_beta(params, g)
    if training:
        if a.shape[0] < 2:
            fail("batch normalisation needs batches of at least 2 examples in training",
                 a.shape[0], "use batch_size >= 2 (or None) or turn batch_norm off")
        mu, var = a.mean(axis=0), a.var(axis=0)
    else:
        mu, var = bn_state[g.layer]
    inv_std = 1.0 / np.sqrt(var + BN_EPS)
    x_hat = (a - mu) * inv_std
    cache.bn[g.layer] = (x_hat, inv_std, mu, var)
    return gamma * x_hat + beta


def normalise_backward(cache, plan, params: np.ndarray, grad: np.ndarray, g,
                       d_out: np.ndarray) -> np.ndarray:
    """``∂J/∂a`` from ``∂J/∂â``; writes ``∂J/∂γ = Σ ∂J/∂â ⊙ x̂`` and ``∂J/∂β = Σ ∂J/∂â``
    into ``grad``. In training ``μ, σ²`` depend on the batch, so every example's ``a``
    moves them: ``(1/(m σ)) (m d − Σ d − x̂ Σ d x̂)`` with ``d = γ ∂J/∂â``."""
    x_hat, inv_std, _, _ = cache.bn[g.layer]
    gamma, _ = plan.gamma_beta(params, g)
    o, k = g.bn_offset, g.size
    grad[o:o + k] = np.sum(d_out * x_hat, axis=0)  # ∂/∂γ
    grad[o + k:o + 2 * k] = np.sum(d_out, axis=0)  # ∂/∂β
    d_xhat = d_out * gamma
    m = d_out.shape[0]
    if not cache.training:
        return d_xhat * inv_std  # running statistics: a fixed affine map
    return (inv_std / m) * (m * d_xhat - d_xhat.sum(axis=0)
                            - x_hat * np.sum(d_xhat * x_hat, axis=0))


def initial_stats(plan, dtype) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Running statistics before training: ``μ_run = 0``, ``σ²_run = 1`` per normalised
    group."""
    return {g.layer: (np.zeros(g.size, dtype), np.ones(g.size, dtype))
            for g in plan.groups if g.batch_norm}


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
