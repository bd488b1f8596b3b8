"""Bounded reading of deltanet archives: what a file declares is checked before it is used.

A model file or checkpoint is a ZIP holding ``deltanet.json`` and ``.npy`` arrays. A file
may lie, so reading follows four rules:

- **One budget for everything decompressed.** The sizes the ZIP directory declares for the
  members that are read are added up *before* any of them is inflated, and the sum must
  stay within :func:`budget` of the file (``MIN_BUDGET`` bytes, or ``RATIO`` times the
  file's size, at most ``MAX_BUDGET``). Python's ZIP reader never yields more than the
  declared size, so a bomb is refused before it is opened.
- **Only the members the format names are read.** Other members are never decompressed.
- **JSON is bounded** in bytes (``MAX_JSON_BYTES``), in values (``MAX_JSON_ITEMS``,
  counted from the text before parsing) and in nesting (``MAX_JSON_DEPTH``).
- **Arrays have a dtype from a fixed list** (:data:`DTYPES`), and the shape in the
  ``.npy`` header must account exactly for the bytes that follow it.

Every failure is a :class:`ModelFileError` (a ``ValueError``) saying what is wrong.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

MAX_MEMBER_BYTES = 1 << 30  # no member is ever larger than 1 GiB
MIN_BUDGET = 64 << 20  # a file may always inflate to 64 MiB in all ...
RATIO = 8  # ... or to 8 times its own size (random weights barely compress) ...
MAX_BUDGET = 4 << 30  # ... but never to more than 4 GiB
MAX_JSON_BYTES = 32 << 20
MAX_JSON_ITEMS = 1 << 21  # values and keys in deltanet.json (2,097,152)
MAX_JSON_DEPTH = 64
#: the only dtypes an array in a deltanet file may have
DTYPES = tuple(np.dtype(t) for t in ("float32", "float64", "int64", "bool"))


class ModelFileError(ValueError):
    """The file is not a valid deltanet model file (message says what is wrong)."""


class ModelTooLarge(ModelFileError):
    """The file declares more than a loading limit allows; ``limit`` names the keyword
    (``"max_blocks"`` or ``"max_neurons"``) that raises it."""

    def __init__(self, message: str, limit: str):
        super().__init__(message)
        self.limit = limit


def budget(file_size: int) -> int:
    """How many bytes in all the members read from a file of ``file_size`` bytes may hold."""
    return min(MAX_BUDGET, max(MIN_BUDGET, RATIO * file_size))


Names = Callable[[dict, list[str]], Iterable[str]]


def read_archive(path: Path, names: Names,
                 first: tuple[str, Callable[[np.ndarray], None]] | None = None,
                 max_items: int = MAX_JSON_ITEMS) -> tuple[dict, dict]:
    """``(header, arrays)`` of the archive at ``path``: ``deltanet.json`` parsed, then the
    arrays ``names(header, present)`` lists (``present``: the ``.npy`` members, without the
    suffix), each present or absent; any other member is left unread. ``first``: an array
    ``(name, check)`` read and given to ``check`` before the JSON is even inflated, for
    checks that refuse a file faster than its JSON can be parsed. ``max_items``: the most
    values and keys ``deltanet.json`` may hold (:func:`parse_json`)."""
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        if "deltanet.json" not in infos:
            raise ModelFileError(f"{path.name} is not a deltanet file (no deltanet.json)")
        for info in infos.values():
            if info.file_size > MAX_MEMBER_BYTES:
                raise ModelFileError(f"{path.name}: member {info.filename!r} is too large")
        arrays = {}
        if first is not None and f"{first[0]}.npy" in infos:  # read, and checked, first
            member = f"{first[0]}.npy"
            _within_budget(path, infos, ["deltanet.json", member])
            arrays[first[0]] = read_npy(zf, infos[member], f"{path.name}: {member}")
            first[1](arrays[first[0]])
        header = parse_json(_read(zf, infos["deltanet.json"], MAX_JSON_BYTES, path),
                            path.name, max_items)
        present = [n[:-4] for n in infos if n.endswith(".npy")]
        listed = names(header, present) if isinstance(header, dict) else ()
        wanted = [f"{n}.npy" for n in dict.fromkeys(listed) if f"{n}.npy" in infos]
        _within_budget(path, infos, ["deltanet.json", *wanted])
        arrays |= {m[:-4]: read_npy(zf, infos[m], f"{path.name}: {m}") for m in wanted
                   if m[:-4] not in arrays}
    return header, arrays


def _within_budget(path: Path, infos: dict, members: list[str]) -> None:
    total = sum(infos[m].file_size for m in members)
    allowed = budget(path.stat().st_size)
    if total > allowed:
        raise ModelFileError(f"{path.name}: its members would inflate to {total:,} bytes, "
                             f"more than the {allowed:,} a file of this size may hold "
                             "(a crafted or damaged file)")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, path: Path) -> bytes:
    if info.file_size > limit:
        raise ModelFileError(f"{path.name}: member {info.filename!r} is too large")
    with zf.open(info) as fh:
        return fh.read(limit + 1)


def parse_json(data: bytes, where: str, max_items: int = MAX_JSON_ITEMS) -> Any:
    """Parse JSON whose size, number of values (``max_items``) and nesting are bounded
    before parsing."""
    if len(data) > MAX_JSON_BYTES:
        raise ModelFileError(f"{where}: deltanet.json is larger than {MAX_JSON_BYTES:,} bytes")
    # every value after the first follows one of these marks: an upper bound on the count
    items = sum(data.count(c) for c in (b",", b":", b"[", b"{"))
    if items > max_items:
        raise ModelFileError(f"{where}: deltanet.json holds more than {max_items:,} "
                             "values (a crafted or damaged file)")
    value = json.loads(data.decode("utf-8"))
    check_depth(value, where)
    return value


def check_depth(value: Any, where: str) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH``, walked one level at a time
    without recursion (only lists and objects are kept for the next level)."""
    level, depth = [value], 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise ModelFileError(f"{where}: deltanet.json is nested deeper than "
                                 f"{MAX_JSON_DEPTH} levels")
        inner = []
        for item in level:
            values = item.values() if isinstance(item, dict) else item
            if (isinstance(values, list) or isinstance(item, dict)) \
                    and not set(map(type, values)).isdisjoint((dict, list)):
                inner += [v for v in values if isinstance(v, (dict, list))]
        level, depth = inner, depth + 1


def check_dtype(dtype: Any, where: str, extra: tuple = ()) -> np.dtype:
    """``dtype`` as a NumPy dtype if it is one of :data:`DTYPES` (or ``extra``), native or
    little-endian; else a ModelFileError."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ModelFileError(f"{where} has an unknown dtype {str(dtype)[:40]!r}") from None
    if dt.newbyteorder("=") not in DTYPES + tuple(np.dtype(e) for e in extra) \
            or dt.byteorder == ">":
        allowed = ", ".join(d.name for d in DTYPES)
        raise ModelFileError(f"{where} is not a numeric array of an allowed dtype "
                             f"({dt.str[:40]!r}; deltanet files hold only {allowed})")
    return dt


def read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    """Read one ``.npy`` member: the header first, its dtype and shape checked against the
    declared member size, then exactly the data bytes."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        dtype = check_dtype(dtype, where)
        count = 1
        for n in shape:
            count *= n  # Python ints: a crafted shape cannot overflow
        nbytes = count * dtype.itemsize
        if count < 0 or nbytes != info.file_size - fh.tell():
            raise ModelFileError(f"{where}: the array header does not match its data "
                                 "(truncated or corrupted)")
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{where} is truncated")
    arr = np.frombuffer(data, dtype=dtype, count=count)
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def json_array(values: Any, dtype: Any, where: str,
               extra: tuple = ("uint32", "uint64")) -> np.ndarray:
    """An array stored as a JSON list (``{"__ndarray__": [...], "dtype": ...}``), its dtype
    from :data:`DTYPES` or ``extra`` (a generator's state holds unsigned integers)."""
    dt = check_dtype(dtype, where, extra)
    try:
        return np.array(values, dtype=dt)
    except (TypeError, ValueError, OverflowError) as err:
        raise ModelFileError(f"{where}: a stored array is malformed ({err})"[:200]) from None
