"""The compiled mini-batch loop (``kernels._blas``) against the reference passes.

``engine='numba'`` runs larger mini-batches through it; ``BLAS_MIN_*_WORK = 0`` sends every
batch of two or more examples there, so the small networks of the oracle tests exercise it.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import deltanet as dn
import test_kernels
from deltanet import kernels, losses, optimizers
from deltanet.kernels import _blas
from deltanet.kernels._runners import BlasRunner, NumbaRunner, NumpyRunner
from test_kernels import check_engines

pytestmark = pytest.mark.xdist_group("numba")


@pytest.fixture(autouse=True)
def blas_for_every_batch(monkeypatch):
    monkeypatch.setattr(kernels, "BLAS_MIN_BATCH_WORK", 0)
    monkeypatch.setattr(kernels, "BLAS_MIN_EPOCH_WORK", 0)


def _runner(engine: str, net, X, Y, batch_size: int, **kw):
    return kernels.make_runner(engine, net, X, Y, kw.get("weights"), batch_size,
                               losses.get(kw.get("loss", "cross_entropy")),
                               kw.get("opt", optimizers.sgd(0.1)), kw.get("l2", 0.0), 0.0, False)


def test_batches_of_two_or_more_run_the_blas_loop():
    net = dn.Network.layered([4, 5, 3], output="softmax", random_state=0)
    X, Y = np.zeros((10, 4)), np.eye(3)[np.arange(10) % 3]
    assert isinstance(_runner("numba", net, X, Y, 4), BlasRunner)
    assert isinstance(_runner("numba", net, X, Y, 1), NumbaRunner)
    assert isinstance(_runner("numpy", net, X, Y, 4), NumpyRunner)


@pytest.mark.parametrize("batch_size", [2, 16, 300])
def test_relu_softmax_cross_entropy_updates_weights_in_the_products(batch_size):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 9))
    Y = dn.one_hot(rng.integers(0, 4, 300))[0]
    net = dn.Network.layered([9, 13, 7, 4], hidden="relu", output="softmax", random_state=0)
    check_engines(net, X, Y, "cross_entropy", batch_size)


def test_momentum_nesterov_and_weight_decay_step_from_the_summed_gradient():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 5))
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)
    net = dn.Network.layered([5, 12, 8, 2], hidden="tanh", output="identity", random_state=1)
    check_engines(net, X, Y, "squared_error", 7, optimizers.sgd(0.01, momentum=0.9), l2=1e-3)
    check_engines(net, X, Y, "half_squared_error", 16,
                  optimizers.sgd(0.01, momentum=0.5, nesterov=True), l1=1e-4)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sample_weights_and_a_logistic_output(momentum):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((150, 3))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(float)
    sw = rng.uniform(0.2, 3.0, 150)
    net = dn.Network.layered([3, 6, 1], hidden="logistic", output="logistic", random_state=2)
    check_engines(net, X, y, "log_loss", 16, optimizers.sgd(0.3, momentum=momentum), sw=sw)


@pytest.mark.parametrize("hidden", ["tanh", "relu", "logistic", "softplus", "identity", "exp",
                                    "leaky_relu", "elu", "gelu"])
def test_sparse_dag_with_skip_arcs_and_several_output_groups(hidden):
    test_kernels.check_sparse_dag(hidden, 5, 8)


@pytest.mark.parametrize(("output", "loss"), [
    ("softmax", "squared_error"), ("logistic", "cross_entropy"), ("softmax", "log_loss"),
    ("threshold", "perceptron"), ("logistic", "perceptron")])
def test_unfused_losses_and_the_softmax_jacobian(output, loss):
    test_kernels.check_unfused_loss(output, loss, 8)


def test_a_schedule_is_followed_update_by_update():
    test_kernels.check_schedule(4)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_diverging_batch_stops_before_its_update(momentum):
    X = np.linspace(-50, 50, 40).reshape(-1, 1)
    net = dn.Network.layered([1, 3, 1], hidden="identity", output="identity", random_state=0)
    start = net.params.copy()
    with pytest.raises(dn.TrainingError, match=r"the cost became (inf|nan) in epoch 1"):
        dn.train(net, X, 3 * X, lr=1.0, epochs=2, batch_size=4, random_state=0,
                 engine="numba", momentum=momentum)
    assert_array_equal(net.params, start)


def _with_bad_input(value, row=187, col=3, n=200):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, 6))
    Y = dn.one_hot(rng.integers(0, 3, n))[0]
    X[row, col] = value
    return X, Y


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nonfinite_input_found_in_the_gather_leaves_the_network_as_it_was(value, dtype):
    # −inf into ReLU units with positive weights gives a = 0 and a finite cost, but a NaN
    # weight gradient (−inf · 0): only the row check can catch it before the update
    X, Y = _with_bad_input(value)
    X = X.astype(dtype)
    net = dn.Network.layered([6, 8, 3], hidden="relu", output="softmax", random_state=0,
                             dtype=dtype)
    if value == -np.inf:
        net.params[net.plan.blocks[0].offset:][:6 * 8] = 0.5
    start = net.params.copy()
    calls = []
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values \(first at "
                                         r"index \[187, 3\]\).*remove or impute"):
        dn.train(net, X, Y, loss="cross_entropy", batch_size=16, epochs=3, random_state=0,
                 engine="numba", callbacks=[lambda epoch, logs: calls.append(epoch)])
    assert calls == []  # stopped inside the first epoch, before any epoch-end callback
    assert_array_equal(net.params, start)


@pytest.mark.parametrize("m", [1, 7, 8, 13, 16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gather_copies_each_batch_row_and_names_its_first_bad_row(m, dtype):
    # rows are copied eight at a time: batches shorter than, equal to and past a group
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 11)).astype(dtype)
    Y = rng.standard_normal((40, 4)).astype(dtype)
    weights = rng.random(40).astype(dtype)
    order = rng.permutation(40)
    out_cols = np.array([2, 0], np.int64)
    a, ty, tw = np.zeros(16 * 11, dtype), np.zeros(16 * 2, dtype), np.zeros(16, dtype)
    start = 5
    rows = order[start:start + m]
    anything = np.array([-np.inf, np.inf])  # every finite target is fine
    assert _blas._gather(X, Y, anything, weights, order, start, m, out_cols, a, ty, tw) == -1
    assert_array_equal(a[:m * 11].reshape(m, 11), X[rows])
    assert_array_equal(a[m * 11:], 0)  # nothing written past the batch
    assert_array_equal(ty[:m * 2].reshape(m, 2), Y[rows][:, [2, 0]])
    assert_array_equal(tw[:m], weights[rows])
    if m > 2:  # two bad rows in one group: the one earlier in the batch is named
        X[rows[m - 1], 4], X[rows[1], 9] = np.nan, -np.inf
        assert _blas._gather(X, Y, anything, weights, order, start, m, out_cols, a, ty,
                             tw) == rows[1]
        np.clip(Y, -0.9, 0.9, out=Y)
        Y[rows[0], 2] = 5.0  # a target outside [-1, 1], earlier in the batch: named first
        assert _blas._gather(X, Y, np.array([-1.0, 1.0]), weights, order, start, m, out_cols,
                             a, ty, tw) == rows[0]
        Y[rows[0], 2] = np.inf  # or not finite
        assert _blas._gather(X, Y, anything, weights, order, start, m, out_cols, a, ty,
                             tw) == rows[0]


def test_the_rows_are_checked_before_training_when_the_loop_cannot_check_them():
    X, Y = _with_bad_input(np.nan, row=3)
    updates = []

    class PerUpdate:
        def on_batch_end(self, update, logs):
            updates.append(update)

    for kw in ({"engine": "numpy"}, {"engine": "numba", "batch_size": 1},
               {"callbacks": [PerUpdate()]}, {"validation_fraction": 0.2}):
        net = dn.Network.layered([6, 8, 3], hidden="relu", output="softmax", random_state=0)
        start = net.params.copy()
        settings = {"batch_size": 16, "engine": "numba", **kw}
        with pytest.raises(ValueError, match=r"first at index \[3, 3\]"):
            dn.train(net, X, Y, loss="cross_entropy", epochs=1, random_state=0, **settings)
        assert_array_equal(net.params, start)
    assert updates == []


def test_per_update_callbacks_see_every_batch_and_change_nothing():
    # batch_size=4: with BLAS_MIN_*_WORK = 0 this is the BLAS loop, one compiled call a batch
    test_kernels.test_per_update_callbacks_see_every_update_and_change_nothing()


def test_float32_agrees_with_the_numpy_engine_and_learns():
    data = dn.load_dataset("digits")
    X = (np.asarray(data.X) / 16.0).astype(np.float32)
    Y = dn.one_hot(np.asarray(data.y))[0].astype(np.float32)
    nets = {}
    for engine in ("numba", "numpy"):
        net = dn.Network.layered([64, 32, 10], hidden="relu", output="softmax",
                                 random_state=0, dtype=np.float32)
        dn.train(net, X[:1200], Y[:1200], loss="cross_entropy", lr=0.1, batch_size=32,
                 epochs=1, random_state=0, engine=engine)
        assert net.params.dtype == np.float32
        nets[engine] = net
    # one epoch: the engines differ only by float32 rounding (bias sums, BLAS builds)
    assert_allclose(nets["numba"].params, nets["numpy"].params, rtol=0, atol=1e-4)
    acc = {}
    for dtype in (np.float32, np.float64):
        net = dn.Network.layered([64, 32, 10], hidden="relu", output="softmax",
                                 random_state=0, dtype=dtype)
        dn.train(net, X[:1200], Y[:1200], loss="cross_entropy", lr=0.1, batch_size=32,
                 epochs=10, random_state=1, engine="numba")
        out = net.predict(X[1200:].astype(dtype))
        acc[dtype] = np.mean(np.argmax(out, axis=1) == np.asarray(data.y)[1200:])
    assert acc[np.float32] > 0.85 and abs(acc[np.float32] - acc[np.float64]) < 0.02


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_products_use_numpys_own_blas(dtype):
    f, itype, source = _blas.gemm_function(np.dtype(dtype))
    assert source.startswith("numpy")  # NumPy's wheels export their BLAS's ?gemm
    assert itype == (np.int64 if "64_" in source else np.int32)
    assert ctypes.cast(f, ctypes.c_void_p).value != \
        ctypes.cast(_blas.scipy_gemm(np.dtype(dtype))[0], ctypes.c_void_p).value


def test_the_scipy_fallback_trains_the_same_weights(monkeypatch):
    rng = np.random.default_rng(12)
    X, Y = rng.standard_normal((64, 6)), dn.one_hot(rng.integers(0, 3, 64))[0]
    nets = []
    for fallback in (False, True):
        if fallback:
            monkeypatch.setattr(_blas, "gemm_function",
                                lambda dt: (*_blas.scipy_gemm(dt), "scipy"))
        net = dn.Network.layered([6, 8, 3], hidden="relu", output="softmax", random_state=0)
        runner = _runner("numba", net, X, Y, 16)
        runner.run(np.arange(64), optimizers.sgd(0.1).init(net.params))
        nets.append(net.params)
    assert_allclose(nets[0], nets[1], rtol=0, atol=1e-13)


@pytest.mark.parametrize("batch_size", [4, 30])
def test_a_neuron_with_only_a_bias_arc_sums_just_its_bias(batch_size):
    # Neuron 3 has no incoming block: in_3 = w_03 on every batch, not added to the last one.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] > 0).astype(float)
    net = dn.Network(2, [(0, 3), (1, 4), (2, 4), (3, 4)], {3: "tanh", 4: "logistic"},
                     random_state=0)
    check_engines(net, X, y, "log_loss", batch_size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_batch_softmax_gives_the_row_by_row_values_bit_for_bit(dtype):
    from deltanet.kernels import _elementwise
    from deltanet.kernels._layout import ACTIVATION_CODES

    rng = np.random.default_rng(4)
    m, n, o = 9, 10, 5
    in_ = (rng.standard_normal(o + m * n) * 30).astype(dtype)
    in_[o + 2 * n:o + 3 * n] = 1e30 if dtype == np.float32 else 1e300  # equal huge values
    in_[o + 4 * n + 3] = -np.inf
    in_[o + 6 * n + 1] = np.nan
    c = _elementwise.constants(dtype)
    a, lse = np.zeros_like(in_), np.zeros(m, dtype)
    _blas._softmax_rows(m, np.uint64(n), np.uint64(o), in_, a, lse, c)
    code = ACTIVATION_CODES["softmax"]
    for r in range(m):
        expect = np.zeros_like(in_)
        row = np.uint64(o + r * n)
        top = _elementwise.activate(code, in_, expect, row, np.uint64(n), c)
        assert_array_equal(a[o + r * n:o + (r + 1) * n], expect[o + r * n:o + (r + 1) * n])
        assert_array_equal(lse[r], dtype(top))
    assert_allclose(a[o:o + 2 * n].reshape(2, n).sum(axis=1), 1, rtol=1e-6)
    assert np.isnan(a[o + 6 * n:o + 7 * n]).all()


def test_adam_steps_from_the_summed_gradient_in_the_batch_loop():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 9))
    Y = dn.one_hot(rng.integers(0, 4, 200))[0]
    net = dn.Network.layered([9, 13, 7, 4], hidden="relu", output="softmax", random_state=0)
    check_engines(net, X, Y, "cross_entropy", 16, optimizers.adam(0.01))
    check_engines(net, X, Y, "cross_entropy", 30, optimizers.adam(0.01), l2=1e-3)
    runner = _runner("numba", net, X, Y, 16, opt=optimizers.adam(0.01))
    assert isinstance(runner, BlasRunner) and runner.hyper[7] == 1
