"""Messy tables are read right or refused with the option that helps, never misread.

Generated tables: UTF-8 files with one row in Latin-1 or CP1252 at a random place, numbers
with a decimal comma, dates in CSV text and Parquet datetimes, identifier columns with more
categories than allowed, Parquet list and struct columns, and tables sent through a named
pipe or ``/dev/stdin``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from deltanet.data import DataError, TablePreprocessor, read_table

TOWNS = ["München", "Zürich", "Köln", "Ålesund", "Évora", "Łódź"]


@pytest.mark.reliability(
    area="data files", fault="a UTF-8 CSV with one row in Latin-1 or CP1252 at a random "
    "row", how="read_table", result="DataError naming that first bad row and --encoding "
    "(was: the whole file read as Latin-1, every UTF-8 text misread); with encoding= the "
    "file reads right")
def test_one_row_in_another_encoding_names_its_row(tmp_path, family_cases):
    rng = np.random.default_rng(11)
    for case in range(40):
        n = int(rng.integers(2, 200))
        bad = int(rng.integers(1, n + 1))
        codec = ["latin-1", "cp1252"][case % 2]
        towns = [TOWNS[int(rng.integers(4))] for _ in range(n)]  # all in Latin-1 too
        data = b"town,y\n"
        for row, town in enumerate(towns, start=1):
            data += f"{town},{row % 2}\n".encode(codec if row == bad else "utf-8")
        path = tmp_path / f"t{case}.csv"
        path.write_bytes(data)
        with pytest.raises(DataError, match=rf"is not UTF-8 text \(row {bad} holds .*--encoding"):
            read_table(path)
        if bad == 1 == n:  # the file is all Latin-1: it reads right with its encoding
            assert read_table(path, encoding=codec)["town"].tolist() == towns
    family_cases(40)


def _refused(frame: pd.DataFrame, match: str, **kwargs) -> None:
    with pytest.raises(DataError, match=match):
        TablePreprocessor("y", **kwargs).fit(frame)


@pytest.mark.reliability(
    area="data files", fault="columns that are no numbers nor categories: dates (ISO, "
    "with times and zones, day/month/year) in CSV text and Parquet datetimes, numbers with a "
    "decimal comma, identifiers with more than 100 values, Parquet list and struct columns",
    how="read_table and TablePreprocessor.fit on generated tables",
    result="DataError naming the column and the option that helps (--drop, "
    "--max-categories, --decimal-comma); never one-hot coded")
def test_columns_of_dates_commas_identifiers_and_lists_are_refused(tmp_path, family_cases):
    rng = np.random.default_rng(12)
    cases = 0
    for case in range(15):
        n = int(rng.integers(20, 300))
        y = rng.integers(0, 2, n)
        start = pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(rng.integers(1000)))
        days = [start + pd.Timedelta(hours=int(h)) for h in rng.integers(0, 5000, n)]
        texts = [[d.strftime("%Y-%m-%d") for d in days], [d.isoformat() for d in days],
                 [d.strftime("%d/%m/%Y") for d in days],
                 [d.strftime("%Y-%m-%d %H:%M:%S") for d in days]][case % 4]
        csv = tmp_path / f"d{case}.csv"
        pd.DataFrame({"when": texts, "x": rng.normal(size=n), "y": y}).to_csv(csv, index=False)
        _refused(read_table(csv), r"column 'when' holds dates .*--drop when")
        parquet = tmp_path / f"d{case}.parquet"
        pd.DataFrame({"when": days, "x": rng.normal(size=n), "y": y}).to_parquet(parquet)
        _refused(read_table(parquet), r"column 'when' holds dates .*--drop when")
        values = [f"{v:.2f}".replace(".", ",") for v in rng.normal(size=n)]
        comma = tmp_path / f"c{case}.csv"
        pd.DataFrame({"v": values, "y": y}).to_csv(comma, index=False)
        _refused(read_table(comma), r"column 'v' holds numbers with a decimal comma")
        read = read_table(comma, decimal=",")["v"].to_numpy()
        assert np.allclose(read, [float(v.replace(",", ".")) for v in values])
        ids = pd.DataFrame({"id": [f"c{k}" for k in rng.permutation(n + 101)],
                            "y": rng.integers(0, 2, n + 101)})
        _refused(ids, rf"column 'id' has {n + 101:,} different values.*--drop id.*"
                      rf"--max-categories {n + 101}")
        assert TablePreprocessor("y", max_categories=n + 101).fit(ids).columns_[0].kind \
            == "categorical"
        nested = pd.DataFrame({"tags": [list(rng.integers(0, 9, 2)) for _ in range(n)],
                               "rec": [{"a": int(k)} for k in range(n)], "y": y})
        nested.to_parquet(tmp_path / f"n{case}.parquet")
        frame = read_table(tmp_path / f"n{case}.parquet")
        _refused(frame, r"column 'tags' holds lists or records .*--drop tags")
        _refused(frame, r"column 'rec' holds lists or records", drop=["tags"])
        assert TablePreprocessor("y", drop=["tags", "rec"]).fit(
            frame.assign(x=1.0)).feature_names_out == ["x"]
        with pytest.raises(DataError, match="target column 'tags' holds lists or records"):
            TablePreprocessor("tags").fit(frame)
        cases += 7
    family_cases(cases)


def test_a_named_pipe_and_stdin_are_read(tmp_path):
    table = "x,y\n" + "".join(f"{k},{k % 2}\n" for k in range(50))
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(table,))
    writer.start()
    assert len(read_table(fifo)) == 50
    writer.join(10)
    code = ("import sys; from deltanet.data import read_table; "
            "print(len(read_table('/dev/stdin')))")
    done = subprocess.run([sys.executable, "-c", code], input=table, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "50", done.stderr
    empty = subprocess.run([sys.executable, "-c", code], input="", capture_output=True,
                           text=True, timeout=120)
    assert "gave no data" in empty.stderr


def test_a_closed_stdout_still_writes_the_model(tmp_path):
    out = tmp_path / "m.deltanet"
    done = subprocess.run(f"{sys.executable} -m deltanet.cli train iris --epochs 1 --out {out}"
                          " -q >&-", shell=True, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "stdout is closed" in done.stderr and "Traceback" not in done.stderr
    assert out.exists()
    info = subprocess.run(f"{sys.executable} -m deltanet.cli info {out} >&-", shell=True,
                          capture_output=True, text=True, timeout=300)
    assert info.returncode == 0 and "unexpected" not in info.stderr


def test_epochs_beyond_int64_are_refused_before_training():
    import deltanet as dn

    X = np.zeros((4, 2))
    for epochs in (np.uint64(2**64 - 1), np.uint64(2**63), 2**63, 10**30):
        with pytest.raises(ValueError, match="epochs is too large"):
            dn.train(dn.Network.layered([2, 2, 1]), X, X[:, :1], epochs=epochs)
