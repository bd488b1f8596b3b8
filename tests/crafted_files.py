"""Building blocks of crafted deltanet files: ``.npy`` members with any header, ZIP archives
(of zeros, padded to a size), the members of small real files, model headers."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

import numpy as np

import deltanet as dn


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
