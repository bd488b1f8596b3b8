"""Arrays that start on a cache-line boundary.

NumPy guarantees 16-byte alignment. The compiled kernels read weights and unit vectors with
256- and 512-bit vector loads; when a vector straddles two cache lines the load costs more,
so per-example training of the same network ran 10–15% slower or faster depending only on
where its parameters happened to start. Parameters and the kernels' work vectors are
therefore allocated at 64-byte boundaries (a cache line, and one AVX-512 register).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._validation import fail

ALIGNMENT = 64  # bytes


def aligned_zeros(n: int, dtype: Any) -> np.ndarray:
    """A 1-D array of ``n`` zeros whose data starts at a multiple of 64 bytes."""
    dtype = np.dtype(dtype)
    raw = np.zeros(n * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + n * dtype.itemsize].view(dtype)


def aligned_copy(a: np.ndarray, dtype: Any = None) -> np.ndarray:
    """A 64-byte-aligned copy of the 1-D array ``a`` (converted to ``dtype`` if given)."""
    out = aligned_zeros(a.shape[0], a.dtype if dtype is None else dtype)
    out[:] = a
    return out


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine (None where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(what: str, count: int, bytes_each: int, counted: str, fix: str) -> None:
    """Refuse, before anything is allocated, to build ``what`` when ``count`` items of
    ``bytes_each`` bytes would not fit in this machine's physical memory."""
    total, need = physical_memory(), count * bytes_each
    if total is not None and need > total:
        fail(f"{what} would need about {need / 2**30:,.1f} GiB of memory ({counted}), more "
             f"than this machine's {total / 2**30:,.1f} GiB", counted, fix)
