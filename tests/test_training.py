"""train(): optimizers and schedules, validation, early stopping, sample and class weights,
callbacks and the progress bar."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils.class_weight import compute_class_weight as sk_class_weight

import deltanet as dn
from deltanet import optimizers
from deltanet.propagation import backprop


def _regression(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.5, -2.0, 0.5] + 0.7 + 0.1 * rng.normal(size=n)


def _linear_weights(net):
    return np.array([net.weights[0, 4]] + [net.weights[i, 4] for i in (1, 2, 3)])


# ------------------------------------------------------------------ optimizers
@pytest.mark.parametrize("name, lr, epochs", [
    ("sgd", 0.2, 300), ("momentum", 0.05, 300), ("nesterov", 0.05, 300),
    ("adam", 0.05, 1500), ("rprop", 0.1, 300)])
def test_every_optimizer_reaches_the_minimum_of_a_convex_quadratic(name, lr, epochs):
    # a linear unit with squared error: J(w) is a convex quadratic, minimised by least squares
    X, y = _regression()
    solution = np.linalg.lstsq(np.c_[np.ones(len(X)), X], y, rcond=None)[0]
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    dn.train(net, X, y, optimizer=name, lr=lr, batch_size=None, epochs=epochs, random_state=0)
    assert_allclose(_linear_weights(net), solution, atol=1e-5)


def test_optimizer_transform_is_used_as_given():
    X, y = _regression()
    a = dn.Network.layered([3, 1], output="identity", random_state=0)
    b = a.copy()
    dn.train(a, X, y, optimizer="momentum", lr=0.05, momentum=0.5, batch_size=10, epochs=3,
             random_state=1)
    dn.train(b, X, y, optimizer=optimizers.sgd(0.05, momentum=0.5), batch_size=10, epochs=3,
             random_state=1)
    assert_array_equal(a.params, b.params)


def test_default_is_plain_sgd_the_lecture_update():
    X, y = _regression(n=5)
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    w0 = net.params.copy()
    grad = backprop(net, X[[2]], y[[2]]).grad_flat
    dn.train(net, X[[2]], y[[2]], lr=0.1, epochs=1)
    assert_array_equal(net.params, w0 - 0.1 * grad)


# ------------------------------------------------------------------ schedules
def _lrs(schedule, epochs=8, n=40, batch_size=10, **kw):
    X, y = _regression(n=n)
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    hist = dn.train(net, X, y, lr=0.1, lr_schedule=schedule, batch_size=batch_size,
                    epochs=epochs, random_state=0, **kw)
    return hist.lr


def test_constant_schedule():
    assert _lrs(None) == [0.1] * 8 == _lrs("constant")


def test_step_schedule_halves_every_quarter_of_the_run():
    assert _lrs("step") == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125])


def test_invscaling_schedule_counts_examples_seen_like_scikit_learn():
    # η_e = η / ((e − 1)·n + 1)^0.5 during epoch e
    assert _lrs("invscaling") == pytest.approx([0.1 / math.sqrt((e - 1) * 40 + 1)
                                                for e in range(1, 9)])


def test_cosine_schedule_goes_to_zero_at_the_last_update():
    lrs = _lrs("cosine")  # 4 updates per epoch, 32 in all; recorded: the epoch's last
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * (4 * e - 1) / 32))
                                 for e in range(1, 9)])
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 1e-3


def test_callable_schedule_gets_the_update_count():
    assert _lrs(lambda t: 0.2 / (1 + t)) == pytest.approx([0.2 / (4 * e) for e in range(1, 9)])


def test_plateau_divides_the_learning_rate_when_the_cost_stalls():
    # every epoch after the first is "bad" (tol=10): after patience 0, × 0.2 per epoch
    lrs = _lrs(optimizers.ReduceOnPlateau(patience=0, tol=10.0), epochs=4)
    assert lrs == pytest.approx([0.1, 0.1, 0.02, 0.004])
    assert _lrs("plateau", epochs=3) == [0.1] * 3  # default rule, cost still falling


def test_plateau_at_minimum_stops_training():
    X, y = _regression(n=20)
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    rule = optimizers.ReduceOnPlateau(patience=0, tol=10.0, factor=0.5, min_scale=0.3)
    hist = dn.train(net, X, y, lr=0.01, lr_schedule=rule, epochs=50, random_state=0)
    # scale 1 → 0.5 (epoch 2) → 0.25 (epoch 3); at epoch 4 it is below min_scale: stop
    assert hist.epochs == 4 and "learning rate" in hist.stop_reason


# ------------------------------------------------------------------ validation, early stop
def test_validation_data_gives_curves_matching_the_network():
    X, y = _regression(n=80)
    Xv, yv = _regression(n=30, seed=1)
    net = dn.Network.layered([3, 4, 1], hidden="tanh", output="identity", random_state=0)
    hist = dn.train(net, X, y, lr=0.01, epochs=5, validation_data=(Xv, yv), metric="mse",
                    train_metric=True, random_state=0)
    assert len(hist.val_cost) == len(hist.val_metric) == len(hist.train_metric) == 5
    assert hist.val_cost[-1] == pytest.approx(backprop(net, Xv, yv).loss, rel=1e-12)
    assert hist.val_metric[-1] == pytest.approx(np.mean((net.predict(Xv)[:, 0] - yv) ** 2))
    assert hist.train_metric[-1] == pytest.approx(np.mean((net.predict(X)[:, 0] - y) ** 2))
    assert hist.metric == "mse" and hist.best_epoch == int(np.argmin(hist.val_cost)) + 1


def test_validation_fraction_holds_out_examples():
    X, y = _regression(n=50)
    sizes = []
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    hist = dn.train(net, X, y, batch_size=1, epochs=2, validation_fraction=0.2,
                    random_state=0, callbacks=[lambda e, logs: sizes.append(logs["updates"])])
    assert sizes == [40, 80] and len(hist.val_cost) == 2


def test_early_stopping_restores_the_best_weights():
    # validation labels are the training labels flipped: the better the fit, the worse
    # the validation cost, so the best epoch comes early and training stops after patience
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(float)
    seen = {}
    net = dn.Network.layered([2, 3, 1], random_state=0)
    hist = dn.train(net, X, y, loss="log_loss", lr=0.1, epochs=100,
                    validation_data=(X, 1 - y), early_stopping=True, patience=4,
                    random_state=0,
                    callbacks=[lambda e, logs: seen.__setitem__(e, net.params.copy())])
    best = int(np.argmin(hist.val_cost)) + 1
    assert hist.best_epoch == best and hist.epochs == best + 4 < 100
    assert "early stopping" in hist.stop_reason
    assert_array_equal(net.params, seen[best])
    assert not np.array_equal(net.params, seen[hist.epochs])


def test_early_stopping_without_restore_keeps_the_last_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(float)
    seen = {}
    net = dn.Network.layered([2, 3, 1], random_state=0)
    hist = dn.train(net, X, y, loss="log_loss", lr=0.1, epochs=100, restore_best=False,
                    validation_data=(X, 1 - y), early_stopping=True, patience=3,
                    callbacks=[lambda e, logs: seen.__setitem__(e, net.params.copy())])
    assert_array_equal(net.params, seen[hist.epochs])


def test_early_stopping_holds_out_a_tenth_by_default():
    X, y = _regression(n=100)
    updates = []
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    hist = dn.train(net, X, y, lr=0.01, epochs=3, early_stopping=True, random_state=0,
                    callbacks=[lambda e, logs: updates.append(logs["updates"])])
    assert updates == [90, 180, 270] and len(hist.val_cost) == 3


# ------------------------------------------------------------------ sample and class weights
def test_integer_sample_weights_equal_repeated_examples():
    X, y = _regression(n=12)
    w = np.array([3, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1], dtype=float)
    a = dn.Network.layered([3, 2, 1], output="identity", random_state=0)
    b = a.copy()
    dn.train(a, X, y, lr=0.05, batch_size=None, epochs=20, sample_weight=w)
    reps = np.repeat(np.arange(12), w.astype(int))
    dn.train(b, X[reps], y[reps], lr=0.05, batch_size=None, epochs=20)
    assert_allclose(a.params, b.params, rtol=1e-10)


def _imbalanced():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-1.0, 1.0, 450), rng.normal(1.0, 1.0, 50)].reshape(-1, 1)
    return X, np.r_[np.zeros(450), np.ones(50)]


def _boundary(net):
    # where the logistic output crosses 0.5: w_0 + w_1 x = 0
    return -net.weights[0, 2] / net.weights[1, 2]


def test_class_weights_move_the_decision_towards_the_majority_class():
    X, y = _imbalanced()
    fits = {}
    for cw in (None, "balanced", {1: 9.0}):
        net = dn.Network.layered([1, 1], random_state=0)
        dn.train(net, X, y, loss="log_loss", optimizer="adam", lr=0.05, batch_size=None,
                 epochs=600, class_weight=cw)
        fits[str(cw)] = net
    plain, balanced = _boundary(fits["None"]), _boundary(fits["balanced"])
    # unweighted: the boundary sits inside the minority class (≈ ln 9 / 2 ≈ 1.1)
    assert plain > 0.8 and abs(balanced) < 0.2
    assert np.sum(fits["balanced"].predict(X) > 0.5) > np.sum(fits["None"].predict(X) > 0.5)
    # {1: 9} weighs the classes in the same ratio as 'balanced'
    assert _boundary(fits["{1: 9.0}"]) == pytest.approx(balanced, abs=1e-6)


def test_class_weights_for_one_hot_targets():
    X, y = _imbalanced()
    Y, _ = dn.one_hot(y.astype(int))
    net = dn.Network.layered([1, 2], output="softmax", random_state=0)
    dn.train(net, X, Y, loss="cross_entropy", optimizer="adam", lr=0.05, batch_size=None,
             epochs=400, class_weight="balanced")
    grid = np.linspace(-3, 3, 601).reshape(-1, 1)
    crossing = grid[np.argmax(net.predict(grid)[:, 1] > 0.5), 0]
    assert abs(crossing) < 0.2


@pytest.mark.parametrize("y", [np.r_[np.zeros(7), np.ones(3), np.ones(2)],
                               np.r_[np.zeros(1), np.ones(11)]])
def test_balanced_class_weight_matches_scikit_learn(y):
    expected = sk_class_weight("balanced", classes=np.array([0, 1]), y=y)
    got = dn.compute_class_weight("balanced", y)
    assert_allclose([got[0], got[1]], expected, rtol=1e-15)
    y3 = np.array([0, 2, 2, 1, 2, 0])
    got3 = dn.compute_class_weight("balanced", dn.one_hot(y3)[0])
    assert_allclose([got3[c] for c in range(3)],
                    sk_class_weight("balanced", classes=np.arange(3), y=y3), rtol=1e-15)


# ------------------------------------------------------------------ callbacks and progress
def test_callbacks_see_every_epoch_and_update():
    X, y = _regression(n=20)
    epochs, updates = [], []

    class Recorder(dn.Callback):
        def on_epoch_end(self, epoch, logs):
            epochs.append((epoch, logs["cost"], logs["updates"]))

        def on_batch_end(self, update, logs):
            updates.append((update, logs["epoch"], logs["batch_size"]))

    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    hist = dn.train(net, X, y, lr=0.01, batch_size=8, epochs=3, callbacks=[Recorder()])
    assert [e for e, _, _ in epochs] == [1, 2, 3]
    assert [c for _, c, _ in epochs] == hist.cost
    assert [u for u, _, _ in updates] == list(range(1, 10))
    assert [s for _, _, s in updates] == [8, 8, 4] * 3


@pytest.mark.parametrize("how", ["raise", "return class", "return instance"])
def test_stop_training_from_an_epoch_callback(how):
    def stop_at_3(epoch, logs):
        if epoch == 3:
            if how == "raise":
                raise dn.StopTraining("enough")
            return dn.StopTraining if how == "return class" else dn.StopTraining("enough")
        return None

    X, y = _regression(n=20)
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    hist = dn.train(net, X, y, lr=0.01, epochs=50, callbacks=stop_at_3)
    assert hist.epochs == 3
    assert hist.stop_reason == ("a callback stopped training" if how == "return class"
                                else "enough")


def test_stop_training_from_a_batch_callback_ends_mid_epoch():
    class StopAt(dn.Callback):
        def on_batch_end(self, update, logs):
            if update == 7:
                raise dn.StopTraining("update 7")

    X, y = _regression(n=20)
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    hist = dn.train(net, X, y, lr=0.01, epochs=50, batch_size=4, callbacks=[StopAt()])
    assert (hist.updates, hist.epochs, hist.stop_reason) == (7, 2, "update 7")


@pytest.mark.parametrize("engine, extra", [
    ("numba", {}), ("numpy", {}), ("auto", {"dropout": 0.2}),  # the last: reference passes
    ("numba", {"batch_size": 4}), ("numpy", {"batch_size": 1})])
@pytest.mark.parametrize("kind", ["epoch", "batch"])
def test_callbacks_run_under_the_callers_numpy_error_settings(engine, extra, kind):
    """An overflow in the user's callback warns, or raises under the caller's
    ``np.errstate(over="raise")``, whichever engine runs the updates (an engine that
    computes in NumPy silences its own overflow, not the user's)."""
    def overflow(*args):
        return np.float64(1e308) * np.float64(10.0)

    callback = overflow if kind == "epoch" else type(
        "Overflow", (dn.Callback,), {"on_batch_end": lambda self, u, logs: overflow()})()
    X, y = _regression(n=12)
    net = dn.Network.layered([3, 2, 1], output="identity", random_state=0)
    kw = dict(lr=0.01, epochs=2, random_state=0, callbacks=[callback], engine=engine,
              **{"batch_size": 3, **extra})
    with pytest.warns(RuntimeWarning, match="overflow"):
        hist = dn.train(net, X, y, **kw)
    assert hist.epochs == 2
    assert hist.engine == ("reference" if "dropout" in extra else engine)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        dn.train(net, X, y, **kw)


def test_verbose_shows_a_progress_bar_on_stderr(capsys):
    X, y = _regression(n=30)
    net = dn.Network.layered([3, 1], output="identity", random_state=0)
    dn.train(net, X, y, lr=0.01, epochs=4, verbose=True, validation_fraction=0.2)
    out, err = capsys.readouterr()
    assert out == ""
    assert "4/4" in err and "loss" in err and "val_r2" in err


def test_verbose_works_when_stderr_is_a_pipe():
    code = ("import numpy as np, deltanet as dn\n"
            "X = np.linspace(-1, 1, 20).reshape(-1, 1)\n"
            "net = dn.Network.layered([1, 1], output='identity', random_state=0)\n"
            "h = dn.train(net, X, 2 * X[:, 0], lr=0.1, epochs=3, verbose=True)\n"
            "print(h.epochs)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "3"
    assert "3/3" in done.stderr and "Traceback" not in done.stderr


def test_history_diagnostics_per_epoch():
    X, y = _regression(n=30)
    net = dn.Network.layered([3, 5, 4, 1], hidden=["relu", "logistic"], output="identity",
                             random_state=0)
    hist = dn.train(net, X, y, lr=0.01, epochs=3, diagnostics=True, random_state=0)
    assert [d["epoch"] for d in hist.diagnostics] == [1, 2, 3]
    last = hist.diagnostics[-1]
    assert last["layer"] == [1, 2, 3] and last["depth"] == [1, 2, 3]
    assert last["dead"][0] is not None and last["dead"][1] is None
    assert last["saturated"][1] is not None and last["saturated"][0] is None
    assert all(v > 0 for v in last["grad_norm"] + last["mean_abs_update"])


def test_divergence_keeps_the_batch_norm_statistics_of_the_last_good_epoch():
    # a weight made infinite after update 7 (epoch 2 of 5 updates each): the cost of
    # update 8 is NaN; updates 6 and 7 had already moved the running μ, σ². Both the weights
    # and the statistics must be those at the end of epoch 1.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(float)
    kw = dict(loss="log_loss", lr=0.5, batch_size=8, random_state=0)

    def bn_net():
        return dn.Network.layered([3, 8, 1], hidden="relu", batch_norm=True, random_state=0)

    class Blowup(dn.Callback):
        def on_batch_end(self, update, logs):
            if update == 7:
                net.params[0] = np.inf

    net = bn_net()
    after_epoch_1 = bn_net()
    dn.train(after_epoch_1, X, y, epochs=1, **kw)
    with pytest.raises(dn.TrainingError, match=r"in epoch 2 \(update 8\)") as info:
        dn.train(net, X, y, epochs=5, callbacks=[Blowup()], **kw)
    assert info.value.history.epochs == 1
    assert_array_equal(net.params, after_epoch_1.params)
    (mean, var), = net.bn_state.values()
    assert_array_equal(mean, after_epoch_1.bn_state[1][0])
    assert_array_equal(var, after_epoch_1.bn_state[1][1])
    assert_array_equal(net.forward(X), after_epoch_1.forward(X))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "schedule"])
def test_a_float32_learning_rate_beyond_float32_stops_on_the_cost_without_a_warning(optimizer):
    """lr = 1e39 does not fit float32: the rates become infinite, the cost stops training
    with the error that names the learning rate, and no overflow warning comes first (the
    suite turns warnings into errors)."""
    X = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    Y = (X[:, :1] > 0).astype(np.float32)
    net = dn.Network.layered([2, 3, 1], random_state=0, dtype=np.float32)
    kw = dict(optimizer=optimizer) if optimizer != "schedule" else dict(lr_schedule=lambda t: 1e39)
    with pytest.raises(dn.TrainingError, match="learning rate"):
        dn.train(net, X, Y, loss="log_loss", lr=1e39, epochs=3, random_state=0, **kw)
