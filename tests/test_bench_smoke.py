"""Smoke test of the benchmark harness in bench/: each peer trains for a few updates.

The benchmark itself is not part of the test suite; this only shows its peers run, learn
the same thing from the same start, and report sensible outcomes.
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import gemm_limit  # noqa: E402
import suite_per_example as per_example  # noqa: E402
import timing  # noqa: E402
import workloads  # noqa: E402

pytestmark = pytest.mark.slow


def _small_digits(n: int = 16) -> per_example.PerExample:
    data = workloads.digits()
    data = replace(data, X=data.X[:n], Y=data.Y[:n], y=data.y[:n])
    return per_example.PerExample(data, [64, 8, 10], lr=0.1, epochs=1)


def test_numpy_and_numba_loops_agree_update_for_update():
    w = _small_digits()
    outcomes = {}
    for name, run in [
        ("numpy", per_example.run_numpy),
        ("numba", lambda w, d, e: per_example.run_numba(w, d, e, np.float64, False)),
    ]:
        outcomes[name] = run(w, w.data, 2)
    assert outcomes["numpy"].units == outcomes["numba"].units == 2 * 16
    # same start, same orders, same arithmetic: the same held-out accuracy
    assert outcomes["numpy"].accuracy == outcomes["numba"].accuracy
    assert outcomes["numpy"].seconds > 0


def test_numba_loop_weights_match_numpy_loop():
    import peers_numba
    import peers_numpy

    w = _small_digits()
    start = workloads.glorot(w.sizes, np.random.default_rng(0), np.float64)
    orders = workloads.permutations(16, 2, 0)
    by_numpy = [(W.copy(), b.copy()) for W, b in start]
    by_numba = [(W.copy(), b.copy()) for W, b in start]
    peers_numpy.sgd_per_example(by_numpy, w.data.X, w.data.Y, 0.1, orders)
    peers_numba.sgd_per_example(by_numba, w.data.X, w.data.Y, 0.1, orders)
    for (W1, b1), (W2, b2), (W0, _) in zip(by_numpy, by_numba, start, strict=True):
        assert not np.allclose(W1, W0)  # training moved the weights
        np.testing.assert_allclose(W1, W2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)


def test_sklearn_peer_runs_per_example_sgd():
    w = _small_digits()
    outcome = per_example.run_sklearn(w, w.data, 1)
    assert outcome.units == 16
    assert 0.0 <= outcome.accuracy <= 1.0


def test_torch_peer_matches_numpy_loop():
    pytest.importorskip("torch")
    w = _small_digits()
    by_torch = per_example.run_torch(w, w.data, 2)
    by_numpy = per_example.run_numpy(w, w.data, 2)
    assert by_torch.units == by_numpy.units
    assert by_torch.accuracy == pytest.approx(by_numpy.accuracy, abs=0.01)


def test_gemm_limit_and_fit_helpers():
    seconds = gemm_limit.epoch_seconds([16, 8, 4], n=300, batch_size=128)
    assert seconds > 0
    assert gemm_limit.gflops([16, 8, 4], 300) == pytest.approx(6 * (128 + 32) * 300 / 1e9)
    c0, c1, r2 = timing.linear_fit(np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0, 9.0]))
    assert (c0, c1, r2) == pytest.approx((1.0, 2.0, 1.0))


def test_measure_all_reports_a_failing_peer_and_keeps_the_others():
    def broken() -> timing.Outcome:
        raise RuntimeError("no such library")

    def working() -> timing.Outcome:
        return timing.Outcome(seconds=2.0, units=4, accuracy=0.5)

    entries = [
        timing.Entry("digits", "broken", "float64", broken),
        timing.Entry("digits", "working", "float64", working, warmup=working),
    ]
    broken_row, working_row = timing.measure_all(entries, reps=3)
    assert broken_row.per_unit == []
    assert "RuntimeError: no such library" in broken_row.note
    assert working_row.per_unit == [0.5, 0.5, 0.5]
    assert working_row.accuracy == 0.5
    assert math.isnan(timing.ratio(working_row, broken_row))


# ---- the same start and order as deltanet's row (peers_deltanet.start / orders), JAX peer

def test_numpy_loop_from_deltanets_start_and_orders_ends_with_deltanets_weights():
    import deltanet as dn
    import peers_deltanet
    import peers_numpy

    w = _small_digits(40)
    layers = peers_deltanet.start(w.sizes, "logistic", np.float64)
    peers_numpy.sgd_per_example(layers, w.data.X, w.data.Y, 0.1,
                                peers_deltanet.orders(40, 3))
    net = dn.Network.layered(w.sizes, hidden="logistic", output="softmax", random_state=0)
    dn.train(net, w.data.X, w.data.Y, loss="cross_entropy", lr=0.1, batch_size=1, epochs=3,
             random_state=0)
    for i, (W, b) in enumerate(layers):
        np.testing.assert_allclose(net.plan.W(net.params, net.plan.block_at[(i, i + 1)]), W,
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.plan.bias(net.params, net.plan.groups[i]), b,
                                   rtol=0, atol=1e-12)


def test_jax_peer_learns_what_deltanet_learns_from_the_same_start():
    pytest.importorskip("jax")
    import peers_jax

    w = _small_digits(64)
    try:
        mine = per_example.run_deltanet(w, w.data, 3, np.float64)
        theirs = peers_jax.run_per_example(w, w.data, 3, np.float64)
        again = peers_jax.run_per_example(w, w.data, 3, np.float64)
    finally:
        peers_jax.close()
    assert theirs.units == mine.units == 3 * 64
    assert theirs.accuracy == mine.accuracy
    assert theirs.compile_seconds > 0 and again.compile_seconds is None  # compiled once
    assert again.seconds > 0 and again.accuracy == mine.accuracy
