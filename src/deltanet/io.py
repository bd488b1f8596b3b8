"""Saving and loading networks in a safe file format: no pickle, no code, ever.

A deltanet model file is a ZIP archive holding ``deltanet.json`` (format name and version,
the architecture in lecture terms, and free JSON metadata such as preprocessing or a
training history) and NumPy ``.npy`` arrays (arcs, parameters, batch-norm statistics),
read with ``allow_pickle=False``. Every size, shape and dtype is checked before use; a
truncated, corrupted or crafted file raises :class:`ModelFileError`. Files are written
atomically (temporary file, fsync, rename), so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import activations

# the archive format is shared with checkpoints; its names stay part of this module
from ._archive import (  # noqa: F401
    FORMAT,
    MAX_JSON_BYTES,
    MAX_MEMBER_BYTES,
    STALE_SECONDS,
    VERSION,
    ModelFileError,
    _umask,
    atomic_write,
    cannot_create_in,
    file_format,
    json_array,
    pack,
)
from ._archive import unpack as _unpack
from ._depths import depths, distinct
from ._plan import plan_size
from ._safe_files import ModelTooLarge
from ._validation import check_number

#: the most neurons (inputs included: the highest neuron number) a model file's network may
#: have, unless ``load(path, max_neurons=...)`` says otherwise: each has its own entry in
#: ``deltanet.json`` and its own Python work on loading (see README, "Reliability")
MAX_NEURONS = 100_000
#: values and keys ``deltanet.json`` may hold besides two per neuron (its activation):
#: the metadata, such as a training history or table preprocessing
METADATA_ITEMS = 1 << 18
#: the most parameters a model file may declare (bounds memory before anything is built)
MAX_PARAMS = 1 << 28
#: the most groups plus weight blocks a model file's network may compile to, unless
#: ``load(path, max_blocks=...)`` says otherwise: each is a Python object that building,
#: and every pass, handle one at a time (see README, "Reliability")
MAX_BLOCKS = 10_000


def model_arrays(header: dict, present: list[str]) -> list[str]:
    """The arrays a model file holds: arcs, parameters, and the statistics of each
    batch-normalised layer its header names."""
    names = ["arcs", "params"]
    spec = header.get("network")
    layers = spec.get("batch_norm") if isinstance(spec, dict) else None
    if isinstance(layers, list):
        for layer in layers:  # as long as deltanet.json's bound on values allows
            if isinstance(layer, int):
                names += [f"bn{layer}_mean", f"bn{layer}_var"]
    return names


def unpack(path: str | os.PathLike, expect_format: str = FORMAT, names=model_arrays,
           first=None, max_neurons: int = MAX_NEURONS):
    """:func:`deltanet._archive.unpack` reading the arrays a model file holds by default,
    its JSON bounded by :func:`json_items` of ``max_neurons``."""
    return _unpack(path, expect_format, names, first, json_items(max_neurons))


def json_items(max_neurons: int) -> int:
    """The most values and keys the ``deltanet.json`` of a model file of at most
    ``max_neurons`` neurons may hold: two per neuron (number and activation), plus
    ``METADATA_ITEMS``; parsing it is what takes longest in loading a wide file."""
    return 2 * max_neurons + METADATA_ITEMS


def arc_params(net) -> np.ndarray:
    """``net.params`` with zeros where no arc is (the padding of a masked block, a bias
    arc left out): what a file holds. A copy when there is padding; ``net`` is unchanged."""
    mask = net.plan.grad_mask
    if mask is None:
        return net.params
    return np.where(mask > 0, net.params, net.params.dtype.type(0))


def network_to_parts(net) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The architecture as JSON and the arrays needed to rebuild ``net`` exactly."""
    bn_layers = sorted(net.bn_state)
    spec = {
        "n_inputs": net.n_inputs,
        "activations": {str(j): net.activation_of(j)
                        for j in range(net.n_inputs + 1, net.n_neurons)},
        "outputs": list(net.outputs),
        "batch_norm": bn_layers,
        "dtype": np.dtype(net.dtype).name,
    }
    arrays = {"arcs": net.arc_array.astype(np.int64),
              "params": arc_params(net)}
    for layer in bn_layers:
        arrays[f"bn{layer}_mean"], arrays[f"bn{layer}_var"] = net.bn_state[layer]
    return spec, arrays


def network_from_parts(spec: Any, arrays: dict[str, np.ndarray], name: str = "model", *,
                       max_blocks: int = MAX_BLOCKS, depth: np.ndarray | None = None,
                       max_neurons: int = MAX_NEURONS):
    """Rebuild a Network from :func:`network_to_parts` output, checking every field; a
    network compiling to more than ``max_blocks`` groups and weight blocks, or of more than
    ``max_neurons`` neurons, is refused. ``depth``: the depths of the arcs' neurons, when
    :func:`_refuse_early` found them."""
    try:
        n_inputs = spec["n_inputs"]
        declared = n_inputs + len(spec["activations"]) if isinstance(n_inputs, int) else 0
        if declared > max_neurons:  # before a dictionary entry is made per neuron
            raise _too_many_neurons(name, declared, max_neurons)
        acts = dict(zip(map(int, spec["activations"].keys()), spec["activations"].values(),
                        strict=True))
        outputs = [int(j) for j in spec["outputs"]]
        bn = [int(k) for k in spec["batch_norm"]]
        dtype = np.dtype(spec["dtype"])
        arcs = arrays["arcs"]
        params = arrays["params"]
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
        raise ModelFileError(f"{name}: the network description is incomplete or malformed "
                             f"({type(err).__name__}: {err})") from None
    if not isinstance(n_inputs, int) or n_inputs < 1:
        raise ModelFileError(f"{name}: n_inputs {n_inputs!r} is out of range")
    if arcs.ndim != 2 or arcs.shape[1] != 2 or arcs.dtype.kind not in "iu":
        raise ModelFileError(f"{name}: arcs must be an (m, 2) integer array")
    if arcs.size and arcs.min() < 0:
        raise ModelFileError(f"{name}: arc neuron numbers are out of range")
    if arcs.size and arcs.max() > max_neurons:
        raise _too_many_neurons(name, int(arcs.max()), max_neurons)
    if params.ndim != 1 or params.dtype.kind != "f" or not np.all(np.isfinite(params)):
        raise ModelFileError(f"{name}: parameters must be a finite 1-D float array")
    if not set(map(type, acts.values())) <= {str}:
        raise ModelFileError(f"{name}: activations must map neuron numbers to names")
    act_of = _check_declared_size(name, n_inputs, arcs, acts, outputs, params.size,
                                  max_blocks, depth)
    net = _build(name, n_inputs, arcs, act_of, outputs, bn, dtype,
                 depth if depth is not None and len(depth) == len(act_of) + n_inputs + 1
                 else None)
    if params.shape != net.params.shape or len(net.arc_array) != len(arcs):
        raise ModelFileError(f"{name}: {params.size} parameters stored, the architecture "
                             f"needs {net.params.size}")
    if net.plan.grad_mask is not None and np.any(params[net.plan.grad_mask == 0] != 0):
        raise ModelFileError(f"{name}: weights stored on arcs that do not exist")
    net.params[:] = params
    for layer in bn:
        if layer not in net.bn_state:
            raise ModelFileError(f"{name}: batch-norm layer {layer} is not a hidden layer")
        mean, var = arrays.get(f"bn{layer}_mean"), arrays.get(f"bn{layer}_var")
        want = net.bn_state[layer][0].shape
        if mean is None or var is None or mean.shape != want or var.shape != want \
                or not (np.all(np.isfinite(mean)) and np.all(var >= 0)):
            raise ModelFileError(f"{name}: batch-norm statistics of layer {layer} are invalid")
        net.bn_state[layer] = (mean.astype(net.dtype), var.astype(net.dtype))
    return net


def _build(name: str, n_inputs: int, arcs: np.ndarray, act_of: dict, outputs: list[int],
           bn: list[int], dtype: np.dtype, depth: np.ndarray | None):
    """``Network(n_inputs, arcs, act_of, ...)`` with all-zero weights, given the depths of
    its neurons when known (not worked out a second time)."""
    from ._arcs import validate_arcs
    from .network import Network

    try:
        net = Network.__new__(Network)
        net._build(n_inputs, *validate_arcs(n_inputs, arcs), act_of, outputs=outputs,
                   bias=False, batch_norm=bn or False, init=0.0, random_state=None,
                   dtype=dtype, depth=depth)
    except (ValueError, KeyError, TypeError) as err:
        raise ModelFileError(f"{name}: the stored network is invalid: {err}") from None
    return net


def _check_declared_size(name: str, n_inputs: int, arcs: np.ndarray, acts: dict,
                         outputs: list[int], n_stored: int, max_blocks: int,
                         depth: np.ndarray | None) -> dict:
    """Refuse, before any network is built, arcs that do not form one, a network compiling
    to more than ``max_blocks`` groups and blocks, or one whose blocks (``n_src × n_dst``
    per pair of groups joined by an arc, counted by :func:`deltanet._plan.plan_size`) need
    more parameters than the file stores: its parameter vector, bounded by the
    decompression budget, is what the file declares, so building can never allocate beyond
    it. All in linear time; returns the activation of every neuron."""
    src, dst = arcs[:, 0].astype(np.int64), arcs[:, 1].astype(np.int64)
    n_neurons = int(max(dst.max(initial=0), n_inputs)) + 1
    proc = np.arange(n_inputs + 1, n_neurons)
    try:
        numbers = np.fromiter(acts, np.int64, len(acts))  # distinct: the keys of a dict
    except OverflowError:  # a number beyond int64 names no neuron
        numbers = np.zeros(1, np.int64)
    if proc.size == 0 or np.any(src >= dst) or np.any(dst <= n_inputs) \
            or distinct(dst).size != proc.size or len(acts) != proc.size \
            or numbers.min(initial=n_inputs + 1) <= n_inputs \
            or numbers.max(initial=0) >= n_neurons:
        raise ModelFileError(f"{name}: the arcs do not form a network (every arc (i, j) needs "
                             "i < j, every processing neuron an incoming arc and an "
                             "activation)")
    # quick lower bound first: a neuron fed by an input is a column of a block of n_inputs rows
    fed = distinct(dst[(src > 0) & (src <= n_inputs)]).size
    _refuse_beyond(name, n_inputs * fed + proc.size, n_stored)
    try:
        named = {v: activations.get(v) for v in set(acts.values())}
        act_of = dict(zip(acts.keys(), map(named.__getitem__, acts.values()), strict=True))
        size = plan_size(n_inputs, n_neurons, src, dst, act_of,
                         [j for j in outputs if n_inputs < j < n_neurons], max_blocks,
                         depth if depth is not None and len(depth) == n_neurons else None)
    except ValueError as err:
        raise ModelFileError(f"{name}: {err}") from None
    if size is None or size[0] + size[1] > max_blocks:
        raise _too_many_blocks(name, None if size is None else size[0] + size[1], max_blocks)
    _refuse_beyond(name, size[2], n_stored)
    return act_of


def _too_many_blocks(name: str, parts: int | None, max_blocks: int) -> ModelFileError:
    parts = "more than the" if parts is None else f"{parts:,}, over the"
    return ModelTooLarge(
        f"{name}: the network compiles to {parts} limit of {max_blocks:,} groups and weight "
        "blocks (each is built and run one at a time); to load a file you trust, raise the "
        "limit: deltanet.load(path, max_blocks=...)", "max_blocks")


def _too_many_neurons(name: str, neurons: int, max_neurons: int) -> ModelFileError:
    return ModelTooLarge(
        f"{name}: the network has {neurons:,} neurons (inputs included), over the limit of "
        f"{max_neurons:,} (each is read from the file's JSON and handled on loading); to "
        "load a file you trust, raise the limit: deltanet.load(path, max_neurons=...)",
        "max_neurons")


def _refuse_early(name: str, arcs: np.ndarray, max_blocks: int,
                  max_neurons: int) -> np.ndarray | None:
    """Refuse well-formed arcs of more than ``max_neurons`` neurons, or too deep for
    ``max_blocks`` groups and blocks, as soon as they are read, before the JSON is parsed (a
    million neurons' JSON takes longer to parse than their number and depth to bound); the
    inputs are the neurons below the first one an arc goes into, as in every valid file (the
    depths found are given back, for the later checks to use once those have made sure).
    Malformed arcs are left to the checks that name them."""
    if arcs.ndim != 2 or arcs.shape[1] != 2 or arcs.dtype.kind not in "iu" or not arcs.size:
        return None
    src, dst = arcs[:, 0].astype(np.int64), arcs[:, 1].astype(np.int64)
    if src.min() < 0 or dst.min() < 2 or np.any(src >= dst):
        return None
    if dst.max() > max_neurons:  # neurons 1..dst.max(), the bias unit 0 aside
        raise _too_many_neurons(name, int(dst.max()), max_neurons)
    depth = depths(int(dst.min()) - 1, int(dst.max()) + 1, src, dst,
                   limit=(max_blocks + 1) // 2)
    if depth is None:
        raise _too_many_blocks(name, None, max_blocks)
    return depth


def _refuse_beyond(name: str, needed: int, n_stored: int) -> None:
    if needed > min(n_stored, MAX_PARAMS):
        raise ModelFileError(f"{name}: {n_stored:,} parameters stored, the architecture "
                             f"needs at least {needed:,} (a crafted or damaged file)")


def save(net, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Save ``net`` (and JSON ``metadata``) to ``path`` atomically; returns the path.

    >>> import deltanet as dn, tempfile, os
    >>> net = dn.Network.layered([2, 3, 1], random_state=0)
    >>> p = dn.save(net, os.path.join(tempfile.mkdtemp(), "xor.deltanet"))
    >>> bool((dn.load(p).params == net.params).all())
    True
    """
    if Path(path).is_dir():
        raise ValueError(f"{str(path)!r} is a directory; give a file name such as "
                         f"{str(Path(path) / 'model.deltanet')!r}")
    spec, arrays = network_to_parts(net)
    header = {"format": FORMAT, "version": VERSION, "network": spec,
              "metadata": metadata or {}}
    try:
        data = pack(header, arrays)
    except (TypeError, ValueError) as err:
        raise ValueError(f"metadata must be plain JSON (numbers, strings, lists, dicts) "
                         f"without NaN: {err}") from None
    atomic_write(path, data)
    return Path(path)


def read_model(path: str | os.PathLike, *, max_blocks: int = MAX_BLOCKS,
               max_neurons: int = MAX_NEURONS):
    """Load a model file; returns ``(network, metadata)`` (``max_blocks``, ``max_neurons``:
    see :func:`load`)."""
    max_blocks = int(check_number("max_blocks", max_blocks, low=1, integer=True))
    max_neurons = int(check_number("max_neurons", max_neurons, low=2, integer=True))
    name, found = Path(path).name, []
    header, arrays = unpack(path, first=("arcs", lambda arcs: found.append(
        _refuse_early(name, arcs, max_blocks, max_neurons))), max_neurons=max_neurons)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{name}: metadata must be a JSON object")
    return network_from_parts(header.get("network"), arrays, name, max_blocks=max_blocks,
                              depth=found[0] if found else None,
                              max_neurons=max_neurons), metadata


def load(path: str | os.PathLike, *, max_blocks: int = MAX_BLOCKS,
         max_neurons: int = MAX_NEURONS):
    """Load a network saved with :func:`save` (never executes code from the file).

    A network that compiles to more than ``max_blocks`` groups and weight blocks (10,000 by
    default: a chain of 5,000 neurons, or 10,000 layers of a layered network), or that has
    more than ``max_neurons`` neurons, inputs included (100,000 by default), is refused with
    a :class:`ModelFileError` before it is built, since each group and block is handled one
    at a time, and each neuron read from JSON; pass larger limits to load a file you trust
    (``deltanet.json`` may then hold two values per neuron plus ``METADATA_ITEMS``).
    """
    return read_model(path, max_blocks=max_blocks, max_neurons=max_neurons)[0]
