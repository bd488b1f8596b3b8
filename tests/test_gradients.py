"""Backpropagation against central finite differences, for every activation/loss pair,
on layered networks and random sparse/skip-arc DAGs, one example and batches."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deltanet as dn

from conftest import random_dag

SALT = ""
SMOOTH = ["identity", "logistic", "tanh", "softplus", "relu", "leaky_relu", "elu", "gelu"]
# output activation -> losses it pairs with (targets must suit the output's range)
PAIRS = [
    ("identity", "squared_error"), ("identity", "half_squared_error"),
    ("logistic", "squared_error"), ("logistic", "half_squared_error"),
    ("logistic", "log_loss"), ("tanh", "squared_error"), ("softplus", "half_squared_error"),
    ("relu", "squared_error"),
    ("softmax", "cross_entropy"), ("softmax", "squared_error"), ("softmax", "log_loss"),
    ("logistic", "cross_entropy"),
]


def _targets(rng, n, k, loss, out):
    if loss == "cross_entropy" or out == "softmax":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "log_loss" or out == "logistic":
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


def _relu_safe_inputs(net, rng, n):
    # keep ReLU pre-activations away from the kink at 0 (finite differences cross it)
    for _ in range(50):
        X = rng.normal(size=(n, net.n_inputs))
        t = net.backprop(X, np.zeros((n, net.n_outputs)) + 0.5)
        ins = np.concatenate([c for c in t.cache.in_[1:]], axis=1)
        if np.abs(ins).min() > 1e-3:
            return X
    pytest.skip("could not draw inputs away from the ReLU kink")


@pytest.mark.parametrize("hidden", SMOOTH)
@pytest.mark.parametrize("out,loss", PAIRS)
@pytest.mark.parametrize("n", [1, 5])
def test_layered_gradients_match_finite_differences(hidden, out, loss, n):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}{out}{loss}{n}{SALT}".encode()))
    k = 3 if out == "softmax" else 2
    net = dn.Network.layered([3, 4, 3, k], hidden=hidden, output=out, random_state=rng,
                             init=dn.init.rand(0.8))
    X = _relu_safe_inputs(net, rng, n)
    Y = _targets(rng, n, k, loss, out)
    x, y = (X[0], Y[0]) if n == 1 else (X, Y)
    check = dn.gradcheck(net, x, y, loss=loss, max_params=None)
    assert check.max_rel_error < 1e-6, check


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "half_squared_error"])
def test_random_dag_gradients(seed, loss):
    rng = np.random.default_rng(seed)
    arcs = random_dag(rng, n_inputs=3, n_hidden=6, n_outputs=2, density=0.5)
    acts = {j: rng.choice(["logistic", "tanh", "softplus", "identity"])
            for j in range(4, 12)}
    for j in (10, 11):
        acts[j] = "logistic" if loss == "log_loss" else acts[j]
    net = dn.Network(3, arcs, acts, init=dn.init.rand(0.9), random_state=rng)
    assert any(b.mask is not None for b in net.plan.blocks) or len(net.plan.blocks) > 2
    X = rng.normal(size=(4, 3))
    Y = rng.integers(0, 2, (4, 2)).astype(float)
    assert dn.gradcheck(net, X, Y, loss=loss, max_params=None).max_rel_error < 1e-6
    assert dn.gradcheck(net, X[1], Y[1], loss=loss, max_params=None).max_rel_error < 1e-6


def test_skip_arcs_and_several_outputs_at_different_depths():
    # 1,2 inputs; 3 hidden; 4 output fed by inputs and 3 (skip arc 1→4); 5 output fed by 3, 4
    arcs = [(1, 3), (2, 3), (1, 4), (3, 4), (3, 5), (4, 5), (2, 5)]
    net = dn.Network(2, arcs, "tanh", outputs=[4, 5], init=dn.init.rand(1.0), random_state=3)
    assert net.outputs == (4, 5)
    assert [g.depth for g in net.plan.groups] == [1, 2, 3]
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    assert dn.gradcheck(net, X, Y, max_params=None).max_rel_error < 1e-6
    # Δ_4 gets the loss term and the downstream term from neuron 5
    t = net.backprop(X[0], Y[0])
    g4 = 1 - t.a[4] ** 2
    expected = g4 * (-2 * (Y[0, 0] - t.a[4])) + g4 * net.weights[4, 5] * t.delta[5]
    assert t.delta[4] == pytest.approx(expected, rel=1e-12)


def test_lecture_delta_recursion_holds_for_every_hidden_neuron():
    # Δ_j = g'(in_j) Σ_{j'} w_{j,j'} Δ_{j'} (seed 002, 07-3a) on a random DAG
    rng = np.random.default_rng(11)
    arcs = random_dag(rng, 2, 5, 1)
    net = dn.Network(2, arcs, "logistic", init=dn.init.rand(1.0), random_state=rng)
    t = net.backprop([0.3, -0.6], [1.0])
    for j in range(3, 8):
        down = net.downstream(j)
        if j in net.outputs:
            continue
        s = sum(net.weights[j, k] * t.delta[k] for k in down)
        assert t.delta[j] == pytest.approx(t.a[j] * (1 - t.a[j]) * s, rel=1e-12, abs=1e-300)
        for i in net.incoming(j):
            assert t.grad[i, j] == pytest.approx(t.delta[j] * t.a[i], rel=1e-12, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 9),
       loss=st.sampled_from(["squared_error", "log_loss", "cross_entropy"]))
def test_batch_gradient_is_mean_of_per_example_gradients(seed, n, loss):
    rng = np.random.default_rng(seed)
    out = {"cross_entropy": "softmax", "log_loss": "logistic"}.get(loss, "identity")
    net = dn.Network.layered([3, 5, 3], hidden="tanh", output=out, random_state=rng)
    X = rng.normal(size=(n, 3))
    Y = np.eye(3)[rng.integers(0, 3, n)]
    batch = net.backprop(X, Y, loss=loss)
    singles = [net.backprop(X[e], Y[e], loss=loss) for e in range(n)]
    mean_grad = np.mean([s.grad_flat for s in singles], axis=0)
    np.testing.assert_allclose(batch.grad_flat, mean_grad, rtol=1e-12, atol=1e-15)
    assert batch.loss == pytest.approx(np.mean([s.loss for s in singles]), rel=1e-12)
    for j in range(4, net.n_neurons):
        np.testing.assert_allclose(batch.delta[j], [s.delta[j] for s in singles], rtol=1e-12,
                                   atol=1e-15)


def test_sample_weights_weight_the_cost():
    rng = np.random.default_rng(2)
    net = dn.Network.layered([2, 3, 1], random_state=rng)
    X, Y = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    w = np.array([1.0, 0.0, 3.0])
    t = net.backprop(X, Y, sample_weight=w)
    singles = [net.backprop(X[e], Y[e]) for e in range(3)]
    expected = sum(we * s.grad_flat for we, s in zip(w, singles, strict=True)) / w.sum()
    np.testing.assert_allclose(t.grad_flat, expected, rtol=1e-12)
    assert dn.gradcheck(net, X, Y, sample_weight=w, max_params=None).max_rel_error < 1e-6


def test_float32_network_computes_in_float32():
    net = dn.Network.layered([4, 8, 2], hidden="relu", output="softmax", random_state=0,
                             dtype=np.float32)
    t = net.backprop(np.ones((3, 4)), np.eye(2)[[0, 1, 0]], loss="cross_entropy")
    assert net.params.dtype == np.float32 and t.grad_flat.dtype == np.float32
    assert net.forward(np.ones((3, 4))).dtype == np.float32


@pytest.mark.parametrize("activation,loss", [("relu", "squared_error"),
                                             ("threshold", "squared_error"),
                                             ("threshold", "perceptron")])
def test_parameters_whose_differences_straddle_a_kink_are_marked_and_left_out(activation,
                                                                               loss):
    # in_2 = w_02 + w_12 x = 0 at x = 0: moving the bias crosses the kink (the difference
    # quotient measures a jump), moving w_12 does not (x = 0 keeps in_2 at 0).
    net = dn.Network(1, [(1, 2)], activation)
    net.weights[0, 2], net.weights[1, 2] = 0.0, 1.0
    check = dn.gradcheck(net, [0.0], [1.0], loss=loss)
    bias = list(check.indices).index(net.plan.flat_index(0, 2))
    assert check.at_kink.tolist() == [k == bias for k in range(2)]
    assert abs(check.numeric[bias] - check.analytic[bias]) > 0.1  # the jump, not g'
    assert check.max_rel_error == 0.0 and "at_kink=1 (left out)" in repr(check)
    away = dn.gradcheck(net, [0.3], [1.0], loss=loss)
    assert not away.at_kink.any() and away.max_rel_error < 1e-6


def test_l1_kinks_at_zero_weights_only_where_l1_applies():
    net = dn.Network.layered([3, 4, 2], hidden="tanh", random_state=0)
    net.weights[1, 4] = 0.0  # biases start at 0 too, but L1 leaves them alone by default
    X, Y = np.ones((2, 3)), np.ones((2, 2))
    check = dn.gradcheck(net, X, Y, l1=0.1)
    assert [int(i) for i in check.indices[check.at_kink]] == [net.plan.flat_index(1, 4)]
    assert check.max_rel_error < 1e-6
    with_bias = dn.gradcheck(net, X, Y, l1=0.1, decay_bias=True)
    assert with_bias.at_kink.sum() == 1 + 6 and with_bias.max_rel_error < 1e-6


@pytest.mark.parametrize("h", [0, -1e-4, float("nan")])
def test_gradcheck_needs_a_positive_step(h):
    net = dn.Network.layered([2, 2, 1], random_state=0)
    with pytest.raises(ValueError, match="h must be"):
        dn.gradcheck(net, [0.3, 0.1], [1.0], h=h)
