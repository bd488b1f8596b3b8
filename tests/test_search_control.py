"""Controlling a search: Ctrl-C in a parallel search, resuming a subsampled search with more trials,
regression errors in the target's units, in-memory SQLite URLs, a grid without repeated
points, and class names in messages."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

import deltanet as dn
from deltanet.cli import main
from deltanet.search.space import make_space

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@pytest.fixture(scope="module")
def iris():
    ds = dn.load_dataset("iris")
    return ds.X / ds.X.max(axis=0), ds.y


def trial_rows(db) -> list[tuple[int, str]]:
    """``(number, state)`` of every trial, read straight from the SQLite file."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            rows = con.execute("SELECT number, state FROM trials ORDER BY number").fetchall()
        con.close()
    except sqlite3.OperationalError:  # not created yet
        return []
    return rows


def workers_recorded(db) -> int:
    """Trials that have recorded their worker process (read-only, while the search runs)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM trial_user_attributes WHERE key = "
                               "'worker'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


# ------------------------------------------------------------------ Ctrl-C with --jobs
@pytest.mark.slow
@pytest.mark.parametrize("to_group", [True, False], ids=["terminal", "main-process"])
def test_ctrl_c_stops_a_parallel_search_within_seconds(tmp_path, to_group):
    # trials of a minute or more: before the fix the queued ones still ran after Ctrl-C
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-m", "deltanet.search", "digits", "--trials", "6", "--epochs",
           "400", "--pruner", "none", "--jobs", "2", "--storage", f"sqlite:///{db}",
           "--space", "n_groups=2", "--space", "width=128", "--space", "batch_size=16",
           "-q"]
    # its own process group, as a terminal, and SIGINT at its default as from a shell (a
    # child inherits an ignored SIGINT, which some libraries leave behind in the test process)
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while [s for _, s in trial_rows(db)].count("RUNNING") < 2:
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the workers started no trial in time"
        time.sleep(0.1)
    while workers_recorded(db) < 2:  # each trial has its slot and has begun training
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the trials did not begin in time"
        time.sleep(0.1)
    time.sleep(1.0)  # well inside the trials
    sent = time.monotonic()
    if to_group:  # Ctrl-C in a terminal: every process of the group gets SIGINT
        os.killpg(proc.pid, signal.SIGINT)
    else:  # e.g. `kill -INT`: only the main process; it must stop its workers
        os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 130 and err.decode() == "deltanet: error: interrupted\n"
    assert took < 10, f"{took:.1f} s from Ctrl-C to exit"
    assert trial_rows(db) == [(0, "FAIL"), (1, "FAIL")]  # none counted, none started after
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{db}")  # its only one
    pids = [int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in study.trials]
    for pid in pids:  # the worker processes are gone too
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# ------------------------------------------------------------------ subsample and resume
def test_a_subsampled_search_resumes_with_more_trials(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'sub.db'}"
    kw = {"epochs": 2, "storage": url, "subsample": 0.5, "space": {"n_groups": 1, "width": [4]}}
    first = dn.search(X, y, n_trials=4, **kw)
    again = dn.search(X, y, n_trials=6, **kw)
    assert again.study.study_name == first.study.study_name  # the same study, resumed
    assert [t.number for t in again.study.trials] == list(range(6))
    assert again.study.trials[0].user_attrs["subsample"] == 0.5  # the early trial kept
    dn.search(X, y, n_trials=3, study_name="mine", **kw)
    mine = dn.search(X, y, n_trials=5, study_name="mine", **kw)  # was refused
    assert len(mine.study.get_trials(states=FINISHED)) == 5
    with pytest.raises(ValueError, match=r"started with subsample=\[0.5, 'first third'\]"):
        dn.search(X, y, n_trials=5, study_name="mine", **{**kw, "subsample": 0.25})


# ------------------------------------------------------------------ regression units
def test_command_line_regression_error_is_in_the_targets_units(tmp_path, capsys):
    out = tmp_path / "dia.deltanet"
    status = main(["search", "diabetes", "--trials", "2", "--epochs", "3", "--storage",
                   f"sqlite:///{tmp_path / 'dia.db'}", "--out", str(out), "--json",
                   "--space", "n_groups=1", "--space", "width=8"])
    assert status == 0
    doc = json.loads(capsys.readouterr().out)
    error = doc["best"]["error"]
    y = dn.load_dataset("diabetes").y
    # a mean squared error in the units of y (variance 5930), not of y standardised (1)
    assert 0.1 < error / y.var() < 3
    from deltanet.cli import model_file

    saved = model_file.read(out).info["search"]["cv_error"]
    assert saved == pytest.approx(error)


# ------------------------------------------------------------------ in-memory SQLite
@pytest.mark.parametrize("storage", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_urls_are_refused_with_jobs(iris, storage, capsys):
    X, y = iris
    with pytest.raises(ValueError, match="in-memory storage cannot be shared"):
        dn.search(X, y, n_trials=2, epochs=1, storage=storage, n_jobs=2)
    status = main(["search", "iris", "--trials", "2", "--epochs", "2", "--storage", storage,
                   "--jobs", "2", "-q"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert f"--storage {storage} keeps the trials in the memory of this process" in err
    # one process: the trials are kept in memory (no heartbeat thread errors)
    res = dn.search(X, y, n_trials=1, epochs=1, storage=storage)
    assert res.to_dict()["trials"]["complete"] == 1


# ------------------------------------------------------------------ grid
GRID_SPACE = {"n_groups": (0, 1), "width": [4, 8], "activation": ["relu"], "skip": ["none"],
              "optimizer": ["adam"], "lr": 0.01, "batch_size": [32], "l2": 1e-4,
              "dropout": 0.0, "batch_norm": [False]}


def test_grid_points_leave_out_what_a_network_without_hidden_groups_ignores():
    from deltanet.search.space import grid_points

    points = grid_points(make_space(GRID_SPACE))
    assert points == [
        {"n_groups": 0, "optimizer": "adam", "batch_size": 32},
        {"n_groups": 1, "width": 4, "activation": "relu", "skip": "none", "optimizer": "adam",
         "batch_size": 32, "batch_norm": False},
        {"n_groups": 1, "width": 8, "activation": "relu", "skip": "none", "optimizer": "adam",
         "batch_size": 32, "batch_norm": False}]
    # range ends stay inside the range (3 × 0.1 is 0.30000000000000004)
    assert make_space({"lr": (0.1, 0.3)})["lr"].grid()[-1] == 0.3


def test_grid_search_runs_each_network_once_and_stops_when_exhausted(iris, tmp_path):
    X, y = iris
    kw = {"sampler": "grid", "n_trials": 6, "epochs": 2, "space": GRID_SPACE, "pruner": None,
          "storage": f"sqlite:///{tmp_path / 'grid.db'}"}
    res = dn.search(X, y, **kw)
    params = [json.dumps(t.params, sort_keys=True) for t in res.study.trials]
    assert len(params) == 3 and len(set(params)) == 3  # 3 networks, though 6 trials asked
    again = dn.search(X, y, **kw)  # the grid is done: no trial repeated
    assert len(again.study.trials) == 3


@pytest.mark.slow
def test_grid_points_are_shared_out_between_worker_processes(iris, tmp_path):
    X, y = iris
    space = {**GRID_SPACE, "lr": (0.001, 0.1, "log")}  # 3 learning rates × 3 networks
    res = dn.search(X, y, sampler="grid", n_trials=20, epochs=2, space=space, pruner=None,
                    storage=f"sqlite:///{tmp_path / 'grid.db'}", n_jobs=2)
    params = [json.dumps(t.params, sort_keys=True) for t in res.study.trials]
    assert len(params) == 9 and len(set(params)) == 9
    assert all(t.state == TrialState.COMPLETE for t in res.study.trials)


# ------------------------------------------------------------------ class names
def test_a_rare_class_is_named_as_the_caller_wrote_it(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (7, 2))
    with pytest.raises(ValueError, match=r"^class 2 has 1 examples, fewer than the 3"):
        dn.search(X, np.array([0, 0, 0, 1, 1, 1, 2]), n_trials=1, epochs=1,
                  storage=":memory:")
    with pytest.raises(ValueError, match=r"^class 'emu' has 1 examples"):
        dn.search(X, np.array(["cat"] * 3 + ["dog"] * 3 + ["emu"]), n_trials=1, epochs=1,
                  storage=":memory:")
    rows = ["a,label"] + [f"{v:.3f},{c}" for v, c in zip(
        rng.uniform(size=20), ["cat"] * 10 + ["dog"] * 9 + ["emu"], strict=True)]
    (tmp_path / "rare.csv").write_text("\n".join(rows) + "\n")
    status = main(["search", str(tmp_path / "rare.csv"), "--target", "label", "--trials", "1",
                   "--epochs", "1", "--storage", f"sqlite:///{tmp_path / 'r.db'}", "-q"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "class 'emu' of column 'label' has 1 row, fewer than the 3" in err
    assert "np.int64" not in err
