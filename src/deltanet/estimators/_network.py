"""The estimator's network: a layered MLP (optionally with skip arcs) as a deltanet Network.

Layer ``k`` of the estimator is group ``k`` of the compiled plan, so scikit-learn's
``coefs_[i]`` (shape ``(n_i, n_{i+1})``) is exactly the block ``plan.W(params, block)`` from
layer ``i`` to layer ``i + 1`` and ``intercepts_[i]`` is the bias vector of group ``i + 1``:
both are views of ``network.params``, never copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.special import expit

from .._plan import Block
from ..activations import Activation
from ..network import Network


@dataclass(frozen=True)
class _ExpitLogistic(Activation):
    """The logistic unit computed as scikit-learn computes it: ``σ`` by SciPy's ``expit``
    and ``Δ = (∂J/∂a · a)(1 − a)`` in that order, so the two agree to the last bit."""

    def backward(self, in_: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        return grad_a * a * (1 - a)


EXPIT_LOGISTIC = _ExpitLogistic("logistic", expit, lambda in_, a: a * (1 - a),
                                formula=r"g(in) = 1/(1+e^{-in})")


def use_expit(net: Network) -> Network:
    """Let the logistic groups of ``net`` compute ``σ`` with ``expit`` (same function; the
    rounding of scikit-learn). Returns ``net``."""
    groups = tuple(replace(g, activation=EXPIT_LOGISTIC) if g.activation.name == "logistic"
                   else g for g in net.plan.groups)
    net.plan = replace(net.plan, groups=groups)
    return net


def build_network(layer_units: Sequence[int], hidden_acts: Sequence[str | Activation],
                  out_act: str, *,
                  skip: bool = False, batch_norm: bool = False, dtype: Any = np.float64
                  ) -> Network:
    """A fully connected feed-forward network over ``layer_units``.

    With ``skip`` every layer also receives arcs from every earlier layer (the inputs
    included), so each group has one incoming block per earlier layer.
    """
    first = np.cumsum([1, *layer_units])[:-1]  # first neuron number of each layer
    arcs, acts = [], {}
    last = len(layer_units) - 1
    for k in range(1, last + 1):
        dst = np.arange(first[k], first[k] + layer_units[k])
        for s in (range(k) if skip else [k - 1]):
            src = np.arange(first[s], first[s] + layer_units[s])
            arcs.append(np.stack(np.meshgrid(src, dst, indexing="ij"), -1).reshape(-1, 2))
        acts.update(dict.fromkeys(dst.tolist(), out_act if k == last else hidden_acts[k - 1]))
    net = Network(int(layer_units[0]), np.concatenate(arcs), acts, batch_norm=batch_norm,
                  init=0.0, dtype=dtype)
    return use_expit(net)


def layer_block(net: Network, i: int) -> Block:
    """The block of weights from layer ``i`` to layer ``i + 1``."""
    return net.plan.block_at[(i, i + 1)]


def coef_views(net: Network) -> list[np.ndarray]:
    """``coefs_``: the ``(n_i, n_{i+1})`` weight matrices, as views of ``net.params``."""
    return [net.plan.W(net.params, layer_block(net, i)) for i in range(len(net.plan.groups))]


def intercept_views(net: Network) -> list[np.ndarray]:
    """``intercepts_``: the bias vectors ``w_0j`` of every layer, as views of ``net.params``."""
    return [net.plan.bias(net.params, g) for g in net.plan.groups]


def skip_blocks(net: Network) -> list[Block]:
    """Blocks that jump over at least one layer (empty without skip connections)."""
    return [b for b in net.plan.blocks if b.dst - b.src > 1]


def init_uniform(net: Network, init_acts: Sequence[str], random_state: np.random.RandomState
                 ) -> None:
    """scikit-learn's Glorot-uniform draw, in its order: per layer the weights, then the bias.

    ``W, b ~ U(−r, r)`` with ``r = √(f / (fan_in + fan_out))``, ``f = 2`` for a logistic
    layer and 6 otherwise (scikit-learn's rule for its names; every other activation,
    leaky ReLU, ELU, GELU and your own, gets the uniform Glorot bound, ``f = 6``);
    ``init_acts[i]`` names the activation that decides ``f`` for the weights into layer
    ``i + 1``. Skip blocks are drawn afterwards in the same way.
    """
    units = net.plan.layer_sizes()

    def draw(shape, fan_in, fan_out, act):
        bound = np.sqrt((2.0 if act == "logistic" else 6.0) / (fan_in + fan_out))
        return random_state.uniform(-bound, bound, shape)

    coefs, intercepts = coef_views(net), intercept_views(net)
    for i in range(len(units) - 1):
        coefs[i][...] = draw((units[i], units[i + 1]), units[i], units[i + 1], init_acts[i])
        intercepts[i][...] = draw(units[i + 1], units[i], units[i + 1], init_acts[i])
    for b in skip_blocks(net):
        net.plan.W(net.params, b)[...] = draw(b.shape, b.shape[0], b.shape[1],
                                              init_acts[b.dst - 1])


def sklearn_order(net: Network) -> np.ndarray:
    """Indices into ``net.params`` in scikit-learn's packing: every ``coefs_[i]`` (row
    major), then every ``intercepts_[i]``, then anything else (skip blocks, γ and β)."""
    n_layers = len(net.plan.groups)
    coefs = [np.arange(b.offset, b.offset + b.size)
             for b in (layer_block(net, i) for i in range(n_layers))]
    biases = [np.arange(g.bias_offset, g.bias_offset + g.size) for g in net.plan.groups]
    head = np.concatenate(coefs + biases)
    rest = np.setdiff1d(np.arange(net.plan.n_params), head)
    return np.concatenate([head, rest])
