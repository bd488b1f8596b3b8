"""Trials in other processes: local worker processes (``n_jobs``) or a Dask cluster.

Each worker runs one trial at a time of the study kept in the shared storage, and sends
back its record. Ctrl-C stops a local search within seconds: the trials running are
interrupted (Optuna marks them failed, so they are never counted) and no other starts.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import optuna

from .._validation import fail
from .objective import Objective
from .runner import (
    PointSampler,
    TrialHook,
    make_pruner,
    make_sampler,
    no_interrupt_reports,
    sampler_seed,
    summary,
    worker_storage,
)
from .slots import NoSlot, in_slot

STOP_S = 10  # on Ctrl-C, a worker still running after this long is terminated


@dataclass(frozen=True, eq=False)
class TrialJob:
    """What a worker needs to run one trial of a stored study (picklable)."""

    objective: Objective
    storage: str
    study_name: str
    sampler: str
    pruner: str
    seed: int  # already fresh for this run (see sampler_seed); each task adds its index
    n_trials: int
    points: tuple[dict[str, Any], ...] | None = None  # grid: task k runs points[k]


def run_trial(job: TrialJob, worker: int) -> dict[str, Any]:
    """Run one trial of ``job``'s study in this process; returns its :func:`summary`."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    o = job.objective
    point = None if job.points is None else job.points[worker]
    sampler = (make_sampler(job.sampler, sampler_seed(job.seed, 0, worker + 1), job.n_trials)
               if point is None else PointSampler(point))
    study = optuna.load_study(study_name=job.study_name, storage=worker_storage(job.storage),
                              sampler=sampler, pruner=make_pruner(job.pruner, o.epochs,
                                                                  job.n_trials))
    done: list[dict[str, Any]] = []
    with no_interrupt_reports():
        study.optimize(_interruptible(in_slot(o, job.n_trials, point)), n_trials=1,
                       callbacks=[lambda s, t: done.append(summary(t))], catch=(NoSlot,))
    return done[0]


class _WorkerState:
    """Whether this worker process runs an objective, and whether Ctrl-C has come."""

    in_objective = False
    stopping = False


_WORKER = _WorkerState()


def _on_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C in a worker process: stop the objective running, so that Optuna marks its
    trial failed, and any trial about to start. Between trials (waiting for the next one,
    or while Optuna writes a trial's end) it only notes the request."""
    _WORKER.stopping = True
    if _WORKER.in_objective:
        _WORKER.in_objective = False  # a second Ctrl-C must not cut the record of the first
        raise KeyboardInterrupt


def init_worker(parent: int | None = None) -> None:
    """Set up a local worker process: Ctrl-C handled by :func:`_on_interrupt`, and death
    with the search process ``parent`` (pid): a worker left behind by a killed search would
    go on running trials nobody waits for."""
    signal.signal(signal.SIGINT, _on_interrupt)
    if parent is not None:
        _die_with(parent)


def _die_with(parent: int) -> None:
    """Ask Linux to kill this process when its parent ends (``PR_SET_PDEATHSIG``); if the
    parent has ended already, end now. Elsewhere, a thread watches the parent."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # 1: PR_SET_PDEATHSIG
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _interruptible(objective: Objective) -> Callable[[Any], Any]:
    """``objective`` run so that Ctrl-C reaches it only while it computes (see
    :func:`_on_interrupt`), never inside a call to its trial (:class:`_Shielded`); after
    Ctrl-C, a trial that starts fails at once."""

    def run(trial: Any) -> Any:
        if _WORKER.stopping:
            raise KeyboardInterrupt
        _WORKER.in_objective = True
        try:
            return objective(_Shielded(trial))
        finally:
            _WORKER.in_objective = False

    return run


class _Shielded:
    """A trial whose calls (reports, user attributes, suggestions: writes to the storage)
    Ctrl-C does not cut in the middle, which would leave a database session half done; a
    Ctrl-C that comes during a call is raised as soon as it returns."""

    def __init__(self, trial: Any) -> None:
        self._trial = trial

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._trial, name)
        if not callable(value):
            return value

        def shielded(*args: Any, **kwargs: Any) -> Any:
            _WORKER.in_objective = False
            try:
                result = value(*args, **kwargs)
            finally:
                _WORKER.in_objective = True
            if _WORKER.stopping:
                raise KeyboardInterrupt
            return result

        return shielded


def run_processes(job: TrialJob, n: int, n_jobs: int, hook: TrialHook) -> None:
    """``n`` trials over ``n_jobs`` local worker processes sharing the storage.

    A trial is handed out only when a worker is free, so none waits in a queue; on Ctrl-C
    (or an error) the running trials are interrupted, failed and not counted, within
    seconds (see :func:`stop_workers`).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads/locks
    pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx, initializer=init_worker,
                               initargs=(os.getpid(),))
    running: set = set()
    try:
        for k in range(n):
            if len(running) == n_jobs:
                running = _collect(running, hook)
            with _ctrl_c_ignored():  # a worker process may start here
                running.add(pool.submit(run_trial, job, k))
        while running:
            running = _collect(running, hook)
    except BaseException:  # Ctrl-C or a failed trial: stop the others, start no more
        stop_workers(pool, running)
        raise
    pool.shutdown()


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore Ctrl-C for a moment: a worker process started meanwhile inherits it ignored
    until :func:`init_worker` installs its handler, so that Ctrl-C while it imports is not
    a traceback (this process passes Ctrl-C on to it later, see :func:`stop_workers`)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _collect(running: set, hook: TrialHook) -> set:
    """Wait for one of the ``running`` trials to end and report it; the ones left."""
    from concurrent.futures import FIRST_COMPLETED, wait

    done, running = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        hook(future.result())
    return running


def stop_workers(pool: Any, running: set) -> None:
    """Interrupt the workers of ``pool`` (a ``ProcessPoolExecutor``) and end them.

    Each gets Ctrl-C (again: a worker of the terminal's process group has had it already)
    until its trial has ended, failed by Optuna; a worker still alive after ``STOP_S``
    seconds is terminated, and its trial, left running, is failed by the heartbeat check.
    """
    from concurrent.futures import wait
    from multiprocessing.connection import wait as wait_ended

    processes = list((pool._processes or {}).values())  # the executor gives no public way
    deadline = time.monotonic() + STOP_S
    while running and time.monotonic() < deadline:
        for process in processes:
            _interrupt(process)
        _, running = wait(running, timeout=0.5)
    ended = {p.sentinel: p for p in processes}
    pool.shutdown(wait=False, cancel_futures=True)  # the workers now exit, being idle
    while ended and (left := deadline - time.monotonic()) > 0:
        for sentinel in wait_ended(list(ended), left):
            del ended[sentinel]
    for process in ended.values():
        process.terminate()


def _interrupt(process: Any) -> None:
    """Send Ctrl-C (SIGINT) to a worker process that is still alive."""
    if process.exitcode is None:
        try:
            os.kill(process.pid, signal.SIGINT)
        except OSError:  # it has just ended
            pass


def dask_client(dask: Any) -> tuple[Any, bool]:
    """``(client, owned)``: the Client given, or a new one connected to the address."""
    from distributed import Client

    if isinstance(dask, Client):
        return dask, False
    if not isinstance(dask, str) or not dask:
        fail("dask must be a scheduler address or a distributed.Client", dask,
             "e.g. dask='tcp://10.0.0.5:8786'", TypeError)
    try:
        return Client(dask, timeout=30), True
    except (OSError, TimeoutError) as err:
        fail(f"cannot reach the Dask scheduler ({str(err).splitlines()[0]})", dask,
             "start it with `dask scheduler` and check the address")


def run_dask(job: TrialJob, n: int, dask: Any, hook: TrialHook) -> None:
    """``n`` trials as tasks on a Dask cluster; every worker writes to the shared storage
    (a database URL the workers can reach; an SQLite file only on one machine)."""
    from distributed import as_completed

    client, owned = dask_client(dask)
    try:
        shared = client.scatter(job, broadcast=True)
        futures = [client.submit(run_trial, shared, k, pure=False) for k in range(n)]
        for future in as_completed(futures):
            hook(future.result())
    finally:
        if owned:
            client.close()
