"""Drawing a network's initial weights in one pass over the flat parameter vector.

The values are those of drawing block by block in plan order (each group's bias, then its
blocks: ``init.Initializer.weights`` and ``bias``), the same random numbers in the same
order, but computed for many groups at once: a chain of a million neurons (a million
one-weight blocks) is initialised in a few vectorised passes, not a million small ones.
"""

from __future__ import annotations

from operator import attrgetter

import numpy as np

from ._depths import positions
from ._plan import Plan

CHUNK = 1 << 22  # parameters handled per vectorised pass (bounds the temporaries)


def initialize_params(plan: Plan, params: np.ndarray, src: np.ndarray, dst: np.ndarray,
                      initializer, rng: np.random.Generator) -> None:
    """Fill ``params`` from ``initializer``: weights of arc ``(i, j)`` see ``fan_in[j]`` and
    ``fan_out[i]``; γ = 1, β = 0; absent arcs of sparse blocks stay 0."""
    if initializer.kind == "constant" and initializer.value == 0 \
            and not initializer.bias_value:  # all zeros (as when a file is loaded): no pass
        params[:] = 0
    else:
        _draw(plan, params, src, dst, initializer, rng)
    for g in plan.groups:
        if g.batch_norm:
            params[g.bn_offset:g.bn_offset + len(g.neurons)] = 1.0  # γ (β stays 0)
    if plan.grad_mask is not None:
        params *= plan.grad_mask.astype(params.dtype)


def _draw(plan: Plan, params: np.ndarray, src: np.ndarray, dst: np.ndarray, initializer,
          rng: np.random.Generator) -> None:
    """The biases and block weights of ``params``, about ``CHUNK`` at a time."""
    real = src > 0
    fan_in = np.maximum(np.bincount(dst[real], minlength=plan.n_neurons), 1)
    fan_out = np.maximum(np.bincount(src[real], minlength=plan.n_neurons), 1)
    placed = np.flatnonzero(plan.layer_of >= 0)  # inputs, then every group's neurons
    neurons = placed[np.lexsort((plan.pos_of[placed], plan.layer_of[placed]))]
    layer_start = np.concatenate([[0], np.cumsum(np.bincount(plan.layer_of[placed]))])
    bias = np.stack([_field(plan.groups, "bias_offset"), np.diff(layer_start[1:])], axis=1)
    rows, cols = (np.array([b.shape[k] for b in plan.blocks], dtype=np.int64).reshape(-1)
                  for k in (0, 1))
    blocks = np.stack([_field(plan.blocks, "offset"), rows * cols, cols,
                       layer_start[_field(plan.blocks, "src")],
                       layer_start[_field(plan.blocks, "dst")]], axis=1).reshape(-1, 5)
    cuts = list(range(0, plan.n_params, CHUNK))
    edges = np.searchsorted(bias[:, 0], cuts)  # chunks start at a group's bias
    for lo_g, hi_g in zip(edges.tolist(), [*edges[1:].tolist(), len(bias)], strict=True):
        if hi_g > lo_g:
            lo = int(bias[lo_g, 0])
            hi = int(bias[hi_g, 0]) if hi_g < len(bias) else plan.n_params
            sel = (blocks[:, 0] >= lo) & (blocks[:, 0] < hi)
            params[lo:hi] = _values(lo, hi - lo, bias[lo_g:hi_g], blocks[sel], neurons,
                                    fan_in, fan_out, initializer, rng, params.dtype)


def _field(items, name: str) -> np.ndarray:
    """One integer field of every group or block, as an array."""
    return np.fromiter(map(attrgetter(name), items), np.int64, len(items))


def _values(lo, n, bias, blocks, neurons, fan_in, fan_out, initializer, rng, dtype):
    """The initial values of ``params[lo:lo + n]``, whose biases and blocks are given as
    rows ``(offset, size)`` and ``(offset, size, n_dst, first src, first dst)``."""
    is_weight = np.zeros(n, dtype=bool)
    fi = np.ones(n, dtype=np.int64)
    fo = np.ones(n, dtype=np.int64)
    if len(blocks):
        start, size, n_dst, src_at, dst_at = (blocks[:, k] for k in range(5))
        at = positions(start - lo, size)
        which = np.repeat(np.arange(len(blocks)), size)
        row, col = np.divmod(at - (start - lo)[which], n_dst[which])
        is_weight[at] = True
        fi[at] = fan_in[neurons[dst_at[which] + col]]
        fo[at] = fan_out[neurons[src_at[which] + row]]
    is_bias = np.zeros(n, dtype=bool)
    is_bias[positions(bias[:, 0] - lo, bias[:, 1])] = True
    return initializer.fill(rng, is_weight, is_bias, fi, fo, dtype)
