"""End to end: the real ``deltanet`` command trains, saves, evaluates, predicts and plots.

Predictions of ``deltanet predict`` on raw rows are compared with the network (and with the
scikit-learn-compatible estimator) applied in this process to the same rows coded by the
stored preprocessing.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import deltanet as dn
from deltanet.data import TablePreprocessor
from deltanet.io import read_model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "deltanet.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    return done


def shop_table(n: int, seed: int) -> pd.DataFrame:
    """Numeric, categorical and missing columns; the class depends on age and city."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    city = rng.choice(["Lyon", "Oslo", "Porto"], n).astype(object)
    price = np.round(rng.uniform(5, 50, n), 2)
    bought = np.where((age > 45) ^ (city == "Oslo"), "yes", "no")
    age[rng.random(n) < 0.08] = np.nan
    city[rng.random(n) < 0.08] = None
    return pd.DataFrame({"age": age, "city": city, "price": price, "bought": bought})


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk of a PNG file (checking the signature)."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def network_predictions(model: Path, frame: pd.DataFrame) -> np.ndarray:
    """Class names from the saved network on the rows coded by the saved preprocessing."""
    net, meta = read_model(model)
    pre = TablePreprocessor.from_dict(meta["cli"]["preprocessing"])
    out = net.predict(pre.transform(frame))
    p = out[:, 0] if out.shape[1] == 1 else None
    codes = (p > 0.5).astype(np.int64) if p is not None else np.argmax(out, axis=1)
    return pre.decode_target(codes)


def test_csv_with_categories_and_missing_values(tmp_path):
    shop_table(240, 1).to_csv(tmp_path / "shop.csv", index=False)
    new = shop_table(50, 2)
    new.loc[3, "city"] = "Bergen"  # a category never seen in training: zeros
    new.drop(columns="bought").to_csv(tmp_path / "new.csv", index=False)
    done = run_cli("train", "shop.csv", "--target", "bought", "--impute", "median",
                   "--hidden", "16", "--epochs", "30", "--lr", "0.01", "--plots", "plots",
                   cwd=tmp_path)
    assert "metrics on the test rows" in done.stdout and "accuracy" in done.stdout
    assert "model written to shop.deltanet" in done.stdout
    assert "epoch 30/30" in done.stderr  # the progress bar, drawn once in a pipe
    model = tmp_path / "shop.deltanet"
    predicted = pd.read_csv(io.StringIO(run_cli("predict", "shop.deltanet", "new.csv",
                                                cwd=tmp_path).stdout))
    assert list(predicted.columns) == ["bought"]
    np.testing.assert_array_equal(predicted["bought"].to_numpy(dtype=object),
                                  network_predictions(model, pd.read_csv(tmp_path / "new.csv")))
    for name in ("loss.png", "confusion_matrix.png", "gradient_norms.png"):
        width, height = png_size(tmp_path / "plots" / name)
        assert width > 100 and height > 100
    assert not (tmp_path / "plots" / "decision_regions.png").exists()  # three inputs

    info = json.loads(run_cli("info", "shop.deltanet", "--json", cwd=tmp_path).stdout)
    columns = {c["name"]: c for c in info["preprocessing"]["columns"]}
    assert columns["city"]["kind"] == "categorical"
    assert columns["city"]["categories"] == ["Lyon", "Oslo", "Porto"]
    assert columns["age"]["kind"] == "numeric" and columns["age"]["fill"] is not None
    assert info["preprocessing"]["classes"] == ["no", "yes"]
    assert info["network"]["layers"] == [5, 16, 1]  # age, price, 3 cities
    assert len(info["history"]["loss"]) == 30 and len(info["history"]["val_loss"]) == 30
    assert info["rows"] == {"train": 168, "validation": 24, "test": 48}

    text = run_cli("info", "shop.deltanet", cwd=tmp_path).stdout
    assert "categorical" in text and "history: 30 epochs" in text
    assert "rows: 168 train, 24 validation, 48 test" in text
    scores = json.loads(run_cli("evaluate", "shop.deltanet", "shop.csv", "--json",
                                cwd=tmp_path).stdout)["metrics"]
    # the training table: only its held-out test rows are scored
    assert scores["n"] == 48 and 0.5 <= scores["accuracy"] <= 1.0
    assert np.sum(scores["confusion_matrix"]) == 48


def _estimator(kind, X, y):
    est = kind(hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.001, max_iter=60,
               random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as the command: reported, kept
        return est.fit(X, y)


def test_predict_equals_the_estimator(tmp_path):
    """``--solver lbfgs`` trains with dn.MLPClassifier: the same fit in this process gives
    the same predictions as ``deltanet predict`` on raw rows."""
    shop_table(150, 3).to_csv(tmp_path / "shop.csv", index=False)
    shop_table(40, 4).drop(columns="bought").to_csv(tmp_path / "new.csv", index=False)
    run_cli("train", "shop.csv", "--target", "bought", "--impute", "mean", "--solver", "lbfgs",
            "--hidden", "8", "--epochs", "60", "--alpha", "0.001", "--test-size", "0",
            "--val-size", "0", "--quiet", cwd=tmp_path)
    pre = TablePreprocessor("bought", impute="mean", scale_target=True)
    est = _estimator(dn.MLPClassifier, *pre.fit_transform(pd.read_csv(tmp_path / "shop.csv")))
    X_new = pre.transform(pd.read_csv(tmp_path / "new.csv"))
    labels = pd.read_csv(io.StringIO(run_cli("predict", "shop.deltanet", "new.csv",
                                             cwd=tmp_path).stdout))
    expected = pre.decode_target(est.predict(X_new))
    assert len(set(expected)) == 2  # both classes occur
    np.testing.assert_array_equal(labels["bought"].to_numpy(dtype=object), expected)
    run_cli("predict", "shop.deltanet", "new.csv", "--proba", "--out", "p.csv", cwd=tmp_path)
    proba = pd.read_csv(tmp_path / "p.csv")
    assert list(proba.columns) == ["P(no)", "P(yes)"]
    # the estimator's logistic output is SciPy's expit, the file's is deltanet's stable
    # logistic: they may differ in the last bit
    np.testing.assert_allclose(proba.to_numpy(), est.predict_proba(X_new), rtol=1e-13,
                               atol=1e-15)


def test_regression_predict_equals_the_estimator(tmp_path):
    frame = regression_table(100, 6)
    frame.to_csv(tmp_path / "r.csv", index=False)
    run_cli("train", "r.csv", "--target", "y", "--solver", "lbfgs", "--hidden", "8",
            "--epochs", "60", "--alpha", "0.001", "--test-size", "0", "--val-size", "0",
            "--quiet", cwd=tmp_path)
    pre = TablePreprocessor("y", scale_target=True)
    est = _estimator(dn.MLPRegressor, *pre.fit_transform(pd.read_csv(tmp_path / "r.csv")))
    got = json.loads(run_cli("predict", "r.deltanet", "r.csv", "--json", cwd=tmp_path).stdout)
    values = np.array([row["y"] for row in got["predictions"]])
    X = pre.transform(pd.read_csv(tmp_path / "r.csv"))
    np.testing.assert_array_equal(values, pre.decode_target(est.predict(X)))


def regression_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-3, 3, n), rng.uniform(0, 10, n)
    kind = rng.choice(["a", "b"], n)
    y = 100 + 20 * x1 - 3 * x2 + np.where(kind == "a", 15.0, -15.0)
    return pd.DataFrame({"x1": x1, "x2": x2, "kind": kind, "y": y})


def test_regression_predictions_in_target_units(tmp_path):
    regression_table(120, 5).to_csv(tmp_path / "r.csv", index=False)
    done = run_cli("train", "r.csv", "--target", "y", "--hidden", "8", "--epochs", "40",
                   "--lr", "0.01", "--json", cwd=tmp_path)
    report = json.loads(done.stdout)
    assert report["task"] == "regression" and report["metrics"]["split"] == "test"
    assert set(report["metrics"]) >= {"r2", "mae", "rmse", "n"}
    got = json.loads(run_cli("predict", "r.deltanet", "r.csv", "--json",
                             cwd=tmp_path).stdout)
    values = np.array([row["y"] for row in got["predictions"]])
    net, meta = read_model(tmp_path / "r.deltanet")
    pre = TablePreprocessor.from_dict(meta["cli"]["preprocessing"])
    frame = pd.read_csv(tmp_path / "r.csv")
    np.testing.assert_array_equal(values,
                                  pre.decode_target(net.predict(pre.transform(frame))[:, 0]))
    assert 40 < values.mean() < 160  # in the target's units, not standardised


BUNDLED = ["iris", "wine", "breast_cancer", "digits", "diabetes",
           "xor", "circles", "moons", "spirals", "gaussians"]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_dataset_trains(tmp_path, name):
    done = run_cli("train", name, "--epochs", "2", "--hidden", "8", "--json", cwd=tmp_path)
    report = json.loads(done.stdout)
    assert report["model"] == f"{name}.deltanet" and (tmp_path / f"{name}.deltanet").is_file()
    assert report["task"] == ("regression" if name == "diabetes" else "classification")
    key = "r2" if name == "diabetes" else "accuracy"
    assert report["metrics"][key] is not None and report["history"]["epochs"] == 2
    assert done.stderr == ""  # --json: no progress bar


def test_two_feature_data_get_decision_regions(tmp_path):
    done = run_cli("train", "moons", "--epochs", "3", "--hidden", "8", "--quiet", "--plots",
                   "p", "--out", "m.deltanet", cwd=tmp_path)
    assert done.stdout == "" and done.stderr == ""
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["confusion_matrix.png", "decision_regions.png", "gradient_norms.png",
                     "loss.png"]
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "p" / "decision_regions.png")
    assert image.shape[0] > 300 and image.shape[1] > 300 and image.std() > 0.05


def test_model_and_training_options_reach_the_model_file(tmp_path):
    run_cli("train", "spirals3", "--hidden", "8,8", "--activation", "relu,tanh",
            "--batch-norm", "--dropout", "0.1", "--early-stopping", "--patience", "2",
            "--class-weight", "balanced", "--scale", "standard", "--dtype", "float32",
            "--solver", "momentum", "--lr", "0.01", "--epochs", "6", "--json",
            "--out", "s.deltanet", cwd=tmp_path)
    info = json.loads(run_cli("info", "s.deltanet", "--json", cwd=tmp_path).stdout)
    groups = info["network"]["groups"]
    assert [g["activation"] for g in groups] == ["relu", "tanh", "softmax"]
    assert [g["batch_norm"] for g in groups] == [True, True, False]
    assert info["network"]["dtype"] == "float32"
    assert info["preprocessing"]["scale"] == "standard"
    assert info["training"]["solver"] == "momentum" and info["training"]["dropout"] == 0.1
    got = json.loads(run_cli("predict", "s.deltanet", "spirals3", "--proba", "--json",
                             cwd=tmp_path).stdout)
    assert got["columns"] == ["P(0)", "P(1)", "P(2)"] and len(got["predictions"]) == 500
    sums = [sum(row.values()) for row in got["predictions"]]
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)


def test_datasets_lists_names_and_shapes(tmp_path):
    listed = json.loads(run_cli("datasets", "--json", cwd=tmp_path).stdout)
    shapes = {d["name"]: tuple(d["shape"]) for d in listed}
    assert set(BUNDLED) <= set(shapes)
    assert shapes["iris"] == (150, 4) and shapes["digits"] == (1797, 64)
    table = run_cli("datasets", cwd=tmp_path).stdout
    assert "breast_cancer" in table and "569" in table


@pytest.mark.reliability(
    area="crash safety",
    fault="SIGKILL once the checkpoint exists",
    how="deltanet train, then --resume",
    result="bit for bit the uninterrupted run")
@pytest.mark.slow
def test_resume_after_sigkill_is_bitwise_identical(tmp_path):
    import signal
    import time

    from deltanet.checkpoint import load_checkpoint

    argv = ["train", "digits", "--epochs", "40", "--hidden", "32", "--batch-size", "16",
            "--quiet"]
    run_cli(*argv, "--out", "straight.deltanet", cwd=tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.cli", *argv, "--out",
                             "resumed.deltanet", "--checkpoint", "run.ckpt", "--resume"],
                            cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not (tmp_path / "run.ckpt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert 1 <= load_checkpoint(tmp_path / "run.ckpt").epoch < 40
    assert not (tmp_path / "resumed.deltanet").exists()
    run_cli(*argv, "--out", "resumed.deltanet", "--checkpoint", "run.ckpt", "--resume",
            cwd=tmp_path)
    straight = dn.load(tmp_path / "straight.deltanet")
    resumed = dn.load(tmp_path / "resumed.deltanet")
    assert straight.params.tobytes() == resumed.params.tobytes()
    _, meta = read_model(tmp_path / "resumed.deltanet")
    assert len(meta["cli"]["history"]["loss"]) == 40
