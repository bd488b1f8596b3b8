"""Import: fitted scikit-learn MLPs and PyTorch Sequentials become deltanet Networks with the
same outputs, in lecture numbering, so explain works on them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

import deltanet as dn

torch = pytest.importorskip("torch")

SK_ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _data(seed: int, n: int = 300, p: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p))


@pytest.mark.parametrize("activation", SK_ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 5])
def test_sklearn_classifier_outputs_are_predict_proba(activation, n_classes):
    X = _data(n_classes)
    y = np.random.default_rng(1).integers(0, n_classes, len(X))
    sk = _fit(MLPClassifier(hidden_layer_sizes=(7, 4), activation=activation, max_iter=40,
                            random_state=0), X, y)
    net = dn.from_sklearn(sk)
    out = net.forward(X)
    proba = sk.predict_proba(X)
    if n_classes == 2:  # one logistic output: P(class 1)
        assert out.shape == (len(X), 1)
        np.testing.assert_allclose(out[:, 0], proba[:, 1], rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose(out, proba, rtol=0, atol=1e-12)
    assert net.plan.layer_sizes() == [5, 7, 4, n_classes if n_classes > 2 else 1]
    # lecture numbering: w_ij of the first hidden neuron from input 1 is coefs_[0][0, 0]
    assert net.weights[1, 6] == sk.coefs_[0][0, 0]
    assert net.weights[0, 6] == sk.intercepts_[0][0]


@pytest.mark.parametrize("activation", SK_ACTIVATIONS)
def test_sklearn_multilabel_and_regression(activation):
    X = _data(3)
    Y = (np.random.default_rng(4).random((len(X), 3)) < 0.5).astype(int)
    sk = _fit(MLPClassifier(hidden_layer_sizes=(6,), activation=activation, max_iter=40,
                            random_state=0), X, Y)
    np.testing.assert_allclose(dn.from_sklearn(sk).forward(X), sk.predict_proba(X), rtol=0,
                               atol=1e-12)
    for target in (X @ np.arange(5.0), np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])):
        reg = _fit(MLPRegressor(hidden_layer_sizes=(6, 3), activation=activation,
                                max_iter=40, random_state=0), X, target)
        out = dn.from_sklearn(reg).forward(X)
        np.testing.assert_allclose(out.reshape(reg.predict(X).shape), reg.predict(X), rtol=0,
                                   atol=1e-12)


def test_sklearn_unfitted_model_is_refused():
    with pytest.raises(ValueError, match="fit the model first"):
        dn.from_sklearn(MLPClassifier())


def _torch_outputs(seq, X: np.ndarray) -> np.ndarray:
    seq.eval()
    with torch.no_grad():
        return seq(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("seed", range(6))
def test_torch_sequential_outputs_are_the_modules(seed):
    nn = torch.nn
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    acts = [nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Identity]
    sizes = [int(s) for s in rng.integers(2, 9, size=int(rng.integers(2, 5)))]
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1], bias=bool(k % 2 == 0 or seed % 2)))
        layers.append(acts[(seed + k) % len(acts)]())
        if k == 0:
            layers.append(nn.Dropout(0.3))
    last = int(rng.integers(2, 5))
    layers.append(nn.Linear(sizes[-1], last))
    if seed % 2:
        layers.append(nn.Softmax(dim=-1))
    seq = nn.Sequential(*layers).double()
    X = rng.normal(size=(200, sizes[0]))
    net = dn.from_torch(seq)
    assert net.dtype == np.float64 and net.n_outputs == last
    np.testing.assert_allclose(net.forward(X), _torch_outputs(seq, X), rtol=0, atol=1e-12)
    assert dn.from_torch(seq.float()).dtype == np.float32


def test_torch_unsupported_layers_are_named():
    nn = torch.nn
    with pytest.raises(ValueError, match="cannot convert the layer Conv1d"):
        dn.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Conv1d(1, 1, 1)))
    with pytest.raises(ValueError, match="must follow a Linear layer"):
        dn.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(2, 3)))
    with pytest.raises(TypeError, match=r"nn\.Sequential"):
        dn.from_torch(nn.Linear(2, 3))


def test_explain_renders_a_step_on_imported_networks():
    nn = torch.nn
    X = _data(7, n=60, p=2)
    y = (X[:, 0] > 0).astype(int)
    sk = _fit(MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", max_iter=20,
                            random_state=0), X, y)
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1)).double()
    for net, loss in ((dn.from_sklearn(sk), "log_loss"), (dn.from_torch(seq), "squared_error")):
        text = str(dn.explain(net, X[0], [float(y[0])], loss=loss, lr=0.1))
        for part in ("Forward propagation", "in₃ = w₀,₃ a₀ + w₁,₃ a₁ + w₂,₃ a₂", "a₅ =",
                     "Backward propagation", "Δ₃ =", "∂J/∂w"):
            assert part in text, part
        # the imported weights are the ones written out
        assert f"w₁,₃ ≈ {net.weights[1, 3]:.4f}".replace("-", "−") in text
