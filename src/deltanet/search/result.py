"""The end of a search: pick the best trial, retrain its network on all the data, save
it, and gather the report (:class:`SearchResult`)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FixedTrial, FrozenTrial, TrialState
from threadpoolctl import threadpool_limits

from .._validation import fail
from ..network import Network
from ..training import TrainingError, train
from . import report
from .objective import Fit, Objective, build_network, make_optimizer, trial_seed
from .space import Config, suggest


@dataclass(eq=False)
class SearchResult:
    """What :func:`deltanet.search` found.

    ``best_value`` is the best cross-validated error (``best_score``: its accuracy for
    classification); ``network`` the best network retrained on all the data; ``pareto``
    the trials on the front of error and parameter count (two objectives).
    """

    study: optuna.Study
    task: str
    classes: list | None
    best_trial: FrozenTrial
    best_params: dict[str, Any]
    best_config: Config
    network: Network
    pareto: list[dict[str, Any]]
    storage: str
    model_path: str | None = None
    plots: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.values[0])

    @property
    def best_score(self) -> float:
        """Cross-validated accuracy (classification) or mean squared error (regression)."""
        return 1.0 - self.best_value if self.task == "classification" else self.best_value

    @property
    def trials(self) -> list[dict[str, Any]]:
        """Every trial that counts (complete and pruned), in order, as plain records."""
        states = (TrialState.COMPLETE, TrialState.PRUNED)
        return [report.trial_record(t, self.task)
                for t in self.study.get_trials(deepcopy=False, states=states)]

    def table(self, top: int = 10) -> Any:
        """Rich table of the ``top`` trials (the Pareto front with two objectives)."""
        multi = len(self.study.directions) > 1
        trials = (report.pareto_front(self.study) if multi
                  else report.ranked(self.study))[:top]
        title = "Pareto front: error and size" if multi else f"Best {len(trials)} trials"
        fixed = {k: v for k, v in self.best_params.items() if k not in self.best_trial.params}
        return report.table(trials, self.task, title, fixed)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON (for ``--json``)."""
        states = {s.name.lower(): 0 for s in TrialState}
        for t in self.study.get_trials(deepcopy=False):
            states[t.state.name.lower()] += 1
        return {"study": self.study.study_name, "storage": self.storage, "task": self.task,
                "trials": states, "best": report.trial_record(self.best_trial, self.task)
                | {"params": self.best_params, "network": self.best_config.describe()},
                "pareto": self.pareto, "model": self.model_path, "plots": self.plots,
                "notes": self.notes}

    def __repr__(self) -> str:
        name = "accuracy" if self.task == "classification" else "mse"
        return (f"SearchResult(study={self.study.study_name!r}, trials={len(self.trials)}, "
                f"best_{name}={self.best_score:.4g}, network={self.best_config.describe()!r})")


def progress_hook(verbose: bool, n_trials: int, callbacks: list,
                  task: str = "classification"):
    """The function called with the record of every finished trial: it runs ``callbacks``
    and, when ``verbose``, prints one line per trial to stderr."""
    for cb in callbacks:
        if not callable(cb):
            fail("callbacks must be functions of a trial record", cb,
                 "e.g. callbacks=[lambda record: print(record['number'])]", TypeError)
    console = None
    if verbose:
        from rich.console import Console

        console = Console(file=sys.stderr, highlight=False)

    def hook(record: dict[str, Any]) -> None:
        for cb in callbacks:
            cb(record)
        if console is not None:
            console.print(report.trial_line(record, n_trials, task))

    return hook


def best_of(study: optuna.Study) -> FrozenTrial:
    """The best complete trial: lowest error (on the Pareto front with two objectives)."""
    front = report.pareto_front(study)
    if not front:
        counts = {s.name.lower(): len(study.get_trials(deepcopy=False, states=(s,)))
                  for s in (TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)}
        fail(f"no trial of study {study.study_name!r} completed", counts,
             "run more trials, use more epochs, or widen the search space")
    return front[0]


def retrain(objective: Objective, trial: FrozenTrial) -> tuple[Config, Network]:
    """The network of ``trial`` trained on all the data for the epochs that gave its best
    validation error (early stopping chosen by cross-validation)."""
    problem = objective.problem
    config = suggest(FixedTrial(trial.params, trial.number), objective.space,
                     objective.shared)
    epochs = int(trial.user_attrs.get("best_epoch") or objective.epochs)
    seed = trial_seed(objective.random_state, trial.number).spawn(len(problem.folds) + 1)[-1]
    fit = Fit(problem, config, np.arange(problem.X.shape[0]), seed)
    try:
        with threadpool_limits(1, user_api="blas"):  # as in the trials
            for _ in range(epochs):
                fit.epoch()
    except TrainingError as err:
        fail(f"retraining the best network on all the data diverged: {err}", trial.number,
             "search again with a smaller learning-rate range")
    net = fit.net if problem.task == "classification" else fit.unscaled_network()
    return config, net


def retrain_stream(objective: Objective, trial: FrozenTrial, stream: Any
                   ) -> tuple[Config, Network]:
    """:func:`retrain` on a stream of every row (a table larger than memory; the trials
    saw a sample): the same network, seeds, optimizer and epochs, trained window by window
    on the targets as the stream gives them."""
    problem = objective.problem
    config = suggest(FixedTrial(trial.params, trial.number), objective.space,
                     objective.shared)
    epochs = int(trial.user_attrs.get("best_epoch") or objective.epochs)
    seed = trial_seed(objective.random_state, trial.number).spawn(len(problem.folds) + 1)[-1]
    init_seed, train_seed = seed.spawn(2)
    net = build_network(problem.X.shape[1], problem.n_outputs, config, problem.task,
                        np.random.default_rng(init_seed))
    loss = "cross_entropy" if problem.task == "classification" else "squared_error"
    try:
        train(net, stream, loss=loss, batch_size=config.batch_size, epochs=epochs,
              optimizer=make_optimizer(config), random_state=np.random.default_rng(train_seed),
              l2=config.l2, dropout=config.dropout or None)
    except TrainingError as err:
        fail(f"retraining the best network on all the data diverged: {err}", trial.number,
             "search again with a smaller learning-rate range")
    return config, net


def finish(study: optuna.Study, objective: Objective, classes: list | None, url: str, *,
           out: str | None, plots: str | None, metadata: dict[str, Any] | None,
           verbose: bool, retrain_on: Any = None) -> SearchResult:
    """Best trial, retrained network (saved to ``out``), Pareto front, plots and table."""
    best = best_of(study)
    config, net = (retrain(objective, best) if retrain_on is None
                   else retrain_stream(objective, best, retrain_on))
    fixed = {k: d.fixed for k, d in objective.space.items() if d.is_fixed}
    params = {**fixed, **best.params}
    front = [report.trial_record(t, objective.problem.task) for t in report.pareto_front(study)]
    result = SearchResult(study, objective.problem.task, classes, best, params, config, net,
                          front, url)
    if out is not None:
        from ..io import save

        info = {"task": result.task, "classes": classes,
                "search": {"study": study.study_name, "storage": url,
                           "trial": best.number, "cv_error": result.best_value,
                           "params": params, "network": config.describe()}}
        result.model_path = str(save(net, out, {**info, **(metadata or {})}))
    if plots is not None:
        result.plots, result.notes = report.plots(study, Path(plots))
    if verbose:
        from rich.console import Console

        Console(file=sys.stderr).print(result.table())
    return result
