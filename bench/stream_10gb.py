"""One epoch over a Parquet table of more than 10 GB under a 2 GB memory budget.

Writes a table of random float64 rows (``--features`` feature columns and one target,
``y = X w + noise``) to ``--dir``, row group by row group, until it holds ``--gb`` GB of
rows; then a child process trains a small regression network for one epoch on
``Stream.from_parquet(path, target="y", memory=--memory)`` and reports its peak resident
memory (``VmHWM`` from ``/proc/self/status``: the whole process, imports and compiled
kernels included), the rows trained and the seconds the epoch took. The table is deleted at
the end (also after an error). The record of a run is ``bench/STREAM_10GB.md``.

    nice -n 10 .venv/bin/python bench/stream_10gb.py --dir /tmp --gb 10.5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_table(path: Path, gb: float, features: int, group: int, pool: int,
                seed: int = 0) -> dict:
    """Rows written one row group at a time (bounded memory), uncompressed so that the file
    holds the bytes of the rows; returns the rows, bytes and seconds. The row groups cycle
    through ``pool`` distinct blocks of random rows (drawing 10 GB of normal numbers would
    cost more than the epoch; reading and training cost the same for repeated rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"x{j}" for j in range(features)] + ["y"]
    schema = pa.schema([(n, pa.float64()) for n in names])
    w = rng.normal(size=features) / np.sqrt(features)
    blocks = []
    for _ in range(pool):
        cols = rng.standard_normal(size=(features, group))  # one row per column
        y = w @ cols + 0.1 * rng.standard_normal(group)
        blocks.append(pa.Table.from_arrays([*cols, y], schema=schema))
    row_bytes = 8 * (features + 1)
    rows = int(np.ceil(gb * 1e9 / row_bytes / group)) * group
    started = time.perf_counter()
    with pq.ParquetWriter(path, schema, compression="none", use_dictionary=False) as writer:
        for k in range(rows // group):
            writer.write_table(blocks[k % pool], row_group_size=group)
    return {"rows": rows, "row_bytes": row_bytes, "data_bytes": rows * row_bytes,
            "file_bytes": path.stat().st_size, "write_s": time.perf_counter() - started}


def peak_rss() -> int:
    """The process's peak resident memory in bytes (VmHWM)."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmHWM"].split()[0]) * 1024


def train_child(path: str, memory: str, hidden: int, batch: int) -> dict:
    """One epoch of ``dn.train`` on the stream (run in a child process)."""
    import deltanet as dn
    from deltanet.data import Stream

    stream = Stream.from_parquet(path, target="y", memory=memory)
    net = dn.Network.layered([stream.n_features, hidden, 1], "tanh", "identity",
                             random_state=0)
    # compile the kernels on a few rows first, so that the epoch's time is the epoch's
    warm = Stream.from_arrays(np.zeros((2 * batch, stream.n_features)), np.zeros(2 * batch))
    dn.train(dn.Network.layered([stream.n_features, hidden, 1], "tanh", "identity",
                                random_state=0), warm, batch_size=batch, epochs=1,
             optimizer="adam", lr=1e-3, random_state=0)
    started = time.perf_counter()
    hist = dn.train(net, stream, batch_size=batch, epochs=1, optimizer="adam", lr=1e-3,
                    random_state=0)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "updates": hist.updates, "cost": hist.cost[-1],
            "engine": hist.engine, "peak_rss": peak_rss(), "shuffle_buffer":
            stream.shuffle_buffer, "memory_budget": stream.memory,
            "row_groups": len(stream.pieces)}


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--gb", type=float, default=10.5)
    ap.add_argument("--features", type=int, default=255)
    ap.add_argument("--row-group", type=int, default=16384)
    ap.add_argument("--memory", default="2GB")
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--pool", type=int, default=8)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(train_child(args.child, args.memory, args.hidden, args.batch)))
        return
    path = Path(args.dir) / f"deltanet-stream-{os.getpid()}.parquet"
    try:
        table = write_table(path, args.gb, args.features, args.row_group, args.pool)
        print(json.dumps(table), flush=True)
        done = subprocess.run([sys.executable, __file__, "--child", str(path), "--memory",
                               args.memory, "--hidden", str(args.hidden), "--batch",
                               str(args.batch)], capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        path.unlink(missing_ok=True)
    rows = table["rows"]
    result.update(table, rows_per_s=rows / result["seconds"],
                  bytes_per_s=table["data_bytes"] / result["seconds"],
                  cpu=cpu_model(), cores=os.cpu_count(), load=os.getloadavg(),
                  date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  command=" ".join(sys.argv), python=platform.python_version(),
                  numpy=np.__version__)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
