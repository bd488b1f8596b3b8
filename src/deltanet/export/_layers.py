"""A ``Network`` from dense layers given as matrices (what scikit-learn and PyTorch hold)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..network import Network


def layered_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                    activations: Sequence[str], dtype) -> Network:
    """The layered ``Network`` whose layer ``k`` computes ``a_k = g_k(a_{k−1} @ W_k + b_k)``.

    ``weights[k]`` has shape ``(n_{k−1}, n_k)`` (rows: source neurons), so ``w_ij`` of the
    lecture is ``weights[k][i, j]`` by position within the two layers.
    """
    sizes = [weights[0].shape[0], *(w.shape[1] for w in weights)]
    net = Network.layered(sizes, hidden=list(activations[:-1]), output=activations[-1],
                          dtype=dtype, init=0.0)
    for k, (W, b) in enumerate(zip(weights, biases, strict=True), start=1):
        block = net.plan.block_at[(k - 1, k)]
        group = net.plan.groups[k - 1]
        net.params[block.offset:block.offset + block.size] = np.asarray(W).reshape(-1)
        net.params[group.bias_offset:group.bias_offset + group.size] = np.asarray(b)
    return net
