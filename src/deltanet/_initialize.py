"""Drawing a network's initial weights in one pass over the flat parameter vector.

The values are those of drawing block by block in plan order (each group's bias, then its
blocks: ``init.Initializer.weights`` and ``bias``), the same random numbers in the same
order, but computed for many groups at once: a chain of a million neurons (a million
one-weight blocks) is initialised in a few vectorised passes, not a million small ones.
"""

from __future__ import annotations

import numpy as np

from ._plan import Plan

CHUNK = 1 << 22  # parameters handled per vectorised pass (bounds the temporaries)


def initialize_params(plan: Plan, params: np.ndarray, src: np.ndarray, dst: np.ndarray,
                      initializer, rng: np.random.Generator) -> None:
    """Fill ``params`` from ``initializer``: weights of arc ``(i, j)`` see ``fan_in[j]`` and
    ``fan_out[i]``; γ = 1, β = 0; absent arcs of sparse blocks stay 0."""
    real = src > 0
    fan_in = np.maximum(np.bincount(dst[real], minlength=plan.n_neurons), 1)
    fan_out = np.maximum(np.bincount(src[real], minlength=plan.n_neurons), 1)
    neurons = np.concatenate([np.arange(1, plan.n_inputs + 1), *(g.neurons for g in plan.groups)])
    layer_start = np.cumsum([0, *plan.layer_sizes()])
    chunk: list = []
    for g in plan.groups:
        chunk.append(g)
        end = g.bn_offset + 2 * g.size if g.batch_norm else _end(plan, g)
        if end - chunk[0].bias_offset >= CHUNK or g is plan.groups[-1]:
            _fill(plan, params, chunk, neurons, layer_start, fan_in, fan_out, initializer,
                  rng)
            chunk = []
    if plan.grad_mask is not None:
        params *= plan.grad_mask.astype(params.dtype)


def _end(plan: Plan, g) -> int:
    blocks = plan.blocks_in[g.layer - 1]
    return blocks[-1].offset + blocks[-1].size if blocks else g.bias_offset + g.size


def _fill(plan, params, groups, neurons, layer_start, fan_in, fan_out, initializer, rng):
    """Initialise the parameters of consecutive ``groups`` (one slice of ``params``)."""
    lo = groups[0].bias_offset
    last = groups[-1]
    hi = last.bn_offset + 2 * last.size if last.batch_norm else _end(plan, last)
    n = hi - lo
    is_weight = np.zeros(n, dtype=bool)
    fi = np.ones(n, dtype=np.int64)
    fo = np.ones(n, dtype=np.int64)
    blocks = [b for g in groups for b in plan.blocks_in[g.layer - 1]]
    if blocks:
        start = np.array([b.offset - lo for b in blocks], dtype=np.int64)
        size = np.array([b.size for b in blocks], dtype=np.int64)
        n_dst = np.array([b.shape[1] for b in blocks], dtype=np.int64)
        src_at = layer_start[[b.src for b in blocks]]
        dst_at = layer_start[[b.dst for b in blocks]]
        which = np.repeat(np.arange(len(blocks)), size)
        before = np.concatenate([[0], np.cumsum(size)[:-1]])  # weights of earlier blocks
        at = np.arange(int(size.sum())) + np.repeat(start - before, size)  # slice positions
        local = at - start[which]
        row, col = np.divmod(local, n_dst[which])
        is_weight[at] = True
        fi[at] = fan_in[neurons[dst_at[which] + col]]
        fo[at] = fan_out[neurons[src_at[which] + row]]
    is_bias = np.zeros(n, dtype=bool)
    for g in groups:
        is_bias[g.bias_offset - lo:g.bias_offset - lo + g.size] = True
    values = initializer.fill(rng, is_weight, is_bias, fi, fo, params.dtype)
    for g in groups:
        if g.batch_norm:
            values[g.bn_offset - lo:g.bn_offset - lo + g.size] = 1.0  # γ (β stays 0)
    params[lo:hi] = values
