"""A second instance of NumPy's OpenBLAS, with its AVX2 kernels, for the BLAS loop's large
float32 products on CPUs where those beat the AVX-512 kernels OpenBLAS picks.

Why. OpenBLAS chooses one kernel set when it loads, from the CPU it finds. On AMD Zen 4
(family 25 with AVX-512) it takes its SkylakeX set. There, one thread, its Haswell (AVX2)
set runs the float32 products of mini-batch training of 2–26 million multiply-adds
1.03–1.19× as fast (the 784-256-128-10 epoch at batch 128: 0.627 → 0.595 s), while below
some 2^19 multiply-adds the SkylakeX set's kernels for small matrices win (0.71–0.89×);
``dgemm`` gains 0–6% on large products and loses on some, so it is left alone
(``bench/blas_kernels.py`` times both sets in one process; ``bench/BLAS_KERNELS.md``).

How. ``OPENBLAS_CORETYPE`` forces the set, but only when the library loads, and changing
NumPy's own instance would change every ``np.matmul`` of the process. So deltanet loads its
own copy of the same library file: the bytes go into an in-memory file (``memfd``), which
the dynamic loader takes for a new library, with ``OPENBLAS_CORETYPE=Haswell`` set for that
load only. NumPy's instance is untouched; the copy's thread count follows NumPy's before
each epoch (``sync_threads``), so ``threadpoolctl`` limits still hold. The copy is loaded
the first time a runner needs it (some 30 ms) and takes the library's size in memory (25 MB
for NumPy 2.4's wheel).

``blas_kernels()`` chooses: ``"auto"`` (the default) uses the copy for float32 products of
at least ``LARGE_WORK`` multiply-adds on Zen 4 when NumPy's OpenBLAS runs its AVX-512 set,
``"avx2"`` for every product of either dtype (where the copy loads), ``"numpy"`` never. The
choice depends on the machine and the shapes only, never on a timing, so two runs give the
same weights.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import sys
import threading

from .._validation import check_choice

CHOICES = ("auto", "numpy", "avx2")
LARGE_WORK = 1 << 20  # m·n·k from which "auto" sends a float32 product to the AVX2 set
AVX512_CORES = ("skylakex", "cooperlake", "sapphirerapids")

_state = {"choice": "auto"}
_lock = threading.Lock()


def blas_kernels(choice: str | None = None) -> str:
    """The kernel set of the compiled BLAS loop's products; with ``choice``, set it.

    ``"auto"``: OpenBLAS's AVX2 (Haswell) kernels for float32 products of at least
    2^20 multiply-adds on AMD Zen 4, where they are faster than the AVX-512 ones OpenBLAS
    picks; NumPy's own choice elsewhere. ``"avx2"``: the AVX2 kernels for every product of
    either dtype (a ``RuntimeError`` at training time where they cannot be loaded).
    ``"numpy"``: always the BLAS ``np.matmul`` uses. Returns the choice in force before
    the call (so ``previous = blas_kernels("numpy"); ...; blas_kernels(previous)``
    restores it). The setting is per process and applies to runners built afterwards.
    """
    previous = _state["choice"]
    if choice is not None:
        check_choice("blas_kernels", choice, CHOICES)
        _state["choice"] = choice
    return previous


class _Instance:
    """A loaded OpenBLAS: its ``?gemm`` addresses and its thread-count functions."""

    def __init__(self, lib: ctypes.CDLL, prefix: str, suffix: str) -> None:
        self.lib, self.prefix, self.suffix = lib, prefix, suffix
        self._corename = self._function("openblas_get_corename", ctypes.c_char_p)
        self.get_threads = self._function("openblas_get_num_threads", ctypes.c_int)
        self.set_threads = self._function("openblas_set_num_threads", None, ctypes.c_int)

    def core(self) -> str:
        """The kernel set this instance runs, as OpenBLAS names it ("SkylakeX", "Haswell")."""
        return self._corename().decode()

    def _function(self, name: str, restype, *argtypes):
        function = getattr(self.lib, f"{self.prefix}{name}{self.suffix}")
        function.restype, function.argtypes = restype, list(argtypes)
        return function

    def gemm_address(self, letter: str) -> int:
        """The address of ``sgemm`` or ``dgemm`` (Fortran interface)."""
        symbol = getattr(self.lib, f"{self.prefix}{letter}gemm_{self.suffix}")
        return ctypes.cast(symbol, ctypes.c_void_p).value


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def numpy_instance(lib: ctypes.CDLL, gemm_symbol: str) -> _Instance | None:
    """NumPy's OpenBLAS, reached through NumPy's core ``lib`` whose ``gemm_symbol`` (such
    as ``scipy_sgemm_64_``) was found; None when that BLAS is not OpenBLAS."""
    head, _, tail = gemm_symbol.partition("gemm_")
    prefix, suffix = head[:-1], tail  # "scipy_s" → "scipy_"; "64_" or ""
    try:
        return _Instance(lib, prefix, suffix)
    except AttributeError:
        return None


def _library_file(address: int) -> str | None:
    """The file of the shared library that holds ``address`` (``dladdr``)."""
    info = _DlInfo()
    if not ctypes.CDLL(None).dladdr(ctypes.c_void_p(address), ctypes.byref(info)):
        return None
    return os.fsdecode(info.dli_fname) if info.dli_fname else None


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` ({} where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as file:
            head = file.read().split("\n\n", 1)[0]
    except OSError:
        return {}
    pairs = (line.split(":", 1) for line in head.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def zen4() -> bool:
    """Whether this is an AMD CPU of family 25 (Zen 3 and Zen 4; only Zen 4 has AVX-512)."""
    info = _cpuinfo()
    return info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"


def _has_avx2() -> bool:
    """Whether the CPU runs AVX2 and FMA, which the Haswell kernels use."""
    flags = _cpuinfo().get("flags", "").split()
    return "avx2" in flags and "fma" in flags


def avx2_instance(numpy_blas: _Instance) -> _Instance:
    """A private copy of NumPy's OpenBLAS running its Haswell kernels (loaded once).

    Raises ``RuntimeError`` saying why when it cannot be had (not Linux, no ``memfd``,
    library file not found, or the copy did not take the Haswell kernels); the reason is
    kept, so a failed load is not tried again.
    """
    copy = _load_avx2_copy(numpy_blas)
    if isinstance(copy, str):
        raise RuntimeError(copy)
    return copy


_kept: list[int] = []  # the copy's memfd, open for the life of the process


@functools.cache
def _load_avx2_copy(numpy_blas: _Instance) -> _Instance | str:
    """``avx2_instance``'s copy, or why it could not be loaded."""
    if not sys.platform.startswith("linux") or not hasattr(os, "memfd_create"):
        return "a second OpenBLAS instance needs Linux (memfd_create)"
    if not _has_avx2():
        return "this CPU has no AVX2 and FMA, which OpenBLAS's Haswell kernels need"
    try:
        with _lock:
            return _load_copy(numpy_blas)
    except Exception as error:  # any failure means: keep NumPy's kernels
        return f"the copy of NumPy's OpenBLAS did not load: {type(error).__name__}: {error}"


def _load_copy(numpy_blas: _Instance) -> _Instance | str:
    """Copy NumPy's OpenBLAS into a memfd and load it with ``OPENBLAS_CORETYPE=Haswell``.

    The loader knows a library by the name it was opened with, so the memfd stays open for
    the life of the process (its ``/proc/self/fd/N`` is never another file's), and a name
    some other library was already opened with is skipped by taking another descriptor.
    The variable is set with ``putenv`` (not in ``os.environ``) for the load only; another
    thread that starts a process or loads OpenBLAS in that instant would see it too.
    """
    path = _library_file(numpy_blas.gemm_address("d"))
    if path is None or not os.path.isfile(path):
        return "the file of NumPy's OpenBLAS was not found"
    fd = os.memfd_create(os.path.basename(path))
    with open(path, "rb") as source, open(fd, "wb", closefd=False) as target:
        shutil.copyfileobj(source, target)
    for _ in range(8):
        name = f"/proc/self/fd/{fd}"
        try:
            ctypes.CDLL(name, mode=os.RTLD_NOLOAD)
        except OSError:
            break  # no library goes by this name yet
        fd, stale = os.dup(fd), fd  # a new number while the old one is still held
        os.close(stale)
    else:
        os.close(fd)
        return "no free /proc/self/fd name to load the copy under"
    _kept.append(fd)
    saved = os.environ.get("OPENBLAS_CORETYPE")
    os.putenv("OPENBLAS_CORETYPE", "Haswell")
    try:
        lib = ctypes.CDLL(name, mode=os.RTLD_LOCAL)
    finally:
        if saved is None:
            os.unsetenv("OPENBLAS_CORETYPE")
        else:
            os.putenv("OPENBLAS_CORETYPE", saved)
    copy = _Instance(lib, numpy_blas.prefix, numpy_blas.suffix)
    if copy.gemm_address("d") == numpy_blas.gemm_address("d"):
        return "the loader gave back NumPy's own OpenBLAS, not a copy"
    if copy.core().lower() != "haswell":
        return f"the copy of NumPy's OpenBLAS runs {copy.core()} kernels, not Haswell"
    return copy


def large_product_gemm(numpy_blas: _Instance | None, letter: str) -> tuple[int | None, int]:
    """``(address of the ?gemm for large products, LARGE_WORK-like threshold)`` by the
    current choice; ``(None, 0)`` means NumPy's for every product."""
    choice = _state["choice"]
    if choice == "numpy":
        return None, 0
    if numpy_blas is None:
        if choice == "avx2":
            raise RuntimeError("blas_kernels('avx2') needs NumPy's BLAS to be OpenBLAS; "
                               "call blas_kernels('auto') to use NumPy's BLAS")
        return None, 0
    if choice == "auto":
        core = numpy_blas.core().lower()
        if letter != "s" or core not in AVX512_CORES or not zen4():
            return None, 0
        try:
            return avx2_instance(numpy_blas).gemm_address(letter), LARGE_WORK
        except RuntimeError:
            return None, 0  # NumPy's kernels, as before
    try:
        return avx2_instance(numpy_blas).gemm_address(letter), 0
    except RuntimeError as error:
        raise RuntimeError(f"blas_kernels('avx2'): {error}; call blas_kernels('auto') to "
                           "use NumPy's BLAS") from None


def sync_threads(numpy_blas: _Instance) -> None:
    """Give the private copy NumPy's OpenBLAS thread count (cheap; called per epoch)."""
    copy = avx2_instance(numpy_blas)
    wanted = numpy_blas.get_threads()
    if copy.get_threads() != wanted:
        copy.set_threads(wanted)
