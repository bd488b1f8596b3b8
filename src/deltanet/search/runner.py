"""Where trials are kept and how they are drawn: Optuna storage, samplers (the grid's
points handed to its trials), pruners, and trials run one after the other in this process
(other processes: :mod:`.workers`).

Every finished trial lives in the storage (an SQLite file by default), so a search that
is stopped, even killed, resumes where it was: it counts the complete and pruned trials
already stored and runs only the rest. A trial that was running when its process died
stops sending heartbeats; Optuna marks it failed once the grace period is over, and it is
never counted.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState

from .._validation import check_choice, fail
from .objective import Objective
from .slots import NoSlot, in_slot
from .space import Dimension, grid_points

SAMPLERS = ("tpe", "nsga2", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
DEFAULT_STORAGE = "sqlite:///deltanet-search.db"
MEMORY = ":memory:"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_S = 5  # a running trial writes a heartbeat this often
GRACE_S = 20  # ... and counts as dead (failed) after this long without one

TrialHook = Callable[[dict[str, Any]], None]


def resolve_storage(storage: str | None) -> str:
    """The storage URL with a relative SQLite path made absolute (worker processes may run
    in another directory). ``":memory:"``, like an SQLite URL without a file, keeps trials
    in this process only."""
    if storage is None:
        storage = DEFAULT_STORAGE
    if not isinstance(storage, str) or not storage:
        fail("storage must be a database URL", storage,
             f"e.g. {DEFAULT_STORAGE!r} or 'postgresql://user@host/db'", TypeError)
    if storage == MEMORY:
        return storage
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(storage)
    except ArgumentError:
        fail("storage is not a database URL", storage,
             f"e.g. {DEFAULT_STORAGE!r}, 'sqlite:////abs/path.db' or 'postgresql://host/db'")
    if url.drivername.startswith("sqlite"):
        if _sqlite_in_memory(url):
            return storage
        url = url.set(database=str(Path(url.database).expanduser().resolve()))
    return url.render_as_string(hide_password=False)


def _sqlite_in_memory(url: Any) -> bool:
    """Whether the SQLite URL ``url`` (parsed) names no file: ``sqlite://``,
    ``sqlite:///:memory:``, ``sqlite:///file::memory:?uri=true``, ``...?mode=memory``."""
    database = url.database or ""
    return (database in ("", MEMORY) or database.startswith("file::memory:")
            or url.query.get("mode") == "memory")


def in_memory(storage: str | None) -> bool:
    """Whether ``storage`` keeps the trials in the memory of this process (``":memory:"``
    or an SQLite URL without a file), where worker processes cannot reach them."""
    if storage == MEMORY:
        return True
    if not isinstance(storage, str):
        return False
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(storage)
    except ArgumentError:
        return False  # not a URL: resolve_storage says so
    return url.drivername.startswith("sqlite") and _sqlite_in_memory(url)


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url`` with heartbeats (so dead trials are detected)."""
    if in_memory(url):  # in SQLite, each thread (the heartbeat's too) would see another one
        return optuna.storages.InMemoryStorage()
    from sqlalchemy.exc import DBAPIError

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(3):
        try:
            # heartbeats are marked experimental in Optuna; the interface used is stable
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=HEARTBEAT_S,
                                                  grace_period=GRACE_S)
        except DBAPIError as err:  # e.g. two processes creating the same new database
            error = err
            time.sleep(0.5 * (attempt + 1))
        except Exception as err:  # unreachable server, missing driver, bad path, ...
            error = err
            break
    text = str(error).strip()
    fail(f"cannot open the storage ({text.splitlines()[0] if text else repr(error)})", url,
         "check the URL, the path's folder and the database driver")


@functools.lru_cache(maxsize=4)
def worker_storage(url: str) -> optuna.storages.BaseStorage:
    """The storage of a worker process, opened once and kept for its next trials."""
    return open_storage(url)


def make_sampler(name: str, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """The sampler called ``name``, seeded, sized for a budget of ``n_trials``."""
    name = check_choice("sampler", name, SAMPLERS)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed,
                                          n_startup_trials=max(3, min(10, n_trials // 3)))
    if name == "nsga2":  # several generations within the budget
        return optuna.samplers.NSGAIISampler(seed=seed,
                                             population_size=max(4, min(50, n_trials // 3)))
    # grid: each trial is given its point (grid_todo, PointSampler); none is drawn
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(name: str, epochs: int, n_trials: int) -> optuna.pruners.BasePruner:
    """Median rule (stop a trial whose curve is worse than the median of earlier trials at
    the same epoch) or Hyperband (successive halving over epoch budgets); or none."""
    name = check_choice("pruner", name, PRUNERS)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=max(2, min(5, n_trials // 5)),
                                           n_warmup_steps=max(1, epochs // 5))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, epochs // 9),
                                              max_resource=epochs, reduction_factor=3)
    return optuna.pruners.NopPruner()


def sampler_seed(random_state: int, n_existing: int, worker: int = 0) -> int:
    """Sampler seed: fresh for a resumed study (so it does not replay the draws of the
    trials already stored) and for each worker task, yet fixed by the search seed."""
    return int(np.random.SeedSequence([int(random_state), n_existing, worker]).generate_state(1)[0])


def open_study(url: str, name: str, directions: list[str], settings: dict[str, Any],
               sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner
               ) -> optuna.Study:
    """Create the study ``name`` or resume it, refusing to mix runs of other settings."""
    storage = open_storage(url)
    try:
        study = optuna.create_study(storage=storage, study_name=name, sampler=sampler,
                                    pruner=pruner, directions=directions, load_if_exists=True)
    except Exception as err:
        fail(f"cannot create or load study {name!r} ({str(err).splitlines()[0]})", url,
             "check the storage URL and the study name")
    wanted = [optuna.study.StudyDirection.MINIMIZE] * len(directions)
    if list(study.directions) != wanted:
        fail(f"study {name!r} has {len(study.directions)} objective(s), this search "
             f"{len(directions)}", url, "use the same objectives to resume, or another study")
    stored = study.user_attrs.get("deltanet")
    if stored is None:
        study.set_user_attr("deltanet", settings)
    else:
        for key, value in settings.items():
            if stored.get(key) != value:
                fail(f"study {name!r} was started with {key}={stored.get(key)!r}, not "
                     f"{value!r}", url, "resume with the same data and settings, or pass "
                     "another study name")
    if not in_memory(url):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
    return study


def count_finished(study: optuna.Study) -> int:
    """Trials that count towards the budget: complete and pruned ones."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def summary(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A plain record of a finished trial (for progress lines and worker results)."""
    return {"number": trial.number, "state": trial.state.name,
            "values": list(trial.values) if trial.values else None,
            "epochs": trial.user_attrs.get("epochs"),
            "network": trial.user_attrs.get("network")}


class _NoInterruptReports(logging.Filter):
    """Drops Optuna's report of a trial stopped by Ctrl-C (a warning with the traceback, then
    "failed with value None"): the command line says "interrupted" itself, in one line."""

    def __init__(self) -> None:
        super().__init__()
        self.trials: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        found = re.match(r"Trial (\d+) failed", record.getMessage())
        if record.exc_info and isinstance(record.exc_info[1], (KeyboardInterrupt, NoSlot)):
            if found:
                self.trials.add(found.group(1))
            return False
        return not (found and found.group(1) in self.trials)


@contextmanager
def no_interrupt_reports() -> Iterator[None]:
    """While running trials, leave Ctrl-C to the caller (see :class:`_NoInterruptReports`)."""
    logger = logging.getLogger("optuna.study._optimize")
    quiet = _NoInterruptReports()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def run_sequential(study: optuna.Study, objective: Objective, n: int, hook: TrialHook,
                   n_trials: int, points: list[dict[str, Any]] | None = None) -> None:
    """``n`` trials one after the other in this process (reproducible with a seed); with
    ``points``, trial ``k`` takes the grid point ``points[k]``. Each runs only in a slot of
    the study's ``n_trials`` (:mod:`.slots`)."""
    report = [lambda s, t: hook(summary(t))]
    with no_interrupt_reports():
        if points is None:
            study.optimize(in_slot(objective, n_trials), n_trials=n, callbacks=report,
                           catch=(NoSlot,))
            return
        for point in points[:n]:
            study.sampler = PointSampler(point)
            study.optimize(in_slot(objective, n_trials, point), n_trials=1, callbacks=report,
                           catch=(NoSlot,))


def grid_todo(study: optuna.Study, space: dict[str, Dimension], wanted: int,
              random_state: int) -> list[dict[str, Any]]:
    """The grid points (:func:`~.space.grid_points`) ``study`` has not tried, in an order
    fixed by ``random_state``: ``wanted`` of them, or fewer when the grid runs out (a
    finished grid has none left).

    A point counts as tried once a trial of it is complete or pruned; one running now
    comes after every untried point; a failed (interrupted) one is tried again.
    """
    points = grid_points(space)
    order = np.random.default_rng(int(random_state)).permutation(len(points))
    trials = study.get_trials(deepcopy=False)
    tried = {_key(t.params) for t in trials if t.state in FINISHED}
    running = {_key(t.params) for t in trials if t.state == TrialState.RUNNING}
    left = [points[i] for i in order if _key(points[i]) not in tried]
    left.sort(key=lambda p: _key(p) in running)  # stable: untried ones first
    return left[:max(0, wanted)]


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


class PointSampler(optuna.samplers.BaseSampler):
    """Gives a trial the parameters of one grid point: the grid search hands each trial
    its point, so that trials running side by side never take the same one."""

    def __init__(self, point: dict[str, Any]) -> None:
        self.point = dict(point)

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, param_name: str,
                           param_distribution: Any) -> Any:
        if param_name not in self.point:
            fail(f"grid point {self.point} has no {param_name!r}", param_name,
                 "this is a bug in deltanet's grid search, please report it")
        return self.point[param_name]
