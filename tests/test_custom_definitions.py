"""Your own activation and loss: given as g and g' (ℓ and ∂ℓ/∂a), they run forward and
backward, pass gradcheck, train, render in explain, and are usable by object or by name."""

from __future__ import annotations

import numpy as np
import pytest

import deltanet as dn
from deltanet import activations, losses


def _mish(x):
    return x * np.tanh(np.logaddexp(0.0, x))


def _dmish(x):
    # d/dx x tanh(sp(x)) = tanh(sp) + x (1 − tanh²(sp)) σ(x)
    t = np.tanh(np.logaddexp(0.0, x))
    sigma = 0.5 * (1.0 + np.tanh(0.5 * x))
    return t + x * (1.0 - t * t) * sigma


def _cubic(y, a):
    return np.abs(a - y) ** 3


def _dcubic(y, a):
    return 3.0 * (a - y) * np.abs(a - y)


MISH = activations.custom("mish", _mish, _dmish, formula=r"g(in) = in \tanh(\log(1+e^{in}))")
CUBIC = losses.custom("cubic", _cubic, _dcubic, formula=r"\ell = \sum_k |a_k - y_k|^3")


def _data(seed, n=40, p=3, k=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], axis=1)[:, :k]
    return X, Y


@pytest.mark.parametrize("seed", range(5))
def test_a_custom_activation_and_loss_pass_gradcheck_on_generated_networks(seed):
    rng = np.random.default_rng(seed)
    sizes = [3, *rng.integers(2, 6, rng.integers(1, 3)).tolist(), 2]
    net = dn.Network.layered(sizes, hidden=MISH, output="identity", random_state=seed)
    X, Y = _data(seed, n=5)
    for loss in (CUBIC, "squared_error"):
        check = dn.gradcheck(net, X, Y, loss=loss, max_params=None)
        assert check.max_rel_error < 1e-6, check


def test_gradcheck_catches_a_wrong_derivative():
    wrong = activations.custom("wrong", _mish, lambda x: np.ones_like(x))
    net = dn.Network.layered([3, 4, 2], hidden=wrong, output="identity", random_state=0)
    X, Y = _data(0, n=4)
    assert dn.gradcheck(net, X, Y, max_params=None).max_rel_error > 1e-2


def test_the_custom_forward_is_the_formula():
    net = dn.Network.layered([2, 3, 1], hidden=MISH, output="identity", random_state=1)
    x = np.array([0.3, -1.2])
    W1 = np.array([[net.weights[i, j] for j in (3, 4, 5)] for i in (0, 1, 2)])
    hidden = _mish(W1[0] + x @ W1[1:])
    expect = net.weights[0, 6] + sum(net.weights[j, 6] * hidden[k]
                                     for k, j in enumerate((3, 4, 5)))
    assert net.forward(x)[0] == pytest.approx(expect, rel=1e-12)
    assert net.activation_of(3) == "mish"


def test_custom_definitions_train_on_the_numpy_engine_and_lower_the_cost():
    X, Y = _data(3, n=80)
    net = dn.Network.layered([3, 6, 2], hidden=MISH, output="identity", random_state=3)
    hist = dn.train(net, X, Y, loss=CUBIC, epochs=30, batch_size=8, engine="numpy",
                    optimizer=dn.optimizers.sgd(0.05), random_state=0)
    assert hist.cost[-1] < 0.5 * hist.cost[0]
    assert np.all(np.isfinite(net.params))


def test_auto_engine_runs_custom_definitions_on_numpy():
    X, Y = _data(4, n=30)
    net = dn.Network.layered([3, 4, 2], hidden=MISH, output="identity", random_state=4)
    reasons = dn.kernels.unsupported_features(net, CUBIC, dn.optimizers.sgd(0.1))
    assert any("mish" in r for r in reasons) and any("cubic" in r for r in reasons)
    hist = dn.train(net, X, Y, loss=CUBIC, epochs=2, random_state=0,
                    optimizer=dn.optimizers.sgd(0.01))
    assert len(hist.cost) == 2


def test_registered_definitions_are_usable_by_name():
    act = activations.custom("mish_by_name", _mish, _dmish)
    loss = losses.custom("cubic_by_name", _cubic, _dcubic)
    activations.register(act)
    losses.register(loss)
    try:
        net = dn.Network.layered([3, 4, 2], hidden="mish_by_name", output="identity",
                                 random_state=0)
        assert net.plan.groups[0].activation is act
        X, Y = _data(5, n=6)
        assert dn.gradcheck(net, X, Y, loss="cubic_by_name").max_rel_error < 1e-6
    finally:
        del activations.ACTIVATIONS["mish_by_name"]
        del losses.LOSSES["cubic_by_name"]


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
def test_a_built_in_name_cannot_be_taken(name):
    with pytest.raises(ValueError, match="built-in"):
        activations.custom(name, _mish, _dmish)
    with pytest.raises(ValueError, match="taken"):
        activations.register(activations.Activation(name, _mish, lambda i, a: _dmish(i)))


def test_bad_definitions_are_refused_with_the_fix():
    with pytest.raises(TypeError, match="function"):
        activations.custom("f", 3.0, _dmish)
    with pytest.raises(ValueError, match="word"):
        losses.custom("two words", _cubic, _dcubic)
    with pytest.raises(ValueError, match="built-in loss"):
        losses.custom("log_loss", _cubic, _dcubic)


def test_explain_renders_a_step_with_a_custom_activation_and_loss():
    net = dn.Network.layered([2, 2, 1], hidden=MISH, output="identity", random_state=0)
    ex = dn.explain(net, [0.5, -0.25], 0.3, loss=CUBIC, lr=0.1)
    for out in (ex.to_markdown(), ex.to_latex(), ex.to_text()):
        assert "mish" in out and "cubic" in out
    assert r"in \tanh(\log(1+e^{in}))" in ex.to_text()


def test_the_kernels_say_why_custom_definitions_run_on_numpy():
    from deltanet.kernels._layout import not_compiled

    net = dn.Network.layered([3, 4, 2], hidden=MISH, output="identity", random_state=0)
    reasons = not_compiled(net.plan, CUBIC)
    assert reasons == ["activation 'mish' (user-defined: the compiled kernels hold the "
                       "built-in activations)", "loss 'cubic' (user-defined: the compiled "
                       "kernels hold the built-in losses)"]
    plain = dn.Network.layered([3, 4, 2], hidden="gelu", output="identity")
    assert not_compiled(plain.plan, losses.get("squared_error")) == []


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "gelu"])
def test_explain_renders_the_new_built_in_activations_with_their_formulas(name):
    net = dn.Network.layered([2, 2, 1], hidden=name, output="identity", random_state=0)
    ex = dn.explain(net, [0.5, -0.25], 0.3, loss="half_squared_error", lr=0.1)
    text = ex.to_text()
    assert f"({name}: g(in) = in" in text  # the formula beside a = g(in), by name
    assert "g′(in" in text or "g'(in" in text
