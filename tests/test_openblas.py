"""The BLAS loop's kernel sets (``kernels._openblas``): NumPy's OpenBLAS, or a private copy
of it running the AVX2 (Haswell) kernels for large products.

Where the copy cannot load (not Linux, NumPy without OpenBLAS), the tests that need it skip.
"""

from __future__ import annotations

import ctypes

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


@pytest.fixture
def copy():
    """The AVX2 copy of NumPy's OpenBLAS, or skip where it cannot be loaded."""
    numpy_blas = _blas.numpy_openblas()
    if numpy_blas is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    loaded = _openblas._load_avx2_copy(numpy_blas)
    if isinstance(loaded, str):
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


def test_the_copy_runs_haswell_kernels_and_leaves_numpys_alone(copy):
    numpy_blas = _blas.numpy_openblas()
    before = numpy_blas.corename
    kernels.blas_kernels("avx2")
    fs, large, itype, follow = _blas.gemm_functions(np.dtype(np.float64))
    assert copy.corename == b"Haswell" and numpy_blas.corename == before
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
    monkeypatch.setattr(numpy_blas, "corename", b"SkylakeX")
    assert _openblas.large_product_gemm(numpy_blas, "s") == (copy.gemm_address("s"),
                                                             _openblas.LARGE_WORK)
    assert _openblas.large_product_gemm(numpy_blas, "d") == (None, 0)  # dgemm: a wash
    monkeypatch.setattr(numpy_blas, "corename", b"Haswell")  # nothing better to offer
    assert _openblas.large_product_gemm(numpy_blas, "s") == (None, 0)
    monkeypatch.setattr(numpy_blas, "corename", b"SkylakeX")
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
    with threadpool_limits(threads, user_api="blas"):
        runner.run(np.arange(64), optimizers.sgd(0.1).init(net.params))
        assert copy.get_threads() == _blas.numpy_openblas().get_threads() == threads


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
