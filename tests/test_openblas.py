"""The BLAS loop's kernel sets (``kernels._openblas``): NumPy's OpenBLAS, or a private copy
of it running the AVX2 (Haswell) kernels for large products.

Where the copy cannot load (not Linux, NumPy without OpenBLAS), the tests that need it skip.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from threadpoolctl import threadpool_limits

import deltanet as dn
from deltanet import kernels, losses, optimizers
from deltanet.kernels import _blas, _openblas
from deltanet.kernels._runners import BlasRunner
from test_kernels import check_engines

pytestmark = pytest.mark.xdist_group("numba")


@pytest.fixture(autouse=True)
def restore_choice():
    previous = kernels.blas_kernels()
    yield
    kernels.blas_kernels(previous)


def _where_it_matters(numpy_blas) -> bool:
    """Zen 4 with NumPy's OpenBLAS on AVX-512 kernels: "auto" uses the copy here."""
    return _openblas.zen4() and numpy_blas.core().lower() in _openblas.AVX512_CORES


@pytest.fixture
def copy():
    """The AVX2 copy of NumPy's OpenBLAS; skip where it cannot be loaded, but fail on the
    machines where "auto" relies on it unless the system refused the load."""
    numpy_blas = _blas.numpy_openblas()
    if numpy_blas is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    loaded = _openblas._load_avx2_copy(numpy_blas)
    if isinstance(loaded, str):
        # the system may refuse to map an in-memory file as code (OSError): skip; any
        # other reason is this module's own fault where "auto" relies on the copy
        if _where_it_matters(numpy_blas) and "OSError" not in loaded:
            pytest.fail(f"the AVX2 copy should load on this machine: {loaded}")
        pytest.skip(loaded)
    return loaded


def _address(f) -> int:
    return ctypes.cast(f, ctypes.c_void_p).value


def test_the_choice_is_validated_and_the_previous_one_returned():
    assert kernels.blas_kernels() == "auto"
    assert kernels.blas_kernels("numpy") == "auto"
    assert kernels.blas_kernels() == "numpy"
    with pytest.raises(ValueError, match="valid names are: auto, numpy, avx2"):
        kernels.blas_kernels("fast")
    assert kernels.blas_kernels() == "numpy"  # a refused choice changes nothing


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_choice_sends_every_product_to_numpys_blas(dtype):
    kernels.blas_kernels("numpy")
    fs, large, _, follow = _blas.gemm_functions(np.dtype(dtype))
    f, _, _ = _blas.gemm_function(np.dtype(dtype))
    assert [_address(g) for g in fs] == [_address(f)] * 2
    assert large == 0 and follow is None


def test_the_copy_runs_haswell_kernels_through_its_own_functions(copy):
    numpy_blas = _blas.numpy_openblas()
    kernels.blas_kernels("avx2")
    fs, large, itype, follow = _blas.gemm_functions(np.dtype(np.float64))
    assert copy.core() == "Haswell" and copy.lib is not numpy_blas.lib
    assert follow is numpy_blas and large == 0
    assert _address(fs[1]) == copy.gemm_address("d") != _address(fs[0])
    rng = np.random.default_rng(0)  # the copy multiplies as np.matmul does, to rounding
    A, B = rng.standard_normal((40, 30)), rng.standard_normal((30, 20))
    C = np.zeros((40, 20))  # row-major C = A B is column-major Cᵀ = Bᵀ Aᵀ
    cint = ctypes.c_int64 if itype == np.int64 else ctypes.c_int32
    m, n, k = cint(20), cint(40), cint(30)
    one, zero, ref = ctypes.c_double(1.0), ctypes.c_double(0.0), ctypes.byref
    fs[1](b"N", b"N", ref(m), ref(n), ref(k), ref(one), B.ctypes.data, ref(m),
          A.ctypes.data, ref(k), ref(zero), C.ctypes.data, ref(m))
    assert_allclose(C, A @ B, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("batch_size", [16, 30])
def test_weights_through_the_copy_match_the_reference_to_1e12(copy, monkeypatch, batch_size):
    monkeypatch.setattr(kernels, "BLAS_MIN_BATCH_WORK", 0)
    monkeypatch.setattr(kernels, "BLAS_MIN_EPOCH_WORK", 0)
    kernels.blas_kernels("avx2")  # every product, float64 included
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((70, 9)), dn.one_hot(rng.integers(0, 4, 70))[0]
    layered = dn.Network.layered([9, 12, 7, 4], hidden="relu", output="softmax",
                                 random_state=0)
    check_engines(layered, X, Y, "cross_entropy", batch_size, engines=("numba",))
    arcs = [(i, 10) for i in range(10)] + [(i, 11) for i in range(6)] \
        + [(0, 12), (10, 12), (11, 12), (3, 12)]  # a skip arc from input 3 to the output
    dag = dn.Network(9, arcs, {10: "tanh", 11: "relu", 12: "logistic"}, random_state=1)
    check_engines(dag, X, (Y[:, 0] > 0).astype(float), "log_loss", batch_size,
                  engines=("numba",), l2=1e-3)


def test_auto_sends_large_float32_products_to_the_copy_on_zen4_only(copy, monkeypatch):
    numpy_blas = _blas.numpy_openblas()
    monkeypatch.setattr(_openblas, "zen4", lambda: True)
    monkeypatch.setattr(numpy_blas, "core", lambda: "SkylakeX")
    assert _openblas.large_product_gemm(numpy_blas, "s") == (copy.gemm_address("s"),
                                                             _openblas.LARGE_WORK)
    assert _openblas.large_product_gemm(numpy_blas, "d") == (None, 0)  # dgemm: a wash
    monkeypatch.setattr(numpy_blas, "core", lambda: "Haswell")  # nothing better to offer
    assert _openblas.large_product_gemm(numpy_blas, "s") == (None, 0)
    monkeypatch.setattr(numpy_blas, "core", lambda: "SkylakeX")
    monkeypatch.setattr(_openblas, "zen4", lambda: False)  # Intel's AVX-512 units are full
    assert _openblas.large_product_gemm(numpy_blas, "s") == (None, 0)


def test_auto_float32_training_agrees_with_numpys_blas(copy):
    # 128-64-10 at batch 128: the 128×128×64 products are "large", the output layer's not
    rng = np.random.default_rng(2)
    X = rng.standard_normal((512, 128)).astype(np.float32)
    Y = dn.one_hot(rng.integers(0, 10, 512))[0].astype(np.float32)
    params = []
    for choice in ("numpy", "avx2", "auto"):
        kernels.blas_kernels(choice)
        net = dn.Network.layered([128, 64, 10], hidden="relu", output="softmax",
                                 random_state=0, dtype=np.float32)
        dn.train(net, X, Y, loss="cross_entropy", lr=0.1, batch_size=128, epochs=2,
                 random_state=0, engine="numba")
        params.append(net.params)
    assert_allclose(params[1], params[0], rtol=0, atol=1e-5)
    assert_allclose(params[2], params[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_copy_follows_numpys_thread_count(copy, threads):
    kernels.blas_kernels("avx2")
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((64, 32)), dn.one_hot(rng.integers(0, 3, 64))[0]
    net = dn.Network.layered([32, 16, 3], output="softmax", random_state=0)
    runner = kernels.make_runner("numba", net, X, Y, None, 16, losses.get("cross_entropy"),
                                 optimizers.sgd(0.1), 0.0, 0.0, False)
    assert isinstance(runner, BlasRunner)
    copy.set_threads(3 - threads)  # the other count, so only the sync can make them equal
    with threadpool_limits(threads, user_api="blas"):
        runner.run(np.arange(64), optimizers.sgd(0.1).init(net.params))
        wanted = _blas.numpy_openblas().get_threads()  # OpenBLAS may cap it at the cores
        assert copy.get_threads() == wanted and wanted <= threads


def test_avx2_where_the_copy_cannot_load_says_what_to_do(monkeypatch):
    numpy_blas = _blas.numpy_openblas()
    if numpy_blas is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    monkeypatch.setattr(_openblas, "_load_avx2_copy", lambda _: "no memfd here")
    kernels.blas_kernels("avx2")
    with pytest.raises(RuntimeError, match=r"no memfd here; call blas_kernels\('auto'\)"):
        _blas.gemm_functions(np.dtype(np.float32))
    kernels.blas_kernels("auto")  # auto falls back to NumPy's kernels without a word
    fs, large, _, follow = _blas.gemm_functions(np.dtype(np.float32))
    assert _address(fs[0]) == _address(fs[1]) and large == 0 and follow is None


def test_no_copy_is_loaded_on_a_cpu_without_avx2(monkeypatch):
    numpy_blas = _blas.numpy_openblas()
    if numpy_blas is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    monkeypatch.setattr(_openblas, "_has_avx2", lambda: False)  # Haswell kernels would fault
    reason = _openblas._load_avx2_copy.__wrapped__(numpy_blas)
    assert reason == "this CPU has no AVX2 and FMA, which OpenBLAS's Haswell kernels need"


def test_cpuinfo_fields_are_read_from_the_first_processor():
    info = _openblas._cpuinfo()
    if not info:
        pytest.skip("no /proc/cpuinfo")
    assert "flags" in info and "processor" in info and info["processor"] == "0"


@pytest.mark.parametrize("preset", [None, "Sandybridge"])
def test_loading_the_copy_leaves_numpy_and_the_environment_as_they_were(preset):
    # A fresh process: NumPy's OpenBLAS picks its kernels (or the preset ones), deltanet
    # then loads its copy; NumPy's instance keeps its kernels and OPENBLAS_CORETYPE is back
    # as it was, in os.environ and in the C environment child processes inherit.
    script = """
import ctypes, os, sys
import numpy as np
from deltanet import kernels
from deltanet.kernels import _blas
numpy_blas = _blas.numpy_openblas()
if numpy_blas is None:
    sys.exit(3)
before = numpy_blas.core()
kernels.blas_kernels("avx2")
info = kernels.blas_kernels_info()
getenv = ctypes.CDLL(None).getenv
getenv.restype = ctypes.c_char_p
print(before, numpy_blas.core(), info.get("avx2 copy"), os.environ.get("OPENBLAS_CORETYPE"),
      getenv(b"OPENBLAS_CORETYPE"), sep="|")
"""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if preset:
        env["OPENBLAS_CORETYPE"] = preset
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    if done.returncode == 3:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    assert done.returncode == 0, done.stderr
    before, after, copy_state, environ, c_env = done.stdout.strip().split("|")
    if "not loaded" in copy_state:
        pytest.skip(copy_state)
    assert after == before and copy_state == "loaded, Haswell kernels"
    if preset:
        assert before.lower() == preset.lower()
        assert environ == preset and c_env == repr(preset.encode())
    else:
        assert environ == "None" and c_env == "None"


def test_products_at_or_above_the_threshold_take_the_second_function(copy):
    # Both entries of fs are recorders that forward to NumPy's ?gemm: every product must
    # land on the one its m·n·k says, and the weights are those of NumPy's BLAS alone.
    kernels.blas_kernels("numpy")
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((256, 40)), dn.one_hot(rng.integers(0, 5, 256))[0]
    nets = [dn.Network.layered([40, 96, 5], hidden="relu", output="softmax", random_state=0)
            for _ in range(2)]
    runners = [kernels.make_runner("numba", net, X, Y, None, 64, losses.get("cross_entropy"),
                                   optimizers.sgd(0.1), 0.0, 0.0, False) for net in nets]
    f, itype, _ = _blas.gemm_function(np.dtype(np.float64))
    cint = ctypes.POINTER(ctypes.c_int64 if itype == np.int64 else ctypes.c_int32)
    seen = {0: [], 1: []}

    def recorder(which):
        def call(*args):
            m, n, k = (ctypes.cast(p, cint).contents.value for p in args[2:5])
            seen[which].append(m * n * k)
            f(*args)
        return _blas._PROTOTYPE(call)

    callbacks = (recorder(0), recorder(1))  # kept alive while the epoch runs
    threshold = 64 * 96 * 40  # the forward product of the hidden layer, exactly
    runners[1].gemm, runners[1].iw[6] = callbacks, threshold
    for runner, net in zip(runners, nets, strict=True):
        assert isinstance(runner, BlasRunner)
        runner.run(np.arange(256), optimizers.sgd(0.1).init(net.params))
    assert seen[0] and seen[1]
    assert max(seen[0]) < threshold <= min(seen[1])
    assert threshold in seen[1]  # "at or above": the boundary goes to the second
    assert_allclose(nets[1].params, nets[0].params, rtol=0, atol=0)


def test_blas_kernels_info_says_where_products_go(copy):
    kernels.blas_kernels("numpy")
    info = kernels.blas_kernels_info()
    assert info["choice"] == "numpy" and "avx2 copy" not in info
    assert info["float32"] == info["float64"] == "NumPy's BLAS for every product"
    kernels.blas_kernels("avx2")
    info = kernels.blas_kernels_info()
    assert info["avx2 copy"] == "loaded, Haswell kernels"
    assert info["float32"] == "the AVX2 copy for every product"


def test_a_fd_name_another_library_was_loaded_under_is_not_reused():
    # The loader knows libraries by the name they were opened with: another memfd library
    # loaded as /proc/self/fd/N whose descriptor was then closed must not be taken for the
    # copy when the copy's memfd gets number N again.
    script = """
import ctypes, glob, os, sys
import numpy as np
from deltanet import kernels
from deltanet.kernels import _blas
libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "libquadmath*"))
if _blas.numpy_openblas() is None or not libs:
    sys.exit(3)
fd = os.memfd_create("other")
with open(libs[0], "rb") as source, open(fd, "wb", closefd=False) as target:
    target.write(source.read())
ctypes.CDLL(f"/proc/self/fd/{fd}")
os.close(fd)
kernels.blas_kernels("avx2")
print(fd, kernels.blas_kernels_info()["avx2 copy"], sep="|")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    if done.returncode == 3:
        pytest.skip("no OpenBLAS or libquadmath in NumPy's wheel")
    assert done.returncode == 0, done.stderr
    _, state = done.stdout.strip().split("|")
    if _openblas.zen4() or state.startswith("loaded"):
        assert state == "loaded, Haswell kernels"
