"""NumPy's own BLAS ``?gemm``, called from compiled code (:mod:`._blas`).

The function is found through NumPy's compiled core (``dlsym`` searches the libraries it
was linked with), so the products are the ones ``np.matmul`` computes; SciPy's
``cython_blas`` is the fallback that always exists. deltanet never loads a second BLAS.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from ._elementwise import kernel

U = np.uint64
N_, T_ = 0, 1  # positions of 'N' and 'T' in the character scratch

# Fortran symbols of ?gemm, with the width of their integers (ILP64 builds end in 64_)
_SYMBOLS = (("scipy_{}gemm_64_", np.int64), ("{}gemm_64_", np.int64),
            ("scipy_{}gemm_", np.int32), ("{}gemm_", np.int32))


_PROTOTYPE = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 13)  # Fortran: every argument by address


def _prefix(dtype) -> str:
    return "s" if np.dtype(dtype) == np.float32 else "d"


@functools.cache
def _numpy_core() -> tuple[ctypes.CDLL | None, str | None]:
    """NumPy's compiled core as a library, and which ``?gemm`` symbol pattern it exports."""
    try:
        from numpy._core import _multiarray_umath as core

        lib = ctypes.CDLL(core.__file__)
    except (ImportError, OSError):
        return None, None
    for pattern, _ in _SYMBOLS:
        if hasattr(lib, pattern.format("d")):
            return lib, pattern
    return lib, None


@functools.cache
def gemm_function(dtype) -> tuple[object, type, str]:
    """``(?gemm as a ctypes function, its integer type, where it came from)`` for ``dtype``.

    NumPy's BLAS is looked up through NumPy's compiled core (``dlsym`` searches the
    libraries it was linked with), so the products are the ones ``np.matmul`` computes;
    SciPy's ``cython_blas`` is the fallback that always exists.
    """
    prefix = _prefix(dtype)
    lib, pattern = _numpy_core()
    if pattern is not None:
        name = pattern.format(prefix)
        address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        return _PROTOTYPE(address), dict(_SYMBOLS)[pattern], f"numpy ({name})"
    return (*scipy_gemm(dtype), f"scipy.linalg.cython_blas ({prefix}gemm)")


@functools.cache
def scipy_gemm(dtype) -> tuple[object, type]:
    """SciPy's ``cython_blas`` ``?gemm`` for ``dtype`` and its integer type."""
    from numba.extending import get_cython_function_address

    address = get_cython_function_address("scipy.linalg.cython_blas", f"{_prefix(dtype)}gemm")
    return _PROTOTYPE(address), np.int32


@kernel(inline="always")
def _gemm(f, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, ch, iw, fw):
    """Column-major ``C ← alpha · op(A) op(B) + beta · C`` (``op`` by ``ta``/``tb``: 0 for
    'N', 1 for 'T''); ``A``, ``B``, ``C`` are addresses, the rest goes through scratch;
    ``f`` is the ``?gemm`` of :func:`gemm_function`."""
    iw[0], iw[1], iw[2], iw[3], iw[4], iw[5] = m, n, k, lda, ldb, ldc
    fw[0], fw[1] = alpha, beta
    p, q, s = U(iw.ctypes.data), U(fw.ctypes.data), U(ch.ctypes.data)
    w, v = U(iw.itemsize), U(fw.itemsize)
    f(s + U(ta), s + U(tb), p, p + w, p + 2 * w, q, A, p + 3 * w, B, p + 4 * w, q + v, C, p + 5 * w)


@kernel(inline="always")
def _product(f, A, lda, B, ldb, C, m, n, k, beta, ch, iw, fw, one):
    """Row-major ``C (m×n) ← A (m×k) @ B (k×n) + beta · C``: column-major ``Cᵀ = Bᵀ Aᵀ``."""
    _gemm(f, N_, N_, n, m, k, one, B, ldb, A, lda, beta, C, n, ch, iw, fw)


