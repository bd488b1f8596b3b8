"""Every worked example of the lecture notes, reproduced to the digits they print."""

from __future__ import annotations

import numpy as np
import pytest

import deltanet as dn


def test_seed002_sgd_iteration():
    # Lecture 07-2a: one logistic unit, w = 0.1, x = (0.4, 0.5), y = 1, α = 0.5, ℓ2 loss.
    net = dn.Network(2, [(1, 3), (2, 3)], "logistic", init=dn.init.constant(0.1))
    x, y = np.array([0.4, 0.5]), 1.0
    # in_3 = 0.1 + 0.1·0.4 + 0.1·0.5 = 0.19, g(0.19) ≈ 0.5474
    assert round(float(net.forward(x)[0]), 4) == 0.5474
    trace = net.step(x, y, lr=0.5, loss="squared_error")
    assert trace.in_[3] == pytest.approx(0.19)
    a = trace.a[3]
    assert round(y - a, 4) == 0.4526 and round(a * (1 - a), 4) == 0.2478
    # Δ_3 = −2 (y − a) g'(in_3)
    assert trace.delta[3] == pytest.approx(-2 * (y - a) * a * (1 - a), rel=1e-14)
    # w ← w − α Δ_3 a_i: 0.1 + 0.4526·0.2478·{1, 0.4, 0.5}
    # The slide rounds its intermediates first: 0.1 + 0.4526·0.2478 = 0.21215... ≈ 0.2122;
    # unrounded, w_03 = 0.212145..., the same value to within one unit of the last digit.
    assert round(0.1 + round(y - a, 4) * round(a * (1 - a), 4), 4) == 0.2122
    assert net.weights[0, 3] == pytest.approx(0.2122, abs=1e-4)
    assert net.weights[0, 3] == pytest.approx(0.1 + 2 * 0.5 * (y - a) * a * (1 - a), rel=1e-14)
    assert round(net.weights[1, 3], 4) == 0.1449
    assert round(net.weights[2, 3], 4) == 0.1561
    # "Evaluating the change in weights": the output rises from 0.5474 to 0.5862
    assert round(float(net.forward(x)[0]), 4) == 0.5862


def test_seed002_forward_propagation(seed002_net):
    # Lecture 07-2c: x = (3, 4): in_3 = 0, a_3 = 0.5, in_4 = −1, a_4 ≈ 0.27, in_5 ≈ 1.54
    trace = seed002_net.backprop([3.0, 4.0], [1.0])
    assert trace.in_[3] == 0.0 and trace.a[3] == 0.5
    assert trace.in_[4] == -1.0 and round(trace.a[4], 2) == 0.27
    assert round(trace.in_[5], 2) == 1.54
    assert round(trace.a[5], 2) == 0.82
    assert round(float(seed002_net.forward([3.0, 4.0])[0]), 2) == 0.82


def test_seed002_equal_weights_stay_equal():
    # Lecture 07-4a aside: if w_03 = w_04, w_13 = w_14, w_23 = w_24, w_35 = w_45, the two
    # hidden units compute the same thing and receive the same updates, forever.
    net = dn.Network(2, [(1, 3), (2, 3), (1, 4), (2, 4), (3, 5), (4, 5)], "logistic",
                     init=dn.init.constant(0.3, bias=-0.2))
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0], float)
    dn.train(net, X, y, loss="squared_error", lr=0.5, epochs=50, random_state=0)
    w = net.weights
    assert w[0, 3] == w[0, 4] and w[1, 3] == w[1, 4] and w[2, 3] == w[2, 4]
    assert w[3, 5] == w[4, 5]
    assert w[0, 3] != -0.2  # the weights did move


def test_seed002_vanishing_gradient_chain():
    # Lecture 07-3d: a chain 1 → 2 → 3 → 4 → 5 of logistic units. Δ_j = g'(in_j) w_j,j+1 Δ_j+1
    # and g' <= 1/4, so with |w| <= 1 each layer shrinks |Δ| by at least 4x.
    rng = np.random.default_rng(7)
    net = dn.Network(1, [(1, 2), (2, 3), (3, 4), (4, 5)], "logistic",
                     init=dn.init.rand(1.0), random_state=rng)
    trace = net.backprop([0.8], [1.0], loss="squared_error")
    for j in (2, 3, 4):
        assert abs(trace.delta[j]) <= abs(trace.delta[j + 1]) / 4
        expected = (trace.a[j] * (1 - trace.a[j]) * net.weights[j, j + 1]
                    * trace.delta[j + 1])
        assert trace.delta[j] == pytest.approx(expected, rel=1e-12)
    assert abs(trace.delta[2]) < abs(trace.delta[5]) / 4**3


def test_seed003_backprop_example():
    # 2 inputs, 3 logistic hidden units, 1 linear output; all weights (and biases) 1;
    # x = (0.5, 0.5), t = 0.5, E = ½ (y − t)², η = 1/3.
    net = dn.Network.layered([2, 3, 1], hidden="logistic", output="identity",
                             init=dn.init.constant(1.0))
    trace = net.step([0.5, 0.5], [0.5], lr=1 / 3, loss="half_squared_error")
    for j in (3, 4, 5):
        assert trace.in_[j] == 2.0  # a_j^(1) = 1·0.5 + 1·0.5 + 1 = 2.0
        assert round(trace.a[j], 2) == 0.88
    assert round(trace.a[6], 2) == 3.64  # y_1 = 1 + 3 · 0.88
    assert round(trace.delta[6], 2) == 3.14  # δ = y − t
    for j in (3, 4, 5):
        assert round(trace.delta[j], 2) == 0.33  # (z − z²) w δ
        # ∂E/∂w_jk = δ_k z_j: the seed multiplies its rounded 3.14 × 0.88 = 2.76
        assert round(round(trace.delta[6], 2) * round(trace.a[j], 2), 2) == 2.76
        assert trace.grad[j, 6] == pytest.approx(2.76, abs=0.01)
        # ∂E/∂w_ij = δ_j x_i = 0.33 × 0.5 = 0.165
        assert round(trace.grad[1, j], 3) == 0.165
        assert round(trace.grad[0, j], 2) == 0.33
    assert trace.grad[0, 6] == pytest.approx(3.14, abs=0.005)
    # w_01 ← 1 − (1/3)(0.33) = 0.89
    assert round(net.weights[0, 3], 2) == 0.89


def test_seed001_softmax_cross_entropy_gradient():
    # ∂L/∂b_j = p_j − y_j for L = −Σ y_i log p_i and p = softmax(h).
    rng = np.random.default_rng(1)
    net = dn.Network.layered([4, 5, 3], hidden="tanh", output="softmax", random_state=rng)
    x, y = rng.normal(size=4), np.array([0.0, 1.0, 0.0])
    trace = net.backprop(x, y, loss="cross_entropy")
    p = trace.outputs
    assert p.sum() == pytest.approx(1.0)
    for k, j in enumerate(net.outputs):
        assert trace.delta[j] == pytest.approx(p[k] - y[k], abs=1e-15)
        assert trace.grad[0, j] == pytest.approx(p[k] - y[k], abs=1e-15)
    assert dn.gradcheck(net, x, y, loss="cross_entropy").max_rel_error < 1e-6


def test_seed004_log_loss_base_case():
    # ∂e/∂h = −y/h + (1 − y)/(1 − h); through a logistic output h = σ(s) this is h − y.
    loss = dn.losses.get("log_loss")
    h, y = np.array([0.3, 0.8]), np.array([1.0, 0.0])
    assert np.allclose(loss.df_da(y, h), -y / h + (1 - y) / (1 - h))
    net = dn.Network.layered([2, 2, 1], output="logistic", random_state=0)
    trace = net.backprop([0.2, -0.7], [1.0], loss="log_loss")
    out = net.outputs[0]
    a = trace.a[out]
    assert trace.delta[out] == pytest.approx(a - 1.0, abs=1e-15)
    chain = loss.df_da(np.array(1.0), np.array(a)) * a * (1 - a)  # ∂e/∂h · σ'(s)
    assert trace.delta[out] == pytest.approx(float(chain), rel=1e-10)
