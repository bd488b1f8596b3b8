"""Compilation of a DAG ``N = (V, A)`` into groups of neurons and dense weight blocks.

Processing neurons of equal depth, equal activation and equal role (output or hidden) form a
*group*, computed together as one matrix. Each group has a bias vector and incoming
*blocks* ``(source layer, dense W, optional mask)``. Layer 0 is the inputs; groups are
layers ``1..G`` in topological order. A layered MLP compiles to one unmasked block per
group: exactly a dense layer. All parameters live in one flat vector; every block is a view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ._validation import fail
from .activations import Activation


@dataclass(frozen=True, eq=False)
class Group:
    """Processing neurons computed together: ``in_g = b_g + Σ out_src @ W``, ``a_g = g(in_g)``."""

    layer: int
    neurons: np.ndarray
    activation: Activation
    depth: int
    is_output: bool
    bias_offset: int
    bias_mask: np.ndarray | None
    batch_norm: bool = False
    bn_offset: int = -1  # γ at bn_offset, β right after

    @property
    def size(self) -> int:
        return len(self.neurons)


@dataclass(frozen=True, eq=False)
class Block:
    """Arcs from layer ``src`` to group ``dst`` as a dense ``(n_src, n_dst)`` matrix view."""

    src: int
    dst: int
    offset: int
    shape: tuple[int, int]
    mask: np.ndarray | None

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]


@dataclass(frozen=True, eq=False)
class Plan:
    """The compiled view of a network (see module docstring)."""

    n_inputs: int
    n_neurons: int  # bias + inputs + processing
    groups: tuple[Group, ...]
    blocks: tuple[Block, ...]
    outputs: tuple[int, ...]
    n_params: int
    layer_of: np.ndarray  # neuron -> layer (0 for inputs, -1 for the bias unit)
    pos_of: np.ndarray  # neuron -> column within its layer
    grad_mask: np.ndarray | None  # 1 where an arc exists, 0 on padding; None if dense
    decay_mask: np.ndarray  # 1 on weights of non-bias arcs, 0 on biases and γ/β
    out_cols: tuple[np.ndarray, ...] = field(default=())  # per output group: Y columns
    blocks_in: tuple[tuple[Block, ...], ...] = field(default=())  # by dst layer
    block_at: dict = field(default_factory=dict)  # (src, dst) -> Block

    @property
    def n_layers(self) -> int:
        return len(self.groups) + 1

    def layer_sizes(self) -> list[int]:
        return [self.n_inputs] + [g.size for g in self.groups]

    def bias(self, params: np.ndarray, g: Group) -> np.ndarray:
        return params[g.bias_offset:g.bias_offset + g.size]

    def W(self, params: np.ndarray, b: Block) -> np.ndarray:
        return params[b.offset:b.offset + b.size].reshape(b.shape)

    def gamma_beta(self, params: np.ndarray, g: Group) -> tuple[np.ndarray, np.ndarray]:
        o = g.bn_offset
        return params[o:o + g.size], params[o + g.size:o + 2 * g.size]

    def flat_index(self, i: int, j: int) -> int | None:
        """Index of ``w_ij`` in the flat parameter vector, or None if ``(i, j) ∉ A``."""
        if not (0 <= i < self.n_neurons and 0 < j < self.n_neurons):
            return None
        lj = int(self.layer_of[j])
        if lj < 1:
            return None
        g = self.groups[lj - 1]
        pj = int(self.pos_of[j])
        if i == 0:
            if g.bias_mask is not None and not g.bias_mask[pj]:
                return None
            return g.bias_offset + pj
        li = int(self.layer_of[i])
        b = self.block_at.get((li, lj))
        if b is None:
            return None
        pi = int(self.pos_of[i])
        if b.mask is not None and not b.mask[pi, pj]:
            return None
        return b.offset + pi * b.shape[1] + pj


def depths(n_inputs: int, n_neurons: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Depth of every neuron: inputs 0, ``depth(j) = 1 + max depth(i)`` over ``(i, j) ∈ A``."""
    depth = np.zeros(n_neurons, dtype=np.int64)
    real = src > 0
    order = np.argsort(dst[real], kind="stable")
    s, d = src[real][order], dst[real][order]
    starts = np.searchsorted(d, np.arange(n_neurons))
    ends = np.searchsorted(d, np.arange(n_neurons), side="right")
    for j in range(n_inputs + 1, n_neurons):
        incoming = s[starts[j]:ends[j]]
        depth[j] = 1 + (depth[incoming].max() if incoming.size else 0)
    return depth


def softmax_depths(depth: np.ndarray, src: np.ndarray, act_of: dict,
                   outputs: set) -> dict[int, int]:
    """Where the softmax outputs are computed: all of them form ONE group, normalised
    together (``a_j = e^{in_j} / Σ_k e^{in_k}`` over every softmax output ``k``, whatever
    its depth), placed at the depth of the deepest. Outputs at several depths may then feed
    no other neuron (their value waits for the deepest one): refused otherwise."""
    soft = [j for j, act in act_of.items() if act.name == "softmax" and j in outputs]
    if len({int(depth[j]) for j in soft}) < 2:
        return {}
    feeding = sorted(set(soft) & set(src.tolist()))
    if feeding:
        fail("softmax outputs at different depths are normalised together, so they cannot "
             "feed other neurons", feeding,
             "remove the arcs out of these softmax outputs, or put every softmax output at "
             "the same depth")
    top = int(max(depth[j] for j in soft))
    return dict.fromkeys(soft, top)


def batch_norm_layers(batch_norm, hidden: list[int], n_groups: int) -> set[int]:
    """The layers ``batch_norm`` asks to normalise: every hidden layer for ``True``, none for
    ``False``, or the given layer numbers, each of which must be a hidden layer (layer 0 is
    the inputs; the outputs are never normalised)."""
    if isinstance(batch_norm, (bool, np.bool_)):
        return set(hidden) if batch_norm else set()
    fix = (f"choose among the hidden layers {hidden} (layer 0 is the inputs; see "
           "net.summary())" if hidden else "this network has no hidden layer: use "
           "batch_norm=False")
    if isinstance(batch_norm, (str, bytes)) or not isinstance(batch_norm, Iterable):
        fail("batch_norm must be True, False or a list of hidden layer numbers", batch_norm,
             f"pass batch_norm=True for every hidden layer, or a list: {fix}", TypeError)
    chosen = set()
    for layer in batch_norm:
        if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, (int, np.integer)):
            fail("batch_norm layers must be layer numbers", layer, fix, TypeError)
        if layer not in hidden:
            what = ("an output layer" if 1 <= layer <= n_groups else "the inputs"
                    if layer == 0 else "not a layer of this network")
            fail(f"batch_norm applies to hidden layers only, and layer {layer} is {what}",
                 layer, fix)
        chosen.add(int(layer))
    return chosen


def compile_plan(n_inputs, n_neurons, src, dst, act_of, outputs, batch_norm) -> Plan:
    """Group neurons and lay out every parameter in one flat vector (see module doc)."""
    depth = depths(n_inputs, n_neurons, src, dst)
    out_set = set(outputs)
    at = softmax_depths(depth, src, act_of, out_set)
    keys = {}
    for j in range(n_inputs + 1, n_neurons):
        key = (int(at.get(j, depth[j])), act_of[j], j in out_set)
        keys.setdefault(key, []).append(j)
    ordered = sorted(keys.items(), key=lambda kv: (kv[0][0], kv[1][0]))
    layer_of = np.full(n_neurons, -1, dtype=np.int64)
    pos_of = np.zeros(n_neurons, dtype=np.int64)
    layer_of[1:n_inputs + 1] = 0
    pos_of[1:n_inputs + 1] = np.arange(n_inputs)
    for layer, (_, members) in enumerate(ordered, start=1):
        layer_of[members] = layer
        pos_of[members] = np.arange(len(members))

    hidden = [layer for layer, (key, _) in enumerate(ordered, start=1) if not key[2]]
    bn_layers = batch_norm_layers(batch_norm, hidden, len(ordered))
    groups, blocks, masks = [], [], []
    offset = 0
    real = src > 0
    bias_dst = set(dst[~real].tolist())
    for layer, ((dep, act, is_out), members) in enumerate(ordered, start=1):
        members = np.asarray(members, dtype=np.int64)
        has_bias = np.array([j in bias_dst for j in members])
        bmask = None if has_bias.all() else has_bias
        bn = layer in bn_layers
        group_blocks = []
        start = offset
        offset += len(members)
        masks.append(np.ones(len(members)) if bmask is None else bmask.astype(float))
        into = real & (layer_of[dst] == layer)
        for s_layer in sorted(set(layer_of[src[into]].tolist())):
            sel = into & (layer_of[src] == s_layer)
            n_src = n_inputs if s_layer == 0 else len(ordered[s_layer - 1][1])
            mask = np.zeros((n_src, len(members)), dtype=bool)
            mask[pos_of[src[sel]], pos_of[dst[sel]]] = True
            blk = Block(s_layer, layer, offset, (n_src, len(members)),
                        None if mask.all() else mask)
            offset += blk.size
            masks.append(mask.reshape(-1).astype(float))
            group_blocks.append(blk)
        bn_offset = -1
        if bn:
            bn_offset = offset
            offset += 2 * len(members)
            masks.append(np.ones(2 * len(members)))
        groups.append(Group(layer, members, act, dep, is_out, start,
                            bmask, bn, bn_offset))
        blocks.extend(group_blocks)

    grad_mask = np.concatenate(masks) if masks else np.zeros(0)
    decay = np.zeros(offset)
    for b in blocks:
        decay[b.offset:b.offset + b.size] = 1.0
    decay *= grad_mask
    out_index = {j: k for k, j in enumerate(outputs)}
    out_cols = tuple(np.array([out_index[j] for j in g.neurons]) for g in groups if g.is_output)
    blocks_in = tuple(tuple(b for b in blocks if b.dst == g.layer) for g in groups)
    return Plan(n_inputs, n_neurons, tuple(groups), tuple(blocks), tuple(outputs), offset,
                layer_of, pos_of, None if grad_mask.all() else grad_mask, decay, out_cols,
                blocks_in, {(b.src, b.dst): b for b in blocks})
