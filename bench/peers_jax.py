"""JAX on the CPU as its users write it: ``jax.jit`` around a ``lax.scan`` over the updates.

Per-example SGD scans the examples in the given order (one ``jax.grad`` step each, all epochs
in one scan); mini-batch SGD gathers the permuted rows into batches inside the jitted function
and scans over them (the last, shorter batch as one more step). Loss: cross-entropy on the
softmax logits, or the log loss of one logistic output, averaged over the batch, as deltanet.

**Threads.** Each thread count gets its own worker process (``concurrent.futures`` with
``spawn``) whose settings are made before it imports jax, and never in the benchmark's own
process (where deltanet runs):

- ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` at one
  thread (XLA's documented switch for single-threaded CPU code);
- the worker's CPU affinity cut to the first N usable cores (``os.sched_setaffinity``) at N
  threads: XLA sizes its CPU thread pools by the cores the process may use;
- ``jax_enable_x64`` in the workers that run float64 (JAX computes in float32 otherwise).

**Compile time** is kept out of the timing: ``jit(...).lower(...).compile()`` runs first (its
seconds are reported apart), then only the compiled call is timed, with its result awaited
(``block_until_ready``). Data reach the worker once, through a temporary ``.npz`` file.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------- the benchmark's side

_workers: dict[tuple[int, bool], ProcessPoolExecutor] = {}
_files: dict[tuple[int, str], tuple[object, Path]] = {}  # the data kept: its id stays its own
_folder: Path | None = None


def xla_settings(threads: int) -> dict[str, str]:
    """The environment a worker with ``threads`` threads gets before jax loads."""
    if threads == 1:
        return {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    return {}


def _worker(threads: int, x64: bool) -> ProcessPoolExecutor:
    key = (threads, x64)
    if key not in _workers:
        context = multiprocessing.get_context("spawn")
        _workers[key] = ProcessPoolExecutor(1, mp_context=context, initializer=_setup,
                                            initargs=(threads, x64, str(HERE)))
    return _workers[key]


def _data_file(data, dtype) -> Path:
    """The data set written once (per dtype) for the workers to load."""
    global _folder
    key = (id(data), np.dtype(dtype).name)
    if key not in _files:
        if _folder is None:
            _folder = Path(tempfile.mkdtemp(prefix="deltanet-bench-jax-"))
        path = _folder / f"data{len(_files)}.npz"
        np.savez(path, X=data.X.astype(dtype), Y=data.Y.astype(dtype),
                 X_test=data.X_test.astype(dtype), y_test=data.y_test)
        _files[key] = (data, path)
    return _files[key][1]


@atexit.register
def close() -> None:
    """Stop the workers and remove the data files."""
    for pool in _workers.values():
        pool.shutdown(cancel_futures=True)
    _workers.clear()
    _files.clear()
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)


def train(data, layers: list[tuple], orders: np.ndarray, lr: float, hidden: str,
          batch_size: int, dtype, threads: int = 1):
    """Train in a worker; returns ``timing.Outcome`` (seconds exclude compilation, whose
    seconds come as ``compile_seconds`` when this call compiled)."""
    from timing import Outcome

    job = {"path": str(_data_file(data, dtype)), "layers": layers, "order": orders.reshape(-1),
           "lr": lr, "hidden": hidden, "batch_size": batch_size,
           "dtype": np.dtype(dtype).name}
    x64 = np.dtype(dtype) == np.float64
    seconds, compile_seconds, accuracy = _worker(threads, x64).submit(_job, job).result()
    units = orders.size if batch_size == 1 else orders.shape[0]
    return Outcome(seconds, units, accuracy, compile_seconds)


def version() -> str:
    from importlib.metadata import version as installed

    return installed("jax")


# ---------------------------------------------------------------- the worker's side

_cache: dict = {}


def _setup(threads: int, x64: bool, bench: str) -> None:
    """Thread settings, then jax (see the module's docstring)."""
    os.environ.update(xla_settings(threads))
    usable = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, usable[:threads])
    sys.path.insert(0, bench)
    import jax

    jax.config.update("jax_enable_x64", x64)
    jax.config.update("jax_platforms", "cpu")


def _loss(params, x, y, hidden: str):
    import jax
    import jax.numpy as jnp

    a = x
    for W, b in params[:-1]:
        z = a @ W + b
        a = jax.nn.relu(z) if hidden == "relu" else jax.nn.sigmoid(z)
    W, b = params[-1]
    z = a @ W + b
    if z.shape[-1] == 1:  # log loss of a logistic output, from its logit
        per_row = jnp.sum(jnp.logaddexp(0.0, z) - y * z, axis=-1)
    else:
        per_row = -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1)
    return jnp.mean(per_row)


def _sgd(params, grads, lr):
    import jax

    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def per_example(params, X, Y, order, lr, hidden):
    """One SGD step per example, in ``order`` (all epochs in one scan)."""
    import jax
    from jax import lax

    grad = jax.grad(partial(_loss, hidden=hidden))

    def step(params, e):
        return _sgd(params, grad(params, X[e], Y[e]), lr), None

    return lax.scan(step, params, order)[0]


def mini_batch(params, X, Y, order, lr, hidden, batch_size):
    """SGD over the batches of ``order``: rows gathered into (batches, b, n) then scanned."""
    import jax
    from jax import lax

    grad = jax.grad(partial(_loss, hidden=hidden))
    full = order.shape[0] // batch_size * batch_size
    xs = X[order[:full]].reshape(-1, batch_size, X.shape[1])
    ys = Y[order[:full]].reshape(-1, batch_size, Y.shape[1])

    def step(params, batch):
        x, y = batch
        return _sgd(params, grad(params, x, y), lr), None

    params = lax.scan(step, params, (xs, ys))[0]
    if full < order.shape[0]:
        params = step(params, (X[order[full:]], Y[order[full:]]))[0]
    return params


def _job(job: dict) -> tuple[float, float | None, float]:
    import jax
    import jax.numpy as jnp

    import workloads

    dtype = np.dtype(job["dtype"])
    if job["path"] not in _cache:
        with np.load(job["path"]) as f:
            _cache[job["path"]] = {k: f[k] for k in f.files}
            _cache[job["path"]]["device"] = (jax.device_put(f["X"]), jax.device_put(f["Y"]))
    data = _cache[job["path"]]
    X, Y = data["device"]
    params = jax.device_put([(jnp.asarray(W, dtype), jnp.asarray(b, dtype))
                             for W, b in job["layers"]])
    order = jax.device_put(np.asarray(job["order"], np.int32))
    lr = jnp.asarray(job["lr"], dtype)
    key = (job["path"], job["hidden"], job["batch_size"], order.shape,
           tuple(W.shape for W, _ in job["layers"]))
    compile_seconds = None
    if key not in _cache:
        if job["batch_size"] == 1:
            fn = jax.jit(partial(per_example, hidden=job["hidden"]))
        else:
            fn = jax.jit(partial(mini_batch, hidden=job["hidden"],
                                 batch_size=job["batch_size"]))
        start = time.perf_counter()
        _cache[key] = fn.lower(params, X, Y, order, lr).compile()
        compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    params = jax.block_until_ready(_cache[key](params, X, Y, order, lr))
    seconds = time.perf_counter() - start
    a = data["X_test"]
    for W, b in params[:-1]:
        z = a @ np.asarray(W) + np.asarray(b)
        a = np.maximum(z, 0) if job["hidden"] == "relu" else 1 / (1 + np.exp(-z))
    W, b = params[-1]
    logits = a @ np.asarray(W) + np.asarray(b)
    outputs = 1 / (1 + np.exp(-logits)) if logits.shape[1] == 1 else logits
    return seconds, compile_seconds, workloads.accuracy(outputs, data["y_test"])


# ---------------------------------------------------------------- per-example peers for (a)

def run_per_example(w, data, epochs: int, dtype) -> object:
    """(a): JAX from deltanet's start, in deltanet's example order (one thread)."""
    import peers_deltanet

    layers = peers_deltanet.start(w.sizes, "logistic", dtype)
    orders = peers_deltanet.orders(data.X.shape[0], epochs)
    return train(data, layers, orders, w.lr, "logistic", 1, dtype)


def run_torch_compile_per_example(w, data, epochs: int, dtype) -> object:
    """(a): ``torch.compile`` from deltanet's start, in deltanet's example order."""
    import peers_deltanet
    import peers_torch
    import workloads
    from timing import Outcome

    layers = peers_deltanet.start(w.sizes, "logistic", dtype)
    orders = peers_deltanet.orders(data.X.shape[0], epochs)
    X, Y = data.X.astype(dtype), data.Y.astype(dtype)
    model, fast, compile_seconds = peers_torch.compiled(layers, "logistic", X, Y, {1})
    seconds = peers_torch.train(fast, X, Y, w.lr, orders, batch_size=1)
    outputs = peers_torch.predict(model, data.X_test.astype(dtype))
    return Outcome(seconds, orders.size, workloads.accuracy(outputs, data.y_test),
                   compile_seconds)


def per_example_peers() -> list[tuple]:
    """(peer, dtype, runner) rows for ``suite_per_example.PEERS``."""
    return [
        ("jax jit + scan", "float64", partial(run_per_example, dtype=np.float64)),
        ("jax jit + scan", "float32", partial(run_per_example, dtype=np.float32)),
        ("torch.compile", "float32", partial(run_torch_compile_per_example, dtype=np.float32)),
    ]
