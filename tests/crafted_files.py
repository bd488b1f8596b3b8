"""Building blocks of crafted deltanet files: ``.npy`` members with any header, ZIP archives
(of zeros, padded to a size), the members of small real files, model headers, the members
of a network's file with the digest of its weights when it should load, and the families of
wide networks' files (``family(rng, parts, kind) -> (parts, digest, base archive)``)."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

import deltanet as dn
from deltanet.io import MAX_BLOCKS, MAX_NEURONS, arc_params


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_header(dtype: str, shape: tuple, data: bytes) -> bytes:
    """A ``.npy`` member whose header says ``dtype`` and ``shape`` whatever ``data`` is."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


@functools.cache
def zeros_archive(names: tuple[str, ...], size: int) -> bytes:
    """An archive of members that are ``size`` zero bytes (or a ``.npy`` of zeros), made
    once: deflating hundreds of megabytes takes seconds."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            data = b"\0" * size
            zf.writestr(name, npy_header("<f8", (size // 8,), data) if name.endswith(".npy")
                        else data)
    return buf.getvalue()


def archive(members: dict[str, bytes], base: bytes = b"") -> bytes:
    """A ZIP of ``members``, added to the archive ``base`` when given."""
    buf = io.BytesIO(base)
    with zipfile.ZipFile(buf, "a" if base else "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def good_parts(kind: str, rng: np.random.Generator, tmp: Path) -> dict[str, bytes]:
    """The members of a real file of ``kind``: a small trained-looking net or checkpoint."""
    sizes = [int(rng.integers(1, 6)), int(rng.integers(1, 6)), 1]
    net = dn.Network.layered(sizes, random_state=int(rng.integers(1 << 30)))
    if kind == "model":
        path = dn.save(net, tmp / "good.deltanet")
    else:
        X = rng.normal(size=(8, sizes[0]))
        path = tmp / "good.ckpt"
        dn.train(net, X, X[:, :1], epochs=1, optimizer="adam", checkpoint=str(path),
                 random_state=0)
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def spec_of(n_inputs: int, neurons: range, outputs: list[int]) -> dict:
    return {"n_inputs": n_inputs, "activations": {str(j): "logistic" for j in neurons},
            "outputs": outputs, "batch_norm": [], "dtype": "float64"}


def model_header(spec: dict) -> bytes:
    return json.dumps({"format": "deltanet-model", "version": 1, "network": spec,
                       "metadata": {}}).encode()


def padding(parts: dict[str, bytes], rng: np.random.Generator, size: int = 10 << 20) -> bytes:
    """An archive of one random member that is never read, for ``archive(parts, base)`` to
    end a little under ``size`` bytes: a file's decompression budget grows with its size."""
    room = size - len(archive(parts)) - 4096
    if room <= 0:
        return b""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("padding.bin", rng.bytes(room))
    return buf.getvalue()


def stored(n_inputs: int, arcs: np.ndarray, acts: list[str], outputs: list[int],
           rng: np.random.Generator, parts_count: int) -> tuple[dict, str | None]:
    """The members of a model file of this network (arcs ``(i, j)``, bias arcs included, in
    no particular order; ``acts`` by processing neuron) and the digest of its weights when
    it should load: when it compiles to at most ``MAX_BLOCKS`` groups and blocks, counted
    by the generator from how it lays it out (``parts_count``), and has at most ``MAX_NEURONS``
    neurons. Weights are random for a file that loads, zeros (the right number of them) for
    one that must be refused."""
    first = n_inputs + 1
    spec = {"n_inputs": n_inputs, "outputs": outputs, "batch_norm": [], "dtype": "float64",
            "activations": {str(j): a for j, a in enumerate(acts, start=first)}}
    parts = {"deltanet.json": model_header(spec), "arcs.npy": npy(arcs.astype(np.int64))}
    if parts_count > MAX_BLOCKS or n_inputs + len(acts) > MAX_NEURONS:
        parts["params.npy"] = npy(np.zeros(len(arcs)))
        return parts, None
    net = dn.Network(n_inputs, arcs, dict(enumerate(acts, start=first)), outputs=outputs,
                     bias=False)
    net.params[:] = rng.normal(size=net.params.size)
    params = arc_params(net)  # zeros where a sparse block has no arc
    parts["params.npy"] = npy(params)
    return parts, hashlib.sha256(params.tobytes()).hexdigest()


def wide_layer(rng, parts, kind):
    """One hidden layer of 20,000 to 1,000,000 neurons (what a file of 10 MB holds), each
    fed by one of 1 to 4 inputs, feeding 1 or 2 outputs; one activation per neuron, drawn
    from three. Loads up to ``MAX_NEURONS`` neurons, refused beyond."""
    n_in, n_out = int(rng.integers(1, 5)), int(rng.integers(1, 3))
    width = int(10 ** rng.uniform(np.log10(20_000), 6))
    hidden = np.arange(n_in + 1, n_in + 1 + width)
    outs = np.arange(hidden[-1] + 1, hidden[-1] + 1 + n_out)
    src = [np.zeros(width + n_out, np.int64), rng.integers(1, n_in + 1, width),
           np.repeat(hidden, n_out)]
    dst = [np.concatenate([hidden, outs]), hidden, np.tile(outs, width)]
    acts = rng.choice(["logistic", "tanh", "relu"], width).tolist() + ["identity"] * n_out
    return wide_file(n_in, src, dst, acts, outs.tolist(), rng)


def wide_deep(rng, parts, kind):
    """2 to 4 wide layers of 20,000 to 500,000 neurons in all, each fed by all of a narrow
    layer (1 to 3 neurons, the first fed by the inputs) and feeding all of the next one."""
    n_in, levels, narrow = 2, int(rng.integers(2, 5)), int(rng.integers(1, 4))
    widths = rng.multinomial(int(10 ** rng.uniform(np.log10(20_000), 5.7)) - levels,
                             np.full(levels, 1 / levels)) + 1
    src, dst, acts, below = [], [], [], np.arange(1, n_in + 1)
    top = n_in
    for width in [*widths.tolist(), None]:
        for size in ([width, narrow] if width else [1]):
            level = np.arange(top + 1, top + 1 + size)
            src += [np.zeros(size, np.int64), np.repeat(below, size)]
            dst += [level, np.tile(level, len(below))]
            acts += [str(rng.choice(["logistic", "tanh", "relu"]))] * size
            below, top = level, top + size
    return wide_file(n_in, src, dst, acts, [top], rng)


def wide_sparse(rng, parts, kind):
    """20,000 to 1,000,000 hidden neurons each fed by one of 1,000 to 50,000 inputs (sparse
    arcs): the block from the inputs would be dense and huge, so the file is refused."""
    n_in = int(rng.integers(1_000, 50_000))
    width = int(10 ** rng.uniform(np.log10(20_000), 6))
    hidden = np.arange(n_in + 1, n_in + 1 + width)
    out = int(hidden[-1]) + 1
    src = [np.zeros(width + 1, np.int64), rng.integers(1, n_in + 1, width), hidden]
    dst = [np.append(hidden, out), hidden, np.full(width, out)]
    arcs = np.stack([np.concatenate(src), np.concatenate(dst)], axis=1)
    parts = {"deltanet.json": model_header(spec_of(n_in, range(n_in + 1, out + 1), [out])),
             "arcs.npy": npy(arcs), "params.npy": npy(np.zeros(len(arcs)))}
    return parts, None, padding(parts, rng)


def wide_file(n_inputs, src, dst, acts, outputs, rng):
    """The parts of a wide network's file (see :func:`stored`), its arcs as generated,
    padded to about 10 MB with a member never read."""
    arcs = np.stack([np.concatenate(src), np.concatenate(dst)], axis=1)
    # few groups and blocks: only the number of neurons may be too many
    parts, digest = stored(n_inputs, arcs, acts, outputs, rng, parts_count=0)
    return parts, digest, padding(parts, rng)


def json_neurons(rng, parts, kind):
    """A small network whose JSON names 100,000 to 1,000,000 activations: refused as
    too many values before parsing, or as neurons no arc reaches once parsed."""
    head = json.loads(parts["deltanet.json"])
    acts = head["network"]["activations"]
    first = max(map(int, acts)) + 1
    acts |= {str(j): "relu" for j in range(first, first + int(10 ** rng.uniform(5, 6)))}
    parts["deltanet.json"] = json.dumps(head).encode()
    return parts, None, b""
