"""``deltanet train`` in bounded memory: a ~500 MB table (Parquet, then CSV) trained for
one epoch with ``--memory 100MB``, in a subprocess whose peak resident memory is measured:
it grows by less than 200 MB over the process's size with its libraries loaded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

pytestmark = pytest.mark.slow

FEATURES = [f"x{j}" for j in range(15)]
ROWS_PER_GROUP = 50_000

# the child: libraries loaded and the engine compiled by a small streamed run, then the
# peak reset (clear_refs 5) before the measured run
CHILD = textwrap.dedent("""
    import json, sys
    import numpy, pandas, pyarrow.dataset, pyarrow.parquet, sklearn.metrics, rich.progress
    from deltanet.cli import main

    def peak_and_now():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return (int(fields["VmHWM"].split()[0]) * 1024, int(fields["VmRSS"].split()[0]) * 1024)

    big, small, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    options = ["--target", "y", "--epochs", "1", "--hidden", "8", "--batch-size", "256",
               "--quiet", "--json", "--val-size", "0.05", "--test-size", "0.05"]
    assert main(["train", small, *options, "--stream", "--out", folder + "/small.deltanet"]) == 0
    open("/proc/self/clear_refs", "w").write("5")
    base = peak_and_now()[1]
    status = main(["train", big, *options, "--memory", "100MB",
                   "--out", folder + "/big.deltanet"])
    peak = peak_and_now()[0]
    print(json.dumps({"growth": peak - base, "status": status}))
""")


def _chunks(n_chunks: int, rows: int = ROWS_PER_GROUP):
    rng = np.random.default_rng(0)
    w = rng.normal(size=len(FEATURES))
    for _ in range(n_chunks):
        X = rng.normal(size=(rows, len(FEATURES)))
        y = X @ w + 0.1 * rng.normal(size=rows)
        yield pa.table({**dict(zip(FEATURES, X.T, strict=True)), "y": y})


def _write_parquet(path, n_chunks: int, rows: int = ROWS_PER_GROUP) -> None:
    """Row groups of ``rows`` rows, written one at a time."""
    schema = pa.schema([(c, pa.float64()) for c in [*FEATURES, "y"]])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for table in _chunks(n_chunks, rows):
            writer.write_table(table)


def _write_csv(path, n_chunks: int) -> None:
    with open(path, "wb") as sink:
        for k, table in enumerate(_chunks(n_chunks)):
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=k == 0))


def _run(tmp_path, big) -> dict:
    small = tmp_path / "small.parquet"
    _write_parquet(small, 2, 1000)
    out = subprocess.run([sys.executable, "-c", CHILD, str(big), str(small), str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(big.suffix, got)  # shown with -s: the measured growth
    return got


def test_a_500mb_parquet_table_trains_from_the_command_line_in_bounded_memory(tmp_path):
    big = tmp_path / "big.parquet"
    _write_parquet(big, 74)  # 3.7M rows x 16 float64 columns
    assert big.stat().st_size > 470e6
    got = _run(tmp_path, big)
    assert got["status"] == 0
    assert got["growth"] < 200e6, got


def test_a_500mb_csv_table_trains_from_the_command_line_in_bounded_memory(tmp_path):
    big = tmp_path / "big.csv"
    _write_csv(big, 32)  # 1.6M rows of 16 numbers in full precision
    assert big.stat().st_size > 470e6
    got = _run(tmp_path, big)
    assert got["status"] == 0
    assert got["growth"] < 200e6, got
