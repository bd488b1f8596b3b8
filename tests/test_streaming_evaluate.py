"""``deltanet evaluate`` on a table read in pieces: only labels, predictions and class
probabilities are kept, and every metric is the in-memory command's, number for number."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deltanet.cli import main

pytest.importorskip("pyarrow")


def _frame(seed: int, n: int, task: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["p", "q", "r"], size=n)})
    signal = frame["a"] + (frame["b"] == "p")
    frame["y"] = (np.array(["low", "mid", "high"])[np.digitize(signal, [0.0, 1.0])]
                  if task == "classification" else 3 * signal + rng.normal(size=n))
    return frame


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_evaluating_in_pieces_gives_the_in_memory_metrics(tmp_path, capsys, task):
    _frame(0, 300, task).to_csv(tmp_path / "train.csv", index=False)
    _frame(1, 700, task).to_parquet(tmp_path / "new.parquet", row_group_size=64)
    assert main(["train", str(tmp_path / "train.csv"), "--target", "y", "--epochs", "3",
                 "--hidden", "6", "--out", str(tmp_path / "m.deltanet"), "--quiet"]) == 0
    runs = []
    for extra in ([], ["--stream"], ["--memory", "1KB"]):
        assert main(["evaluate", str(tmp_path / "m.deltanet"), str(tmp_path / "new.parquet"),
                     "--json", *extra]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0]["rows"] == runs[1]["rows"] == "all"
    assert runs[0]["metrics"] == runs[1]["metrics"] == runs[2]["metrics"]
    assert runs[0]["metrics"]["n"] == 700


def test_importance_is_refused_in_pieces_in_one_line(tmp_path, capsys):
    _frame(0, 100, "classification").to_csv(tmp_path / "t.csv", index=False)
    assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "1",
                 "--out", str(tmp_path / "m.deltanet"), "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "m.deltanet"), str(tmp_path / "t.csv"),
                 "--stream", "--importance"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--importance shuffles the columns" in err
