"""Searches in real processes: killed and resumed from its SQLite file, run on a real Dask
cluster, and driven from the command line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

import deltanet as dn

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def search_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "deltanet.search", *args]


def count_finished_rows(db) -> int:
    """Complete + pruned trials, read straight from the SQLite file (read-only)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            row = con.execute("SELECT count(*) FROM trials WHERE state IN "
                              "('COMPLETE', 'PRUNED')").fetchone()
    except sqlite3.OperationalError:  # the search has not created its tables yet
        return 0
    finally:
        con.close() if "con" in locals() else None
    return int(row[0])


def snapshot(url: str, name: str) -> dict[int, tuple]:
    study = optuna.load_study(study_name=name, storage=url)
    return {t.number: (t.state, t.params, t.values, t.user_attrs["epochs"])
            for t in study.get_trials(states=FINISHED)}


@pytest.mark.reliability(
    area="crash safety",
    fault="SIGKILL of a search after 3 finished trials",
    how="python -m deltanet.search, then the same command",
    result="no trial lost, changed or repeated; the dead trial never counted")
@pytest.mark.slow
def test_a_killed_search_resumes_without_losing_or_repeating_trials(tmp_path):
    db = tmp_path / "search.db"
    url = f"sqlite:///{db}"
    cmd = search_command("digits", "--trials", "10", "--epochs", "6", "--storage", url,
                         "--study", "killed", "--space", "n_groups=1:2", "--space",
                         "width=8:32:log", "--quiet")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while count_finished_rows(db) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the search finished no trial in time"
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no clean-up, a trial may be left RUNNING
    proc.wait()
    proc.stderr.close()
    before = snapshot(url, "killed")
    assert 3 <= len(before) < 10

    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = snapshot(url, "killed")
    assert len(after) == 10  # the total asked, counting the trials stored before the kill
    assert {n: after[n] for n in before} == before  # none lost, none changed
    params = [json.dumps(p, sort_keys=True) for _, p, _, _ in after.values()]
    assert len(set(params)) == 10  # none repeated
    study = optuna.load_study(study_name="killed", storage=url)
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(len(numbers)))
    unfinished = [t for t in study.trials if t.state not in FINISHED]
    assert len(unfinished) <= 1  # the trial running when the process died, never counted
    assert all(t.state in (TrialState.RUNNING, TrialState.FAIL) for t in unfinished)


@pytest.mark.slow
def test_trials_run_on_a_local_dask_cluster_into_one_study(tmp_path):
    from distributed import Client, LocalCluster

    ds = dn.load_dataset("iris")
    X, y = ds.X / ds.X.max(axis=0), ds.y
    url = f"sqlite:///{tmp_path / 'dask.db'}"
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        # by address, as `--dask ADDRESS` does: the search opens and closes its own client
        first = dn.search(X, y, n_trials=4, epochs=3, storage=url, study_name="d",
                          dask=cluster.scheduler_address)
        assert len(first.study.get_trials(states=FINISHED)) == 4
        with Client(cluster) as client:  # then with a Client the caller holds
            res = dn.search(X, y, n_trials=6, epochs=3, storage=url, study_name="d",
                            dask=client)
            assert client.status == "running"
    trials = optuna.load_study(study_name="d", storage=url).get_trials(states=FINISHED)
    assert len(trials) == 6 and [t.number for t in trials] == list(range(6))
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2  # both worker processes ran trials ...
    assert not any(w.endswith(f":{os.getpid()}") for w in workers)  # ... and not this one
    assert res.best_value == min(t.values[0] for t in trials if t.state == TrialState.COMPLETE)
    assert res.network.n_params == res.best_trial.user_attrs["n_params"]


@pytest.mark.slow
def test_command_line_search_writes_a_model_that_predict_reads(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = tmp_path / "iris.deltanet"
    done = subprocess.run(
        search_command("iris", "--trials", "3", "--epochs", "3", "--storage", url,
                       "--objectives", "error,params", "--sampler", "random", "--out",
                       str(out), "--plots", str(tmp_path / "plots"), "--json"),
        cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["trials"]["complete"] == 3 and doc["model"] == str(out)
    assert doc["pareto"] and doc["best"]["number"] == doc["pareto"][0]["number"]
    assert set(doc["plots"]) >= {"history", "pareto"}
    predicted = subprocess.run([sys.executable, "-m", "deltanet.cli", "predict", str(out),
                                "iris", "--json"], capture_output=True, text=True,
                               timeout=120, cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    bad = subprocess.run(search_command("iris", "--space", "depth=3", "--storage", url),
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("deltanet: error: unknown search-space entry 'depth'")
    assert len(bad.stderr.strip().splitlines()) == 1
