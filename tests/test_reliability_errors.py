"""Error paths the other test files leave open: estimators on a diverging run, numbers beyond
the float range as options, and damaged checkpoints and table models on the command line.

Each must end in deltanet's own error (a ``ValueError`` in the library, one line and exit
status 2 on the command line), never a traceback or the "this is a bug" message.
"""

from __future__ import annotations

import json
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import deltanet as dn
from deltanet.cli import main


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the ``deltanet`` command in this process; it must fail with one line, status 2."""
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert captured.err.count("\n") == 1 and captured.err.startswith("deltanet: error: ")
    assert "Traceback" not in captured.err and "bug in deltanet" not in captured.err
    return captured.err


@pytest.fixture
def diverging():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    return X * 1e6, (X @ [1.0, -2.0, 0.5]) * 1e6


@pytest.mark.reliability(
    area="numerics", fault="a learning rate that diverges in the estimators",
    how="MLPRegressor(solver='sgd', learning_rate_init=1e6) on inputs of 1e6, on the Numba "
    "kernel and on NumPy", result="ValueError naming the epoch (scikit-learn's message "
    "plus the epoch)")
@pytest.mark.parametrize("engine", ["auto", "numpy"])
def test_estimator_divergence_names_the_epoch(diverging, engine):
    X, y = diverging
    est = dn.MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e6,
                          max_iter=20, random_state=0, engine=engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings
        with pytest.raises(ValueError, match=r"Solver produced non-finite parameter weights "
                                             r"\((the loss became non-finite )?in epoch 4\)"):
            est.fit(X, y)


@pytest.mark.reliability(
    area="numerics", fault="a perceptron whose updates overflow", how="Perceptron(eta0=1e300) "
    "on inputs of 1e300, after a good partial_fit",
    result="ValueError naming the epoch (as scikit-learn's); the last good weights kept")
def test_perceptron_overflow_names_the_epoch_and_keeps_the_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = dn.Perceptron(eta0=1e300, random_state=0).partial_fit(X, y, classes=[0, 1])
    good = clf.coef_.copy(), clf.intercept_.copy()
    assert np.all(np.isfinite(good[0]))
    with pytest.raises(ValueError, match=r"overflow occurred at epoch #1\. Scaling input"):
        clf.partial_fit(X * 1e300, y)  # the epoch of this call, as scikit-learn counts
    assert np.array_equal(clf.coef_, good[0]) and np.array_equal(clf.intercept_, good[1])
    clf = dn.Perceptron(eta0=1e300, random_state=0)
    with pytest.raises(ValueError, match=r"at epoch #1\."):
        clf.fit(X * 1e300, y)
    assert np.all(np.isfinite(clf.coef_))


@pytest.mark.reliability(
    area="library input", fault="numbers beyond the float range: 10**400, 2**63, ±inf, NaN "
    "as epochs, learning rate, batch size, seed", how="dn.train",
    result="ValueError: too large / must be finite, naming the argument")
@pytest.mark.parametrize(("name", "value", "message"), [
    ("epochs", 10**400, "epochs is too large"), ("epochs", 2**63, "epochs is too large"),
    ("epochs", float("inf"), "epochs must be finite"),
    ("epochs", float("nan"), "epochs must be finite"),
    ("lr", 10**400, "lr is too large"), ("lr", float("inf"), "lr must be finite"),
    ("batch_size", 10**30, "batch_size is too large"),
    ("checkpoint_every", float("inf"), "checkpoint_every must be finite"),
])
def test_numbers_beyond_the_float_range(name, value, message, tmp_path):
    net = dn.Network.layered([2, 3, 1], random_state=0)
    kwargs = {name: value, "checkpoint": tmp_path / "c.ckpt"}
    with pytest.raises(ValueError, match=message):
        dn.train(net, np.ones((4, 2)), np.ones(4), **kwargs)


@pytest.mark.reliability(
    area="command line", fault="whole-number options beyond 64 bits (--epochs, "
    "--batch-size, --patience, --checkpoint-every 10**23)", how="deltanet train",
    result="one line, exit status 2 (was 'unexpected TypeError ... bug')")
@pytest.mark.parametrize("option", ["--epochs", "--batch-size", "--patience",
                                    "--checkpoint-every"])
def test_huge_whole_numbers_on_the_command_line(capsys, tmp_path, option):
    argv = ["train", "iris", "--quiet", "--epochs", "2", "--early-stopping", "--checkpoint",
            str(tmp_path / "c.ckpt"), "--out", str(tmp_path / "m.deltanet"), option, "9" * 23]
    err = one_line_error(capsys, argv)
    assert "is too large" in err
    assert not (tmp_path / "m.deltanet").exists()


def _rewrite_header(path, edit) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    header = json.loads(members["deltanet.json"])
    edit(header)
    members["deltanet.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.mark.reliability(
    area="command line", fault="`--resume` from a damaged checkpoint: not a ZIP, truncated, "
    "another run's, a header with a string epoch, a history that is not a list, a broken "
    "generator state", how="deltanet train --checkpoint FILE --resume",
    result="one line naming the file, exit status 2; no model written")
def test_resume_from_damaged_checkpoints(capsys, tmp_path):
    base = ["train", "xor", "--quiet", "--hidden", "4", "--epochs", "3"]
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "m.deltanet"
    assert main([*base, "--checkpoint", str(ckpt), "--out", str(out)]) == 0
    good = ckpt.read_bytes()
    out.unlink()
    damages = {
        "not a ZIP": lambda: ckpt.write_bytes(b"checkpoint"),
        "truncated": lambda: ckpt.write_bytes(good[: len(good) // 2]),
        "string epoch": lambda: _rewrite_header(ckpt, lambda h: h.update(epoch="2")),
        "history": lambda: _rewrite_header(ckpt, lambda h: h["history"].update(cost=5)),
        "generator": lambda: _rewrite_header(ckpt, lambda h: h["rng"].update(state="x")),
    }
    for what, damage in damages.items():
        ckpt.write_bytes(good)
        damage()
        err = one_line_error(capsys, [*base, "--checkpoint", str(ckpt), "--resume", "--out",
                                      str(out)])
        assert "run.ckpt" in err, (what, err)
        assert not out.exists()
    ckpt.write_bytes(good)
    err = one_line_error(capsys, [*base, "--lr", "0.5", "--checkpoint", str(ckpt), "--resume",
                                  "--out", str(out)])
    assert "belongs to another training run" in err


@pytest.mark.reliability(
    area="command line", fault="a table model whose preprocessing record is damaged: "
    "columns of unknown kind, categories that are not text, no class names, scaler "
    "statistics of the wrong shape", how="deltanet predict",
    result="one line saying to train the model again, exit status 2")
def test_predict_with_a_damaged_preprocessing_record(capsys, tmp_path):
    model = tmp_path / "m.deltanet"
    assert main(["train", "xor", "--quiet", "--hidden", "4", "--epochs", "1", "--out",
                 str(model)]) == 0
    good = model.read_bytes()

    def pre(edit):
        return lambda h: edit(h["metadata"]["cli"]["preprocessing"])

    damages = [pre(lambda p: p["columns"][0].update(kind=[1, 2])),
               pre(lambda p: p["columns"][0].update(kind="categorical", categories=[1])),
               pre(lambda p: p.update(classes=None)),
               pre(lambda p: p["scaler"].update(data_min=[[0.0, 1.0]]))]
    for damage in damages:
        model.write_bytes(good)
        _rewrite_header(model, damage)
        err = one_line_error(capsys, ["predict", str(model), "xor"])
        assert "preprocessing record is damaged" in err and "train the model again" in err
