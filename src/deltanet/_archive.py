"""The safe archive behind model files and checkpoints: no pickle, no code, ever.

An archive is a ZIP file holding ``deltanet.json`` (format name and version, then free JSON)
and NumPy ``.npy`` arrays, read with ``allow_pickle=False``. Every size, shape and dtype is
checked before use; a truncated, corrupted or crafted file raises :class:`ModelFileError`.
Files are written atomically (temporary file, fsync, rename), so a crash leaves the old file
or the new one. :mod:`deltanet.io` (model files) and :mod:`deltanet.training.checkpoints`
build on it.
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

from ._safe_files import (  # noqa: F401  (names of this module too)
    MAX_JSON_BYTES,
    MAX_JSON_ITEMS,
    MAX_MEMBER_BYTES,
    ModelFileError,
    Names,
    json_array,
    read_archive,
)

FORMAT = "deltanet-model"
VERSION = 1


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
    # level 1: as small as the default level 6 on weights and arcs, several times faster
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("deltanet.json", json.dumps(header, allow_nan=False, sort_keys=True))
        for name, arr in arrays.items():
            member = _io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(f"{name}.npy", member.getvalue())
    return buf.getvalue()


def unpack(path: str | os.PathLike, expect_format: str, names: Names, first=None,
           max_items: int = MAX_JSON_ITEMS):
    """Read and check an archive written by :func:`pack`; returns (header, arrays).

    Only the arrays ``names(header, present)`` lists are read, within one decompression budget
    (see :mod:`deltanet._safe_files`); a bomb, a crafted size or dtype, or JSON too large
    or too deep is a :class:`ModelFileError` before anything large is allocated. ``first``
    and ``max_items``: see :func:`deltanet._safe_files.read_archive`."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ModelFileError(f"model file {str(path)!r} is a pipe or a device, which a ZIP "
                             "archive cannot be read from; save it to a file first")
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist or is not a file")
    try:
        header, arrays = read_archive(path, names, first, max_items)
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
