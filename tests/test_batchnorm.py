"""Batch normalisation lives in deltanet.batchnorm: its passes match finite differences in
both modes, its statistics move as documented, and the old import paths still work."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

import deltanet as dn
from deltanet import batchnorm, propagation, regularization


def test_the_old_import_paths_name_the_same_objects():
    for name in ("batch_bounds", "copy_bn_stats", "put_bn_stats", "update_bn_stats",
                 "uses_batch_norm", "BN_MOMENTUM"):
        assert getattr(regularization, name) is getattr(batchnorm, name)
    assert propagation.BN_EPS is batchnorm.BN_EPS


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("training", [True, False])
def test_generated_batch_norm_networks_match_finite_differences(seed, training):
    rng = np.random.default_rng(seed)
    sizes = [3, *rng.integers(2, 6, int(rng.integers(1, 3))).tolist(), 2]
    net = dn.Network.layered(sizes, hidden=str(rng.choice(["tanh", "elu", "logistic"])),
                             output="identity", batch_norm=True, random_state=seed)
    for mean, var in net.bn_state.values():  # running statistics away from (0, 1)
        mean[:] = rng.normal(size=mean.shape)
        var[:] = rng.uniform(0.5, 2.0, var.shape)
    X, Y = rng.normal(size=(int(rng.integers(2, 7)), 3)), rng.normal(size=(1, 2))
    Y = np.repeat(Y, X.shape[0], axis=0) + rng.normal(size=(X.shape[0], 2))
    check = dn.gradcheck(net, X, Y, training=training, max_params=None, floor=1e-4)
    assert check.max_rel_error < 1e-6, check


def test_normalise_uses_batch_statistics_in_training_and_running_ones_otherwise():
    net = dn.Network.layered([2, 3, 1], hidden="tanh", batch_norm=True, random_state=0)
    X = np.random.default_rng(0).normal(size=(5, 2))
    trained = propagation.forward(net.plan, net.params, X, training=True,
                                  bn_state=net.bn_state)
    assert_allclose(trained.out[1].mean(axis=0), 0.0, atol=1e-12)  # γ = 1, β = 0
    mean, var = net.bn_state[1]
    predicted = propagation.forward(net.plan, net.params, X, bn_state=net.bn_state)
    assert_allclose(predicted.out[1], (predicted.a[1] - mean) / np.sqrt(var + batchnorm.BN_EPS))


def test_running_statistics_move_by_the_momentum_with_the_unbiased_variance():
    net = dn.Network.layered([2, 3, 1], hidden="tanh", batch_norm=True, random_state=0)
    X = np.random.default_rng(1).normal(size=(4, 2))
    cache = propagation.forward(net.plan, net.params, X, training=True, bn_state=net.bn_state)
    saved = batchnorm.copy_bn_stats(net.bn_state)
    batchnorm.update_bn_stats(net.bn_state, cache)
    a = cache.a[1]
    m = batchnorm.BN_MOMENTUM
    assert_allclose(net.bn_state[1][0], m * a.mean(axis=0))
    assert_allclose(net.bn_state[1][1], (1 - m) + m * a.var(axis=0, ddof=1))
    batchnorm.put_bn_stats(net.bn_state, saved)
    assert_allclose(net.bn_state[1][0], 0.0)


@pytest.mark.parametrize("n,size", [(10, 3), (7, 2), (9, 4), (5, 5), (1001, 10)])
def test_batch_bounds_never_leave_a_batch_of_one_with_batch_norm(n, size):
    bounds = batchnorm.batch_bounds(n, size, True)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(stop - start >= 2 for start, stop in bounds)
    assert all(b[1] == c[0] for b, c in itertools.pairwise(bounds))
