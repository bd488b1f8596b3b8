"""``deltanet evaluate``: every metric equal to sklearn.metrics on the same predictions,
honest scoring of the held-out rows, permutation importance of raw columns, and the plots."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from deltanet.cli import main, model_file
from deltanet.cli._source import load_source
from deltanet.io import read_model, save

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(path: Path, min_colours: int = 8) -> None:
    """A valid PNG (signature, IHDR, IEND, CRCs) that is not blank: decoded, it has many
    distinct pixel values."""
    import matplotlib.pyplot as plt

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR" and data.endswith(
        b"IEND\xaeB`\x82")
    pos = 8
    while pos < len(data):
        length, _kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 4:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == \
            zlib.crc32(chunk)
        pos += 12 + length
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 300 and height >= 200
    pixels = plt.imread(path).reshape(-1, 4)
    assert len(np.unique(pixels, axis=0)) >= min_colours


def json_out(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def train(tmp_path: Path, data: str, *extra: str) -> Path:
    out = tmp_path / "model.deltanet"
    assert main(["train", data, "--out", str(out), "--epochs", "5", "--hidden", "8",
                 "--quiet", *extra]) == 0
    return out


def regression_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 5, n)
    colour = rng.choice(["red", "blue"], n)
    return pd.DataFrame({"x": x, "colour": colour, "noise": rng.normal(size=n),
                         "y": 3 * x + (colour == "red") * 2 + rng.normal(0, 0.3, n) + 10})


def _recomputed(model_path: Path, frame: pd.DataFrame):
    model = model_file.read(model_path)
    out = model_file.outputs(model, frame)
    return model, out, model_file.predict_codes(model, out), model.pre.encode_target(frame)


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine"])
def test_classification_json_equals_sklearn_metrics(tmp_path, capsys, dataset):
    model_path = train(tmp_path, dataset)
    doc = json_out(capsys, ["evaluate", str(model_path), dataset, "--all-rows"])
    m = doc["metrics"]
    model, out, pred, y = _recomputed(model_path, load_source(dataset).frame)
    proba = model_file.probabilities(out)
    labels = list(range(len(model.classes)))
    assert m["n"] == len(y) and doc["rows"] == "all"
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred),
                                                   abs=1e-12)
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=labels), abs=1e-12)
    if len(labels) == 2:
        auc = skm.roc_auc_score(y, proba[:, 1])
        brier = skm.brier_score_loss(y, proba[:, 1])
    else:
        auc = skm.roc_auc_score(y, proba, multi_class="ovr")
        brier = skm.brier_score_loss(y, proba, labels=labels)
    assert m["roc_auc"] == pytest.approx(auc, abs=1e-12)
    assert m["brier"] == pytest.approx(brier, abs=1e-12)
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    for k, name in enumerate(model.classes):
        row = m["per_class"][name]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (p[k], r[k], f[k], s[k]), abs=1e-12)
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()


def test_regression_json_equals_sklearn_metrics(tmp_path, capsys):
    regression_frame(300, 0).to_csv(tmp_path / "train.csv", index=False)
    regression_frame(200, 1).to_csv(tmp_path / "other.csv", index=False)
    model_path = train(tmp_path, str(tmp_path / "train.csv"), "--target", "y")
    doc = json_out(capsys, ["evaluate", str(model_path), str(tmp_path / "other.csv")])
    m = doc["metrics"]
    model, _, pred, y = _recomputed(model_path, pd.read_csv(tmp_path / "other.csv"))
    y = model.pre.decode_target(y)
    assert doc["rows"] == "all" and m["n"] == 200
    assert m["r2"] == pytest.approx(skm.r2_score(y, pred), abs=1e-12)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), abs=1e-12)
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), abs=1e-12)
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, pred), abs=1e-12)


def test_training_table_scores_only_held_out_rows_and_says_so(tmp_path, capsys):
    model_path = train(tmp_path, "digits")
    info = read_model(model_path)[1]["cli"]
    doc = json_out(capsys, ["evaluate", str(model_path), "digits"])
    assert doc["rows"] == "test" and doc["metrics"]["n"] == info["rows"]["test"] == 360
    # the same numbers train measured on its test rows
    assert doc["metrics"]["accuracy"] == pytest.approx(info["metrics"]["accuracy"], abs=1e-12)
    assert "held-out test rows" in doc["rows_note"]
    every = json_out(capsys, ["evaluate", str(model_path), "digits", "--all-rows"])
    assert every["rows"] == "all" and every["metrics"]["n"] == 1797
    capsys.readouterr()
    assert main(["evaluate", str(model_path), "digits"]) == 0
    assert "scoring the 360 held-out test rows of 1797" in capsys.readouterr().out


def _blanks_table(seed: int, n: int = 120) -> pd.DataFrame:
    """Whole numbers, names and flags with blanks here and there, and a stretch of rows
    where a column holds blanks alone."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 70, n).astype(object),
                          "city": rng.choice(["Oslo", "Rome", "Lima"], n).astype(object),
                          "price": rng.normal(50, 10, n).round(2),
                          "member": rng.choice([True, False], n).astype(object),
                          "bought": rng.choice(["yes", "no"], n)})
    for column in ("age", "city", "price", "member"):
        frame.loc[rng.choice(n, 8, replace=False), column] = None
    frame.loc[40:59, "city"] = None
    return frame


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_tables_fingerprint_does_not_depend_on_how_it_is_cut_into_pieces(tmp_path, seed):
    """A piece of a column is typed by what it holds (whole numbers with a blank are read
    as floats, a piece of blanks alone as floats): the fingerprint of the CSV read whole
    equals that of the same CSV read in pieces of any size."""
    path = tmp_path / "shop.csv"
    _blanks_table(seed).to_csv(path, index=False)
    whole = pd.read_csv(path)
    expected = model_file.fingerprint(whole)
    for rows in (1, 7, 20, 33, 119):
        digest = None
        for piece in pd.read_csv(path, chunksize=rows):
            digest = digest or model_file.Fingerprint(piece.columns)
            digest.add(piece)
        assert digest.text() == expected, rows
    changed = whole.copy()
    changed.loc[whole["price"].first_valid_index(), "price"] += 0.01
    assert model_file.fingerprint(changed) != expected
    blanked = whole.copy()
    blanked.loc[whole["age"].first_valid_index(), "age"] = None
    assert model_file.fingerprint(blanked) != expected


def test_a_number_hashes_alike_in_a_column_of_numbers_and_in_a_column_of_objects():
    """Whatever type holds it: Python or NumPy numbers and flags among objects, a column of
    integers, floats or flags; and a blank as a blank."""
    cells = [np.int32(3), None, np.float32(0.5), True, 7, 2.25, np.int64(-1), np.nan]
    as_objects = model_file._column_hashes(pd.Series(cells, dtype=object))
    as_floats = model_file._column_hashes(pd.Series([3, None, 0.5, 1, 7, 2.25, -1, None],
                                                    dtype=float))
    assert np.array_equal(as_objects, as_floats)
    assert np.array_equal(model_file._column_hashes(pd.Series([1, 0], dtype=bool)),
                          model_file._column_hashes(pd.Series([1.0, 0.0])))
    assert as_objects[0] != as_objects[2] and as_objects[1] == as_objects[7]


def test_a_table_with_blanks_trained_in_pieces_is_scored_on_its_held_out_rows(tmp_path, capsys):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.integers(18, 70, 300).astype(object),
                          "city": rng.choice(["Oslo", "Rome", "Lima"], 300).astype(object),
                          "price": rng.normal(50, 10, 300).round(2),
                          "bought": rng.choice(["yes", "no"], 300)})
    for column in ("age", "city", "price"):
        frame.loc[rng.choice(300, 10, replace=False), column] = None
    path = tmp_path / "shop.csv"
    frame.to_csv(path, index=False)
    model_path = train(tmp_path, str(path), "--target", "bought", "--impute", "median",
                       "--memory", "2KB")
    capsys.readouterr()
    for extra in ([], ["--stream"]):
        assert main(["evaluate", str(model_path), str(path), *extra]) == 0
        assert "held-out test rows of 300" in capsys.readouterr().out, extra


def test_changed_data_and_old_model_files_score_all_rows(tmp_path, capsys):
    frame = load_source("iris").frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    model_path = train(tmp_path, str(tmp_path / "iris.csv"), "--target", "species")
    assert json_out(capsys, ["evaluate", str(model_path), str(tmp_path / "iris.csv")])[
        "rows"] == "test"
    frame.iloc[:149].to_csv(tmp_path / "fewer.csv", index=False)  # one row less: other data
    doc = json_out(capsys, ["evaluate", str(model_path), str(tmp_path / "fewer.csv")])
    assert doc["rows"] == "all" and doc["metrics"]["n"] == 149
    net, meta = read_model(model_path)  # a model file from before fingerprints
    del meta["cli"]["data"]
    save(net, tmp_path / "old.deltanet", metadata=meta)
    doc = json_out(capsys, ["evaluate", str(tmp_path / "old.deltanet"),
                            str(tmp_path / "iris.csv")])
    assert doc["rows"] == "all" and doc["metrics"]["n"] == 150


def test_importance_of_raw_columns_with_bar_chart(tmp_path, capsys):
    regression_frame(400, 2).to_csv(tmp_path / "train.csv", index=False)
    model_path = tmp_path / "m.deltanet"
    assert main(["train", str(tmp_path / "train.csv"), "--target", "y", "--epochs", "60",
                 "--hidden", "16", "--out", str(model_path), "--quiet"]) == 0
    doc = json_out(capsys, ["evaluate", str(model_path), str(tmp_path / "train.csv"),
                            "--importance", "--plots", str(tmp_path / "plots")])
    importance = doc["importance"]
    assert next(iter(importance)) == "x"  # raw columns, the most important first
    assert set(importance) == {"x", "colour", "noise"}  # not the one-hot inputs
    assert importance["x"]["mean"] > importance["noise"]["mean"]
    check_png(tmp_path / "plots" / "importance.png")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "importance.png", "predicted_vs_true.png", "residuals.png"]
    for name in ("predicted_vs_true.png", "residuals.png"):
        check_png(tmp_path / "plots" / name)


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris"])
def test_classification_plots(tmp_path, capsys, dataset):
    model_path = train(tmp_path, dataset)
    doc = json_out(capsys, ["evaluate", str(model_path), dataset, "--plots",
                            str(tmp_path / "plots")])
    names = sorted(Path(p).name for p in doc["plots"])
    assert names == ["calibration.png", "confusion_matrix.png", "pr.png", "roc.png"]
    for name in names:
        check_png(tmp_path / "plots" / name)


def test_quiet_still_prints_the_numbers(tmp_path, capsys):
    model_path = train(tmp_path, "iris")
    capsys.readouterr()
    assert main(["evaluate", str(model_path), "iris", "--quiet"]) == 0
    lines = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    assert {"accuracy", "balanced_accuracy", "roc_auc", "log_loss", "brier"} <= set(lines)


@pytest.mark.slow
def test_float32_softmax_probabilities_are_scored(tmp_path, capsys):
    # float32 softmax rows sum to 1 only to float32 rounding; log loss still works
    model_path = train(tmp_path, "wine", "--dtype", "float32")
    m = json_out(capsys, ["evaluate", str(model_path), "wine"])["metrics"]
    assert 0 < m["log_loss"] < 10 and 0 <= m["brier"] <= 2 and m["roc_auc"] is not None
