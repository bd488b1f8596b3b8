"""``deltanet predict MODEL big.parquet --out p.parquet``: a Parquet table larger than
``--memory`` is predicted batch by batch, with the same predictions as in memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "deltanet.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    city = rng.choice(["Lyon", "Oslo", "Porto"], n).astype(object)
    bought = np.where((age > 45) ^ (city == "Oslo"), "yes", "no")
    age[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"age": age, "city": city, "price": rng.uniform(5, 50, n),
                         "bought": bought})


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    table(300, 0).to_csv(tmp / "shop.csv", index=False)
    run_cli("train", "shop.csv", "--target", "bought", "--epochs", "5", "--hidden", "4",
            "--impute", "mean", "--out", "shop.deltanet", "--quiet", cwd=tmp)
    return tmp / "shop.deltanet"


@pytest.mark.parametrize(("suffix", "proba"), [(".parquet", False), (".csv", True)])
def test_a_table_larger_than_memory_is_predicted_in_batches_as_in_memory(
        tmp_path, model, suffix, proba):
    table(20000, 1).to_parquet(tmp_path / "big.parquet", row_group_size=3000)
    extra = ["--proba"] if proba else []
    run_cli("predict", str(model), "big.parquet", "--out", f"whole{suffix}", *extra,
            cwd=tmp_path)
    done = run_cli("predict", str(model), "big.parquet", "--out", f"streamed{suffix}",
                   "--memory", "100KB", "--json", *extra, cwd=tmp_path)
    assert '"rows": 20000' in done.stdout
    read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
    whole, streamed = read(tmp_path / f"whole{suffix}"), read(tmp_path / f"streamed{suffix}")
    pd.testing.assert_frame_equal(whole, streamed)
    assert not list(tmp_path.glob(".*.part"))
    if suffix == ".parquet":  # written batch by batch: one row group per batch
        import pyarrow.parquet as pq

        assert pq.ParquetFile(tmp_path / "streamed.parquet").num_row_groups > 10
        assert pq.ParquetFile(tmp_path / "whole.parquet").num_row_groups == 1
