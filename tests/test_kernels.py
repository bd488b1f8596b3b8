"""The training engines of ``deltanet.kernels`` against the reference passes.

The oracle is NEURALNETTRAIN written out here from ``propagation.forward``/``backward`` and an
optimizer transform; the Numba kernel and the buffered NumPy loop must reproduce its weights
after an epoch (to 1e-12 in float64) on layered nets and on sparse DAGs with skip arcs and
several output groups.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import deltanet as dn
from deltanet import kernels, losses, optimizers, schedules
from deltanet.propagation import backward, forward, normalize_sample_weight, regularization

from conftest import random_dag

pytestmark = pytest.mark.xdist_group("numba")  # one worker compiles, the other one waits


def reference_epoch(net, X, Y, loss, batch_size, opt, order, l2=0.0, l1=0.0, sw=None):
    """One epoch of the lecture's loop, straight from the reference passes."""
    loss = losses.get(loss)
    state, plan, params = opt.init(net.params), net.plan, net.params
    weights = normalize_sample_weight(sw, X.shape[0], net.dtype)
    total = 0.0
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        wb = None if weights is None else weights[idx]
        cache = forward(plan, params, X[idx], training=True)
        grad, _, per_example = backward(plan, params, cache, Y[idx], loss, wb)
        reg_cost, reg_grad = regularization(plan, params, l2, l1, False)
        if reg_grad is not None:
            grad += reg_grad
        total += (float(np.mean(per_example if wb is None else per_example * wb))
                  + reg_cost) * len(idx)
        updates, state = opt.update(grad, state, params)
        params += updates
    return total / len(order)


def check_engines(net, X, Y, loss, batch_size, opt=None, engines=("numba", "numpy"), **kw):
    """Train one epoch with each engine and the reference; all weights agree to 1e-12."""
    opt = opt or optimizers.sgd(0.1)
    ref = net.copy()
    order = np.random.default_rng(5).permutation(X.shape[0])
    ref_cost = reference_epoch(ref, X, Y.reshape(X.shape[0], -1), loss, batch_size, opt, order,
                               **kw)
    for engine in engines:
        trained = net.copy()
        hist = dn.train(trained, X, Y, loss=loss, batch_size=batch_size, epochs=1,
                        optimizer=opt, random_state=5, engine=engine,
                        sample_weight=kw.get("sw"), l2=kw.get("l2", 0.0),
                        l1=kw.get("l1", 0.0))
        assert_allclose(trained.params, ref.params, rtol=0, atol=1e-12, err_msg=engine)
        assert hist.cost[0] == pytest.approx(ref_cost, rel=1e-12)
        assert not np.allclose(trained.params, net.params)  # it did learn something
    return ref


@pytest.fixture(scope="module")
def digits():
    data = dn.load_dataset("digits")
    X = np.asarray(data.X, dtype=float) / 16.0
    return X, dn.one_hot(np.asarray(data.y))[0]


def test_digits_per_example_softmax_cross_entropy(digits):
    X, Y = digits
    net = dn.Network.layered([64, 32, 10], hidden="logistic", output="softmax",
                             random_state=0)
    check_engines(net, X, Y, "cross_entropy", batch_size=1)


def test_relu_identity_squared_error_with_l2_and_momentum():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 5))
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)
    net = dn.Network.layered([5, 12, 8, 2], hidden="relu", output="identity", random_state=1)
    for batch_size in (1, 7):
        check_engines(net, X, Y, "squared_error", batch_size,
                      optimizers.sgd(0.01, momentum=0.9), l2=1e-3)
        check_engines(net, X, Y, "half_squared_error", batch_size,
                      optimizers.sgd(0.01, momentum=0.5, nesterov=True), l1=1e-4)


def test_log_loss_with_logistic_output_and_sample_weights():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(float)
    sw = rng.uniform(0.2, 3.0, 200)
    net = dn.Network.layered([3, 6, 1], hidden="tanh", output="logistic", random_state=2)
    check_engines(net, X, y, "log_loss", 1, sw=sw)
    check_engines(net, X, y, "log_loss", 16, optimizers.sgd(0.3, momentum=0.9), sw=sw, l2=1e-3)


@pytest.mark.parametrize(("hidden", "output", "loss"), [
    ("relu", "identity", "squared_error"), ("tanh", "softmax", "cross_entropy"),
    ("softplus", "logistic", "log_loss"), ("logistic", "softmax", "squared_error")])
def test_dense_per_example_epoch_of_deeper_nets(hidden, output, loss):
    # widths not multiples of 4 (the fused loops take rows four at a time), three layers
    rng = np.random.default_rng(11)
    X = rng.standard_normal((130, 7))
    Y = dn.one_hot(rng.integers(0, 3, 130))[0]
    net = dn.Network.layered([7, 9, 6, 3], hidden=hidden, output=output, random_state=11)
    runner = kernels.make_runner("numba", net, X, Y, None, 1, losses.get(loss),
                                 optimizers.sgd(0.05), 0.0, 0.0, False)
    assert runner._dense is not None
    check_engines(net, X, Y, loss, 1, optimizers.sgd(0.05), engines=("numba",))
    sw = rng.uniform(0.5, 2.0, 130)
    check_engines(net, X, Y, loss, 1, optimizers.sgd(0.05), engines=("numba",), sw=sw)


def test_dense_epoch_with_per_update_callbacks_is_the_same_epoch():
    # with a callback every example is its own compiled call (no fused next forward)
    rng = np.random.default_rng(13)
    X, y = rng.standard_normal((40, 5)), rng.integers(0, 2, 40).astype(float)
    seen, nets = [], {}

    class Recorder(dn.Callback):
        def on_batch_end(self, update, logs):
            seen.append(update)

    for cbs in (None, [Recorder()]):
        nets[cbs is None] = dn.Network.layered([5, 7, 1], output="logistic", random_state=0)
        dn.train(nets[cbs is None], X, y, loss="log_loss", epochs=2, random_state=0,
                 engine="numba", callbacks=cbs)
    assert_array_equal(nets[True].params, nets[False].params)
    assert seen == list(range(1, 81))


@pytest.mark.parametrize("weighted", [False, True])
def test_numpy_engine_relu_softmax_batches_update_the_weights_in_place(weighted):
    # the compiled ReLU and softmax/cross-entropy passes and W ← W + aᵀΔ in one GEMM;
    # 130 examples in batches of 16: a short last batch
    rng = np.random.default_rng(12)
    X = rng.standard_normal((130, 9))
    Y = dn.one_hot(rng.integers(0, 4, 130))[0]
    net = dn.Network.layered([9, 11, 6, 4], hidden="relu", output="softmax", random_state=12)
    sw = rng.uniform(0.5, 2.0, 130) if weighted else None
    runner = kernels.make_runner("numpy", net, X, Y, sw, 16, losses.get("cross_entropy"),
                                 optimizers.sgd(0.1), 0.0, 0.0, False)
    assert runner.ws.gemm is not None
    check_engines(net, X, Y, "cross_entropy", 16, optimizers.sgd(0.1), engines=("numpy",),
                  sw=sw)
    check_engines(net, X, Y, "cross_entropy", 16, optimizers.sgd(0.1, momentum=0.9),
                  engines=("numpy",), sw=sw, l2=1e-3)


def test_dense_epoch_only_for_plain_sgd_on_layered_nets():
    X, Y = np.zeros((4, 4)), np.zeros((4, 3))
    dag, layered = _sparse_dag({}), dn.Network.layered([4, 5, 3], random_state=0)
    cases = [(layered, 1, optimizers.sgd(0.1), 0.0, True),
             (layered, 2, optimizers.sgd(0.1), 0.0, False),
             (layered, 1, optimizers.sgd(0.1, momentum=0.9), 0.0, False),
             (layered, 1, optimizers.sgd(0.1), 1e-3, False),
             (dag, 1, optimizers.sgd(0.1), 0.0, False)]
    for net, batch_size, opt, l2, dense in cases:
        runner = kernels.make_runner("numba", net, X, Y, None, batch_size,
                                     losses.get("squared_error"), opt, l2, 0.0, False)
        assert (runner._dense is not None) == dense


def _sparse_dag(acts: dict) -> dn.Network:
    """A random DAG with skip arcs, masked blocks and output neurons in several groups."""
    arcs = random_dag(np.random.default_rng(3), n_inputs=4, n_hidden=7, n_outputs=3,
                      density=0.5)
    activation = {j: acts.get(j, "tanh") for j in range(5, 15)}
    return dn.Network(4, arcs, activation, random_state=3)


@pytest.mark.parametrize("hidden", ["tanh", "relu", "logistic", "softplus", "identity", "exp",
                                    "leaky_relu", "elu", "gelu"])
def test_sparse_dag_with_skip_arcs_and_several_output_groups(hidden):
    check_sparse_dag(hidden, 1, 5)


def check_sparse_dag(hidden, momentum_batch, plain_batch):
    """The masked DAG with several output groups through each engine: momentum and L2 at
    one batch size, plain SGD at another (test_kernels_blas: mini-batches only)."""
    rng = np.random.default_rng(4)
    net = _sparse_dag({**dict.fromkeys(range(5, 12), hidden), 12: "identity",
                       13: "logistic", 14: "tanh"})
    assert net.plan.grad_mask is not None and sum(g.is_output for g in net.plan.groups) >= 2
    X = rng.uniform(-1, 1, (150, 4))
    Y = rng.uniform(0, 1, (150, 3))
    lr = {"exp": 0.002, "identity": 0.01}.get(hidden, 0.05)
    check_engines(net, X, Y, "squared_error", momentum_batch,
                  optimizers.sgd(lr, momentum=0.9), l2=1e-3)
    check_engines(net, X, Y, "squared_error", plain_batch, optimizers.sgd(lr))


@pytest.mark.parametrize(("output", "loss"), [
    ("softmax", "squared_error"), ("logistic", "cross_entropy"), ("softmax", "log_loss"),
    ("identity", "half_squared_error"), ("threshold", "perceptron"),
    ("logistic", "perceptron")])
def test_unfused_losses_and_the_softmax_jacobian(output, loss):
    check_unfused_loss(output, loss, 1)


def check_unfused_loss(output, loss, batch_size):
    """A loss without a fused Δ (the softmax Jacobian applied in full) through each engine;
    test_kernels_blas runs it with mini-batches."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((120, 4))
    Y = dn.one_hot(rng.integers(0, 3, 120))[0]
    net = dn.Network.layered([4, 5, 3], hidden="logistic", output=output, random_state=6)
    check_engines(net, X, Y, loss, batch_size, optimizers.sgd(0.05))


def check_schedule(batch_size):
    """A learning rate that changes every update, with momentum, through each engine."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((90, 3))
    y = (X.sum(axis=1) > 0).astype(float)
    net = dn.Network.layered([3, 4, 1], output="logistic", random_state=7)
    schedule = optimizers.inverse_scaling(0.5, 0.5)
    check_engines(net, X, y, "log_loss", batch_size, optimizers.sgd(schedule, momentum=0.8))
    return net, X, y


def test_schedule_and_plateau_scale_are_followed():
    net, X, y = check_schedule(1)
    trained = {}
    for engine in ("numba", "numpy"):
        trained[engine] = net.copy()
        dn.train(trained[engine], X, y, loss="log_loss", lr=0.5, epochs=12,
                 lr_schedule="plateau", random_state=0, engine=engine)
    assert_allclose(trained["numba"].params, trained["numpy"].params, rtol=0, atol=1e-12)


def test_numpy_engine_runs_any_optimizer_as_the_reference():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((64, 3))
    Y = dn.one_hot(rng.integers(0, 3, 64))[0]
    net = dn.Network.layered([3, 5, 3], hidden="softplus", output="softmax", random_state=10)
    check_engines(net, X, Y, "cross_entropy", 8, optimizers.adam(0.01), engines=("numpy",))
    check_engines(net, X, Y, "cross_entropy", 64, optimizers.rprop(), engines=("numpy",),
                  l2=1e-3)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_adam_runs_compiled_with_the_updates_of_optimizers_adam(batch_size):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((120, 5))
    Y = np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], axis=1)
    net = dn.Network.layered([5, 9, 6, 2], hidden="tanh", output="identity", random_state=2)
    check_engines(net, X, Y, "squared_error", batch_size, optimizers.adam(0.01), l2=1e-3)
    check_engines(net, X, Y, "half_squared_error", batch_size,
                  optimizers.adam(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-6), l1=1e-4)


def test_compiled_adam_hands_back_the_state_numpy_would_and_resumes_from_it():
    # three epochs in one compiled call, then one more from the state handed back, with a
    # schedule: the weights and Adam's moments and count are those of the NumPy engine
    rng = np.random.default_rng(12)
    X = rng.standard_normal((90, 4))
    Y = dn.one_hot(rng.integers(0, 3, 90))[0]
    orders = np.stack([rng.permutation(90) for _ in range(4)])
    params, states = {}, {}
    for engine in ("numba", "numpy"):
        net = dn.Network.layered([4, 6, 3], hidden="relu", output="softmax", random_state=3)
        opt = optimizers.adam(schedules.inverse_scaling(0.05, 0.5))
        runner = kernels.make_runner(engine, net, X, Y, None, 4, losses.get("cross_entropy"),
                                     opt, 0.0, 0.0, False)
        state = opt.init(net.params)
        if engine == "numba":
            state = runner.run_epochs(orders[:3], state, None, None).state
        else:
            for order in orders[:3]:
                state = runner.run(order, state).state
        state = runner.run(orders[3], state).state
        params[engine], states[engine] = net.params, state[0]
    assert_allclose(params["numba"], params["numpy"], rtol=0, atol=1e-12)
    assert states["numba"].count == states["numpy"].count == 4 * 23
    assert_allclose(states["numba"].m, states["numpy"].m, rtol=0, atol=1e-12)
    assert_allclose(states["numba"].v, states["numpy"].v, rtol=0, atol=1e-12)
    assert np.abs(states["numba"].v).max() > 0


def test_float32_stays_float32_and_learns(digits):
    X, Y = digits
    acc = {}
    for dtype in (np.float64, np.float32):
        net = dn.Network.layered([64, 32, 10], hidden="logistic", output="softmax",
                                 random_state=0, dtype=dtype)
        dn.train(net, X[:1200], Y[:1200], loss="cross_entropy", lr=0.1, epochs=3,
                 random_state=0, engine="numba")
        assert net.params.dtype == dtype
        out = net.predict(X[1200:])
        acc[dtype] = np.mean(np.argmax(out, axis=1) == np.argmax(Y[1200:], axis=1))
    assert acc[np.float32] > 0.85 and abs(acc[np.float32] - acc[np.float64]) < 0.02


def test_numpy_engine_buffers_are_float32():
    net = dn.Network.layered([6, 5, 2], hidden="relu", output="softmax", dtype=np.float32,
                             random_state=0)
    X = np.random.default_rng(0).standard_normal((40, 6))
    runner = kernels.make_runner("numpy", net, X.astype(np.float32),
                                 dn.one_hot(np.arange(40) % 2)[0].astype(np.float32), None, 8,
                                 losses.get("cross_entropy"), optimizers.sgd(0.1), 1e-3, 0.0,
                                 False)
    ws = runner.ws
    arrays = [ws.x, ws.y, ws.grad, ws.per_example, ws.rows, runner.penalty.w]
    arrays += [getattr(L, f) for L in ws.layers for f in ("in_", "a", "delta", "extra")]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}


@pytest.mark.parametrize(("setting", "named"), [
    ({"dropout": 0.2}, "dropout"),
    ({"optimizer": "rprop", "batch_size": None}, "the optimizer rprop"),
    ({"net": {"batch_norm": True}, "batch_size": 4}, "batch normalisation")])
def test_numba_engine_refuses_what_it_cannot_compile(setting, named):
    net = dn.Network.layered([3, 4, 1], random_state=0, **setting.pop("net", {}))
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match=f"engine='numba' does not support {named}"):
        dn.train(net, X, X[:, 0] > 0, loss="log_loss", epochs=1, engine="numba", **setting)
    dn.train(net, X, X[:, 0] > 0, loss="log_loss", epochs=1, engine="auto", **setting)


def test_auto_dispatch():
    loss, sgd = losses.get("cross_entropy"), optimizers.sgd(0.1)
    small = dn.Network.layered([64, 32, 10], output="softmax")
    big = dn.Network.layered([784, 256, 128, 10], hidden="relu", output="softmax")
    assert kernels.choose_engine("auto", small, loss, sgd, 1) == "numba"
    assert kernels.choose_engine("auto", big, loss, sgd, 1) == "numba"
    assert kernels.choose_engine("auto", big, loss, sgd, 128) == "numba"
    assert kernels.choose_engine("auto", small, loss, sgd, 64) == "numba"
    assert kernels.choose_engine("auto", small, loss, optimizers.adam(), 1) == "numba"
    assert kernels.choose_engine("auto", small, loss, optimizers.rprop(), 1) == "numpy"
    assert kernels.choose_engine("auto", small, loss, sgd, 1, dropout={1: 0.5}) == "reference"
    with pytest.raises(ValueError, match="unknown engine"):
        kernels.choose_engine("cuda", small, loss, sgd, 1)


def test_auto_is_the_numba_kernel_for_single_examples(digits):
    X, Y = digits[0][:300], digits[1][:300]
    nets = {e: dn.Network.layered([64, 16, 10], output="softmax", random_state=0)
            for e in ("auto", "numba")}
    for engine, net in nets.items():
        dn.train(net, X, Y, loss="cross_entropy", epochs=2, random_state=1, engine=engine)
    assert_array_equal(nets["auto"].params, nets["numba"].params)


def test_per_update_callbacks_see_every_update_and_change_nothing():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((50, 2)), rng.integers(0, 2, 50).astype(float)
    seen, nets = [], {}

    class Recorder(dn.Callback):
        def on_batch_end(self, update, logs):
            seen.append((update, logs["batch_size"]))

    for cbs in (None, [Recorder()]):
        net = dn.Network.layered([2, 3, 1], output="logistic", random_state=0)
        dn.train(net, X, y, loss="log_loss", batch_size=4, epochs=3, random_state=0,
                 engine="numba", callbacks=cbs)
        nets[cbs is None] = net
    assert_array_equal(nets[True].params, nets[False].params)
    assert [u for u, _ in seen] == list(range(1, 40)) and seen[12] == (13, 2)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_a_diverging_run_stops_with_the_reference_error(engine):
    X = np.linspace(-50, 50, 40).reshape(-1, 1)
    net = dn.Network.layered([1, 3, 1], hidden="identity", output="identity", random_state=0)
    start = net.params.copy()
    with pytest.raises(dn.TrainingError, match=r"the cost became (inf|nan) in epoch 1 "
                                               r"\(update \d+\)") as err:
        dn.train(net, X, 3 * X, lr=1.0, epochs=2, random_state=0, engine=engine)
    assert err.value.history.updates >= 1
    assert_array_equal(net.params, start)


def test_no_allocation_per_update_in_the_numpy_engine():
    rng = np.random.default_rng(9)
    X, Y = rng.random((2048, 20)), dn.one_hot(rng.integers(0, 4, 2048))[0]
    peaks = []
    for n in (128, 2048):
        net = dn.Network.layered([20, 16, 4], hidden="relu", output="softmax", random_state=0)
        opt = optimizers.sgd(0.1, momentum=0.9, nesterov=True)
        runner = kernels.make_runner("numpy", net, X[:n], Y[:n], None, 16,
                                     losses.get("cross_entropy"), opt, 1e-4, 0.0, False)
        state = runner.run(np.arange(n), opt.init(net.params)).state
        order = rng.permutation(n)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        runner.run(order, state)
        peaks.append(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 2048  # 16x the updates, no more memory


_SUBPROCESS = textwrap.dedent("""
    import numpy as np, deltanet as dn
    from numba.core.runtime import rtsys
    from deltanet import kernels
    from deltanet.kernels import _blas, _dense, _sgd
    kernels.BLAS_MIN_BATCH_WORK = 1000  # batches of 64 (x 68 weights) take the BLAS loop
    kernels.BLAS_MIN_EPOCH_WORK = 0
    rng = np.random.default_rng(0)
    X = rng.random((640, 8)); Y = (X[:, :2] > 0.5).astype(float)
    net = dn.Network.layered([8, 6, 2], output="logistic", random_state=0)
    dn.train(net, X[:5], Y[:5], loss="log_loss", epochs=1, engine="numba")  # starts the NRT
    counts = []
    for n in (64, 640):
        before = rtsys.get_allocation_stats().alloc
        for batch_size in (1, 4, 64):  # the dense per-example epoch, the general one, BLAS
            net = dn.Network.layered([8, 6, 2], output="logistic", random_state=0)
            dn.train(net, X[:n], Y[:n], loss="log_loss", epochs=2, batch_size=batch_size,
                     engine="numba")
        counts.append(rtsys.get_allocation_stats().alloc - before)
    stats = [_dense.dense_epoch.stats, _sgd.sgd_epoch.stats, _blas.blas_epoch.stats]
    hits = min(sum(s.cache_hits.values()) for s in stats)
    print(counts[0], counts[1], hits, sum(sum(s.cache_misses.values()) for s in stats))
""")


def test_compiled_code_is_cached_on_disk_and_allocates_nothing_per_update():
    env = {**os.environ, "NUMBA_NRT_STATS": "1"}
    runs = [subprocess.run([sys.executable, "-c", _SUBPROCESS], capture_output=True,
                           text=True, env=env, timeout=240, check=True) for _ in range(2)]
    small, large, hits, misses = map(int, runs[1].stdout.split())
    assert small == large  # the same (per-call) allocations for 10x the updates
    assert hits >= 1 and misses == 0  # the second process loaded every kernel from disk


@pytest.fixture(scope="module")
def exp_all():
    from numba import njit

    from deltanet.kernels import _elementwise
    from deltanet.kernels._elementwise import exp_nonpositive

    @njit(error_model="numpy")
    def run(x, out, c):
        for i in range(x.shape[0]):
            out[i] = exp_nonpositive(x[i], c)

    def call(x):
        out = np.empty_like(x)
        run(x, out, _elementwise.constants(x.dtype))
        return out

    return call


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_kernels_exp_is_within_1_2_units_in_the_last_place(exp_all, dtype):
    low = np.log(np.finfo(dtype).smallest_normal.astype(np.float64))
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(low, 0, 1_000_001), rng.uniform(low, 0, 200_000),
                        -rng.exponential(1.0, 200_000)]).astype(dtype)
    x = x[x >= low]
    exact = np.exp(x.astype(np.longdouble if dtype == np.float64 else np.float64))
    got = exp_all(x)
    assert got.dtype == dtype
    ulp = np.spacing(exact.astype(dtype)).astype(exact.dtype)
    error = np.abs(got.astype(exact.dtype) - exact) / ulp
    assert error.max() <= 1.2, float(error.max())
    assert error.mean() < 0.35


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_kernels_exp_at_zero_nan_and_below_the_smallest_normal(exp_all, dtype):
    low = np.log(np.finfo(dtype).smallest_normal.astype(np.float64))
    x = np.array([0.0, -0.0, -1e-30, -np.inf, np.nan, low * 1.001, -1e4, low * 0.999], dtype)
    got = exp_all(x)
    assert got[:3].tolist() == [1.0, 1.0, 1.0]
    assert got[3] == 0 and np.isnan(got[4]) and got[5] == 0 and got[6] == 0
    assert got[7] == pytest.approx(np.exp(np.float64(x[7])), rel=1e-6)
    assert got[7] >= np.finfo(dtype).smallest_normal  # a normal number, not flushed


def test_the_compiled_engine_takes_the_blas_loop_for_batches_beyond_tiny_networks():
    from deltanet.kernels._runners import BlasRunner, NumbaRunner

    def runner(sizes, n, batch_size):
        net = dn.Network.layered(sizes, output="softmax", random_state=0)
        X, Y = np.zeros((n, sizes[0])), np.eye(sizes[-1])[np.arange(n) % sizes[-1]]
        return type(kernels.make_runner("numba", net, X, Y, None, batch_size,
                                        losses.get("cross_entropy"), optimizers.adam(),
                                        0.0, 0.0, False))

    assert runner([4, 100, 3], 120, 120) is BlasRunner  # iris with scikit-learn's batches
    assert runner([64, 32, 10], 1000, 2) is BlasRunner
    assert runner([64, 32, 10], 1000, 1) is NumbaRunner  # single examples
    assert runner([2, 2, 2], 4, 4) is NumbaRunner  # XOR: several epochs per compiled call
    assert runner([2, 3, 2], 400, 4) is NumbaRunner  # a batch of 4 x 17 weights


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_compiled_adam_in_float32_stays_float32_and_agrees_with_numpy(batch_size):
    rng = np.random.default_rng(13)
    X = rng.standard_normal((300, 9)).astype(np.float32)
    Y = dn.one_hot(rng.integers(0, 4, 300))[0].astype(np.float32)
    params = {}
    for engine in ("numpy", "numba"):
        net = dn.Network.layered([9, 13, 7, 4], hidden="relu", output="softmax",
                                 random_state=0, dtype=np.float32)
        dn.train(net, X, Y, loss="cross_entropy", optimizer=optimizers.adam(0.01),
                 batch_size=batch_size, epochs=1, random_state=0, engine=engine)
        params[engine] = net.params
    assert params["numba"].dtype == np.float32
    assert_allclose(params["numba"], params["numpy"], rtol=0, atol=1e-6)


def test_float32_scalar_definitions_compile_to_float32_arithmetic():
    # a float literal is a float64 to Numba: the kernels compile each definition with its
    # literals typed like the arguments, so float32 does not widen to float64 and back
    from numba import types

    from deltanet import activations
    from deltanet.kernels import _elementwise as ew
    from deltanet.kernels._layout import ACTIVATION_CODES, LOSS_CODES

    rng = np.random.default_rng(0)
    tables = [(activations.ACTIVATIONS, ACTIVATION_CODES, "scalar_value", "_g", 1),
              (activations.ACTIVATIONS, ACTIVATION_CODES, "scalar_derivative", "_d", 2),
              (losses.LOSSES, LOSS_CODES, "scalar_f", "_f", 2),
              (losses.LOSSES, LOSS_CODES, "scalar_df_da", "_df", 2),
              (losses.LOSSES, LOSS_CODES, "scalar_fused", "_fused", 3)]
    checked = 0
    for registry, codes, attribute, prefix, n_args in tables:
        for name, code in codes.items():
            definition = getattr(registry[name], attribute)
            if definition is None:
                continue
            compiled = getattr(ew, f"{prefix}{code}")
            args = rng.uniform(0.05, 0.95, n_args)
            for dtype, numba_type in ((np.float32, types.float32), (np.float64, types.float64)):
                value = compiled(*args.astype(dtype))
                sig = next(s for s in compiled.nopython_signatures
                           if s.args == (numba_type,) * n_args)
                returned = sig.return_type
                parts = returned.types if isinstance(returned, types.BaseTuple) else [returned]
                assert all(t == numba_type for t in parts), (name, attribute, sig)
                assert_allclose(value, definition(*args), rtol=1e-5 if dtype == np.float32
                                else 1e-12, atol=1e-6)
            checked += 1
    assert checked >= 20


def test_warm_runners_share_the_plans_tables_and_work_vectors_and_change_no_result():
    X, y = np.random.default_rng(1).standard_normal((30, 3)), np.arange(30) % 2
    Y = y[:, None].astype(float)
    net = dn.Network.layered([3, 5, 1], random_state=0)
    twin = net.copy()  # the same plan, its own weights
    alone = net.copy()
    kw = dict(loss="log_loss", lr=0.3, random_state=0, engine="numba")
    runners = [kernels.make_runner("numba", n, X, Y, None, 1, losses.get("log_loss"),
                                   optimizers.sgd(0.1), 0.0, 0.0, False) for n in (net, twin)]
    assert runners[0].layout is runners[1].layout and runners[0].work[0] is runners[1].work[0]
    wide = kernels.make_runner("numba", net.astype(np.float32), X, Y, None, 1,
                               losses.get("log_loss"), optimizers.sgd(0.1), 0.0, 0.0, False)
    assert wide.work[0].dtype == np.float32
    for _ in range(3):  # two networks of one plan, trained by turns
        dn.train(net, X, Y, epochs=2, **kw)
        dn.train(twin, X, Y, epochs=2, batch_size=4, momentum=0.5, optimizer="momentum",
                 **{k: v for k, v in kw.items() if k != "lr"})
    for _ in range(3):
        dn.train(alone, X, Y, epochs=2, **kw)
    assert_array_equal(net.params, alone.params)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("sizes", "hidden", "output", "loss"), [
    ([2, 2, 1], "logistic", "logistic", "log_loss"),
    ([7, 9, 6, 3], "tanh", "softmax", "cross_entropy"),
    ([5, 13, 4], "relu", "identity", "squared_error")])
def test_dense_and_general_per_example_kernels_give_the_same_bits(sizes, hidden, output,
                                                                   loss, dtype, monkeypatch):
    # no reassociation: the dense kernel reorders loops, never a sum
    from deltanet.kernels import _runners

    rng = np.random.default_rng(len(sizes))
    X = rng.standard_normal((40, sizes[0]))
    Y = (dn.one_hot(rng.integers(0, sizes[-1], 40))[0] if sizes[-1] > 1
         else (rng.random((40, 1)) > 0.5).astype(float))
    kw = dict(loss=loss, lr=0.05, epochs=3, random_state=0, engine="numba")
    nets = [dn.Network.layered(sizes, hidden=hidden, output=output, random_state=0,
                               dtype=dtype) for _ in range(2)]
    history = dn.train(nets[0], X, Y, **kw)
    monkeypatch.setattr(_runners, "is_dense_chain", lambda layout: False)
    monkeypatch.setattr(_runners, "SHARED_MAX_PARAMS", 0)  # its own layout, not the first's
    general = dn.train(nets[1], X, Y, **kw)
    ran = [kernels.make_runner("numba", net, X, Y, None, 1, losses.get(loss),
                               optimizers.sgd(0.05), 0.0, 0.0, False)._dense for net in nets]
    assert ran[0] is not None and ran[1] is None  # the dense kernel, then the general one
    assert_array_equal(nets[0].params, nets[1].params)
    assert history.cost == general.cost


def test_small_networks_of_one_structure_share_their_layout_and_train_as_alone():
    """A new small network of a shape seen before takes the prepared layout and work
    vectors of that shape; other shapes, and large networks, get their own. Networks that
    share train, taking turns, exactly as each would alone."""
    from deltanet.kernels import _runners

    rng = np.random.default_rng(11)
    X = rng.standard_normal((30, 3))
    Y = (X[:, :1] > 0).astype(float)
    kw = dict(loss="log_loss", lr=0.1, epochs=3, random_state=0)
    a, b = (dn.Network.layered([3, 4, 1], random_state=s) for s in (1, 2))
    c = dn.Network.layered([3, 5, 1], random_state=1)
    alone = [net.copy() for net in (a, b)]
    for _ in range(3):  # taking turns
        dn.train(a, X, Y, **kw)
        dn.train(b, X, Y, **kw)
        dn.train(c, X, Y, **kw)
    for net in alone:
        for _ in range(3):
            dn.train(net, X, Y, **kw)
    assert_array_equal(a.params, alone[0].params)
    assert_array_equal(b.params, alone[1].params)
    prepared = [_runners._prepared(net.plan, np.dtype(np.float64)) for net in (a, b, c)]
    assert prepared[0] is prepared[1] and prepared[2] is not prepared[0]
    big = [dn.Network.layered([3, _runners.SHARED_MAX_PARAMS, 1], random_state=0)
           for _ in range(2)]
    assert _runners._prepared(big[0].plan, np.dtype(np.float64)) is not \
        _runners._prepared(big[1].plan, np.dtype(np.float64))
