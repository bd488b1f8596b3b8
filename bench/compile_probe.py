"""First-call cost in a fresh process: Numba compilation (cold) versus loading the disk cache.

Run as a script, it times, in a new interpreter, the import and the first and second calls of
one target (``deltanet`` or the hand-written ``numba`` loop) on a small digits workload, and
prints one JSON object. ``probe`` runs that script twice against an empty ``NUMBA_CACHE_DIR``:
the first process compiles, the second finds the cache on disk.

    python bench/compile_probe.py deltanet
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _calls(target: str) -> list[tuple[str, object]]:
    """(label, zero-argument call) for each first call to time, in order."""
    import numpy as np

    import workloads
    from suite_per_example import PerExample, run_deltanet, run_numba

    digits = workloads.digits()
    small = workloads.Dataset("digits", digits.X[:64], digits.Y[:64], digits.y[:64],
                              digits.X_test, digits.y_test)
    w = PerExample(small, [64, 32, 10], lr=0.1, epochs=1)
    if target == "deltanet":
        return [
            ("float64", lambda: run_deltanet(w, small, 1, np.float64)),
            ("float32", lambda: run_deltanet(w, small, 1, np.float32)),
        ]
    return [
        ("float64", lambda: run_numba(w, small, 1, np.float64, False)),
        ("float32", lambda: run_numba(w, small, 1, np.float32, False)),
    ]


def main(target: str) -> dict:
    """Time import, first call and second call of each dtype; seconds in a dict."""
    start = time.perf_counter()
    if target == "deltanet":
        import deltanet  # noqa: F401
    else:
        import peers_numba  # noqa: F401
    result = {"import": time.perf_counter() - start}
    for label, call in _calls(target):
        start = time.perf_counter()
        call()
        result[f"first {label}"] = time.perf_counter() - start
        start = time.perf_counter()
        call()
        result[f"second {label}"] = time.perf_counter() - start
    return result


def probe(target: str) -> dict[str, dict]:
    """Two fresh processes sharing one new, empty Numba cache: {"cold": ..., "cached": ...}."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="deltanet-bench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "cached"):
            done = subprocess.run(
                [sys.executable, str(HERE / "compile_probe.py"), target],
                env=env, capture_output=True, text=True, check=False, timeout=600,
            )
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                results[label] = {"error": tail[0][:160]}
            else:
                results[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else "deltanet")))
