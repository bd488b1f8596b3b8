"""OpenBLAS's kernel sets side by side: NumPy's choice against the AVX2 (Haswell) copy that
deltanet's BLAS loop uses for large float32 products on AMD Zen 4.

    .venv/bin/python bench/blas_kernels.py          # about 30 s; rewrites bench/BLAS_KERNELS.md

Both are called the same way (the Fortran ``?gemm`` through ctypes, one thread, into
preallocated arrays), so the call overhead is the same for both; each figure is the best of
5 rounds of about 0.05 s. The shapes are the products of one batch of 128 through
784-256-128-10 in the layouts deltanet calls (forward ``in = a W``, ``up = Δ Wᵀ``, gradient
``aᵀ Δ``), and some smaller and larger ones. ``numpy/avx2`` above 1 means the AVX2 copy is
faster. The last lines time the (b) workload's epoch through deltanet with
``blas_kernels("numpy")`` and with the default ``"auto"``, in turns.
"""

from __future__ import annotations

import ctypes
import datetime
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from deltanet.kernels import _blas, _openblas  # noqa: E402

# (label, transa, transb, m, n, k) of column-major C (m×n) = op(A) op(B), op(A) m×k
SHAPES = [
    ("forward 784→256", "N", "N", 256, 128, 784),
    ("forward 256→128", "N", "N", 128, 128, 256),
    ("forward 128→10", "N", "N", 10, 128, 128),
    ("up = Δ₂ W₂ᵀ", "T", "N", 256, 128, 128),
    ("up = Δ₃ W₃ᵀ", "T", "N", 128, 128, 10),
    ("gradient 784×256", "N", "T", 256, 784, 128),
    ("gradient 256×128", "N", "T", 128, 256, 128),
    ("gradient 128×10", "N", "T", 10, 128, 128),
    ("square 64", "N", "N", 64, 64, 64),
    ("128×64×64", "N", "N", 64, 128, 64),
    ("square 128", "N", "N", 128, 128, 128),
    ("square 1000", "N", "N", 1000, 1000, 1000),
]


def seconds_per_call(f, itype, dtype, ta, tb, m, n, k) -> float:
    rng = np.random.default_rng(0)
    rows_a, cols_a = (m, k) if ta == "N" else (k, m)
    rows_b, cols_b = (k, n) if tb == "N" else (n, k)
    A = np.asfortranarray(rng.standard_normal((rows_a, cols_a)).astype(dtype))
    B = np.asfortranarray(rng.standard_normal((rows_b, cols_b)).astype(dtype))
    C = np.zeros((m, n), dtype, order="F")
    cint = ctypes.c_int64 if itype == np.int64 else ctypes.c_int32
    cfloat = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    ref = ctypes.byref
    args = (ta.encode(), tb.encode(), ref(cint(m)), ref(cint(n)), ref(cint(k)),
            ref(cfloat(1.0)), A.ctypes.data, ref(cint(rows_a)), B.ctypes.data,
            ref(cint(rows_b)), ref(cfloat(0.0)), C.ctypes.data, ref(cint(m)))
    calls = max(3, int(0.05 / (2 * m * n * k / 80e9)))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            f(*args)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def product_table(numpy_blas) -> list[str]:
    copy = _openblas.avx2_instance(numpy_blas)
    lines = ["| product | dtype | m·n·k | NumPy's kernels GFLOP/s | AVX2 copy GFLOP/s "
             "| numpy/avx2 time |", "| --- | --- | --- | --- | --- | --- |"]
    for dtype in (np.float32, np.float64):
        f, itype, _ = _blas.gemm_function(np.dtype(dtype))
        g = _blas._PROTOTYPE(copy.gemm_address(_blas._prefix(dtype)))
        for label, ta, tb, m, n, k in SHAPES:
            t_numpy = seconds_per_call(f, itype, dtype, ta, tb, m, n, k)
            t_copy = seconds_per_call(g, itype, dtype, ta, tb, m, n, k)
            flops = 2 * m * n * k
            lines.append(f"| {label} | {np.dtype(dtype).name} | {m * n * k:,} | "
                         f"{flops / t_numpy / 1e9:.1f} | {flops / t_copy / 1e9:.1f} | "
                         f"{t_numpy / t_copy:.3f} |")
            print(lines[-1], flush=True)
    return lines


def epoch_table(reps: int = 5) -> list[str]:
    """The (b) epoch through deltanet with NumPy's kernels and with ``auto``, timed in turns
    by the (b) suite's own runners."""
    import suite_minibatch

    peers = [("`blas_kernels('numpy')`", suite_minibatch.run_deltanet_numpy_kernels),
             ("`blas_kernels('auto')`", suite_minibatch.run_deltanet)]
    rows = suite_minibatch.run(suite_minibatch.workload(), reps, peers)
    lines = ["| deltanet (b) epoch, 784-256-128-10 b128 float32 | median s | min s | max s |",
             "| --- | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| {row.peer} | {row.median:.3f} | {row.low:.3f} | {row.high:.3f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    numpy_blas = _blas.numpy_openblas()
    if numpy_blas is None:
        sys.exit("NumPy's BLAS is not OpenBLAS: nothing to compare")
    core = numpy_blas.core()
    uses = _openblas.large_product_gemm(numpy_blas, "s")[0] is not None
    head = [
        "# OpenBLAS kernel sets: NumPy's choice against the AVX2 copy", "",
        f"Written by `bench/blas_kernels.py` on "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; one thread.", "",
        f"CPU: {platform.processor() or platform.machine()}, AMD family 25 (Zen 4): "
        f"{_openblas.zen4()}. NumPy's OpenBLAS runs its **{core}** kernels. "
        f"`blas_kernels('auto')` sends float32 products of at least "
        f"{_openblas.LARGE_WORK:,} multiply-adds to the AVX2 copy here: **{uses}**.", ""]
    lines = head + product_table(numpy_blas) + [""] + epoch_table()
    (HERE / "BLAS_KERNELS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'BLAS_KERNELS.md'}")


if __name__ == "__main__":
    main()
