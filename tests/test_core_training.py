"""NEURALNETTRAIN learns: XOR with a hidden layer (per-example, mini-batch, full batch),
not without one; the perceptron on separable data; digits with a 64-32-10 network."""

from __future__ import annotations

import numpy as np
import pytest

import deltanet as dn

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([0, 1, 1, 0], float)


@pytest.mark.parametrize("batch_size,lr,epochs", [(1, 1.0, 2000), (2, 2.0, 3000),
                                                   (None, 3.0, 4000)])
def test_xor_is_learned_with_a_hidden_layer(batch_size, lr, epochs):
    net = dn.Network.layered([2, 2, 1], hidden="logistic", output="logistic", random_state=1)
    hist = dn.train(net, XOR_X, XOR_Y, loss="log_loss", lr=lr, batch_size=batch_size,
                    epochs=epochs, random_state=0)
    assert ((net.forward(XOR_X)[:, 0] > 0.5) == XOR_Y).all()
    assert hist.cost[-1] < 0.1 * hist.cost[0]
    n_batches = {1: 4, 2: 2, None: 1}[batch_size]
    assert hist.updates == n_batches * hist.epochs


@pytest.mark.parametrize("seed", range(5))
def test_xor_cannot_be_learned_without_hidden_units(seed):
    net = dn.Network(2, [(1, 3), (2, 3)], "logistic", random_state=seed)
    dn.train(net, XOR_X, XOR_Y, loss="log_loss", lr=0.5, epochs=500, random_state=seed)
    correct = ((net.forward(XOR_X)[:, 0] > 0.5) == XOR_Y).sum()
    assert correct <= 3  # a line separates at most 3 of the 4 XOR points


def test_perceptron_converges_on_separable_data_and_fails_on_xor():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = (X @ [2.0, -1.0] + 0.3 > 0).astype(float)
    net, hist = dn.perceptron_train(X, y, epochs=200, random_state=0)
    assert hist.cost[-1] == 0 and "separated" in hist.stop_reason
    assert ((net.forward(X)[:, 0]) == y).all()  # the threshold unit outputs 0/1
    _, hist_xor = dn.perceptron_train(XOR_X, XOR_Y, epochs=100, random_state=0)
    assert hist_xor.cost[-1] > 0 and "epoch limit" in hist_xor.stop_reason


def test_perceptron_loss_gives_rosenblatts_update():
    # ℓπ = max{0, (1 − 2y) in}: one gradient step equals w ← w + α (y − a) x
    net = dn.Network(2, [(1, 3), (2, 3)], "threshold", init=dn.init.constant(0.5, bias=-1))
    x = np.array([0.2, 0.4])  # in = −1 + 0.1 + 0.2 < 0 → a = 0, but y = 1
    net.step(x, 1.0, lr=0.5, loss="perceptron")
    assert net.weights[0, 3] == pytest.approx(-0.5)
    assert net.weights[1, 3] == pytest.approx(0.5 + 0.5 * 0.2)
    assert net.weights[2, 3] == pytest.approx(0.5 + 0.5 * 0.4)


def test_digits_64_32_10_reaches_95_percent_on_held_out_quarter():
    from sklearn.datasets import load_digits

    digits = load_digits()
    scaler = dn.data.MinMaxScaler()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(digits.target))
    test, train = order[: len(order) // 4], order[len(order) // 4:]
    X_train = scaler.fit_transform(digits.data[train])
    X_test = scaler.transform(digits.data[test])
    Y = np.eye(10)[digits.target[train]]
    net = dn.Network.layered([64, 32, 10], hidden="logistic", output="softmax",
                             random_state=0)
    dn.train(net, X_train, Y, loss="cross_entropy", lr=0.1, batch_size=1, epochs=10,
             random_state=0)
    accuracy = (net.forward(X_test).argmax(axis=1) == digits.target[test]).mean()
    assert accuracy >= 0.95


def test_stopping_conditions():
    X, y = XOR_X, XOR_Y
    net = dn.Network.layered([2, 3, 1], random_state=1)
    hist = dn.train(net, X, y, loss="log_loss", lr=2.0, epochs=10_000, error_tol=0.2,
                    random_state=0)
    assert hist.epochs < 10_000 and "error_tol" in hist.stop_reason
    assert np.abs(net.forward(X)[:, 0] - y).max() < 0.2
    net = dn.Network.layered([2, 3, 1], random_state=1)
    hist = dn.train(net, X, y, loss="log_loss", lr=0.01, epochs=10_000, tol=1e-4,
                    random_state=0)
    assert "tol" in hist.stop_reason and abs(hist.cost[-1] - hist.cost[-2]) < 1e-4
    hist = dn.train(net, X, y, lr=0.1, epochs=3)
    assert hist.epochs == 3 and "epoch limit" in hist.stop_reason and len(hist.cost) == 3


def test_training_is_reproducible_under_random_state():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    nets = [dn.Network.layered([3, 4, 2], output="identity", random_state=9) for _ in "ab"]
    for net in nets:
        dn.train(net, X, Y, lr=0.05, batch_size=4, epochs=5, random_state=42)
    assert np.array_equal(nets[0].params, nets[1].params)


def test_multiclass_outputs_rescaled_to_sum_to_one():
    # seed 002: K logistic outputs, one-hot targets, predictions rescaled to sum to 1
    net = dn.Network.layered([4, 6, 3], hidden="tanh", output="logistic", random_state=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    dn.train(net, X, dn.data.one_hot(labels)[0], loss="squared_error", lr=0.2,
             epochs=200, random_state=0)
    out = net.forward(X)
    p = out / out.sum(axis=1, keepdims=True)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == labels).mean() > 0.9


def test_regression_with_identity_output():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 1))
    y = np.sin(2 * X[:, 0])
    net = dn.Network.layered([1, 10, 1], hidden="tanh", output="identity", random_state=0)
    dn.train(net, X, y, loss="half_squared_error", lr=0.1, batch_size=10, epochs=300,
             random_state=0)
    assert np.mean((net.forward(X)[:, 0] - y) ** 2) < 0.01


def test_min_max_normalisation_to_minus_one_one():
    X = np.array([[0.0, 10.0], [5.0, 20.0], [10.0, 30.0]])
    scaler = dn.data.MinMaxScaler().fit(X)
    np.testing.assert_allclose(scaler.transform(X), [[-1, -1], [0, 0], [1, 1]])
    np.testing.assert_allclose(scaler.transform([[20.0, 40.0]]), [[3, 2]])


def test_divergence_stops_with_the_epoch_and_keeps_good_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * 100
    y = X @ [3.0, -2.0]
    net = dn.Network.layered([2, 8, 1], hidden="identity", output="identity", random_state=0)
    with pytest.raises(dn.TrainingError, match=r"epoch \d+") as info:
        dn.train(net, X, y, lr=10.0, epochs=100, random_state=0)
    assert np.all(np.isfinite(net.params))
    assert info.value.history is not None
