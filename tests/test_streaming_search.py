"""``deltanet search`` on a table read in pieces: the trials run on a seeded sample of the
rows that fits the memory budget, the best network is retrained on every row, and the model
file works with predict and evaluate like any other."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deltanet.cli import main, model_file

pytest.importorskip("optuna")
pytest.importorskip("pyarrow")


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_search_samples_rows_for_the_trials_and_retrains_on_every_row(tmp_path, capsys, task):
    rng = np.random.default_rng(4)
    n = 2400
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], size=n)})
    signal = frame["a"] + (frame["b"] == "u")
    frame["y"] = np.where(signal > 0.5, "hi", "lo") if task == "classification" \
        else 100 + 20 * signal + rng.normal(size=n)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=300)
    assert main(["search", str(tmp_path / "t.parquet"), "--target", "y", "--trials", "2",
                 "--epochs", "2", "--cv", "2", "--storage", ":memory:", "--memory", "100KB",
                 "--stream",
                 "--space", "n_groups=1", "--space", "width=4", "--space", "optimizer=adam",
                 "--out", str(tmp_path / "m.deltanet"), "--json"]) == 0
    capsys.readouterr()
    model = model_file.read(tmp_path / "m.deltanet")
    sampled = model.info["search"]["trial_rows"]
    assert 0 < sampled < n / 2  # a sample of about 100KB / 4 of coded rows
    assert model.info["rows"]["train"] == model.info["data"]["n_rows"] == n
    assert main(["evaluate", str(tmp_path / "m.deltanet"), str(tmp_path / "t.parquet"),
                 "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["n"] == n
    assert (metrics["accuracy"] > 0.7) if task == "classification" else (metrics["r2"] > 0.5)
