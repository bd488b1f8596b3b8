"""Checkpoints: an interrupted run resumed from its checkpoint ends bit for bit like an
uninterrupted one; a checkpoint of another run is refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import deltanet as dn
from deltanet import optimizers


class Crash(Exception):
    """Stands in for a crash or Ctrl-C in the middle of training."""


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(45, 3))
    y = ((X[:, 0] * X[:, 1] + X[:, 2]) > 0).astype(float)
    return X, y


NETS = {
    "tanh": lambda: dn.Network.layered([3, 6, 1], hidden="tanh", random_state=0),
    "relu2": lambda: dn.Network.layered([3, 6, 5, 1], hidden="relu", random_state=0),
    "bn": lambda: dn.Network.layered([3, 6, 1], hidden="tanh", batch_norm=True,
                                     random_state=0),
}

CASES = {
    "per-example sgd": ("tanh", dict(batch_size=1, lr=0.05)),
    "mini-batch momentum": ("tanh", dict(batch_size=7, optimizer="momentum", lr=0.05)),
    "adam with dropout": ("relu2", dict(batch_size=4, optimizer="adam", lr=0.01,
                                        dropout={0: 0.1, 1: 0.3, 2: 0.2})),
    "nesterov cosine, early stopping": ("tanh", dict(
        batch_size=5, optimizer="nesterov", lr=0.05, lr_schedule="cosine",
        early_stopping=True, patience=50, validation_fraction=0.2, diagnostics=True,
        train_metric=True, l2=1e-3)),
    "batch norm, plateau, class weights": ("bn", dict(
        batch_size=8, lr=0.05, lr_schedule=optimizers.ReduceOnPlateau(patience=0, tol=0.02),
        class_weight="balanced", l1=1e-3, dropout=0.2)),
    "per-example, dropout, MT19937": ("tanh", dict(batch_size=1, lr=0.05, dropout=0.25)),
    # flipped validation labels: the best epoch comes early, the stop after the resume
    "early stop after the resume": ("tanh", dict(
        batch_size=9, optimizer="adam", lr=0.02, early_stopping=True, patience=4,
        validation_data=(_data()[0], 1 - _data()[1]))),
}


def _fit(case, path=None, *, resume=False, crash_epoch=None, crash_update=None,
         every=1, epochs=8):
    net_kind, kw = CASES[case]
    net = NETS[net_kind]()
    rs = (np.random.Generator(np.random.MT19937(11)) if "MT19937" in case else 3)

    seen = []

    class Crasher(dn.Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append(epoch)
            if epoch == crash_epoch:
                raise Crash

        def on_batch_end(self, update, logs):
            if update == crash_update:
                raise Crash

    X, y = _data()
    cbs = [Crasher()] if crash_update is not None else [Crasher().on_epoch_end]
    hist = dn.train(net, X, y, loss="log_loss", epochs=epochs, random_state=rs,
                    checkpoint=path, checkpoint_every=every, resume=resume, callbacks=cbs,
                    **kw)
    _fit.epochs_run = seen
    return net, hist


@pytest.mark.parametrize("case", list(CASES))
def test_resume_after_an_epoch_is_bitwise_identical(case, tmp_path):
    ref_net, ref_hist = _fit(case)
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        _fit(case, path, crash_epoch=3)
    assert dn.load_checkpoint(path).epoch == 3
    net, hist = _fit(case, path, resume=True)
    assert _fit.epochs_run == list(range(4, ref_hist.epochs + 1))  # only the rest ran
    assert_array_equal(net.params, ref_net.params)
    for layer, (mean, var) in ref_net.bn_state.items():
        assert_array_equal(net.bn_state[layer][0], mean)
        assert_array_equal(net.bn_state[layer][1], var)
    assert hist == ref_hist
    if case == "early stop after the resume":
        assert "early stopping" in hist.stop_reason and hist.epochs == 5


@pytest.mark.reliability(
    area="crash safety",
    fault="an exception in the middle of an epoch",
    how="a callback raising, then train(resume=True)",
    result="bit for bit the weights and history of an uninterrupted run")
@pytest.mark.parametrize("case", ["per-example sgd", "adam with dropout",
                                  "batch norm, plateau, class weights"])
def test_resume_after_a_crash_mid_epoch_is_bitwise_identical(case, tmp_path):
    # the crash comes in epoch 6; the last checkpoint (every 2 epochs) is of epoch 4
    ref_net, ref_hist = _fit(case)
    updates_per_epoch = ref_hist.updates // ref_hist.epochs
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        _fit(case, path, crash_update=5 * updates_per_epoch + 2, every=2)
    assert dn.load_checkpoint(path).epoch == 4
    net, hist = _fit(case, path, resume=True, every=2)
    assert _fit.epochs_run == list(range(5, 9))
    assert_array_equal(net.params, ref_net.params)
    assert hist.cost == ref_hist.cost and hist.updates == ref_hist.updates


@pytest.mark.reliability(
    area="crash safety",
    fault="the process dies in the middle of an epoch (os._exit)",
    how="subprocess, then train(resume=True)",
    result="bit for bit the uninterrupted run; no temporary files")
def test_resume_after_the_process_dies(tmp_path):
    # a real process, killed without cleanup (os._exit) in the middle of epoch 5
    path = tmp_path / "run.ckpt"
    script = textwrap.dedent(f"""
        import os, numpy as np, deltanet as dn
        rng = np.random.default_rng(0)
        X = rng.normal(size=(45, 3)); y = ((X[:, 0] * X[:, 1] + X[:, 2]) > 0).astype(float)
        net = dn.Network.layered([3, 6, 5, 1], hidden="relu", random_state=0)
        class Die(dn.Callback):
            def on_batch_end(self, update, logs):
                if update == 4 * 12 + 5:
                    os._exit(7)
        dn.train(net, X, y, loss="log_loss", epochs=8, random_state=3, batch_size=4,
                 optimizer="adam", lr=0.01, dropout={{0: 0.1, 1: 0.3, 2: 0.2}},
                 checkpoint={str(path)!r}, callbacks=[Die()])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 7, done.stderr.decode()
    assert dn.load_checkpoint(path).epoch == 4
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]  # no temporary files left
    ref_net, ref_hist = _fit("adam with dropout")
    net, hist = _fit("adam with dropout", path, resume=True)
    assert_array_equal(net.params, ref_net.params)
    assert hist == ref_hist


def test_checkpoint_contents(tmp_path):
    path = tmp_path / "run.ckpt"
    net, hist = _fit("mini-batch momentum", path, every=3, epochs=7)
    ckpt = dn.load_checkpoint(path)
    assert ckpt.header["format"] == "deltanet-checkpoint" and ckpt.finished
    assert (ckpt.epoch, ckpt.updates) == (7, hist.updates)
    assert_array_equal(ckpt.params, net.params)
    assert ckpt.header["history"]["cost"] == hist.cost
    assert ckpt.header["rng"]["bit_generator"] == "PCG64"
    assert ckpt.arrays["opt/0.velocity"].shape == net.params.shape
    assert ckpt.header["optimizer_state"]["0.count"] == hist.updates


def test_resuming_a_finished_run_trains_no_more(tmp_path):
    path = tmp_path / "run.ckpt"
    net, hist = _fit("per-example sgd", path)
    again, hist2 = _fit("per-example sgd", path, resume=True)
    assert _fit.epochs_run == []
    assert_array_equal(again.params, net.params)
    assert hist2 == hist


def test_resume_true_without_a_file_starts_afresh(tmp_path):
    ref_net, _ = _fit("mini-batch momentum")
    net, _ = _fit("mini-batch momentum", tmp_path / "new.ckpt", resume=True)
    assert_array_equal(net.params, ref_net.params)


def test_resume_from_a_path_writes_there(tmp_path):
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        _fit("per-example sgd", path, crash_epoch=2)
    X, y = _data()
    net = NETS["tanh"]()
    dn.train(net, X, y, loss="log_loss", epochs=8, random_state=3, batch_size=1, lr=0.05,
             callbacks=[lambda e, logs: None], resume=path)
    assert dn.load_checkpoint(path).finished


@pytest.mark.reliability(
    area="checkpoints",
    fault="resuming with another lr, batch size, l2, data or network",
    how="train(resume=True)",
    result="ValueError naming the difference")
@pytest.mark.parametrize("change, what", [
    (dict(lr=0.06), "lr"),
    (dict(batch_size=2), "batch_size"),
    (dict(l2=0.1), "l2"),
    (dict(y_flip=True), "data"),
    (dict(net="relu2"), "network: the network's arcs, activations, batch norm or dtype "
                        "differ"),
    (dict(engine="numpy"), "engine: saved 'numba', now 'numpy'"),
])
def test_resume_refuses_another_run(change, what, tmp_path):
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        _fit("per-example sgd", path, crash_epoch=2)
    X, y = _data()
    kw = dict(batch_size=1, lr=0.05, l2=0.0, engine="auto")
    kw.update({k: v for k, v in change.items() if k in kw})
    net = NETS[change.get("net", "tanh")]()
    y = 1 - y if change.get("y_flip") else y
    with pytest.raises(ValueError, match=f"another training run.*{what}"):
        dn.train(net, X, y, loss="log_loss", epochs=8, random_state=3, checkpoint=path,
                 resume=True, **kw)


def test_resume_refuses_a_custom_optimizer_with_other_settings(tmp_path):
    # The state of adam(0.01) and adam(0.5, beta_1=0.1) has the same shapes; the settings
    # adam() records differ.
    path = tmp_path / "run.ckpt"
    X, y = _data()
    kw = dict(loss="log_loss", batch_size=1, random_state=3, checkpoint=path)
    dn.train(NETS["tanh"](), X, y, epochs=2, optimizer=dn.optimizers.adam(0.01), **kw)
    with pytest.raises(ValueError, match=r"optimizer_settings: saved \['adam', 0.01, 0.9"):
        dn.train(NETS["tanh"](), X, y, epochs=4, resume=True,
                 optimizer=dn.optimizers.adam(0.5, beta_1=0.1), **kw)
    hist = dn.train(NETS["tanh"](), X, y, epochs=4, resume=True,
                    optimizer=dn.optimizers.adam(0.01), **kw)
    assert hist.epochs == 4


@pytest.mark.parametrize("other", [
    lambda: dn.optimizers.chain(dn.optimizers.add_decayed_weights(0.01), dn.optimizers.sgd(0.1)),
    lambda: dn.optimizers.chain(dn.optimizers.add_decayed_weights(0.001),
                                dn.optimizers.sgd(0.2)),
    lambda: dn.optimizers.chain(dn.optimizers.add_l1(0.001), dn.optimizers.sgd(0.1)),
])
def test_resume_checks_the_settings_of_a_chain(other, tmp_path):
    # a chain's state has the same shapes whatever its settings: the settings tell them apart
    path = tmp_path / "run.ckpt"
    X, y = _data()
    kw = dict(loss="log_loss", batch_size=1, random_state=3, checkpoint=path)
    made = lambda: dn.optimizers.chain(dn.optimizers.add_decayed_weights(0.001),  # noqa: E731
                                       dn.optimizers.sgd(0.1))
    dn.train(NETS["tanh"](), X, y, epochs=2, optimizer=made(), **kw)
    with pytest.raises(ValueError, match=r"optimizer_settings: saved \['chain'"):
        dn.train(NETS["tanh"](), X, y, epochs=4, resume=True, optimizer=other(), **kw)
    whole = dn.train(NETS["tanh"](), X, y, epochs=4, loss="log_loss", batch_size=1,
                     random_state=3, optimizer=made())
    resumed = dn.train(NETS["tanh"](), X, y, epochs=4, resume=True, optimizer=made(), **kw)
    assert resumed.cost == whole.cost


def test_a_checkpoint_that_recorded_no_chain_settings_resumes(tmp_path, monkeypatch):
    # an earlier version recorded None for every chain: nothing to compare then
    from deltanet.training import resume

    path = tmp_path / "run.ckpt"
    X, y = _data()
    kw = dict(loss="log_loss", batch_size=1, random_state=3, checkpoint=path)
    made = lambda: dn.optimizers.chain(dn.optimizers.add_decayed_weights(0.001),  # noqa: E731
                                       dn.optimizers.sgd(0.1))
    real = resume.fingerprint

    def older(*args, **kwargs):
        return {**real(*args, **kwargs), "optimizer_settings": None}

    monkeypatch.setattr(resume, "fingerprint", older)
    dn.train(NETS["tanh"](), X, y, epochs=2, optimizer=made(), **kw)
    monkeypatch.setattr(resume, "fingerprint", real)
    assert dn.train(NETS["tanh"](), X, y, epochs=4, resume=True, optimizer=made(),
                    **kw).epochs == 4


def test_a_checkpoint_without_the_newer_fingerprint_entries_resumes(tmp_path, monkeypatch):
    # A checkpoint of an earlier version records no engine: what it lacks is not compared.
    from deltanet.training import resume

    path = tmp_path / "run.ckpt"
    X, y = _data()
    kw = dict(loss="log_loss", batch_size=1, random_state=3, checkpoint=path)
    whole = dn.train(NETS["tanh"](), X, y, epochs=4, loss="log_loss", batch_size=1,
                     random_state=3)
    real = resume.fingerprint

    def older(*args, **kwargs):
        fp = real(*args, **kwargs)
        fp.pop("engine")
        return fp

    monkeypatch.setattr(resume, "fingerprint", older)
    dn.train(NETS["tanh"](), X, y, epochs=2, **kw)
    monkeypatch.setattr(resume, "fingerprint", real)
    resumed = dn.train(NETS["tanh"](), X, y, epochs=4, resume=True, **kw)
    assert resumed.cost == whole.cost


@pytest.mark.reliability(
    area="checkpoints",
    fault="missing, broken or wrong-kind checkpoint file",
    how="train(resume=path)",
    result="ValueError / ModelFileError naming the file")
def test_resume_refuses_missing_and_broken_files(tmp_path):
    X, y = _data()
    net = NETS["tanh"]()
    with pytest.raises(ValueError, match="does not exist"):
        dn.train(net, X, y, epochs=1, resume=tmp_path / "missing.ckpt")
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(dn.ModelFileError, match=r"broken\.ckpt"):
        dn.train(net, X, y, epochs=1, resume=broken)
    model = dn.save(net, tmp_path / "model.deltanet")
    with pytest.raises(dn.ModelFileError, match="not a deltanet-checkpoint file"):
        dn.train(net, X, y, epochs=1, resume=model)


@pytest.mark.reliability(
    area="checkpoints",
    fault="random_state of another generator kind",
    how="train(resume=True)",
    result="ValueError naming both kinds")
def test_resume_refuses_another_kind_of_generator(tmp_path):
    path = tmp_path / "run.ckpt"
    with pytest.raises(Crash):
        _fit("per-example, dropout, MT19937", path, crash_epoch=2)
    X, y = _data()
    with pytest.raises(ValueError, match="MT19937 generator"):
        dn.train(NETS["tanh"](), X, y, loss="log_loss", epochs=8, random_state=3,
                 batch_size=1, lr=0.05, dropout=0.25, checkpoint=path, resume=True)


def test_rng_state_round_trip_is_exact():
    from deltanet.checkpoint import rng_state, set_rng_state

    for bitgen in (np.random.PCG64(1), np.random.MT19937(2), np.random.Philox(3),
                   np.random.SFC64(4)):
        rng = np.random.Generator(bitgen)
        rng.random(5)
        saved = rng_state(rng)
        expected = rng.random(7)
        set_rng_state(rng, saved, "test")
        assert_array_equal(rng.random(7), expected)


# ------------------------------------------------------------------ a longer epoch limit
@pytest.mark.parametrize("case", ["per-example sgd", "adam with dropout",
                                  "batch norm, plateau, class weights",
                                  "early stop after the resume"])
def test_resuming_a_finished_run_with_more_epochs_trains_on_bitwise(case, tmp_path):
    # 3 epochs to the end, then the same run with epochs=8: the uninterrupted 8-epoch run
    # (the early-stopping case restores its best weights after 3 epochs, then goes on
    # from the weights of epoch 3 and stops early in epoch 5, as the straight run does)
    ref_net, ref_hist = _fit(case)
    path = tmp_path / "run.ckpt"
    _, short_hist = _fit(case, path, epochs=3)
    assert short_hist.epochs == 3 and dn.load_checkpoint(path).finished
    if case == "early stop after the resume":
        assert short_hist.best_epoch < 3  # the best weights were put back
    net, hist = _fit(case, path, resume=True)
    assert _fit.epochs_run == list(range(4, ref_hist.epochs + 1))
    assert_array_equal(net.params, ref_net.params)
    for layer, (mean, var) in ref_net.bn_state.items():
        assert_array_equal(net.bn_state[layer][0], mean)
        assert_array_equal(net.bn_state[layer][1], var)
    assert hist == ref_hist
    ckpt = dn.load_checkpoint(path)
    assert ckpt.finished and ckpt.epoch == ref_hist.epochs


def test_a_run_that_stopped_early_is_not_extended(tmp_path):
    # an uninterrupted run with a longer limit stops early at the same epoch
    path = tmp_path / "run.ckpt"
    net, hist = _fit("early stop after the resume", path)
    assert "early stopping" in hist.stop_reason and hist.epochs == 5
    again, hist2 = _fit("early stop after the resume", path, resume=True, epochs=12)
    assert _fit.epochs_run == []
    assert_array_equal(again.params, net.params)
    assert hist2 == hist


def test_resuming_with_fewer_epochs_than_the_checkpoint_is_refused(tmp_path):
    path = tmp_path / "run.ckpt"
    _fit("per-example sgd", path, epochs=6)
    with pytest.raises(ValueError, match=r"run\.ckpt already has 6 epochs.*epochs=4") as err:
        _fit("per-example sgd", path, resume=True, epochs=4)
    assert "\n" not in str(err.value)
    with pytest.raises(Crash):
        _fit("per-example sgd", path, crash_epoch=3)  # a run cut short, not finished
    with pytest.raises(ValueError, match="already has 3 epochs"):
        _fit("per-example sgd", path, resume=True, epochs=2)
    _, hist = _fit("per-example sgd", path, resume=True, epochs=3)  # as many: no more
    assert _fit.epochs_run == [] and hist.epochs == 3


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_a_schedule_of_the_run_length_refuses_another_epoch_limit(schedule, tmp_path):
    X, y = _data()
    path = tmp_path / "run.ckpt"
    kw = dict(loss="log_loss", batch_size=5, lr=0.05, lr_schedule=schedule, random_state=3,
              checkpoint=path)
    dn.train(NETS["tanh"](), X, y, epochs=3, **kw)
    with pytest.raises(ValueError, match=f"lr_schedule='{schedule}' depends on the epoch "
                                         r"limit.*3-epoch run.*epochs=6") as err:
        dn.train(NETS["tanh"](), X, y, epochs=6, resume=True, **kw)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_cli_resume_with_more_epochs_trains_on(tmp_path, capsys):
    from deltanet.cli import main
    from deltanet.io import read_model

    argv = ["train", "iris", "--hidden", "8", "--batch-size", "16", "--quiet"]
    assert main([*argv, "--epochs", "6", "--out", str(tmp_path / "straight.deltanet")]) == 0
    ckpt = str(tmp_path / "c.ckpt")
    out = str(tmp_path / "resumed.deltanet")
    assert main([*argv, "--epochs", "3", "--checkpoint", ckpt, "--out", out]) == 0
    assert main([*argv, "--epochs", "6", "--checkpoint", ckpt, "--resume", "--out", out]) == 0
    straight, meta = read_model(tmp_path / "straight.deltanet")
    resumed, meta2 = read_model(out)
    assert resumed.params.tobytes() == straight.params.tobytes()
    assert len(meta2["cli"]["history"]["loss"]) == 6
    assert meta2["cli"]["history"]["loss"] == meta["cli"]["history"]["loss"]
    capsys.readouterr()
    assert main([*argv, "--epochs", "4", "--checkpoint", ckpt, "--resume", "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert "already has 6 epochs, more than --epochs 4" in err and "\n" not in err


def test_a_checkpoint_of_another_engine_names_the_engine_to_resume_with(tmp_path):
    # Adam ran on NumPy before the compiled engine ran it: such a checkpoint still resumes
    from deltanet.cli._fit import checkpoint_words

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((64, 3)), dn.one_hot(rng.integers(0, 2, 64))[0]
    path = tmp_path / "adam.ckpt"
    kw = dict(loss="cross_entropy", optimizer="adam", batch_size=16, random_state=0,
              checkpoint=path)
    net = dn.Network.layered([3, 4, 2], output="softmax", random_state=0)
    dn.train(net, X, Y, epochs=2, engine="numpy", **kw)
    net = dn.Network.layered([3, 4, 2], output="softmax", random_state=0)
    with pytest.raises(ValueError, match=r"\(engine: saved 'numpy', now 'numba'\).*"
                                         r"pass engine='numpy' to resume it") as info:
        dn.train(net, X, Y, epochs=4, resume=True, **kw)
    words = checkpoint_words(str(info.value))
    assert "engine=" not in words and "another engine; leave out --resume" in words
    hist = dn.train(net, X, Y, epochs=4, resume=True, engine="numpy", **kw)
    assert hist.epochs == 4


def test_a_checkpoint_of_the_other_compiled_loop_is_not_resumed(tmp_path, monkeypatch):
    # the per-example loop and the BLAS loop agree to rounding, not bit for bit
    from deltanet import kernels

    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((150, 4)), dn.one_hot(rng.integers(0, 3, 150))[0]
    kw = dict(loss="cross_entropy", batch_size=4, random_state=0, engine="numba",
              checkpoint=tmp_path / "run.ckpt")
    net = dn.Network.layered([4, 20, 3], output="softmax", random_state=0)
    dn.train(net, X, Y, epochs=2, **kw)
    monkeypatch.setattr(kernels, "BLAS_MIN_BATCH_WORK", 10**9)  # as a version without it
    net = dn.Network.layered([4, 20, 3], output="softmax", random_state=0)
    with pytest.raises(ValueError, match=r"engine_loop: saved 'batches on BLAS', now "
                                         r"'example by example'.*runs these settings on the "
                                         r"other loop; start afresh with resume=False"):
        dn.train(net, X, Y, epochs=4, resume=True, **kw)
