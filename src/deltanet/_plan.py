"""Compilation of a DAG ``N = (V, A)`` into groups of neurons and dense weight blocks.

Processing neurons of equal depth, equal activation and equal role (output or hidden) form a
*group*, computed together as one matrix. Each group has a bias vector and incoming
*blocks* ``(source layer, dense W, optional mask)``. Layer 0 is the inputs; groups are
layers ``1..G`` in topological order. A layered MLP compiles to one unmasked block per
group: exactly a dense layer. All parameters live in one flat vector; every block is a view.
Groups and blocks are slotted records, read-only by convention: one of each is made per
group and per block, and frozen ones took three times as long to make.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

from ._depths import depths, distinct
from ._validation import fail
from .activations import Activation


@dataclass(eq=False, slots=True)
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


@dataclass(eq=False, slots=True)
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


def uses(act_of: dict, name: str) -> bool:
    """Whether any neuron of ``{neuron: Activation}`` has the activation ``name`` (each
    distinct Activation object looked at once)."""
    acts = list(act_of.values())
    return any(a.name == name for a in dict(zip(map(id, acts), acts, strict=True)).values())


def softmax_depths(depth: np.ndarray, src: np.ndarray, act_of: dict,
                   outputs: set) -> dict[int, int]:
    """Where the softmax outputs are computed: all of them form ONE group, normalised
    together (``a_j = e^{in_j} / Σ_k e^{in_k}`` over every softmax output ``k``, whatever
    its depth), placed at the depth of the deepest. Outputs at several depths may then feed
    no other neuron (their value waits for the deepest one): refused otherwise."""
    if not uses(act_of, "softmax"):
        return {}
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


def _group_neurons(n_inputs, n_neurons, src, dst, act_of, outputs, depth=None):
    """Key every processing neuron by (depth, activation, output?) and number the groups in
    the order (depth, first neuron); returns ``layer_of``, ``pos_of``, the processing
    neurons group after group, where each group starts among them (and where the last
    ends), and the depth and output flag of every neuron. Vectorised but for one look-up
    of each neuron's activation."""
    if depth is None:
        depth = depths(n_inputs, n_neurons, src, dst)
    out_set = set(outputs)
    for j, d in softmax_depths(depth, src, act_of, out_set).items():
        depth[j] = d
    proc = np.arange(n_inputs + 1, n_neurons)
    acts = list(map(act_of.__getitem__, proc.tolist()))
    # by identity: hashing an Activation hashes all of its fields
    _, act_code = np.unique(np.fromiter(map(id, acts), np.int64, len(acts)),
                            return_inverse=True)
    is_out = np.zeros(n_neurons, dtype=np.int64)
    is_out[list(out_set)] = 1
    key = (depth[proc] * (int(act_code.max(initial=0)) + 1) + act_code.reshape(-1)) * 2 \
        + is_out[proc]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.lexsort((first, depth[proc][first]))] = np.arange(len(first))
    group = rank[inverse.reshape(-1)]  # group (layer − 1) of every processing neuron
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=len(first)))])
    layer_of = np.full(n_neurons, -1, dtype=np.int64)
    pos_of = np.zeros(n_neurons, dtype=np.int64)
    layer_of[1:n_inputs + 1] = 0
    pos_of[1:n_inputs + 1] = np.arange(n_inputs)
    layer_of[proc] = group + 1
    ordered = proc[order]
    pos_of[ordered] = np.arange(len(proc)) - np.repeat(starts[:-1], np.diff(starts))
    return layer_of, pos_of, ordered, starts, depth, is_out


def _blocks_by_layer(n_inputs, src, dst, layer_of, pos_of, sizes):
    """The arcs grouped into blocks ``(src layer, dst layer)``, in the order (dst, src):
    the source and destination layers of every block, and the masks of the blocks where
    arcs are missing (by block number)."""
    real = src > 0
    n_layers = len(sizes) + 1
    key = layer_of[dst[real]] * n_layers + layer_of[src[real]]
    order = np.argsort(key, kind="stable")
    key = key[order]
    cut = np.flatnonzero(np.diff(key)) + 1
    lo, hi = np.concatenate([[0], cut]), np.concatenate([cut, [len(key)]])
    dl, sl = np.divmod(key[lo], n_layers)
    layer_size = np.concatenate([[n_inputs], sizes]).astype(np.int64)
    n_src = layer_size[sl]
    dense = hi - lo == n_src * layer_size[dl]  # arcs are distinct: all of them present
    masks = {}
    for k in np.flatnonzero(~dense).tolist():  # sparse blocks only
        masks[k] = np.zeros((int(n_src[k]), int(layer_size[dl[k]])), dtype=bool)
        arcs = order[lo[k]:hi[k]]
        masks[k][pos_of[src[real][arcs]], pos_of[dst[real][arcs]]] = True
    return sl, dl, masks


def plan_size(n_inputs, n_neurons, src, dst, act_of, outputs, max_parts: int,
              depth: np.ndarray | None = None) -> tuple[int, int, int] | None:
    """How many groups, blocks, and biases plus block weights (batch norm aside)
    :func:`compile_plan` lays out for these arcs, worked out without building a block or
    mask, so that a file can be checked against what it declares before anything large is
    allocated; linear in neurons plus arcs. None when the network is so deep that its
    groups and blocks alone number more than ``max_parts``: a network ``D`` levels deep has
    ``D`` groups or more and ``D − 1`` blocks or more (one into a group of every level
    below the first), so the depths (``depth`` when known) are only followed to
    ``(max_parts + 1) // 2``."""
    if depth is None:
        depth = depths(n_inputs, n_neurons, src, dst, limit=(max_parts + 1) // 2)
    if depth is None or depth.max() > (max_parts + 1) // 2:
        return None
    layer_of, _, _, starts, _, _ = _group_neurons(n_inputs, n_neurons, src, dst, act_of,
                                                  outputs, depth)
    size = np.concatenate([[n_inputs], np.diff(starts)])
    real = src > 0
    pairs = distinct(layer_of[dst[real]] * len(size) + layer_of[src[real]])
    weights = np.sum(size[pairs // len(size)] * size[pairs % len(size)])
    return len(size) - 1, len(pairs), int(size[1:].sum() + weights)


def compile_plan(n_inputs, n_neurons, src, dst, act_of, outputs, batch_norm,
                 depth: np.ndarray | None = None) -> Plan:
    """Group neurons and lay out every parameter in one flat vector (see module doc):
    linear in neurons plus arcs (plus the padding of sparse blocks), the offsets worked
    out with NumPy and one object made per group and per block. ``depth``: the depth of
    every neuron when known already (:func:`deltanet._depths.depths`)."""
    layer_of, pos_of, ordered, starts, depth, is_out = _group_neurons(
        n_inputs, n_neurons, src, dst, act_of, outputs,
        None if depth is None else depth.copy())
    members = [ordered[a:b] for a, b in itertools.pairwise(starts.tolist())]
    heads = ordered[starts[:-1]]  # the first neuron of every group
    outs = is_out[heads].astype(bool)
    size = np.diff(starts)
    bn = np.zeros(len(size) + 1, dtype=bool)  # by layer
    bn[list(batch_norm_layers(batch_norm, (np.flatnonzero(~outs) + 1).tolist(),
                              len(size)))] = True
    no_bias = np.ones(n_neurons, dtype=bool)
    no_bias[dst[src == 0]] = False
    short = {layer: ~no_bias[members[layer - 1]]  # groups missing a bias arc
             for layer in set(layer_of[no_bias & (layer_of > 0)].tolist())}
    sl, dl, masks = _blocks_by_layer(n_inputs, src, dst, layer_of, pos_of, size)
    layer_size = np.concatenate([[n_inputs], size])
    bias_at, block_at, bn_at, n_params = _offsets(size, bn[1:], layer_size[sl] * size[dl - 1],
                                                  dl)
    with _records():
        blocks = tuple(Block(*k) for k in zip(
            sl.tolist(), dl.tolist(), block_at.tolist(),
            zip(layer_size[sl].tolist(), size[dl - 1].tolist(), strict=True),
            [masks.get(k) for k in range(len(sl))] if masks else [None] * len(sl),
            strict=True))
        groups = tuple(Group(*g) for g in zip(
            range(1, len(size) + 1), members, list(map(act_of.__getitem__, heads.tolist())),
            depth[heads].tolist(), outs.tolist(), bias_at.tolist(),
            [short.get(layer) for layer in range(1, len(size) + 1)], bn[1:].tolist(),
            bn_at.tolist(), strict=True))
        holes = [(bias_at[layer - 1], ~m) for layer, m in short.items()]
        holes += [(block_at[k], ~m.reshape(-1)) for k, m in masks.items()]
        return _finish_plan(n_inputs, n_neurons, groups, blocks, outputs, n_params,
                            layer_of, pos_of, holes, (block_at, layer_size[sl] * size[dl - 1]))


@contextmanager
def _records():
    """Cyclic garbage collection paused while the records of a plan are made (none is in
    a cycle): every full collection walks all the objects made so far, which made building
    a million groups take twice as long."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _offsets(size, bn, block_size, dl):
    """Where every group's biases, every block and every group's γ, β (or −1) start in the
    flat vector, and its length: each group's biases, then its blocks, then its γ, β."""
    n_groups = len(size)
    in_blocks = np.bincount(dl - 1, weights=block_size, minlength=n_groups).astype(np.int64)
    length = size + in_blocks + 2 * size * bn
    bias_at = np.cumsum(length) - length
    before = np.cumsum(block_size) - block_size  # blocks are in the order of their groups
    first = np.searchsorted(dl, dl)  # the first block into the same group
    block_at = (bias_at + size)[dl - 1] + before - before[first]
    bn_at = np.where(bn, bias_at + size + in_blocks, -1)
    return bias_at, block_at, bn_at, int(length.sum())


def _finish_plan(n_inputs, n_neurons, groups, blocks, outputs, n_params, layer_of, pos_of,
                 holes, spans) -> Plan:
    """The masks of the flat vector (gradient and weight decay) and the block indexes."""
    grad_mask = None
    if holes:
        grad_mask = np.ones(n_params)
        for start, missing in holes:
            grad_mask[start:start + len(missing)][missing] = 0.0
    edges = np.zeros(n_params + 1, dtype=np.int64)  # +1 where a block starts, −1 after it
    np.add.at(edges, spans[0], 1)
    np.add.at(edges, spans[0] + spans[1], -1)
    decay = (np.cumsum(edges[:-1]) > 0).astype(np.float64)
    if grad_mask is not None:
        decay *= grad_mask
    out_index = {j: k for k, j in enumerate(outputs)}
    out_cols = tuple(np.array([out_index[j] for j in g.neurons.tolist()])
                     for g in groups if g.is_output)
    dst = np.array([b.dst for b in blocks], dtype=np.int64)
    bounds = np.searchsorted(dst, np.arange(1, len(groups) + 2)).tolist()
    return Plan(n_inputs, n_neurons, groups, blocks, tuple(outputs), n_params, layer_of,
                pos_of, grad_mask, decay, out_cols,
                tuple(blocks[a:b] for a, b in itertools.pairwise(bounds)),
                dict(zip(map(attrgetter("src", "dst"), blocks), blocks, strict=True)))
