"""Dropout is never silently ignored: backprop, Network.step and gradcheck apply it whenever
it is given (with masks from the given random state), or refuse it with the fix."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import deltanet as dn


def _net(seed=0, sizes=(3, 6, 5, 2)):
    return dn.Network.layered(list(sizes), hidden="tanh", output="identity",
                              random_state=seed)


def _data(seed=0, n=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


@pytest.mark.parametrize("dropout", [0.5, {0: 0.3}, {1: 0.4, 2: 0.2}])
def test_backprop_applies_dropout_without_training(dropout):
    net, (X, Y) = _net(), _data()
    plain = net.backprop(X, Y)
    dropped = net.backprop(X, Y, dropout=dropout, rng=3)
    assert dropped.cache.drop  # masks were drawn
    assert not np.allclose(dropped.grad_flat, plain.grad_flat)
    again = net.backprop(X, Y, dropout=dropout, rng=3)  # the same seed, the same masks
    assert_allclose(again.grad_flat, dropped.grad_flat, rtol=0, atol=0)
    with_training = net.backprop(X, Y, dropout=dropout, rng=3, training=True)
    assert_allclose(with_training.grad_flat, dropped.grad_flat, rtol=0, atol=0)


def test_a_dropped_unit_feeds_nothing_and_survivors_are_rescaled():
    net, (X, Y) = _net(), _data()
    trace = net.backprop(X, Y, dropout={1: 0.5}, rng=0)
    keep = trace.cache.drop[1]
    assert set(np.unique(keep)) <= {0.0, 2.0} and (keep == 0).any()
    assert_allclose(trace.cache.out[1], trace.cache.a[1] * keep)


@pytest.mark.parametrize("seed", range(6))
def test_gradcheck_checks_dropout_without_training(seed):
    rng = np.random.default_rng(seed)
    sizes = (3, *rng.integers(2, 7, 2).tolist(), 2)
    net, (X, Y) = _net(seed, sizes), _data(seed, n=int(rng.integers(1, 6)))
    rate = float(rng.uniform(0.1, 0.6))
    check = dn.gradcheck(net, X, Y, dropout=rate, seed=seed, max_params=None)
    assert check.max_rel_error < 1e-6, check
    # the checked gradient is that of the dropped network, not of the plain one
    plain = net.backprop(X, Y).grad_flat[check.indices]
    assert not np.allclose(check.analytic, plain)


def test_step_applies_dropout_and_moves_the_weights_by_the_dropped_gradient():
    net, (X, Y) = _net(), _data()
    before = net.params.copy()
    expect = net.backprop(X, Y, dropout=0.5, rng=9).grad_flat
    net.step(X, Y, lr=0.1, dropout=0.5, rng=9)
    assert_allclose(net.params, before - 0.1 * expect, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("dropout", "message"), [
    (1.0, "dropout must be < 1"), (-0.2, "dropout must be >= 0"),
    ({3: 0.5}, "dropout applies to the inputs"), ("half", "dropout must be a rate")])
def test_bad_dropout_is_refused_by_backprop_step_and_gradcheck(dropout, message):
    net, (X, Y) = _net(), _data()
    for call in (lambda: net.backprop(X, Y, dropout=dropout),
                 lambda: net.step(X, Y, dropout=dropout),
                 lambda: dn.gradcheck(net, X, Y, dropout=dropout)):
        with pytest.raises(ValueError, match=message):
            call()


def test_prediction_never_drops():
    net, (X, _) = _net(), _data()
    assert_allclose(net.forward(X), net.forward(X))
    assert not dn.propagation.forward(net.plan, net.params, X).drop
