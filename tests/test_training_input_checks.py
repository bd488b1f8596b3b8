"""train() and the files it writes check their inputs before the first epoch: weights on
non-arcs, checkpoint paths, class weights, huge sample weights, seeds, NumPy scalars,
batch-norm layers, sparse inputs and loss/output pairs."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import deltanet as dn
from deltanet._plan import batch_norm_layers
from deltanet._validation import NonFiniteError, TargetValueError

X = np.random.default_rng(0).normal(size=(20, 2))
Y01 = (X[:, 0] > 0).astype(float)
ONE_HOT = np.eye(3)[np.arange(20) % 3]


def sparse_net() -> dn.Network:
    # 1→3, 2→4: the block from the inputs to layer 1 is masked (no arcs 1→4, 2→3)
    return dn.Network(2, [(1, 3), (2, 4), (3, 5), (4, 5)], "tanh", random_state=0)


def no_epoch(epoch, logs):
    raise AssertionError("training started before the settings were refused")


# ------------------------------------------------------------------ weights on non-arcs
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_train_sets_weights_on_non_arcs_to_zero_first(engine):
    clean, padded = sparse_net(), sparse_net()
    padded.params += 0.5
    clean.params[:] = padded.params * clean.plan.grad_mask  # the same arcs, 0 elsewhere
    runs = [dn.train(net, X, Y01, epochs=2, lr=0.05, random_state=0, engine=engine)
            for net in (clean, padded)]
    assert_array_equal(padded.params[padded.plan.grad_mask == 0], 0.0)
    assert runs[0].cost == runs[1].cost
    assert_array_equal(padded.params, clean.params)


def test_save_writes_zeros_on_non_arcs_and_leaves_the_network(tmp_path):
    net = sparse_net()
    net.params += 0.5
    before = net.params.copy()
    loaded = dn.load(dn.save(net, tmp_path / "p.deltanet"))
    assert_array_equal(net.params, before)  # the caller's network is untouched
    assert_array_equal(loaded.params, np.where(net.plan.grad_mask > 0, before, 0.0))


# ------------------------------------------------------------------ checkpoint paths
def test_a_checkpoint_that_cannot_be_written_is_refused_before_training(tmp_path):
    (tmp_path / "file").write_text("")
    cases = [(tmp_path, "checkpoint is a directory.*give a file name such as"),
             (tmp_path / "file" / "run.ckpt", "cannot be written: .*/file' is a file, not a "
              "folder")]
    if os.path.isdir("/proc"):
        cases.append(("/proc/x.ckpt", "no file can be created in the folder '/proc'"))
    for path, message in cases:
        net = dn.Network.layered([2, 3, 1], random_state=0)
        with pytest.raises(ValueError, match=message):
            dn.train(net, X, Y01, epochs=50, checkpoint=path, checkpoint_every=1000,
                     callbacks=[no_epoch])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no probe left behind


def test_a_checkpoint_in_a_new_folder_is_still_written(tmp_path):
    path = tmp_path / "runs" / "a" / "run.ckpt"
    dn.train(dn.Network.layered([2, 3, 1], random_state=0), X, Y01, epochs=2,
             checkpoint=path)
    assert path.is_file()


# ------------------------------------------------------------------ class weights
@pytest.mark.parametrize("Y", [[[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
                               [[0.2, 0.8, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
                               [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]])
def test_class_weight_needs_one_hot_rows(Y):
    with pytest.raises(ValueError, match=r"class_weight needs one-hot targets.*one_hot"):
        dn.compute_class_weight("balanced", Y)


def test_train_refuses_class_weight_on_multilabel_targets():
    net = dn.Network.layered([2, 3, 3], random_state=0)
    multilabel = ONE_HOT.copy()
    multilabel[5, 0] = 1.0
    with pytest.raises(ValueError, match="row 5 is not one 1 with 0s elsewhere"):
        dn.train(net, X, multilabel, class_weight="balanced", callbacks=[no_epoch])
    hist = dn.train(net, X, ONE_HOT, class_weight="balanced", epochs=1)  # one-hot is fine
    assert len(hist.cost) == 1


# ------------------------------------------------------------------ huge sample weights
@pytest.mark.parametrize("weight", [1e307, 5e-324])
def test_equal_sample_weights_train_as_no_weights_however_large(weight):
    plain, weighted = (dn.Network.layered([2, 3, 1], random_state=0) for _ in range(2))
    expected = dn.train(plain, X, Y01, epochs=2, random_state=0)
    hist = dn.train(weighted, X, Y01, epochs=2, random_state=0,
                    sample_weight=np.full(20, weight))
    assert hist.cost == expected.cost
    assert_array_equal(weighted.params, plain.params)


def test_huge_sample_weights_keep_their_ratios_with_class_weights():
    plain, weighted = (dn.Network.layered([2, 3, 1], random_state=0) for _ in range(2))
    sw = np.where(np.arange(20) % 2, 2.0, 1.0)
    dn.train(plain, X, Y01, epochs=2, random_state=0, sample_weight=sw,
             class_weight="balanced")
    dn.train(weighted, X, Y01, epochs=2, random_state=0, sample_weight=sw * 1e307,
             class_weight="balanced")
    np.testing.assert_allclose(weighted.params, plain.params, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ seeds and scalars
@pytest.mark.parametrize("seed", [-1, 1.5, True, np.True_, "0"])
def test_train_checks_random_state_as_network_does(seed):
    net = dn.Network.layered([2, 3, 1], random_state=0)
    with pytest.raises(ValueError, match="random_state must be None, an int"):
        dn.train(net, X, Y01, epochs=1, random_state=seed)


def test_numpy_scalars_are_numbers_for_dropout_and_init():
    rate = np.float32(0.2)
    nets = [dn.Network.layered([2, 3, 1], random_state=0) for _ in range(2)]
    dn.train(nets[0], X, Y01, epochs=1, random_state=0, dropout=rate)
    dn.train(nets[1], X, Y01, epochs=1, random_state=0, dropout=float(rate))
    assert_array_equal(nets[0].params, nets[1].params)
    assert dn.train(nets[0], X, Y01, epochs=1, dropout=np.float64(0.0)).cost
    assert_array_equal(dn.Network.layered([2, 3, 1], init=np.float32(0.5)).params, 0.5)
    assert_array_equal(dn.Network.layered([2, 3, 1], init=np.int64(1)).params, 1.0)
    with pytest.raises(ValueError, match="dropout must be a rate"):
        dn.train(nets[0], X, Y01, epochs=1, dropout=True)
    with pytest.raises(ValueError, match="init must be a name, a number"):
        dn.Network.layered([2, 3, 1], init=np.True_)


# ------------------------------------------------------------------ batch-norm layers
@pytest.mark.parametrize(("layers", "message"), [
    ([3], "layer 3 is an output layer"), ([7], "layer 7 is not a layer of this network"),
    ([0], "layer 0 is the inputs")])
def test_batch_norm_only_on_hidden_layers(layers, message):
    with pytest.raises(ValueError, match=rf"{message}.*hidden layers \[1, 2\]"):
        dn.Network.layered([2, 3, 3, 1], batch_norm=layers)
    assert sorted(dn.Network.layered([2, 3, 3, 1], batch_norm=[2]).bn_state) == [2]


def test_batch_norm_must_be_a_flag_or_layer_numbers():
    with pytest.raises(TypeError, match="batch_norm must be True, False or a list"):
        batch_norm_layers(1, [1, 2], 3)
    with pytest.raises(TypeError, match="batch_norm layers must be layer numbers"):
        batch_norm_layers([1.0], [1, 2], 3)
    with pytest.raises(ValueError, match="no hidden layer: use batch_norm=False"):
        dn.Network.layered([2, 1], batch_norm=[1])
    assert batch_norm_layers(np.True_, [1, 2], 3) == {1, 2}


# ------------------------------------------------------------------ sparse inputs
def test_sparse_inputs_are_told_to_use_toarray():
    sparse = pytest.importorskip("scipy.sparse")
    net = dn.Network.layered([2, 3, 1], random_state=0)
    with pytest.raises(ValueError, match=r"X is a sparse matrix.*X\.toarray\(\)"):
        dn.train(net, sparse.csr_matrix(X), Y01, epochs=1)
    with pytest.raises(ValueError, match=r"X\.toarray\(\)"):
        net.forward(sparse.csr_matrix(X))


# ------------------------------------------------------------------ loss and output pairs
@pytest.mark.parametrize("output", ["identity", "relu", "tanh", "softplus", "exp"])
@pytest.mark.parametrize("loss", ["log_loss", "cross_entropy"])
def test_log_losses_refuse_outputs_that_are_not_probabilities(output, loss):
    net = dn.Network.layered([2, 3, 3], output=output, random_state=0)
    suggested = "logistic" if loss == "log_loss" else "softmax"
    with pytest.raises(ValueError, match=rf"loss='{loss}' needs outputs that are "
                                         rf"probabilities.*'{output}'.*output='{suggested}'"):
        dn.train(net, X, ONE_HOT, loss=loss, epochs=1, callbacks=[no_epoch])
    net.backprop(X, ONE_HOT, loss=loss)  # the passes themselves stay open for teaching


@pytest.mark.parametrize(("output", "loss"), [
    ("logistic", "log_loss"), ("softmax", "log_loss"), ("softmax", "cross_entropy"),
    ("logistic", "cross_entropy"), ("identity", "squared_error"), ("relu", "perceptron")])
def test_pairs_that_work_still_train(output, loss):
    net = dn.Network.layered([2, 3, 3], output=output, random_state=0)
    assert np.isfinite(dn.train(net, X, ONE_HOT, loss=loss, epochs=1).cost[-1])


# ------------------------------------------------------------------ NaN and inf in X
@pytest.fixture
def checked(monkeypatch):
    """The calls of the checks of the training rows that train() makes before training."""
    from deltanet.training import run as run_module

    calls = []
    original = run_module.check_training_rows

    def check_training_rows(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(run_module, "check_training_rows", check_training_rows)
    return calls


@pytest.mark.parametrize("case", range(16))
def test_a_nan_or_inf_in_x_stops_the_compiled_engine_before_its_row_is_learned(case,
                                                                               checked):
    """The per-example and small-batch kernels check each row of X as they read it (no
    pass of their own over X): a NaN or an infinity anywhere, in any epoch's order, with
    units that would hide it (ReLU or a threshold turns −inf into 0), ends training with the
    NonFiniteError that names X's first bad value, the network as it was."""
    rng = np.random.default_rng(500 + case)
    n, p = int(rng.integers(5, 40)), int(rng.integers(1, 6))
    dtype = [np.float64, np.float32][case % 2]
    Xb = rng.normal(size=(n, p)).astype(dtype)
    bad = [(int(rng.integers(n)), int(rng.integers(p))) for _ in range(int(rng.integers(1, 3)))]
    for row, col in bad:
        Xb[row, col] = rng.choice([np.nan, np.inf, -np.inf])
    first = min(bad)
    hidden = ["relu", "logistic", "tanh", "identity"][case % 4]
    if case % 5 == 4:  # a perceptron: threshold output
        net = dn.Network.layered([p, 1], output="threshold", random_state=case, dtype=dtype)
        y, kw = (rng.random(n) > 0.5).astype(dtype), dict(loss="perceptron")
    else:
        net = dn.Network.layered([p, int(rng.integers(1, 9)), 2], hidden=hidden,
                                 output="softmax", random_state=case, dtype=dtype)
        y, kw = dn.one_hot(rng.integers(0, 2, n))[0].astype(dtype), dict(loss="cross_entropy")
    kw.update(batch_size=[1, 1, 3][case % 3], optimizer=["sgd", "momentum"][case % 2],
              epochs=int(rng.integers(1, 60)), random_state=case)
    start = net.params.copy()
    with pytest.raises(NonFiniteError, match=rf"X contains NaN or infinite values \(first "
                                             rf"at index \[{first[0]}, {first[1]}\]\)"):
        dn.train(net, Xb, y, **kw)
    assert_array_equal(net.params, start)
    assert checked == []  # found by the kernel, not by a pass over X before training
    Xb[np.isnan(Xb) | np.isinf(Xb)] = 0.5
    assert dn.train(net, Xb, y, **kw).engine == "numba"  # the same settings run compiled


# ------------------------------------------------------------------ bad targets in Y
def _bad_target_case(case: int):
    """A network, its loss and targets with one or two bad values: NaN, ±inf, or a value
    outside what the loss takes (log_loss and perceptron: [0, 1]; cross_entropy: >= 0)."""
    rng = np.random.default_rng(900 + case)
    n, p = int(rng.integers(5, 60)), int(rng.integers(1, 6))
    if case % 6 == 5:  # enough examples x weights for the BLAS batch loop
        n, p = int(rng.integers(300, 500)), 20
    dtype = [np.float64, np.float32][case % 2]
    Xg = rng.normal(size=(n, p)).astype(dtype)
    loss = ["log_loss", "perceptron", "cross_entropy", "squared_error"][case % 4]
    if loss == "log_loss":
        net = dn.Network.layered([p, int(rng.integers(1, 30)), 1], output="logistic",
                                 random_state=case, dtype=dtype)
        Yg, outside = (rng.random((n, 1)) > 0.5).astype(dtype), [1.5, -0.25, 2.0]
    elif loss == "perceptron":
        net = dn.Network.layered([p, 1], output="threshold", random_state=case, dtype=dtype)
        Yg, outside = (rng.random((n, 1)) > 0.5).astype(dtype), [-1.0, 3.0]
    elif loss == "cross_entropy":
        net = dn.Network.layered([p, int(rng.integers(1, 30)), 3], output="softmax",
                                 random_state=case, dtype=dtype)
        Yg, outside = dn.one_hot(rng.integers(0, 3, n))[0].astype(dtype), [-0.5, -1e-3]
    else:
        net = dn.Network.layered([p, int(rng.integers(1, 30)), 2], output="identity",
                                 random_state=case, dtype=dtype)
        Yg, outside = rng.normal(size=(n, 2)).astype(dtype), []
    for _ in range(int(rng.integers(1, 3))):
        row, col = int(rng.integers(n)), int(rng.integers(Yg.shape[1]))
        Yg[row, col] = rng.choice([np.nan, np.inf, -np.inf, *outside])
    kw = dict(loss=loss, batch_size=int(rng.choice([1, 1, 3, 8, 32])),
              epochs=int(rng.integers(1, 40)), optimizer=str(rng.choice(["sgd", "momentum"])),
              random_state=case, lr=0.01)
    return net, Xg, Yg, kw


@pytest.mark.parametrize("case", range(24))
def test_a_bad_target_stops_the_compiled_engine_before_its_row_is_learned(case, checked):
    """The compiled kernels check each row of Y as they read it, as they do X: a NaN, an
    infinity or a target the loss does not take, in any epoch's order, ends training with
    the error a pass over Y before training gives (the same type and words, naming Y's
    first bad value), the network as it was, and no pass over Y of its own."""
    from deltanet import _inputs

    net, Xg, Yg, kw = _bad_target_case(case)
    with pytest.raises(ValueError) as expected:
        _inputs.check_target_values(Yg, dn.losses.get(kw["loss"]))
    start = net.params.copy()
    with pytest.raises(type(expected.value)) as raised:
        dn.train(net, Xg, Yg, **kw)
    assert str(raised.value) == str(expected.value)
    assert_array_equal(net.params, start)
    assert checked == []  # found by the kernel, not by a pass over Y before training
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        dn.train(net, Xg, Yg, **{**kw, "engine": "numpy"})  # refused before training
    assert_array_equal(net.params, start)
    assert len(checked) == 1
    Yg[~np.isfinite(Yg)] = 0.0
    Yg[:] = np.clip(Yg, 0, 1) if kw["loss"] != "squared_error" else Yg
    assert dn.train(net, Xg, Yg, **kw).engine == "numba"  # the same settings run compiled


def test_a_bad_target_in_the_blas_batches_is_found_before_the_batch_is_learned():
    rng = np.random.default_rng(7)
    Xg = rng.normal(size=(300, 20))
    Yg = dn.one_hot(rng.integers(0, 4, 300))[0]
    Yg[211, 2] = -1.0
    net = dn.Network.layered([20, 32, 4], hidden="relu", output="softmax", random_state=0)
    start = net.params.copy()
    with pytest.raises(ValueError, match=r"cross_entropy needs non-negative targets"):
        dn.train(net, Xg, Yg, loss="cross_entropy", batch_size=32, epochs=2, random_state=0,
                 engine="numba")
    assert_array_equal(net.params, start)
    Yg[211, 2] = 0.0
    hist = dn.train(net, Xg, Yg, loss="cross_entropy", batch_size=32, epochs=2,
                    random_state=0, engine="numba")
    assert hist.engine == "numba" and len(hist.cost) == 2


def test_the_cases_reach_every_compiled_loop():
    # the generated cases above run the dense per-example kernel, the general one and the
    # BLAS batch loop, each with more than one loss
    from deltanet.kernels import _runners

    seen = set()
    for case in range(24):
        net, Xg, Yg, kw = _bad_target_case(case)
        Yg[~np.isfinite(Yg)] = 0.0
        Yg[:] = np.clip(Yg, 0, 1) if kw["loss"] != "squared_error" else Yg
        runner = dn.kernels.make_runner("numba", net, Xg, Yg, None,
                                        min(kw["batch_size"], len(Xg)),
                                        dn.losses.get(kw["loss"]),
                                        dn.optimizers.sgd(0.01), 0.0, 0.0, False)
        dense = getattr(runner, "_dense", None) is not None and kw["optimizer"] == "sgd"
        kind = ("blas" if isinstance(runner, _runners.BlasRunner) else
                "dense" if dense and kw["batch_size"] == 1 else "general")
        seen.add((kind, kw["loss"]))
    assert {kind for kind, _ in seen} == {"blas", "dense", "general"}
    assert all(len({loss for k, loss in seen if k == kind}) > 1
               for kind in ("blas", "dense", "general"))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_bad_x_and_y_give_the_same_error_on_every_engine(seed, batch_size):
    """With bad values in both X and Y, every engine reports what the checks before
    training report (the targets first), whichever bad row the order meets first."""
    from deltanet._inputs import check_training_rows

    rng = np.random.default_rng(seed)
    n = 400
    Xg, Yg = rng.normal(size=(n, 20)), dn.one_hot(rng.integers(0, 3, n))[0]
    Xg[int(rng.integers(n)), int(rng.integers(20))] = np.nan
    Yg[int(rng.integers(n)), int(rng.integers(3))] = rng.choice([-1.0, np.inf])
    with pytest.raises(ValueError) as expected:
        check_training_rows(Xg, Yg, dn.losses.get("cross_entropy"))
    for engine in ("numba", "numpy"):
        net = dn.Network.layered([20, 16, 3], output="softmax", random_state=0)
        start = net.params.copy()
        with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
            dn.train(net, Xg, Yg, loss="cross_entropy", batch_size=batch_size, epochs=3,
                     random_state=seed, engine=engine)
        assert_array_equal(net.params, start)


@pytest.mark.parametrize("epochs", [1, 30])
def test_a_bad_row_not_yet_read_is_the_error_rather_than_a_diverging_cost(epochs):
    # float32: the square of the first target overflows (a cost of inf) before the kernel
    # reaches the NaN target of the last row; a check before training names that NaN
    Xg = np.random.default_rng(1).normal(size=(10, 2)).astype(np.float32)
    Yg = np.zeros((10, 1), np.float32)
    Yg[0, 0], Yg[9, 0] = 1e20, np.nan
    net = dn.Network.layered([2, 3, 1], output="identity", random_state=0, dtype=np.float32)
    start = net.params.copy()
    with pytest.raises(NonFiniteError, match=r"Y contains NaN.*first at index \[9, 0\]"):
        dn.train(net, Xg, Yg, epochs=epochs, shuffle=False)
    assert_array_equal(net.params, start)
    Yg[9, 0] = 0.0  # a finite target alone: the run diverges, as before
    with pytest.raises(dn.TrainingError, match="the cost became inf in epoch 1"):
        dn.train(net, Xg, Yg, epochs=epochs, shuffle=False)


@pytest.mark.parametrize("kind", ["Generator", "BitGenerator"])
@pytest.mark.parametrize("quiet", [True, False])
@pytest.mark.parametrize("bad", ["x", "y", "diverging then y"])
@pytest.mark.parametrize("split", [{}, {"validation_fraction": 0.25}, {"early_stopping": True}])
def test_a_callers_generator_is_not_drawn_from_when_a_bad_row_stops_training(quiet, bad,
                                                                              kind, split):
    """Also when a validation split is drawn from it: the rows are checked first."""
    Xg = np.random.default_rng(2).normal(size=(12, 2)).astype(np.float32)
    Yg = (Xg[:, :1] > 0).astype(np.float32)
    loss = "log_loss"
    if bad == "x":
        Xg[7, 1] = np.inf
    elif bad == "y":
        Yg[7, 0] = 3.0
    else:
        Yg[:] = 0.0
        Yg[5, 0], Yg[11, 0], loss = 1e20, np.nan, "squared_error"
    net = dn.Network.layered([2, 3, 1], output="logistic" if loss == "log_loss" else
                             "identity", random_state=0, dtype=np.float32)
    rng = np.random.default_rng(42) if kind == "Generator" else np.random.PCG64(42)
    state = rng.bit_generator if kind == "Generator" else rng  # (a BitGenerator is wrapped)
    before = state.state
    callbacks = None if quiet else [lambda epoch, logs: None]  # one epoch per engine call
    with pytest.raises(ValueError):
        dn.train(net, Xg, Yg, loss=loss, epochs=20, random_state=rng, callbacks=callbacks,
                 **split)
    assert state.state == before


def test_targets_the_engine_does_not_read_are_checked_before_training():
    """Rows held out for validation, class weights (which read every target) and
    per-update callbacks (which would have seen updates before the bad row): a bad target
    is refused before the first update."""
    batches = []

    class PerUpdate:
        def on_batch_end(self, update, logs):
            batches.append(update)

    Yg = ONE_HOT.copy()
    for row, value, kw in [(0, np.nan, dict(validation_fraction=0.5)),
                           (19, -1.0, dict(validation_fraction=0.5)),
                           (3, np.inf, dict(class_weight="balanced")),
                           (3, -2.0, dict(callbacks=[PerUpdate(), no_epoch]))]:
        bad = Yg.copy()
        bad[row, 1] = value
        net = dn.Network.layered([2, 3, 3], output="softmax", random_state=0)
        start = net.params.copy()
        error = NonFiniteError if not np.isfinite(value) else ValueError
        with pytest.raises(error, match=r"Y contains NaN|non-negative targets"):
            dn.train(net, X, bad, loss="cross_entropy", epochs=2, random_state=0,
                     **{"callbacks": [no_epoch], **kw})
        assert_array_equal(net.params, start)
    assert batches == []


def test_the_target_check_reads_each_range_as_the_table_gives_it(monkeypatch):
    """``check_target_values`` takes any range of ``TARGET_RANGES`` as written, the range
    the kernels check: a loss taking [-1, 1] accepts -0.5 and names the range for 1.5."""
    from deltanet import _inputs, losses

    monkeypatch.setitem(_inputs.TARGET_RANGES, "squared_error", (-1.0, 1.0))
    loss = losses.get("squared_error")
    _inputs.check_target_values(np.array([[-0.5], [1.0], [-1.0]]), loss)
    with pytest.raises(TargetValueError, match=r"targets in \[-1, 1\].*1\.5"):
        _inputs.check_target_values(np.array([[-0.5], [1.5]]), loss)
