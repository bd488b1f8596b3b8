"""``deltanet.search(X, y, ...)``: architecture and hyper-parameter search with Optuna.

Seed 002 (Lecture 07-5c) names the ingredients: a search over architectures by
metaheuristics (here TPE, the genetic algorithm NSGA-II, random and grid search), made
affordable by stopping training early on the trend of the cost (pruning on the learning
curve), by smaller training data (``subsample`` for early trials) and by a learned model
of what performs well (TPE fits one to the finished trials).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import check_array, check_choice, check_number, fail
from .objective import Objective, Problem
from .result import SearchResult, finish, progress_hook
from .runner import (
    count_finished,
    grid_todo,
    in_memory,
    make_pruner,
    make_sampler,
    open_study,
    resolve_storage,
    run_sequential,
    sampler_seed,
)
from .slots import holders, point_key
from .space import make_space
from .workers import TrialJob, run_dask, run_processes

OBJECTIVES = ("error", "params")


def _labels(y: np.ndarray, cv: int) -> tuple[np.ndarray, list]:
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        fail("classification needs at least two classes in y", classes.tolist(),
             "check the target, or pass task='regression'")
    counts = np.bincount(codes)
    if counts.min() < cv:  # the class as the caller wrote it: 'emu' or 2, not np.int64(2)
        fail(f"class {classes.tolist()[np.argmin(counts)]!r} has {counts.min()} examples, "
             f"fewer than the {cv} cross-validation folds", int(counts.min()),
             "lower cv or add examples")
    return codes.astype(np.int64), classes.tolist()


def _task(y: np.ndarray, task: str | None) -> str:
    if task is not None:
        return check_choice("task", task, ("classification", "regression"))
    if y.ndim == 2:
        return "regression"
    if y.dtype.kind == "f":
        check_array("y", y, ndim=1)  # a NaN must not pass as missing, nor become a class
    import pandas as pd

    from ..data.columns import detect_task

    return detect_task(pd.Series(y, name="y"))


def make_problem(X: Any, y: Any, task: str | None, cv: int, random_state: int
                 ) -> tuple[Problem, list | None]:
    """Check the data, code the target and cut the cross-validation folds (stratified by
    class for classification)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    X = check_array("X", X, ndim=2)
    y = np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        fail(f"y must have one value per row of X ({X.shape[0]})", y.shape,
             "pass a 1-D target of the same length as X")
    task = _task(y, task)
    cv = int(check_number("cv", cv, low=2, high=X.shape[0], integer=True))
    classes = None
    if task == "classification":
        if y.ndim != 1:
            fail("classification needs a 1-D y of labels", y.shape, "pass class labels")
        y, classes = _labels(y, cv)
        splitter = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    else:
        y = check_array("y", y, ndim=(1, 2))
        splitter = KFold(cv, shuffle=True, random_state=random_state)
    folds = tuple((tr, va) for tr, va in splitter.split(X, y if y.ndim == 1 else y[:, 0]))
    return Problem(X, y, task, len(classes) if classes else None, folds), classes


def _objectives(objectives: Any) -> tuple[str, ...]:
    if isinstance(objectives, str):
        objectives = [o.strip() for o in objectives.split(",")]
    if not isinstance(objectives, (list, tuple)) or not objectives:
        fail("objectives must be ('error',) or ('error', 'params')", objectives,
             "e.g. objectives=('error', 'params') for a Pareto front", TypeError)
    objectives = tuple(check_choice("objective", o, OBJECTIVES) for o in objectives)
    if objectives not in (("error",), ("error", "params")):
        fail("objectives must be ('error',) or ('error', 'params')", objectives,
             "the cross-validated error always comes first")
    return objectives


def _subsample(subsample: Any, n_trials: int) -> tuple[tuple[float, int] | None, Any]:
    """``(fraction, n_early_trials)`` for the objective, and what the study keeps of it:
    the fraction with the count given, or with the rule ``'first third'``, not the count
    it gives now, so that a study resumed with more trials is the same study (its early
    trials then a third of the new total)."""
    if subsample is None:
        return None, None
    if isinstance(subsample, (tuple, list)) and len(subsample) == 2:
        fraction, early = subsample
        rule = None
    else:
        fraction, early, rule = subsample, max(1, n_trials // 3), "first third"
    fraction = check_number("subsample", fraction, low=0.0, high=1.0, low_open=True,
                            high_open=True)
    early = int(check_number("subsample trials", early, low=1, integer=True))
    return (fraction, early), [fraction, rule or early]


def _n_jobs(n_jobs: Any, dask: Any, url: str) -> int:
    import os

    n_jobs = int(check_number("n_jobs", n_jobs, low=-1, integer=True))
    if n_jobs == 0:
        fail("n_jobs must be >= 1, or -1 for every core", n_jobs, "e.g. n_jobs=2")
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    if dask is not None and n_jobs > 1:
        fail("give n_jobs or dask, not both", n_jobs, "Dask runs one trial per worker thread")
    if in_memory(url) and (n_jobs > 1 or dask is not None):
        fail("in-memory storage cannot be shared by worker processes", url,
             "give an SQLite file or a database URL as storage")
    return n_jobs


def _settings(problem: Problem, space: dict, **extra: Any) -> dict[str, Any]:
    digest = hashlib.sha1(problem.X.tobytes())
    digest.update(np.ascontiguousarray(problem.y).tobytes())
    space_json = {k: [d.choices, d.low, d.high, d.log, d.fixed] for k, d in space.items()}
    settings = {"data": digest.hexdigest()[:16], "task": problem.task,
                "n_examples": int(problem.X.shape[0]), "n_inputs": int(problem.X.shape[1]),
                "n_outputs": problem.n_outputs, "space": space_json, **extra}
    return json.loads(json.dumps(settings))  # plain JSON, as the storage returns it


def search(
    X: Any,
    y: Any,
    *,
    task: str | None = None,
    n_trials: int = 30,
    space: dict[str, Any] | None = None,
    sampler: str = "tpe",
    objectives: str | Sequence[str] = ("error",),
    pruner: str | None = "auto",
    cv: int = 3,
    epochs: int = 40,
    patience: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    n_jobs: int = 1,
    dask: Any = None,
    subsample: float | tuple[float, int] | None = None,
    random_state: int = 0,
    out: str | None = None,
    plots: str | None = None,
    metadata: dict[str, Any] | None = None,
    callbacks: Sequence[Callable[[dict[str, Any]], Any]] = (),
    verbose: bool = False,
    retrain_on: Any = None,
) -> SearchResult:
    """Search network architectures and training settings for ``X → y``.

    Each trial draws a network (hidden groups, widths, activations, skip arcs, batch norm)
    and training settings (optimizer, learning rate, batch size, weight decay, dropout)
    from ``space``, trains it on every cross-validation fold for up to ``epochs`` epochs
    and scores it by the mean validation error (``1 − accuracy`` for classes, mean squared
    error for numbers). The best network is then retrained on all the data.

    Parameters
    ----------
    X : array (n, p)
        Inputs, already scaled (e.g. to [−1, 1]).
    y : array (n,)
        Class labels or numbers (``task`` is inferred when None).
    n_trials : total trials the study should hold (complete + pruned); a resumed study
        runs only the missing ones.
    space : overrides of :data:`deltanet.search.space.DEFAULT_SPACE` by entry name.
    sampler : ``'tpe'``, ``'nsga2'`` (genetic algorithm), ``'random'`` or ``'grid'`` (each
        point once; a search stops when its grid runs out, before ``n_trials``).
    objectives : ``('error',)`` or ``('error', 'params')`` (Pareto front of error and size).
    pruner : ``'median'``, ``'hyperband'``, ``'none'``/None, or ``'auto'`` (median for one
        objective; pruning needs a single objective).
    cv : number of folds; ``epochs`` : epochs per trial; ``patience`` : stop a trial after
        that many epochs without improvement.
    storage : database URL (default ``sqlite:///deltanet-search.db``), or ``':memory:'``
        (like ``'sqlite://'``: trials kept in this process only, so not with ``n_jobs``).
    study_name : default: derived from the data and settings, so rerunning resumes.
    n_jobs : trials in parallel on local processes (-1: every core); ``dask`` : a scheduler
        address or a ``distributed.Client`` to run trials on a Dask cluster.
    subsample : fraction of the training folds used by the first third of the trials, or
        ``(fraction, n_early_trials)``; a study resumed with more trials keeps its early
        trials and goes on.
    random_state : seeds folds, sampler and every trial: a sequential search repeats exactly.
    out : save the best network (retrained on all data) here; ``plots`` : folder for PNGs.
    metadata : extra JSON saved in the model file.
    callbacks : functions called with a record of every trial as it ends (number, state,
        values, epochs, network), e.g. for progress display.
    verbose : print a line per trial and the table of the best trials (on stderr).
    retrain_on : a :class:`deltanet.data.Stream` of every row of a table larger than
        memory, whose sample ``X, y`` the trials used: the best network is retrained on it
        (targets as the stream gives them, e.g. already standardised) instead of on ``X``.

    Examples
    --------
    >>> import deltanet as dn
    >>> ds = dn.load_dataset("iris")
    >>> res = dn.search(ds.X / ds.X.max(0), ds.y, n_trials=3, epochs=5, storage=":memory:",
    ...                 space={"n_groups": 1, "width": [8]})
    >>> len(res.trials)
    3
    """
    import optuna

    random_state = int(check_number("random_state", random_state, low=0, integer=True))
    n_trials = int(check_number("n_trials", n_trials, low=1, integer=True))
    epochs = int(check_number("epochs", epochs, low=1, integer=True))
    if patience is not None:
        patience = int(check_number("patience", patience, low=1, integer=True))
    objectives = _objectives(objectives)
    pruner = _pruner(pruner, objectives)
    sampler = check_choice("sampler", sampler, ("tpe", "nsga2", "random", "grid"))
    space_dims = make_space(space)
    problem, classes = make_problem(X, y, task, cv, random_state)
    url = resolve_storage(storage)
    n_jobs = _n_jobs(n_jobs, dask, url)
    sub, sub_setting = _subsample(subsample, n_trials)
    objective = Objective(problem, space_dims, sampler == "grid", epochs, objectives,
                          random_state, sub, patience)
    settings = _settings(problem, space_dims, objectives=list(objectives), epochs=epochs,
                         cv=cv, patience=patience, subsample=sub_setting,
                         random_state=random_state, grid=sampler == "grid")
    name = study_name or f"deltanet-{settings['data'][:8]}-{_digest(settings)}"
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        hook = progress_hook(verbose, n_trials, list(callbacks), problem.task)
        study = _run(objective, url, name, settings, sampler, pruner, n_trials, n_jobs, dask,
                     random_state, hook)
    finally:
        optuna.logging.set_verbosity(level)
    return finish(study, objective, classes, url, out=out, plots=plots, metadata=metadata,
                  verbose=verbose, retrain_on=retrain_on)


def _pruner(pruner: Any, objectives: tuple[str, ...]) -> str:
    if pruner is None:
        return "none"
    pruner = check_choice("pruner", pruner, ("auto", "median", "hyperband", "none"))
    if pruner == "auto":
        return "median" if len(objectives) == 1 else "none"
    if len(objectives) > 1 and pruner != "none":
        fail("pruning needs a single objective", pruner,
             "pass pruner=None with objectives=('error', 'params')")
    return pruner


def _digest(settings: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


def _run(objective: Objective, url: str, name: str, settings: dict[str, Any], sampler: str,
         pruner: str, n_trials: int, n_jobs: int, dask: Any, random_state: int,
         hook: Callable[[dict[str, Any]], None]):
    """Open (or resume) the study and run trials until it holds ``n_trials`` complete or
    pruned ones (a grid search: or until its grid is done). Each trial needs one of the
    study's ``n_trials`` slots (:mod:`.slots`), so searches killed, restarted or run side
    by side on one study never run more; slots still held by running trials (of another
    search, or of a killed process until Optuna fails them) are waited for."""
    study = open_study(url, name, ["minimize"] * len(objective.objectives), settings,
                       make_sampler(sampler, 0, n_trials),
                       make_pruner(pruner, objective.epochs, n_trials))
    while count_finished(study) < n_trials:
        # a resumed study gets a fresh sampler seed: it must not replay the stored draws
        seed = sampler_seed(random_state, len(study.trials))
        study.sampler = make_sampler(sampler, seed, n_trials)
        missing = n_trials - len(holders(study))
        points = None
        if sampler == "grid":  # no point twice: fewer trials when the grid runs out
            points = grid_todo(study, objective.space, n_trials, random_state)
            if not points:
                break
            free = [p for p in points if point_key(p) not in set(holders(study))]
            points, missing = free[:missing], min(missing, len(free))
        if missing <= 0:
            _wait_for_running(study, url)
            continue
        _run_trials(study, objective, url, name, sampler, pruner, n_trials, n_jobs, dask,
                    seed, hook, missing, points)
    return study


def _wait_for_running(study, url: str) -> None:
    """Every free slot is taken by a running trial: wait a moment, failing those whose
    process has died (no heartbeat within the grace period)."""
    import warnings

    import optuna
    from optuna.exceptions import ExperimentalWarning

    time.sleep(1.0)
    if not in_memory(url):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)


def _run_trials(study, objective: Objective, url: str, name: str, sampler: str, pruner: str,
                n_trials: int, n_jobs: int, dask: Any, seed: int,
                hook: Callable[[dict[str, Any]], None], missing: int,
                points: list[dict[str, Any]] | None) -> None:
    if dask is None and n_jobs == 1:
        run_sequential(study, objective, missing, hook, n_trials, points)
        return
    job = TrialJob(objective, url, name, sampler, pruner, seed, n_trials,
                   None if points is None else tuple(points))
    if dask is not None:
        run_dask(job, missing, dask, hook)
    else:
        run_processes(job, missing, min(n_jobs, missing), hook)
