"""The fixed cost of a warm ``dn.train`` call: what one call costs beyond its updates.

    .venv/bin/python bench/fixed_cost.py

Digits 64-32-10 (logistic hidden units, softmax + cross-entropy), per-example SGD. The
network is trained once in the process first (the kernels loaded, the plan's buffers made),
then ``dn.train(net, X, Y, epochs=1)`` is timed many times (CPU time of the thread,
taking turns with the long calls). The fixed cost is

    (median time of a train call with epochs=1) − (updates per epoch × µs per update)

with µs per update from long calls (20 epochs, where the fixed cost is spread thin).
Target (issue 25): at most 50 µs. ``bench/run.py`` section (a) adds this table.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import workloads
from report import Table, number

LONG_EPOCHS = 20
TARGET_US = 50.0


def measure(dtype: type = np.float64, rounds: int = 9, calls: int = 25) -> dict[str, float]:
    """µs per update (long calls), µs per warm one-epoch call and the fixed cost; long and
    one-epoch calls take turns, timed by the thread's CPU time (``thread_time``: on a
    shared machine other processes do not count), medians over all of them."""
    import deltanet as dn

    data = workloads.digits()
    X = np.ascontiguousarray(data.X, dtype=dtype)
    Y = np.ascontiguousarray(data.Y, dtype=dtype)
    net = dn.Network.layered([64, 32, 10], hidden="logistic", output="softmax",
                             random_state=0, dtype=dtype)
    kw = dict(loss="cross_entropy", lr=0.1, batch_size=1, random_state=0)
    dn.train(net, X, Y, epochs=2, **kw)  # load the kernels, build the plan's buffers
    long_runs, one_epoch = [], []
    for _ in range(rounds):
        start = time.thread_time()
        dn.train(net, X, Y, epochs=LONG_EPOCHS, **kw)
        long_runs.append(time.thread_time() - start)
        for _ in range(calls):
            start = time.thread_time()
            dn.train(net, X, Y, epochs=1, **kw)
            one_epoch.append(time.thread_time() - start)
    per_update = float(np.median(long_runs)) / (LONG_EPOCHS * X.shape[0]) * 1e6
    call = float(np.median(one_epoch)) * 1e6
    return {"updates": X.shape[0], "per_update": per_update, "call": call,
            "fixed": call - X.shape[0] * per_update}


def table(results: dict[str, dict[str, float]]) -> Table:
    """One row per dtype."""
    out = Table("(a) fixed cost of a warm train() call, digits 64-32-10, epochs=1",
                ["dtype", "updates", "µs/update (20 epochs)", "µs per call", "fixed µs",
                 "target µs"])
    for dtype, r in results.items():
        out.rows.append([dtype, str(r["updates"]), number(r["per_update"]), number(r["call"]),
                         number(r["fixed"]), number(TARGET_US)])
    out.footer = ("fixed = median CPU time of a warm train(epochs=1) call − updates × "
                  "µs/update of 20-epoch calls (the network trained once in the process "
                  "before; the two kinds of call take turns).")
    return out


def measure_all() -> dict[str, dict[str, float]]:
    """``measure`` for float64 and float32."""
    return {name: measure(dtype) for name, dtype in (("float64", np.float64),
                                                      ("float32", np.float32))}


if __name__ == "__main__":
    print(table(measure_all()).markdown())
