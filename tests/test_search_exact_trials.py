"""``--trials N`` means N trials in the study at the end, however its searches ran.

Searches killed with SIGKILL at random moments (the search process alone, or it and its
worker processes), started again, and run side by side on one study: the study ends with
exactly N complete or pruned trials, a grid point is never run twice, and no worker
outlives its search.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import optuna
import pytest

from deltanet.search.slots import claim, holders

TRIALS = 6
# 3 learning rates x 3 widths: 9 grid points, 6 of them asked for
GRID = ["search", "xor", "--trials", str(TRIALS), "--epochs", "2", "--cv", "2",
        "--space", "n_groups=1", "--space", "width=2,3,4", "--space", "lr=0.01,0.03,0.1",
        "--space", "optimizer=adam", "--space", "batch_size=64", "--space", "l2=0",
        "--space", "dropout=0", "--space", "activation=tanh", "--space", "skip=none",
        "--space", "batch_norm=false", "--sampler", "grid", "--study", "exact",
        "--storage", "sqlite:///search.db", "--quiet"]
FINISHED = ("COMPLETE", "PRUNED")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "deltanet.cli", *args]


def finished_points(db: Path) -> list[str]:
    """The parameters of every complete or pruned trial, one text per trial."""
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=30)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        if "trial_params" not in tables:
            return []
        rows = con.execute(
            "SELECT t.trial_id, p.param_name, p.param_value FROM trials t JOIN trial_params p "
            "ON p.trial_id = t.trial_id WHERE t.state IN (?, ?) ORDER BY t.trial_id, "
            "p.param_name", FINISHED).fetchall()
    finally:
        con.close()
    points: dict[int, str] = {}
    for trial, name, value in rows:
        points[trial] = points.get(trial, "") + f"{name}={value};"
    return list(points.values())


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_until(argv: list[str], cwd: Path, kill_after: float | None, whole_group: bool) -> None:
    """Run ``argv``; ``kill_after`` seconds after its workers appear, SIGKILL it (and its
    workers if ``whole_group``); then every worker it started must end within seconds."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    workers: set[int] = set()
    start, armed = time.monotonic(), None
    try:
        while proc.poll() is None:
            workers.update(children_of(proc.pid))
            if armed is None and workers:  # the clock starts once the workers exist
                armed = time.monotonic()
            if kill_after is not None and armed and time.monotonic() - armed >= kill_after:
                if whole_group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                break
            assert time.monotonic() - start < 300, "the search did not finish in time"
            time.sleep(0.05)
        else:
            err = proc.stderr.read().decode()
            assert proc.returncode == 0, err
        deadline = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if alive(w)], "a worker outlived its search"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()


@pytest.mark.slow
@pytest.mark.reliability(
    area="crash safety", fault="a grid search with --jobs 2 killed with SIGKILL at 5 random "
    "moments, the search process alone or with its workers, then run again",
    how="real CLI in a subprocess, killed and restarted 5 times, then run to its end",
    result="exactly --trials complete trials, no grid point twice, no worker left running")
def test_a_search_killed_five_times_ends_with_exactly_its_trials(tmp_path, family_cases):
    rng = np.random.default_rng(4)
    argv = cli(*GRID, "--jobs", "2")
    kills = 0
    for k in range(5):
        run_until(argv, tmp_path, float(rng.uniform(0.0, 5.0)), whole_group=k % 2 == 1)
        kills += 1
        points = finished_points(tmp_path / "search.db")
        assert len(points) <= TRIALS and len(set(points)) == len(points)
    run_until(argv, tmp_path, None, whole_group=False)
    points = finished_points(tmp_path / "search.db")
    assert len(points) == TRIALS and len(set(points)) == TRIALS, points
    time.sleep(1.0)  # nothing left running adds a trial later
    assert len(finished_points(tmp_path / "search.db")) == TRIALS
    family_cases(kills)


@pytest.mark.slow
def test_searches_side_by_side_on_one_study_run_its_trials_once(tmp_path):
    argv = cli("search", "xor", "--trials", "4", "--epochs", "2", "--cv", "2", "--space",
               "n_groups=1", "--space", "width=2:8", "--sampler", "random", "--study", "two",
               "--storage", "sqlite:///search.db", "--quiet")
    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(run_until, argv, tmp_path, None, False) for _ in range(2)]:
            f.result()
    assert len(finished_points(tmp_path / "search.db")) == 4


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_slot_is_taken_once_and_a_grid_point_once(tmp_path, storage):
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=url)
    trials = [study.ask() for _ in range(5)]
    # three slots: the first three trials take them, the rest get none
    assert [claim(t, 3, None) for t in trials] == [True, True, True, False, False]
    assert len(holders(study)) == 3
    study.tell(trials[0], state=optuna.trial.TrialState.FAIL)  # a failed trial frees its slot
    assert claim(trials[3], 3, None) and not claim(trials[4], 3, None)
    grid = optuna.create_study(storage=url, study_name="grid" if url else None)
    a, b, c = (grid.ask() for _ in range(3))
    assert claim(a, 9, {"width": 4}) and not claim(b, 9, {"width": 4})
    assert claim(c, 9, {"width": 8})
    assert sorted(json.loads(v) for v in holders(grid)) == [[["width", 4]], [["width", 8]]]
