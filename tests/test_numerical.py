"""Numerical faults: huge inputs and logits give finite predictions where mathematics
allows, a clear error where the float range is exceeded, and divergence is reported."""

from __future__ import annotations

import numpy as np
import pytest

import deltanet as dn

HUGE = np.array([[1e300, -1e300, 1e300], [1e308, 1e308, 1e308], [-1e308, 0.0, 1e308]])


@pytest.mark.reliability(area="numerics", fault="inputs of ±1e300 and ±1e308",
                          how="forward through logistic/tanh nets", result="finite outputs")
@pytest.mark.parametrize("hidden,output", [("logistic", "softmax"), ("tanh", "logistic"),
                                           ("logistic", "identity"), ("tanh", "softmax")])
def test_huge_inputs_give_finite_predictions_for_bounded_hidden_units(hidden, output):
    net = dn.Network.layered([3, 8, 8, 3], hidden=hidden, output=output, random_state=0,
                             init=dn.init.rand(2.0))
    out = net.forward(HUGE)
    assert np.all(np.isfinite(out))
    if output == "softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
    # 1e300·w1 − 1e300·w2 would be inf − inf = nan without the scaled net input
    hidden_in = net.backprop(HUGE[:1], np.zeros(3) + 0.5).in_[4]
    assert np.isfinite(hidden_in)


@pytest.mark.reliability(area="numerics", fault="ReLU/identity outputs beyond the float "
                          "range", how="forward with inputs of 1e308", result="ValueError "
                          "saying to scale the inputs")
def test_unbounded_units_beyond_the_float_range_raise_a_clear_error():
    net = dn.Network.layered([3, 8, 8, 3], hidden="relu", output="identity", random_state=0,
                             init=dn.init.rand(2.0))
    with pytest.raises(ValueError, match=r"overflowed the floating-point range.*scale the"):
        net.forward(HUGE)


@pytest.mark.reliability(area="numerics", fault="huge logits (1e4, 800)",
                          how="cross-entropy and log loss from logits", result="finite loss "
                          "and gradients")
def test_huge_logits_keep_losses_and_gradients_finite():
    # softmax + cross-entropy and logistic + log loss are computed from the logits
    net = dn.Network(2, [(1, 3), (2, 3), (1, 4), (2, 4)], "softmax", init=0.0)
    net.weights[1, 3] = 1e4
    t = net.backprop([1.0, 0.0], [0.0, 1.0], loss="cross_entropy")
    assert t.loss == pytest.approx(1e4) and np.all(np.isfinite(t.grad_flat))
    net = dn.Network(1, [(1, 2)], "logistic", init=0.0)
    net.weights[1, 2] = 800.0  # σ(800) == 1.0 in float64; log(1 − 1.0) would be −inf
    t = net.backprop([1.0], [0.0], loss="log_loss")
    assert t.loss == pytest.approx(800.0) and t.delta[2] == pytest.approx(1.0)


@pytest.mark.reliability(area="numerics", fault="saturated outputs in float32",
                          how="cross-entropy on logistic outputs, log loss on softmax "
                          "(unfused), both engines", result="finite loss and gradients")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output,loss", [("logistic", "cross_entropy"), ("softmax", "log_loss")])
def test_unfused_log_losses_stay_finite_on_saturated_outputs(dtype, output, loss):
    # The probabilities round to exactly 0 and 1; the clip bounds must be of the dtype
    # (1e-300 is 0 in float32).
    net = dn.Network.layered([2, 2], output=output, random_state=0, dtype=dtype)
    net.weights[1, 3], net.weights[1, 4] = 200.0, -200.0
    X, Y = np.array([[1.0, 0.0], [1.0, 1.0]], dtype), np.array([[0.0, 1.0], [0.0, 1.0]], dtype)
    t = net.backprop(X, Y, loss=loss)
    assert t.outputs.dtype == dtype and np.isfinite(t.loss) and t.loss > 10
    assert np.all(np.isfinite(t.grad_flat))
    costs = []
    for engine in ("numba", "numpy"):
        trained = net.copy()
        hist = dn.train(trained, X, Y, loss=loss, lr=1e-3, batch_size=1, epochs=2,
                        random_state=0, engine=engine)
        assert np.all(np.isfinite(hist.cost)) and np.all(np.isfinite(trained.params))
        costs.append(hist.cost)
    np.testing.assert_allclose(costs[0], costs[1], rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.reliability(area="numerics", fault="a learning rate that diverges",
                          how="dn.train with lr=5 on inputs of 1e6", result="TrainingError "
                          "naming the epoch; last good weights kept")
def test_divergence_is_reported_with_its_epoch_keeping_the_last_good_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ [1.0, -2.0, 0.5]
    net = dn.Network.layered([3, 16, 1], hidden="relu", output="identity", random_state=0)
    dn.train(net, X, y, lr=0.01, batch_size=8, epochs=2, random_state=0)
    good = net.params.copy()
    with pytest.raises(dn.TrainingError, match=r"in epoch 1 .*last good epoch") as info:
        dn.train(net, X * 1e6, y * 1e6, lr=5.0, batch_size=8, epochs=50, random_state=0)
    assert np.array_equal(net.params, good)  # the weights at the start of the bad epoch
    assert "epoch 1" in info.value.history.stop_reason
