"""Streaming in bounded memory: a ~500 MB table trained for one epoch under a 100 MB budget,
in a subprocess whose peak resident memory is measured (growth below 200 MB), from a CSV
file and from a Dask DataFrame on a LocalCluster (Parquet files: the estimators' bounded fit
and the command line's tests)."""

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

ROWS_PER_CHUNK = 250_000
COLUMNS = ["a", "b", "c", "y"]

# the child: kernels compiled and the peak reset (clear_refs 5) before the measured epoch
CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np, deltanet as dn
    from deltanet.data import Stream

    def peak_and_now():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return (int(fields["VmHWM"].split()[0]) * 1024, int(fields["VmRSS"].split()[0]) * 1024)

    kind, path = sys.argv[1], sys.argv[2]
    net = dn.Network.layered([3, 8, 1], random_state=0)
    warm = Stream.from_arrays(np.zeros((64, 3)), np.zeros(64))
    dn.train(net, warm, batch_size=32, epochs=1, lr=0.01, random_state=0)
    client = None
    if kind == "parquet":
        stream = Stream.from_parquet(path, target="y", memory="100MB")
    elif kind == "csv":
        stream = Stream.from_csv(path, target="y", chunk_rows=200_000, memory="100MB")
    else:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
        cluster = LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                               dashboard_address=None)
        client = Client(cluster)
        stream = Stream.from_dask(dd.read_parquet(path, split_row_groups=True),
                                  target="y", memory="100MB")
    open("/proc/self/clear_refs", "w").write("5")
    base = peak_and_now()[1]
    hist = dn.train(net, stream, batch_size=32, epochs=1, lr=0.01, random_state=0)
    peak = peak_and_now()[0]
    if client is not None:
        client.close(); cluster.close()
    print(json.dumps({"growth": peak - base, "rows": hist.updates * 32,
                      "cost": hist.cost[-1]}))
""")


def _write_parquet(path, n_chunks: int) -> int:
    """A table of ``n_chunks`` row groups of random rows, written chunk by chunk."""
    rng = np.random.default_rng(0)
    schema = pa.schema([(c, pa.float64()) for c in COLUMNS])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for _ in range(n_chunks):
            X = rng.normal(size=(ROWS_PER_CHUNK, 3))
            y = X @ np.array([0.5, -1.0, 0.25]) + 0.1 * rng.normal(size=ROWS_PER_CHUNK)
            cols = [*X.T, y]
            writer.write_table(pa.table(dict(zip(COLUMNS, cols, strict=True))))
    return n_chunks * ROWS_PER_CHUNK


def _write_csv(path, n_chunks: int) -> int:
    """Random numbers in full precision (shortest round-trip digits), written by Arrow's CSV
    writer chunk by chunk."""
    rng = np.random.default_rng(0)
    with open(path, "wb") as sink:
        for k in range(n_chunks):
            X = rng.normal(size=(ROWS_PER_CHUNK, 4))
            pacsv.write_csv(pa.table(dict(zip(COLUMNS, X.T, strict=True))), sink,
                            pacsv.WriteOptions(include_header=k == 0))
    return n_chunks * ROWS_PER_CHUNK


def _run(kind: str, path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True,
                         text=True, timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(kind, got)  # shown with -s: the measured growth
    return got


def test_a_500mb_dask_dataframe_trains_in_bounded_memory(tmp_path):
    # Parquet files straight from Stream.from_parquet: test_estimators_stream's bounded fit;
    # Parquet and CSV files from the command line: test_streaming_cli_memory.
    kind = "dask"
    path = tmp_path / "big.parquet"
    rows = _write_parquet(path, 64)  # 16M rows x 4 float64 columns = 512 MB on disk
    assert path.stat().st_size > 500e6
    got = _run(kind, path)
    assert got["rows"] >= rows - 32 * 64  # every row seen (a short last batch per window)
    assert got["growth"] < 200e6, got
    assert np.isfinite(got["cost"])


def test_a_500mb_csv_table_trains_in_bounded_memory(tmp_path):
    path = tmp_path / "big.csv"
    rows = _write_csv(path, 26)  # 6.5M rows of 4 numbers in full precision: ~ 20 MB a chunk
    assert path.stat().st_size > 500e6
    got = _run("csv", path)
    assert got["rows"] >= rows - 32 * 64
    assert got["growth"] < 200e6, got
