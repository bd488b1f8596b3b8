"""What a search reports: the best trials as a Rich table, the Pareto front of error and
size, and plots of the optimisation history, the front and the parameter importances."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials, best first: by error, then by fewer parameters."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sorted(done, key=lambda t: (t.values[0], t.user_attrs.get("n_params", 0), t.number))


def pareto_front(study: optuna.Study) -> list[FrozenTrial]:
    """Trials no other trial beats on both error and parameter count (two objectives),
    sorted by error; with one objective, the best trial."""
    if len(study.directions) == 1:
        return ranked(study)[:1]
    return sorted(study.best_trials, key=lambda t: (t.values[0], t.values[1], t.number))


def trial_record(trial: FrozenTrial, task: str) -> dict[str, Any]:
    """A trial as plain JSON: number, state, error (and accuracy), size, settings."""
    error = trial.values[0] if trial.values else None
    record = {"number": trial.number, "state": trial.state.name, "error": error,
              "n_params": trial.user_attrs.get("n_params"),
              "epochs": trial.user_attrs.get("epochs"),
              "network": trial.user_attrs.get("network"), "params": dict(trial.params)}
    if task == "classification" and error is not None:
        record["accuracy"] = 1.0 - error
    return record


def score_name(task: str) -> str:
    """What every report of a search calls the score: accuracy for classes, else MSE."""
    return "accuracy" if task == "classification" else "MSE"


def trial_line(record: dict[str, Any], n_trials: int, task: str = "classification") -> str:
    """One line for a finished trial (its record from ``runner.summary``), with the score
    named as in the table: cross-validated accuracy (classes) or MSE."""
    value = record["values"][0] if record["values"] else None
    if value is not None and task == "classification":
        value = 1.0 - value
    shown = "-" if value is None else f"{value:.4f}"
    state = record["state"].lower()
    how = " (stopped early by the pruner)" if state == "pruned" else ""
    return (f"trial {record['number']} {state}{how} (of {n_trials}): {score_name(task)} "
            f"{shown} after {record['epochs']} epochs, {record['network']}")


def training_text(params: dict[str, Any]) -> str:
    """The training settings of a trial in one short line."""
    parts = [str(params.get("optimizer", "-"))]
    for key, label in (("lr", "lr"), ("batch_size", "batch"), ("l2", "l2"),
                       ("dropout", "dropout")):
        value = params.get(key)
        if value is not None:
            parts.append(f"{label} {value:.3g}" if isinstance(value, float)
                         else f"{label} {value}")
    return ", ".join(parts)


def table(trials: list[FrozenTrial], task: str, title: str, fixed: dict[str, Any]) -> Any:
    """A Rich table of ``trials``: error (accuracy for classes), size, network, settings
    (``fixed`` gives the settings that were not searched)."""
    from rich.table import Table

    t = Table(title=title)
    score = score_name(task)
    for name in ("trial", score, "params", "epochs"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("network")
    t.add_column("training")
    for trial in trials:
        error = trial.values[0]
        shown = 1.0 - error if task == "classification" else error
        t.add_row(str(trial.number), f"{shown:.4f}", str(trial.user_attrs.get("n_params", "-")),
                  str(trial.user_attrs.get("epochs", "-")), trial.user_attrs.get("network", "-"),
                  training_text({**fixed, **trial.params}))
    return t


def _use_agg() -> None:
    # draw to files without a display; interactive use keeps its own backend
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def _save(ax: Any, path: Path) -> str:
    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    fig.set_size_inches(8, 5)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return str(path)


#: Optuna's legend entries, in the words of the plots' axes
LEGEND = {"Objective Value": "error of a trial", "error": "error of a trial",
          "Best Value": "lowest error so far"}
#: title and axis labels of each search plot (Optuna's defaults name no deltanet quantity)
TITLES = {
    "history": ("Search history: cross-validated error of each complete trial",
                "trial number", "cross-validated error (1 − accuracy, or MSE)"),
    "importances": ("Which settings mattered: fANOVA importance for the error",
                    "share of the error's variance explained", "setting"),
    "pareto": ("Pareto front: cross-validated error against network size",
               "cross-validated error (1 − accuracy, or MSE)", "parameters"),
}


def _retitle(name: str, ax: Any, n_pruned: int) -> None:
    title, xlabel, ylabel = TITLES[name]
    if n_pruned and name != "importances":
        title += f"\n({n_pruned} pruned trial{'s' * (n_pruned != 1)} not shown: stopped early)"
    for side in ("left", "right"):  # Optuna puts its own titles there
        ax.set_title("", loc=side)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    legend = ax.get_legend()
    for text in legend.get_texts() if legend is not None else ():
        text.set_text(LEGEND.get(text.get_text(), text.get_text()))


def plots(study: optuna.Study, folder: str | Path) -> tuple[dict[str, str], list[str]]:
    """Write ``history.png``, ``pareto.png`` (two objectives) and ``importances.png`` to
    ``folder``, each with its own title and axis names; pruned trials, which Optuna leaves
    out, are counted in the title. Returns ``({name: path}, notes)``; a note says why a plot
    was left out."""
    _use_agg()
    from optuna.visualization import matplotlib as vis

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    multi = len(study.directions) > 1
    target = {"target": (lambda t: t.values[0]), "target_name": "error"} if multi else {}
    # fANOVA: a random forest learned on the trials (a learned evaluation function)
    # tells how much of the error's variance each setting explains
    fanova = optuna.importance.FanovaImportanceEvaluator(seed=0)
    jobs = {"history": lambda: vis.plot_optimization_history(study, **target),
            "importances": lambda: vis.plot_param_importances(study, evaluator=fanova,
                                                              **target)}
    if multi:
        jobs["pareto"] = lambda: vis.plot_pareto_front(
            study, target_names=["error", "parameters"])
    n_pruned = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,)))
    out, notes = {}, []
    if n_pruned:
        notes.append(f"{n_pruned} pruned trial(s) (stopped early) are not in the plots")
    for name, draw in jobs.items():
        # Optuna marks its Matplotlib plots experimental; they are only drawn to files here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                ax = draw()
            except (ValueError, RuntimeError, ZeroDivisionError) as err:
                notes.append(f"{name} plot left out: {str(err).splitlines()[0]}")
                continue
        _retitle(name, ax if hasattr(ax, "set_title") else ax.flat[0], n_pruned)
        out[name] = _save(ax, folder / f"{name}.png")
    return out, notes
