"""``deltanet train`` on a table read in pieces: the preprocessing learned chunk by chunk is
the in-memory one to the last bit, the weights trained with a buffer that holds the table
are the in-memory run's bit for bit, the split is the seeded hash of the row number, and
what cannot be streamed is one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import deltanet as dn
from deltanet.cli import main
from deltanet.data import TablePreprocessor
from deltanet.data.stream import row_hash
from deltanet.io import read_model

pytest.importorskip("pyarrow")


def _table(seed: int, n: int = 600, task: str = "classification") -> pd.DataFrame:
    """Numbers of very different sizes, a text column, a boolean one, missing cells."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "a": rng.normal(size=n) * 10.0 ** rng.integers(-3, 6),
        "b": rng.integers(0, 7, size=n).astype(float),
        "c": rng.choice(["red", "green", "blue", "Blue"], size=n),
        "d": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.exponential(size=n)),
        "e": rng.uniform(size=n) < 0.3,
    })
    frame.loc[rng.uniform(size=n) < 0.05, "c"] = None
    signal = frame["a"] / frame["a"].std() + (frame["c"] == "red")
    frame["y"] = (np.where(signal > 0.3, "yes", "no") if task == "classification"
                  else 1e3 * signal + rng.normal(size=n))
    return frame


def _chunks(frame: pd.DataFrame, rng: np.random.Generator):
    cuts = np.sort(rng.choice(np.arange(1, len(frame)), size=rng.integers(1, 9), replace=False))
    starts = [0, *cuts]
    ends = [*cuts, len(frame)]
    return [(frame.iloc[a:b], np.arange(a, b)) for a, b in zip(starts, ends, strict=True)]


@pytest.mark.parametrize("seed", range(6))
def test_preprocessing_learned_in_chunks_equals_the_in_memory_fit_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    task = ("classification", "regression")[seed % 2]
    frame = _table(seed, task=task)
    options = {"scale": ("minmax", "standard", "standard")[seed % 3],
               "impute": ("mean", "median", "most_frequent")[seed // 2 % 3],
               "scale_target": True}
    whole = TablePreprocessor("y", **options).fit(frame).to_dict()
    pieces = _chunks(frame, rng)
    chunked = TablePreprocessor("y", **options).fit_chunks(frame.columns, lambda: pieces)
    assert chunked.to_dict() == whole  # floats compared exactly


@pytest.mark.parametrize("seed", range(4))
def test_exact_sums_are_correctly_rounded_whatever_the_chunks(seed):
    import math

    from deltanet.data.exact import ExactSum, ValueCounts

    rng = np.random.default_rng(seed)
    x = rng.normal(size=3000) * 10.0 ** rng.integers(-320, 300, size=3000)
    x[:4] = [5e-324, -5e-324, 1e308, -1e308]  # subnormals and the extremes
    whole, pieces = ExactSum(), ExactSum()
    whole.add(x)
    for part in np.array_split(rng.permutation(x), int(rng.integers(2, 40))):
        pieces.add(part)
    assert whole.units == pieces.units
    assert whole.mean(1) == math.fsum(x)  # Σ x rounded once
    counts = ValueCounts()
    values = rng.integers(0, 30, size=int(rng.integers(1, 500))).astype(float)
    for part in np.array_split(values, 3):
        counts.add(part)
    assert counts.median() == np.median(values)


def test_chunked_errors_name_the_row_of_the_whole_table():
    frame = pd.DataFrame({"x": [str(i) for i in range(40)], "y": [i % 2 for i in range(40)]})
    frame.loc[33, "x"] = "twelve"
    pieces = [(frame.iloc[a:a + 10], np.arange(a, a + 10)) for a in range(0, 40, 10)]
    with pytest.raises(ValueError, match="non-numeric text 'twelve' in row 34;"):
        TablePreprocessor("y").fit_chunks(frame.columns, lambda: pieces)
    with pytest.raises(ValueError, match="non-numeric text 'twelve' in row 34;"):
        TablePreprocessor("y").fit(frame)


def _train_rows(n: int, seed: int, val: float, test: float) -> np.ndarray:
    """The hash split as the README states it: test when u < test, validation when
    u < test + validation, training otherwise."""
    return np.flatnonzero(row_hash(np.arange(n), seed) >= test + val)


@pytest.mark.parametrize(("kind", "task"), [("parquet", "classification"),
                                             ("csv", "regression")])
def test_streamed_training_with_the_table_in_the_buffer_gives_the_in_memory_weights(
        tmp_path, kind, task):
    from deltanet.cli import _fit, model_file

    frame = _table(3, n=900, task=task)
    path = tmp_path / f"t.{kind}"
    if kind == "parquet":
        frame.to_parquet(path, row_group_size=128)
    else:
        frame.to_csv(path, index=False)
    args = ["--target", "y", "--impute", "mean", "--hidden", "8", "--epochs", "3",
            "--batch-size", "16", "--seed", "5", "--scale", "standard"]
    assert main(["train", str(path), *args, "--stream", "--shuffle-buffer", "100000",
                 "--out", str(tmp_path / "m.deltanet"), "--quiet"]) == 0
    model = model_file.read(tmp_path / "m.deltanet")
    # the same rows, preprocessing and training in memory
    frame = pd.read_parquet(path) if kind == "parquet" else pd.read_csv(path)
    train = frame.iloc[_train_rows(len(frame), 5, 0.1, 0.2)]
    pre = TablePreprocessor("y", impute="mean", scale="standard", scale_target=True).fit(train)
    assert model.pre.to_dict() == pre.to_dict()
    n_classes = len(pre.classes_) if pre.classes_ else None
    ns = _namespace(hidden=[8], seed=5)
    net = _fit.build_network(len(pre.feature_names_out), ns, pre.task_, n_classes)
    dn.train(net, pre.transform(train), _fit.targets(pre.encode_target(train), pre.task_,
                                                     n_classes),
             loss=_fit.output_layer(pre.task_, n_classes)[2], optimizer="adam", lr=0.001,
             batch_size=16, epochs=3, random_state=5)
    np.testing.assert_array_equal(model.net.params, net.params)
    split = model.info["data"]["split"]
    assert split["method"] == "hash" and split["stratify"] is False
    assert model.info["rows"]["train"] == len(train)


def _namespace(**changes):
    import argparse

    values = {"activation": "relu", "dtype": "float64", "batch_norm": False, **changes}
    return argparse.Namespace(**values)


def test_a_streamed_model_predicts_and_evaluates_like_any_model(tmp_path, capsys):
    frame = _table(1, n=500)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=100)
    assert main(["train", str(tmp_path / "t.parquet"), "--target", "y", "--impute", "median",
                 "--stream", "--epochs", "2", "--hidden", "4",
                 "--out", str(tmp_path / "m.deltanet"), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert sum(trained["rows"].values()) == 500
    assert main(["evaluate", str(tmp_path / "m.deltanet"), str(tmp_path / "t.parquet"),
                 "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["rows"] == "test"  # the held-out rows of the hash split
    assert evaluated["metrics"]["accuracy"] == trained["metrics"]["accuracy"]
    assert main(["evaluate", str(tmp_path / "m.deltanet"), str(tmp_path / "t.parquet"),
                 "--json", "--stream"]) == 0
    streamed = json.loads(capsys.readouterr().out)  # read in pieces: the same numbers
    assert streamed["rows"] == "test"
    assert streamed["metrics"] == evaluated["metrics"]
    assert main(["info", str(tmp_path / "m.deltanet"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["preprocessing"]["task"] == "classification"
    assert info["training"]["stream"]["shuffle_buffer"] > 0
    assert main(["predict", str(tmp_path / "m.deltanet"), str(tmp_path / "t.parquet"),
                 "--out", str(tmp_path / "p.csv"), "--quiet"]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 500


def test_a_streamed_run_with_its_progress_bar_trains_every_epoch(tmp_path, capsys):
    _table(2, n=300).to_parquet(tmp_path / "t.parquet", row_group_size=50)
    assert main(["train", str(tmp_path / "t.parquet"), "--target", "y", "--stream",
                 "--impute", "median", "--epochs", "3", "--hidden", "4",
                 "--out", str(tmp_path / "m.deltanet"),
                 "--shuffle-buffer", "100"]) == 0  # the bar counts each window's rows
    out = capsys.readouterr().out
    assert "model written to" in out
    history = read_model(tmp_path / "m.deltanet")[1]["cli"]["history"]
    assert history["epochs"] == 3 and history["stop_reason"] == "reached the epoch limit (3)"


@pytest.mark.parametrize(("extra", "words"), [
    (["--solver", "lbfgs"], "--solver lbfgs needs the whole table in memory"),
    (["--class-weight", "balanced"], "--class-weight needs every training label"),
    (["--memory", "lots"], "argument --memory: expected a size such as 2GB"),
])
def test_what_cannot_be_streamed_is_one_line(tmp_path, capsys, extra, words):
    _table(2, n=50).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SystemExit) if "--memory" in extra else _no_exit():
        status = main(["train", str(tmp_path / "t.csv"), "--target", "y", "--stream",
                       "--out", str(tmp_path / "m.deltanet"), *extra])
        assert status == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


#: troubleshooting cases that do not read the table in pieces, or differ on purpose
NOT_STREAMED_CASES = ("too few rows to stratify",  # the hash split is never stratified
                      "rows of different lengths",  # pandas words it per piece
                      "unknown dataset name", "bad option value", "resume without",
                      "names a folder", "names a file", "rprop on mini-batches",
                      "early stopping without", "not a size")


def test_every_data_problem_of_the_troubleshooting_table_reads_the_same_in_pieces(
        tmp_path, monkeypatch, capsys):
    import shlex

    from test_cli_errors import ROWS, write_fixtures

    write_fixtures(tmp_path)
    monkeypatch.chdir(tmp_path)
    checked = 0
    for case, command, message in ROWS:
        argv = shlex.split(command)
        if argv[1] != "train" or any(c in case for c in NOT_STREAMED_CASES):
            continue
        status = main([*argv[1:], "--stream"])
        err = capsys.readouterr().err
        assert (status, err.rstrip("\n")) == (2, message), case
        checked += 1
    assert checked >= 20
