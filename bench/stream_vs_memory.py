"""Streamed vs in-memory epochs on the same table (rows per second).

Writes a Parquet table of random rows (``--rows`` rows, ``--features`` feature columns and
one target, row groups of ``--row-group`` rows), then times one epoch of ``dn.train``:

* in memory: the table read into arrays first (the read is not timed), ``train(net, X, y)``;
* streamed: ``train(net, Stream.from_parquet(..., memory=--memory))``, reading the row
  groups (a thread ahead of training) and shuffling within windows of the buffer.

Both runs use the same network, batch size and engine; each is repeated ``--reps`` times,
alternating, and the best time of each is kept. The ratio streamed / in-memory rows per
second is the figure the README quotes (target: at least 0.8).

    .venv/bin/python bench/stream_vs_memory.py --rows 4000000 --memory 200MB
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import deltanet as dn
from deltanet.data import Stream


def write_table(path: Path, rows: int, features: int, group: int) -> None:
    """Random rows written one row group at a time (bounded memory)."""
    rng = np.random.default_rng(0)
    names = [f"x{j}" for j in range(features)] + ["y"]
    schema = pa.schema([(n, pa.float64()) for n in names])
    w = rng.normal(size=features)
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, rows, group):
            X = rng.normal(size=(min(group, rows - start), features))
            y = np.tanh(X @ w) + 0.1 * rng.normal(size=X.shape[0])
            writer.write_table(pa.table(dict(zip(names, [*X.T, y], strict=True))))


def epoch_seconds(data, args, features: int) -> float:
    net = dn.Network.layered([features, *args.hidden, 1], random_state=0)
    X, y = data if isinstance(data, tuple) else (data, None)
    tick = time.perf_counter()
    dn.train(net, X, y, batch_size=args.batch_size, epochs=1, lr=0.01, random_state=0)
    return time.perf_counter() - tick


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=10)
    ap.add_argument("--row-group", type=int, default=100_000)
    ap.add_argument("--hidden", type=int, nargs="*", default=[32])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--memory", default="200MB", help="the streamed run's budget")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.parquet"
        write_table(path, args.rows, args.features, args.row_group)
        stream = Stream.from_parquet(path, target="y", memory=args.memory)
        frame = pq.read_table(path).to_pandas()
        X = frame.drop(columns="y").to_numpy()
        y = frame["y"].to_numpy()
        del frame
        # compile both paths first (in memory, the loop runs several epochs per call)
        epoch_seconds((X[:1000], y[:1000]), args, args.features)
        epoch_seconds(Stream.from_arrays(X[:1000], y[:1000]), args, args.features)
        best = {"memory": np.inf, "stream": np.inf}
        for _ in range(args.reps):
            best["memory"] = min(best["memory"], epoch_seconds((X, y), args, args.features))
            best["stream"] = min(best["stream"], epoch_seconds(stream, args, args.features))
    rate = {k: args.rows / v for k, v in best.items()}
    print(f"table: {args.rows} rows x {args.features + 1} float64 columns, "
          f"row groups of {args.row_group}; network {[args.features, *args.hidden, 1]}, "
          f"batch {args.batch_size}; stream budget {args.memory} "
          f"(shuffle buffer {stream.shuffle_buffer} rows)")
    print(f"in memory: {rate['memory']:,.0f} rows/s   streamed: {rate['stream']:,.0f} rows/s"
          f"   ratio {rate['stream'] / rate['memory']:.2f}")


if __name__ == "__main__":
    main()
