"""Several epochs per compiled call: the same run as one epoch at a time, bit for bit.

``train()`` hands stretches of epochs to ``NumbaRunner.run_epochs`` when nothing needs Python
between epochs. An epoch-end callback that does nothing turns that off, so each run here is
compared with the same run made one epoch per call: weights, history, the generator's
state afterwards, stop reasons and errors must all be identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import deltanet as dn
from deltanet.kernels._runners import NumbaRunner
from deltanet.training import spans as spans_module

from conftest import random_dag

pytestmark = pytest.mark.xdist_group("numba")  # one worker compiles, the other one waits


def _xor(dtype=np.float64):
    X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=dtype)
    return X, np.array([0, 1, 1, 0], dtype=dtype)


class _Spans(list):
    size: int | None = None


@pytest.fixture
def spans(monkeypatch):
    """Record the stretches run in one call; ``spans.size`` (when set) fixes their length."""
    calls = _Spans()
    original_span, original_run = spans_module.quiet_span, NumbaRunner.run_epochs

    def quiet_span(run, epoch, seconds):
        if calls.size is None:
            return original_span(run, epoch, seconds)
        return min(calls.size, run.settings.epochs - epoch + 1)

    def run_epochs(self, orders, *args):
        calls.append(orders.shape[0])
        return original_run(self, orders, *args)

    monkeypatch.setattr(spans_module, "quiet_span", quiet_span)
    monkeypatch.setattr(NumbaRunner, "run_epochs", run_epochs)
    return calls


def _both(make_net, X, Y, **kw):
    """Train the same network quietly and with a do-nothing epoch callback."""
    runs, seed = [], kw.pop("seed", 3)
    for callbacks in (None, [lambda epoch, logs: None]):
        net = make_net()
        rng = np.random.default_rng(seed)
        try:
            hist = dn.train(net, X, Y, random_state=rng, callbacks=callbacks, **kw)
            error = None
        except dn.TrainingError as err:
            hist, error = err.history, str(err)
        runs.append((net, hist, error, rng.random()))
    return runs


def _assert_same(runs):
    (net1, h1, e1, r1), (net2, h2, e2, r2) = runs
    assert_array_equal(net1.params, net2.params)
    for name in ("cost", "lr", "epochs", "updates", "stop_reason", "best_epoch"):
        assert getattr(h1, name) == getattr(h2, name), name
    assert e1 == e2
    assert r1 == r2  # the generator drew the same numbers


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", [None, 2, 7])
def test_xor_per_example_runs_are_identical(spans, dtype, size):
    spans.size = size
    X, y = _xor(dtype)
    runs = _both(lambda: dn.Network.layered([2, 2, 1], random_state=0, dtype=dtype), X, y,
                 loss="log_loss", lr=0.5, epochs=300)
    _assert_same(runs)
    if size is None:  # the first stretch from the work it makes: all 300 epochs here
        assert spans[0] == min(300, spans_module.FIRST_WORK // (4 * 9)) == sum(spans)
    else:
        assert sum(spans) == 300 and spans[:-1] == [size] * (len(spans) - 1)
    assert runs[0][1].stop_reason == "reached the epoch limit (300)"


@pytest.mark.parametrize("batch_size", [1, 3])
def test_dag_with_momentum_decay_weights_and_schedule(spans, batch_size):
    # the general kernel: a masked DAG, mini-batches with a short last one, momentum,
    # L2 and L1, sample weights, a learning rate that changes every update
    spans.size = 4
    rng = np.random.default_rng(8)
    X = rng.standard_normal((10, 3))
    Y = np.stack([X[:, 0] * X[:, 1], np.tanh(X[:, 2])], axis=1)
    arcs = random_dag(np.random.default_rng(3), n_inputs=3, n_hidden=6, n_outputs=2)
    runs = _both(lambda: dn.Network(3, arcs, "tanh", random_state=3), X, Y,
                 loss="squared_error", lr=0.05, batch_size=batch_size, epochs=23,
                 optimizer="momentum", l2=1e-3, l1=1e-4, lr_schedule="invscaling",
                 sample_weight=rng.uniform(0.5, 2.0, 10))
    _assert_same(runs)
    assert sum(spans) == 23
    assert len(set(runs[0][1].lr)) == 23  # the schedule moved every epoch


@pytest.mark.parametrize(("optimizer", "schedule"), [
    ("nesterov", "step"), ("momentum", "cosine"), ("sgd", "invscaling")])
def test_float32_general_kernel_with_schedules(spans, optimizer, schedule):
    spans.size = 6
    rng = np.random.default_rng(9)
    X = rng.standard_normal((30, 4)).astype(np.float32)
    Y = dn.one_hot(rng.integers(0, 3, 30))[0].astype(np.float32)
    runs = _both(lambda: dn.Network.layered([4, 5, 3], hidden="relu", output="softmax",
                                            random_state=2, dtype=np.float32),
                 X, Y, loss="cross_entropy", lr=0.05, batch_size=4, epochs=24,
                 optimizer=optimizer, lr_schedule=schedule, l2=1e-3, seed=11)
    _assert_same(runs)
    assert runs[0][0].params.dtype == np.float32 and sum(spans) == 24


def test_tol_with_mini_batches_and_sample_weights(spans):
    spans.size = 8
    rng = np.random.default_rng(10)
    X = rng.standard_normal((13, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    runs = _both(lambda: dn.Network.layered([2, 4, 1], random_state=5), X, y,
                 loss="log_loss", lr=0.3, batch_size=5, epochs=4000, tol=1e-6,
                 sample_weight=rng.uniform(0.5, 2.0, 13))
    _assert_same(runs)
    hist = runs[0][1]
    assert hist.stop_reason.startswith("the cost changed less than tol") and hist.epochs < 4000


def test_user_learning_rate_callables_run_one_epoch_at_a_time(spans):
    # a callable of the user's might raise or count its calls for updates never made
    X, y = _xor()
    calls = []

    def rate(t):
        calls.append(t)
        return 0.5

    net = dn.Network.layered([2, 2, 1], random_state=0)
    dn.train(net, X, y, loss="log_loss", lr_schedule=rate, epochs=50, random_state=0)
    custom = dn.Network.layered([2, 2, 1], random_state=0)
    dn.train(custom, X, y, loss="log_loss", optimizer=dn.optimizers.sgd(rate), epochs=50,
             random_state=0)
    assert spans == [] and max(calls) == 199  # 50 epochs of 4 updates: no rate asked ahead
    dn.train(net, X, y, loss="log_loss", optimizer=dn.optimizers.sgd(0.5), epochs=50,
             random_state=0)
    assert spans  # a transform with a constant rate still runs in spans


def test_without_shuffling(spans):
    spans.size = 5
    X, y = _xor()
    _assert_same(_both(lambda: dn.Network.layered([2, 3, 1], random_state=1), X, y,
                       loss="log_loss", lr=0.5, epochs=20, shuffle=False))
    assert sum(spans) == 20


def test_tol_stops_at_the_same_epoch(spans):
    spans.size = 50
    X, y = _xor()
    runs = _both(lambda: dn.Network.layered([2, 2, 1], random_state=0), X, y,
                 loss="log_loss", lr=0.5, epochs=5000, tol=1e-5)
    _assert_same(runs)
    hist = runs[0][1]
    assert hist.stop_reason == "the cost changed less than tol=1e-05 across an epoch"
    assert 1 < hist.epochs < 5000 and sum(spans) == hist.epochs
    assert abs(hist.cost[-2] - hist.cost[-1]) < 1e-5
    assert all(abs(a - b) >= 1e-5 for a, b in zip(hist.cost[:-2], hist.cost[1:-1], strict=True))


def _linear(lr, batch_size, epochs):
    """A linear 2-4-1 network fitting a plane with too large a step: it overflows some
    epochs in."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    Y = X @ np.array([[3.0], [-2.0]])

    def net():
        return dn.Network.layered([2, 4, 1], hidden="identity", output="identity",
                                  random_state=0)

    return net, X, Y, dict(loss="squared_error", lr=lr, batch_size=batch_size, epochs=epochs)


def test_divergence_in_a_span_keeps_the_last_good_epoch(spans):
    # two updates per epoch; the cost overflows at the second update of epoch 6, the second
    # epoch of the span 5-8, after the epoch's first update has changed the weights
    spans.size = 4
    net, X, Y, kw = _linear(0.23, 10, 200)
    runs = _both(net, X, Y, **kw)
    _assert_same(runs)
    trained, hist, error, _ = runs[0]
    assert error is not None and "epoch 6 (update 12)" in error
    assert hist.epochs == 5 and len(hist.cost) == 5 and hist.updates == 11
    assert np.all(np.isfinite(trained.params))
    # the weights are those of the end of epoch 5: the same as a run of five epochs
    five = net()
    dn.train(five, X, Y, **{**kw, "epochs": 5}, random_state=np.random.default_rng(3))
    assert_array_equal(trained.params, five.params)


def test_divergence_at_the_first_update_of_an_epoch(spans):
    # full batch: one update per epoch; epoch 11 (third of the span 9-12) overflows at once
    spans.size = 4
    net, X, Y, kw = _linear(0.284, 20, 200)
    runs = _both(net, X, Y, **kw)
    _assert_same(runs)
    assert runs[0][1].epochs == 10 and "epoch 11 (update 11)" in runs[0][2]


def test_per_epoch_work_turns_spans_off(spans, tmp_path):
    X, y = _xor()
    settings = [{"callbacks": [lambda epoch, logs: None]}, {"validation_data": (X, y)},
                {"verbose": True}, {"checkpoint": tmp_path / "run.ckpt"},
                {"train_metric": True}, {"error_tol": 1e-9}, {"diagnostics": True},
                {"early_stopping": True, "validation_data": (X, y)},
                {"lr_schedule": "plateau"}]
    for kw in settings:
        net = dn.Network.layered([2, 2, 1], random_state=0)
        dn.train(net, X, y, loss="log_loss", lr=0.5, epochs=30, random_state=0, **kw)
        assert spans == [], kw
    dn.train(dn.Network.layered([2, 2, 1], random_state=0), X, y, loss="log_loss", lr=0.5,
             epochs=30, random_state=0)
    assert spans


def test_orders_fall_back_to_one_permutation_per_epoch(spans, monkeypatch):
    # were Generator.permuted ever to draw differently, the orders come one call per epoch
    assert spans_module.permuted_rows_match()
    spans.size = 9
    X, y = _xor()
    quick = _both(lambda: dn.Network.layered([2, 2, 1], random_state=0), X, y,
                  loss="log_loss", lr=0.5, epochs=40)
    monkeypatch.setattr(spans_module, "permuted_rows_match", lambda: False)
    slow = _both(lambda: dn.Network.layered([2, 2, 1], random_state=0), X, y,
                 loss="log_loss", lr=0.5, epochs=40)
    _assert_same(quick)
    _assert_same([quick[0], slow[0]])


def test_spans_sized_by_time_give_the_same_run(spans):
    # a longer run of a tiny network: the first span by its work, the next ones as
    # train() sizes them (by time), same result
    X, y = _xor()
    runs = _both(lambda: dn.Network.layered([2, 2, 1], random_state=0), X, y,
                 loss="log_loss", lr=0.5, epochs=12000)
    _assert_same(runs)
    assert spans[0] == spans_module.FIRST_WORK // (4 * 9) < 12000
    assert sum(spans) == 12000 and 1 < len(spans) < 100
    assert runs[0][1].cost[-1] < 0.5 * runs[0][1].cost[0]


def test_span_orders_are_bounded(spans, monkeypatch):
    monkeypatch.setattr(spans_module, "QUIET_ORDERS", 40)  # ten XOR epochs of four examples
    X, y = _xor()
    _assert_same(_both(lambda: dn.Network.layered([2, 2, 1], random_state=0), X, y,
                       loss="log_loss", lr=0.5, epochs=200))
    assert spans == [10] * 20  # the first stretch too


def test_parameters_and_work_vectors_start_on_cache_lines():
    # where the weights start decides whether vector loads straddle cache lines
    from deltanet import kernels, losses, optimizers

    X, y = _xor()
    for dtype in (np.float64, np.float32):
        nets = [dn.Network.layered([2, 3, 1], random_state=0, dtype=dtype) for _ in range(5)]
        nets += [nets[0].copy(), nets[0].astype(np.float32), nets[0].astype(np.float64)]
        assert all(net.params.ctypes.data % 64 == 0 for net in nets)
        runner = kernels.make_runner("numba", nets[0], X, y[:, None], None, 2,
                                     losses.get("log_loss"),
                                     optimizers.sgd(0.1, momentum=0.9), 1e-3, 0.0, False)
        vectors = [*runner.work, runner.scratch, runner.grad, runner.start,
                   runner.rule.velocity]
        assert all(v.ctypes.data % 64 == 0 for v in vectors)
    from deltanet.kernels import _blas, _layout

    b = _blas.buffers(_layout.build_layout(nets[0].plan), 128, np.float32)
    assert all(b[k].ctypes.data % 64 == 0 for k in ("a", "in_", "up", "delta", "ty"))


@pytest.mark.parametrize("min_delta", [0.0, 0.05])
def test_best_epoch_of_a_stretch_is_that_of_one_epoch_at_a_time(min_delta):
    # a stretch of epochs records its best epoch in one pass (vectorised for min_delta=0)
    from types import SimpleNamespace

    from deltanet.training.monitors import Best, track_best

    rng = np.random.default_rng(0)

    def run(start):
        return SimpleNamespace(
            settings=SimpleNamespace(min_delta=min_delta, early_stopping=False,
                                     restore_best=False),
            best=Best(value=start, epoch=None if start == np.inf else 0, wait=2),
            hist=SimpleNamespace(best_epoch=None))

    for _ in range(300):
        costs = list(np.round(rng.random(int(rng.integers(1, 60))) * 3, int(rng.integers(0, 3))))
        start = float(rng.choice([np.inf, 1.0, 2.0]))
        stretch, single = run(start), run(start)
        track_best(stretch, 5, np.array(costs))  # as a stretch hands them over
        for i, cost in enumerate(costs):
            track_best(single, 5 + i, (float(cost),))
        assert (stretch.best.value, stretch.best.epoch, stretch.best.wait) == \
            (single.best.value, single.best.epoch, single.best.wait)
        assert stretch.hist.best_epoch == single.hist.best_epoch


@pytest.mark.parametrize("n", [3, 50, 400])
def test_the_first_stretch_makes_at_most_first_work_weight_updates_and_then_keeps_pace(
        spans, n):
    """Before the pace of an epoch is known, a stretch runs as many epochs as make at most
    ``FIRST_WORK`` weight updates (at least one); after it, stretches follow the pace."""
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] > 0).astype(float)
    net = dn.Network.layered([4, 16, 1], random_state=0)
    dn.train(net, X, y, loss="log_loss", lr=0.05, epochs=200, random_state=0)
    first = max(1, min(200, spans_module.FIRST_WORK // (n * net.plan.n_params)))
    assert spans[0] == first and sum(spans) == 200


@pytest.mark.parametrize("stop", ["tol", "divergence"])
def test_a_callers_bit_generator_is_left_as_one_epoch_at_a_time_leaves_it(stop):
    """random_state=PCG64(...): default_rng wraps the caller's BitGenerator without a
    copy, so a stop inside a stretch gives back the orders of the epochs not run, as for a
    caller's Generator."""
    after = []
    for callbacks in (None, [lambda epoch, logs: None]):
        bits = np.random.PCG64(5)
        if stop == "tol":
            X, y = _xor()
            net, kw = dn.Network.layered([2, 2, 1], random_state=0), dict(
                loss="log_loss", lr=0.5, epochs=5000, tol=1e-5)
            hist = dn.train(net, X, y, random_state=bits, callbacks=callbacks, **kw)
            assert hist.epochs < 5000
        else:
            make, X, Y, kw = _linear(0.35, 1, 200)
            with pytest.raises(dn.TrainingError):
                dn.train(make(), X, Y, random_state=bits, callbacks=callbacks, **kw)
        after.append(bits.random_raw(3).tolist())
    assert after[0] == after[1]
