"""Weight decay, L1, dropout and batch normalisation: gradient checks and behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import deltanet as dn
from deltanet.propagation import BN_EPS, backprop, forward
from deltanet.regularization import batch_bounds, penalty, resolve_dropout


def _data(n=6, p=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)), rng.normal(size=(n, k))


def _bn_net(seed=1):
    net = dn.Network.layered([3, 4, 4, 2], hidden="tanh", output="identity", batch_norm=True,
                             random_state=seed)
    for layer, (mean, var) in net.bn_state.items():  # running statistics away from 0 / 1
        mean[:] = 0.1 * layer
        var[:] = 0.5 + 0.1 * layer
    return net


# ------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("decay_bias", [False, True])
def test_weight_decay_gradient_matches_finite_differences(decay_bias):
    X, Y = _data()
    net = dn.Network.layered([3, 5, 2], hidden="logistic", output="identity", random_state=2)
    check = dn.gradcheck(net, X, Y, l2=0.3, decay_bias=decay_bias)
    assert check.max_rel_error < 1e-6


def test_l1_gradient_matches_finite_differences_away_from_zero():
    X, Y = _data()
    net = dn.Network.layered([3, 5, 2], hidden="tanh", output="identity", random_state=3)
    net.params[np.abs(net.params) < 1e-3] = 0.05  # |w| >> h so sign(w) is smooth
    check = dn.gradcheck(net, X, Y, l1=0.2)
    assert check.max_rel_error < 1e-6


def test_dropout_gradient_with_fixed_masks():
    X, Y = _data(n=5)
    net = dn.Network.layered([3, 6, 4, 2], hidden="tanh", output="identity", random_state=4)
    check = dn.gradcheck(net, X, Y, training=True, dropout={0: 0.2, 1: 0.5, 2: 0.3}, seed=7)
    assert check.max_rel_error < 1e-6


def test_batch_norm_gradient_in_training_mode():
    X, Y = _data(n=6)
    check = dn.gradcheck(_bn_net(), X, Y, training=True)
    assert check.max_rel_error < 1e-6
    assert len(check.indices) == _bn_net().plan.n_params  # γ and β included


def test_batch_norm_gradient_in_inference_mode():
    X, Y = _data(n=4)
    assert dn.gradcheck(_bn_net(), X, Y, training=False).max_rel_error < 1e-6


def test_batch_norm_with_dropout_and_decay_gradient():
    X, Y = _data(n=6)
    check = dn.gradcheck(_bn_net(), X, Y, "squared_error", training=True, dropout={1: 0.4},
                         seed=2, l2=0.1)
    assert check.max_rel_error < 1e-6


def test_sample_weight_gradient_matches_finite_differences():
    X, Y = _data(n=7)
    w = np.random.default_rng(5).uniform(0.1, 3.0, size=7)
    net = dn.Network.layered([3, 4, 2], hidden="logistic", output="logistic", random_state=6)
    check = dn.gradcheck(net, X, (Y > 0).astype(float), "log_loss", sample_weight=w)
    assert check.max_rel_error < 1e-6


# ------------------------------------------------------------------ weight decay
def _linear_problem():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    y = X @ np.array([2.0, -3.0, 1.5, 0.5]) + 0.3 * rng.normal(size=40)
    return X, y


def test_one_update_is_the_lecture_weight_decay_rule():
    # w ← w − α Δ_j a_i − 2αλ w  on arcs; bias arcs untouched by the decay (decay_bias=False)
    X, y = _linear_problem()
    net = dn.Network.layered([4, 3, 1], hidden="tanh", output="identity", random_state=0)
    w0 = net.params.copy()
    grad = backprop(net, X, y).grad_flat
    alpha, lam = 0.05, 0.2
    dn.train(net, X, y, lr=alpha, l2=lam, batch_size=None, epochs=1, shuffle=False)
    decay = 2 * alpha * lam * w0 * net.plan.decay_mask
    assert_allclose(net.params, w0 - alpha * grad - decay, rtol=0, atol=1e-14)
    biases = [net.weights.to_dict()[0, j] for j in range(5, 9)]
    expected = [w0[net.plan.flat_index(0, j)] - alpha * grad[net.plan.flat_index(0, j)]
                for j in range(5, 9)]
    assert_allclose(biases, expected, rtol=0, atol=1e-14)


def test_decay_bias_decays_the_bias_arcs_too():
    X, y = _linear_problem()
    net = dn.Network.layered([4, 1], output="identity", random_state=0)
    net.weights[0, 5] = 1.0
    w0 = net.params.copy()
    grad = backprop(net, X, y).grad_flat
    dn.train(net, X, y, lr=0.1, l2=0.5, decay_bias=True, batch_size=None, epochs=1)
    k = net.plan.flat_index(0, 5)
    assert net.params[k] == pytest.approx(w0[k] - 0.1 * grad[k] - 2 * 0.1 * 0.5 * w0[k],
                                          abs=1e-14)


def test_larger_lambda_gives_smaller_weights():
    X, y = _linear_problem()
    norms = []
    for lam in (0.0, 0.01, 0.1, 1.0):
        net = dn.Network.layered([4, 6, 1], hidden="tanh", output="identity", random_state=0)
        dn.train(net, X, y, lr=0.02, l2=lam, batch_size=8, epochs=60, random_state=0)
        norms.append(float(np.linalg.norm(net.params * net.plan.decay_mask)))
    assert norms == sorted(norms, reverse=True)
    assert norms[-1] < 0.6 * norms[0]


def test_larger_l1_gives_smaller_l1_norm_and_sparser_weights():
    X, y = _linear_problem()
    l1_norms, small = [], []
    for lam in (0.0, 0.05, 0.5):
        net = dn.Network.layered([4, 6, 1], hidden="tanh", output="identity", random_state=0)
        dn.train(net, X, y, lr=0.02, l1=lam, batch_size=8, epochs=60, random_state=0)
        w = net.params[net.plan.decay_mask > 0]
        l1_norms.append(float(np.abs(w).sum()))
        small.append(int(np.sum(np.abs(w) < 0.02)))
    assert l1_norms == sorted(l1_norms, reverse=True)
    assert small[-1] > small[0]


def test_penalty_value_and_gradient():
    net = dn.Network.layered([2, 2, 1], random_state=0)
    w = net.params * net.plan.decay_mask
    cost, grad = penalty(net, l2=0.5, l1=0.25)
    assert cost == pytest.approx(0.5 * np.sum(w**2) + 0.25 * np.sum(np.abs(w)))
    assert_allclose(grad, 2 * 0.5 * w + 0.25 * np.sign(w))
    assert penalty(net) == (0.0, None)


# ------------------------------------------------------------------ dropout
def test_dropout_keeps_the_expected_activation():
    net = dn.Network.layered([3, 8, 4, 1], hidden="logistic", random_state=0)
    x = np.random.default_rng(0).normal(size=(1, 3))
    X = np.repeat(x, 40_000, axis=0)  # one example under 40,000 independent masks
    plain = forward(net.plan, net.params, x)
    dropped = forward(net.plan, net.params, X, training=True, dropout={0: 0.2, 1: 0.5},
                      rng=np.random.default_rng(1))
    assert_allclose(dropped.out[0].mean(axis=0), plain.out[0][0], rtol=0.02)
    assert_allclose(dropped.out[1].mean(axis=0), plain.a[1][0], rtol=0.03)
    # in_ of the next layer is linear in the dropped outputs: its mean is kept as well
    assert_allclose(dropped.in_[2].mean(axis=0), plain.in_[2][0], rtol=0.05, atol=0.01)
    # each unit is either dropped (0) or rescaled by 1/(1 − r)
    ratios = np.unique(np.round(dropped.out[1] / dropped.a[1], 12))
    assert_array_equal(ratios, [0.0, 2.0])
    assert np.mean(dropped.out[1] == 0) == pytest.approx(0.5, abs=0.01)


def test_dropout_is_off_at_prediction_and_reproducible():
    X, y = _linear_problem()

    def fit(seed):
        net = dn.Network.layered([4, 8, 1], hidden="relu", output="identity", random_state=0)
        dn.train(net, X, y, lr=0.01, batch_size=4, epochs=5, dropout={0: 0.1, 1: 0.5},
                 random_state=seed)
        return net

    a, b, c = fit(3), fit(3), fit(4)
    assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    out = a.forward(X)
    assert_array_equal(out, a.forward(X))
    assert_array_equal(out, forward(a.plan, a.params, X).outputs)


def test_dropout_rate_for_every_hidden_layer():
    net = dn.Network.layered([2, 3, 3, 1], random_state=0)
    assert resolve_dropout(net, 0.25) == {1: 0.25, 2: 0.25}
    assert resolve_dropout(net, {0: 0.1, 2: 0.0}) == {0: 0.1}
    assert resolve_dropout(net, None) is None and resolve_dropout(net, 0) is None


@pytest.mark.reliability(
    area="library input",
    fault="dropout rates of 1, below 0, on outputs, as text",
    how="dn.train",
    result="ValueError")
@pytest.mark.parametrize("dropout, message", [
    (1.0, "dropout must be < 1"),
    (-0.1, "dropout must be >= 0"),
    ({3: 0.5}, "inputs \\(layer 0\\) and hidden layers only"),
    ({"1": 0.5}, "inputs \\(layer 0\\) and hidden layers only"),
    ("half", "dropout must be a rate"),
])
def test_bad_dropout_is_refused(dropout, message):
    net = dn.Network.layered([2, 3, 1], random_state=0)
    with pytest.raises(ValueError, match=message):
        dn.train(net, np.zeros((4, 2)), np.zeros(4), dropout=dropout, epochs=1)


# ------------------------------------------------------------------ batch normalisation
def test_batch_norm_running_statistics_converge_to_the_data_statistics():
    X, _ = _data(n=10)
    Y = np.zeros((10, 2))
    net = _bn_net()
    for mean, var in net.bn_state.values():
        mean[:], var[:] = 0.0, 1.0
    dn.train(net, X, Y, lr=1e-12, batch_size=None, epochs=300)  # weights stay put
    a1 = forward(net.plan, net.params, X, training=True).a[1]
    assert_allclose(net.bn_state[1][0], a1.mean(axis=0), rtol=1e-8, atol=1e-12)
    assert_allclose(net.bn_state[1][1], a1.var(axis=0, ddof=1), rtol=1e-8)


def test_batch_norm_prediction_uses_running_statistics():
    X, Y = _data(n=12)
    net = dn.Network.layered([3, 4, 2], hidden="tanh", output="identity", batch_norm=True,
                             random_state=0)
    dn.train(net, X, Y, lr=0.05, batch_size=4, epochs=5, random_state=0)
    mean, var = net.bn_state[1]
    assert not np.allclose(mean, 0) and not np.allclose(var, 1)
    # the seed's â = γ (a − μ)/√(ε + σ²) + β with the running μ, σ², by hand
    W1 = net.plan.W(net.params, net.plan.blocks_in[0][0])
    b1 = net.plan.bias(net.params, net.plan.groups[0])
    gamma, beta = net.plan.gamma_beta(net.params, net.plan.groups[0])
    a = np.tanh(X @ W1 + b1)
    a_hat = gamma * (a - mean) / np.sqrt(BN_EPS + var) + beta
    W2 = net.plan.W(net.params, net.plan.blocks_in[1][0])
    b2 = net.plan.bias(net.params, net.plan.groups[1])
    assert_allclose(net.predict(X), a_hat @ W2 + b2, rtol=1e-12)
    # one example predicts the same as in a batch (no batch statistics at prediction)
    assert_allclose(net.predict(X[3]), net.predict(X)[3], rtol=1e-12)
    training_out = forward(net.plan, net.params, X, training=True).outputs
    assert not np.allclose(training_out, net.predict(X))


def test_batch_norm_refuses_batches_of_one_example():
    net = dn.Network.layered([2, 3, 1], batch_norm=True, random_state=0)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        dn.train(net, np.zeros((8, 2)), np.zeros(8), batch_size=1, epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        dn.train(net, np.zeros((1, 2)), np.zeros(1), batch_size=None, epochs=1)


def test_batch_norm_merges_a_last_batch_of_one_example():
    assert batch_bounds(9, 4, batch_norm=True) == [(0, 4), (4, 9)]
    assert batch_bounds(9, 4, batch_norm=False) == [(0, 4), (4, 8), (8, 9)]
    assert batch_bounds(10, 4, batch_norm=True) == [(0, 4), (4, 8), (8, 10)]
    net = dn.Network.layered([2, 3, 1], batch_norm=True, random_state=0)
    X = np.random.default_rng(0).normal(size=(9, 2))
    sizes = []
    hist = dn.train(net, X, X[:, 0], batch_size=4, epochs=2, random_state=0,
                    callbacks=[_BatchSizes(sizes)])
    assert hist.updates == 4 and sizes == [4, 5, 4, 5]


class _BatchSizes(dn.Callback):
    def __init__(self, sizes):
        self.sizes = sizes

    def on_batch_end(self, update, logs):
        self.sizes.append(logs["batch_size"])


def test_step_on_a_batch_norm_network_is_one_training_update():
    # net.step uses the batch statistics and moves the running ones, as one update of train
    X, Y = _data(n=8)
    net, ref = _bn_net(), _bn_net()
    expected = backprop(net, X, Y, training=True)
    trace = net.step(X, Y, lr=0.1)
    assert trace.cache.training
    assert_array_equal(trace.grad_flat, expected.grad_flat)
    assert_array_equal(net.params, ref.params - 0.1 * expected.grad_flat)
    dn.train(ref, X, Y, lr=0.1, batch_size=None, epochs=1, shuffle=False)
    assert_array_equal(net.params, ref.params)
    for layer, (mean, var) in ref.bn_state.items():
        a = expected.cache.a[layer]
        # μ_run ← 0.9 μ_run + 0.1 μ_B,  σ²_run ← 0.9 σ²_run + 0.1 σ²_B · n/(n − 1)
        assert_allclose(net.bn_state[layer][0], 0.9 * 0.1 * layer + 0.1 * a.mean(axis=0),
                        rtol=1e-14, atol=1e-15)
        assert_allclose(net.bn_state[layer][1],
                        0.9 * (0.5 + 0.1 * layer) + 0.1 * a.var(axis=0, ddof=1), rtol=1e-14)
        assert_array_equal(net.bn_state[layer][0], mean)
        assert_array_equal(net.bn_state[layer][1], var)


def test_step_on_a_batch_norm_network_in_inference_mode_keeps_the_running_statistics():
    X, Y = _data(n=8)
    net = _bn_net()
    saved = {k: (m.copy(), v.copy()) for k, (m, v) in net.bn_state.items()}
    expected = backprop(net, X, Y)
    net.step(X, Y, lr=0.1, training=False)
    assert_array_equal(net.params, _bn_net().params - 0.1 * expected.grad_flat)
    for layer, (mean, var) in saved.items():
        assert_array_equal(net.bn_state[layer][0], mean)
        assert_array_equal(net.bn_state[layer][1], var)


def test_step_on_a_batch_norm_network_refuses_one_example():
    X, Y = _data(n=8)
    net = _bn_net()
    params = net.params.copy()
    with pytest.raises(ValueError, match="at least 2 examples"):
        net.step(X[0], Y[0])
    assert_array_equal(net.params, params)
