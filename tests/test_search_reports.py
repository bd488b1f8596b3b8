"""What ``deltanet search`` reports: the best network saved as train saves it (and where),
one name for the score in progress lines and table, and plots with their own titles that
count the pruned trials."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest

from deltanet.cli import model_file
from deltanet.search import report


@pytest.mark.slow
def test_search_without_out_saves_name_deltanet_and_names_the_score(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "deltanet.cli", "search", "iris", "--trials", "2", "--epochs",
         "2", "--cv", "2", "--space", "n_groups=1", "--space", "width=4",
         "--storage", f"sqlite:///{tmp_path / 's.db'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "saved to iris.deltanet" in done.stdout
    model = model_file.read(tmp_path / "iris.deltanet")
    assert model.task == "classification" and model.info["search"]["trial"] in (0, 1)
    progress = [line for line in done.stderr.splitlines() if line.startswith("trial ")]
    assert len(progress) == 2 and all(": accuracy " in line for line in progress)
    assert " error " not in done.stderr
    assert "accuracy" in done.stdout.split("study ")[0]  # the table's column
    # every row trained the saved network: evaluate on that table says so
    scored = subprocess.run([sys.executable, "-m", "deltanet.cli", "evaluate", "iris.deltanet",
                             "iris", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert scored.returncode == 0 and "n 150" in scored.stdout
    assert "every row of this table trained the model" in scored.stderr


def _study(n_complete: int, n_pruned: int) -> optuna.Study:
    study = optuna.create_study(directions=["minimize", "minimize"])
    dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
            "width": optuna.distributions.IntDistribution(2, 64)}
    for k in range(n_complete):
        study.add_trial(optuna.trial.create_trial(
            params={"lr": 10 ** (-1 - 3 * k / n_complete), "width": 2 + 5 * k},
            distributions=dist, values=[0.5 - 0.02 * k + 0.01 * (k % 3), 20.0 + 50 * k]))
    for k in range(n_pruned):
        study.add_trial(optuna.trial.create_trial(
            params={"lr": 0.01, "width": 8 + k}, distributions=dist,
            state=optuna.trial.TrialState.PRUNED))
    return study


def test_search_plots_have_own_titles_and_count_pruned_trials(tmp_path, monkeypatch):
    titles, legends = {}, {}

    def keep(ax, path):
        ax = ax if hasattr(ax, "get_title") else ax.flat[0]
        titles[path.name] = (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
        legend = ax.get_legend()
        legends[path.name] = [t.get_text() for t in legend.get_texts()] if legend else []
        assert ax.get_title(loc="left") == ax.get_title(loc="right") == ""
        return str(path)

    monkeypatch.setattr(report, "_save", keep)
    paths, notes = report.plots(_study(12, 3), tmp_path)
    assert set(paths) == {"history", "importances", "pareto"}
    assert "3 pruned trial(s) (stopped early) are not in the plots" in notes
    for name in ("history.png", "pareto.png"):
        title, xlabel, ylabel = titles[name]
        assert "3 pruned trials not shown" in title
        assert "Objective Value" not in (title, xlabel, ylabel)
        assert "Optimization History Plot" not in title
    assert titles["history.png"][0].startswith("Search history")
    assert legends["history.png"][0] == "error of a trial"  # not Optuna's "Objective Value"
    assert set(legends["history.png"]) <= {"error of a trial", "lowest error so far"}
    assert titles["pareto.png"][0].startswith("Pareto front")
    assert titles["importances.png"][0].startswith("Which settings mattered")


def test_progress_line_uses_the_tables_score_name():
    record = {"number": 4, "state": "COMPLETE", "values": [0.25], "epochs": 7,
              "network": "16 relu"}
    assert report.trial_line(record, 10, "classification") == (
        "trial 4 complete (of 10): accuracy 0.7500 after 7 epochs, 16 relu")
    assert report.trial_line(record, 10, "regression").startswith(
        "trial 4 complete (of 10): MSE 0.2500")
    pruned = {**record, "state": "PRUNED", "values": None}
    assert "pruned (stopped early by the pruner)" in report.trial_line(pruned, 10)
