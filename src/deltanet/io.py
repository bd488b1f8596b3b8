"""Saving and loading networks in a safe file format: no pickle, no code, ever.

A deltanet model file is a ZIP archive holding ``deltanet.json`` (format name and version,
the architecture in lecture terms, and free JSON metadata such as preprocessing or a
training history) and NumPy ``.npy`` arrays (arcs, parameters, batch-norm statistics),
read with ``allow_pickle=False``. Every size, shape and dtype is checked before use; a
truncated, corrupted or crafted file raises :class:`ModelFileError`. Files are written
atomically (temporary file, fsync, rename), so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import io as _io
import json
import os
import re
import struct
import tempfile
import time
import zipfile
import zlib
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import numpy as np

from ._safe_files import MAX_MEMBER_BYTES, ModelFileError, Names, json_array, read_archive

__all__ = ["MAX_MEMBER_BYTES", "ModelFileError", "json_array", "load", "read_model", "save"]

FORMAT = "deltanet-model"
VERSION = 1
MAX_NEURONS = 10_000_000
#: the most parameters a model file may declare (bounds memory before anything is built)
MAX_PARAMS = 1 << 28


def cannot_create_in(folder: str | Path) -> str | None:
    """Why no new file can be made in ``folder``, or None when one can.

    Missing folders are made when writing (``atomic_write``), so the nearest one that
    exists is tried: it must be a folder that takes a new file, which a probe file shows.
    """
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{str(existing)!r} is a file, not a folder"
    try:
        handle, probe = tempfile.mkstemp(prefix=".deltanet-probe-", dir=existing)
    except OSError as err:
        return (f"no file can be created in the folder {str(existing)!r} "
                f"({err.strerror or type(err).__name__})")
    os.close(handle)
    os.unlink(probe)
    return None


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename.

    A ``path`` that exists and is no regular file (``/dev/null``, ``/dev/stdout``, a named
    pipe) is written in place: renaming over it would replace the device or pipe.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        with open(path, "wb") as fh:
            fh.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file follows the umask
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    _remove_stale_temporaries(path)


#: a temporary file of ``atomic_write`` older than this was left by a killed process
STALE_SECONDS = 3600.0

_SWEPT: set[Path] = set()  # paths whose folder this process has looked through already


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the temporary files an earlier write of ``path`` left when its process was
    killed between writing and renaming. Recent ones may be another process's write in
    progress, so only those older than ``STALE_SECONDS`` go. Once per path and process: a
    checkpoint written every epoch does not list its folder every epoch."""
    key = path.resolve()
    if key in _SWEPT:
        return
    _SWEPT.add(key)
    limit = time.time() - STALE_SECONDS
    ours = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp")  # mkstemp's names
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        try:
            if ours.fullmatch(tmp.name) and tmp.stat().st_mtime < limit:
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to delete: leave it


def _umask() -> int:
    """The process umask, read without changing it (Linux), else the common 0o022."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def pack(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """Build the bytes of an archive: ``deltanet.json`` plus one ``.npy`` per array."""
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("deltanet.json", json.dumps(header, allow_nan=False, sort_keys=True))
        for name, arr in arrays.items():
            member = _io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(f"{name}.npy", member.getvalue())
    return buf.getvalue()


def model_arrays(header: dict, present: list[str]) -> list[str]:
    """The arrays a model file holds: arcs, parameters, and the statistics of each
    batch-normalised layer its header names."""
    names = ["arcs", "params"]
    spec = header.get("network")
    layers = spec.get("batch_norm") if isinstance(spec, dict) else None
    if isinstance(layers, list):
        for layer in layers[:MAX_NEURONS]:
            if isinstance(layer, int):
                names += [f"bn{layer}_mean", f"bn{layer}_var"]
    return names


def unpack(path: str | os.PathLike, expect_format: str = FORMAT,
           names: Names = model_arrays):
    """Read and check an archive written by :func:`pack`; returns (header, arrays).

    Only the arrays ``names(header, present)`` lists are read, within one decompression budget
    (see :mod:`deltanet._safe_files`); a bomb, a crafted size or dtype, or JSON too large
    or too deep is a :class:`ModelFileError` before anything large is allocated."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ModelFileError(f"model file {str(path)!r} is a pipe or a device, which a ZIP "
                             "archive cannot be read from; save it to a file first")
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist or is not a file")
    try:
        header, arrays = read_archive(path, names)
    except ModelFileError:
        raise
    # RuntimeError also covers zipfile's error for an unknown compression method
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError,
            OSError, KeyError, UnicodeDecodeError, json.JSONDecodeError, ValueError,
            TypeError, RuntimeError, RecursionError, MemoryError) as err:
        raise ModelFileError(f"{path.name} is not a readable deltanet file "
                             f"(truncated or corrupted: {type(err).__name__})") from None
    if not isinstance(header, dict) or header.get("format") != expect_format:
        raise ModelFileError(f"{path.name} is not a {expect_format} file")
    version = header.get("version")
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise ModelFileError(f"{path.name} has format version {version!r}; this deltanet "
                             f"reads versions 1..{VERSION}: upgrade deltanet")
    return header, arrays


def file_format(path: str | os.PathLike) -> str | None:
    """The format a deltanet archive at ``path`` names (``"deltanet-model"``,
    ``"deltanet-checkpoint"``), or None for any other file; only its header is read."""
    try:
        header, _ = read_archive(Path(path), lambda header, present: ())
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError,
            UnicodeDecodeError, struct.error):
        return None
    return header.get("format") if isinstance(header, dict) else None


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
    arrays = {"arcs": np.asarray(net.arcs, dtype=np.int64).reshape(-1, 2),
              "params": arc_params(net)}
    for layer in bn_layers:
        arrays[f"bn{layer}_mean"], arrays[f"bn{layer}_var"] = net.bn_state[layer]
    return spec, arrays


def network_from_parts(spec: Any, arrays: dict[str, np.ndarray], name: str = "model"):
    """Rebuild a Network from :func:`network_to_parts` output, checking every field."""
    from .network import Network

    try:
        n_inputs = spec["n_inputs"]
        acts = {int(k): v for k, v in spec["activations"].items()}
        outputs = [int(j) for j in spec["outputs"]]
        bn = [int(k) for k in spec["batch_norm"]]
        dtype = np.dtype(spec["dtype"])
        arcs = arrays["arcs"]
        params = arrays["params"]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
        raise ModelFileError(f"{name}: the network description is incomplete or malformed "
                             f"({type(err).__name__}: {err})") from None
    if not isinstance(n_inputs, int) or not 1 <= n_inputs <= MAX_NEURONS:
        raise ModelFileError(f"{name}: n_inputs {n_inputs!r} is out of range")
    if arcs.ndim != 2 or arcs.shape[1] != 2 or arcs.dtype.kind not in "iu":
        raise ModelFileError(f"{name}: arcs must be an (m, 2) integer array")
    if arcs.size and (arcs.min() < 0 or arcs.max() >= MAX_NEURONS):
        raise ModelFileError(f"{name}: arc neuron numbers are out of range")
    if params.ndim != 1 or params.dtype.kind != "f" or not np.all(np.isfinite(params)):
        raise ModelFileError(f"{name}: parameters must be a finite 1-D float array")
    if not isinstance(acts, dict) or not all(isinstance(v, str) for v in acts.values()):
        raise ModelFileError(f"{name}: activations must map neuron numbers to names")
    _check_declared_size(name, n_inputs, arcs, acts, outputs, params.size)
    try:
        net = Network(n_inputs, arcs, acts, outputs=outputs, bias=False,
                      batch_norm=bn or False, init=0.0, dtype=dtype)
    except (ValueError, KeyError, TypeError) as err:
        raise ModelFileError(f"{name}: the stored network is invalid: {err}") from None
    if params.shape != net.params.shape or len(net.arcs) != len(arcs):
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


def _check_declared_size(name: str, n_inputs: int, arcs: np.ndarray, acts: dict,
                         outputs: list[int], n_stored: int) -> None:
    """Refuse, before any network is built, arcs that do not form one, or an architecture
    whose compiled blocks (``n_src × n_dst`` per pair of groups joined by an arc) need more
    parameters than the file stores: its parameter vector, bounded by the decompression
    budget, is what the file declares, so building can never allocate beyond it."""
    from ._plan import depths

    src, dst = arcs[:, 0].astype(np.int64), arcs[:, 1].astype(np.int64)
    n_neurons = int(max(dst.max(initial=0), n_inputs)) + 1
    proc = np.arange(n_inputs + 1, n_neurons)
    if proc.size == 0 or np.any(src >= dst) or np.any(dst <= n_inputs) \
            or np.unique(dst).size != proc.size or set(acts) != set(proc.tolist()):
        raise ModelFileError(f"{name}: the arcs do not form a network (every arc (i, j) needs "
                             "i < j, every processing neuron an incoming arc and an "
                             "activation)")
    # quick lower bound first: a neuron fed by an input is a column of a block of n_inputs rows
    fed = np.unique(dst[(src > 0) & (src <= n_inputs)]).size
    _refuse_beyond(name, n_inputs * fed + proc.size, n_stored)
    depth = depths(n_inputs, n_neurons, src, dst)[proc]
    _, act_code = np.unique(np.array([acts[j] for j in proc.tolist()]), return_inverse=True)
    is_out = np.isin(proc, [j for j in outputs if 0 <= j < n_neurons])
    keys = np.stack([depth, act_code.reshape(-1), is_out.astype(np.int64)], axis=1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    layer_of = np.zeros(n_neurons, dtype=np.int64)
    layer_of[proc] = 1 + group.reshape(-1)
    sizes = np.bincount(layer_of[1:], minlength=2)  # layer 0: the n_inputs inputs
    real = src > 0
    pairs = np.unique(layer_of[src[real]] * len(sizes) + layer_of[dst[real]])
    needed = int(np.sum(sizes[pairs // len(sizes)] * sizes[pairs % len(sizes)])) + proc.size
    _refuse_beyond(name, needed, n_stored)


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


def read_model(path: str | os.PathLike):
    """Load a model file; returns ``(network, metadata)``."""
    header, arrays = unpack(path)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{Path(path).name}: metadata must be a JSON object")
    return network_from_parts(header.get("network"), arrays, Path(path).name), metadata


def load(path: str | os.PathLike):
    """Load a network saved with :func:`save` (never executes code from the file)."""
    return read_model(path)[0]
