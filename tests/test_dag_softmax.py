"""Softmax outputs at different depths of a DAG: one softmax group, normalised together,
with gradients equal to finite differences and the engines in agreement."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import deltanet as dn
from deltanet._plan import depths

from conftest import random_dag

HIDDEN = ("tanh", "logistic", "softplus", "elu", "gelu")


def _mixed_depth_softmax_net(seed: int) -> dn.Network:
    """A random DAG whose softmax outputs lie at two or more depths."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        n_in, n_hid, n_out = (int(v) for v in rng.integers((1, 2, 2), (4, 6, 5)))
        arcs = random_dag(rng, n_in, n_hid, n_out)
        src, dst = (np.array(c) for c in zip(*arcs, strict=True))
        n = n_in + n_hid + n_out + 1
        outs = range(n_in + n_hid + 1, n)
        depth = depths(n_in, n, src, dst)
        if len({int(depth[j]) for j in outs}) > 1:
            acts = {j: str(rng.choice(HIDDEN)) for j in range(n_in + 1, n_in + n_hid + 1)}
            acts.update(dict.fromkeys(outs, "softmax"))
            return dn.Network(n_in, arcs, acts, random_state=seed, init=dn.init.rand(0.8))
    raise AssertionError("no DAG with outputs at several depths drawn")


def _targets(rng, n, k):
    return np.eye(k)[rng.integers(0, k, n)]


def test_the_issue_dag_is_accepted_and_normalised_across_depths():
    net = dn.Network(1, [(1, 2), (2, 3), (1, 4)], {2: "tanh", 3: "softmax", 4: "softmax"},
                     random_state=0)
    x = 0.7
    in3 = net.weights[0, 3] + net.weights[2, 3] * np.tanh(net.weights[0, 2]
                                                          + net.weights[1, 2] * x)
    in4 = net.weights[0, 4] + net.weights[1, 4] * x
    expect = np.exp([in3, in4]) / np.exp([in3, in4]).sum()
    assert_allclose(net.forward([x]), expect, rtol=1e-13)
    softmax = [g for g in net.plan.groups if g.activation.name == "softmax"]
    assert len(softmax) == 1 and softmax[0].neurons.tolist() == [3, 4]


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error", "log_loss"])
def test_the_issue_dag_gradients_equal_finite_differences(loss):
    net = dn.Network(1, [(1, 2), (2, 3), (1, 4)], {2: "tanh", 3: "softmax", 4: "softmax"},
                     random_state=0, init=dn.init.rand(0.8))
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 1)), _targets(rng, 6, 2)
    check = dn.gradcheck(net, X, Y, loss=loss, max_params=None)
    assert check.max_rel_error < 1e-7, check


@pytest.mark.parametrize("seed", range(40))
def test_random_dags_with_softmax_outputs_at_mixed_depths_match_finite_differences(seed):
    net = _mixed_depth_softmax_net(seed)
    rng = np.random.default_rng(seed + 1000)
    n = int(rng.integers(1, 6))
    X, Y = rng.normal(size=(n, net.n_inputs)), _targets(rng, n, net.n_outputs)
    loss = ("cross_entropy", "squared_error")[seed % 2]
    check = dn.gradcheck(net, X, Y, loss=loss, max_params=None)
    assert check.max_rel_error < 1e-6, (seed, check)
    assert_allclose(net.forward(X).sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("seed", range(0, 40, 8))
def test_the_engines_agree_on_mixed_depth_softmax_dags(seed):
    net = _mixed_depth_softmax_net(seed)
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(60, net.n_inputs)), _targets(rng, 60, net.n_outputs)
    trained = {}
    for engine, batch in (("numba", 1), ("numpy", 1), ("numba", 8), ("numpy", 8)):
        copy = net.copy()
        dn.train(copy, X, Y, loss="cross_entropy", epochs=1, batch_size=batch,
                 optimizer=dn.optimizers.sgd(0.1), random_state=0, engine=engine)
        trained[engine, batch] = copy.params
    for batch in (1, 8):
        assert_allclose(trained["numba", batch], trained["numpy", batch], rtol=0, atol=1e-12)


def test_softmax_outputs_at_several_depths_that_feed_a_neuron_are_refused():
    arcs = [(1, 2), (2, 3), (1, 4), (3, 5)]
    with pytest.raises(ValueError, match=r"normalised together.*feed other neurons"):
        dn.Network(1, arcs, {2: "tanh", 3: "softmax", 4: "softmax", 5: "identity"},
                   outputs=[3, 4, 5])
