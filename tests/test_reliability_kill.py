"""Crash safety: the real ``deltanet train`` and ``deltanet search`` killed with SIGKILL.

Each run is killed at chosen moments (when its checkpoint first appears, after some epochs,
while a checkpoint or the model file is being written, after a random delay). After every
kill the files on disk must be the old complete file or the new complete one, read back by
deltanet's own loaders; the only thing a kill may leave besides them is the hidden temporary
file of an interrupted write, which no loader opens. ``--resume`` then finishes the run with
weights bit for bit equal to those of an uninterrupted run with the same seed.

The moments are caught with Linux inotify (the test hears the temporary file being created
and kills at once); where inotify is missing the folder is polled instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

import deltanet as dn
from deltanet.checkpoint import load_checkpoint
from deltanet.io import ModelFileError, read_model

pytestmark = pytest.mark.slow

IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x08, 0x80, 0x100


class FolderEvents:
    """Names created in (or renamed into) a folder, as they happen: inotify, else polling."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fd = -1
        self.seen = set(os.listdir(folder))
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd >= 0 and libc.inotify_add_watch(fd, str(folder).encode(),
                                                  IN_CREATE | IN_MOVED_TO) >= 0:
                self.fd = fd
            elif fd >= 0:
                os.close(fd)
        except (OSError, AttributeError):
            self.fd = -1

    def wait(self, timeout: float) -> list[tuple[str, str]]:
        """``[("create" | "moved", name), ...]`` within ``timeout`` seconds."""
        if self.fd < 0:
            time.sleep(min(timeout, 0.0005))
            names = set(os.listdir(self.folder))
            new = sorted(names - self.seen)
            self.seen = names
            return [("create" if n.endswith(".tmp") else "moved", n) for n in new]
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        events, pos = [], 0
        while pos < len(data):
            _, mask, _, size = struct.unpack_from("iIII", data, pos)
            name = data[pos + 16:pos + 16 + size].rstrip(b"\0").decode()
            events.append(("create" if mask & IN_CREATE else "moved", name))
            pos += 16 + size
        return events

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)


@dataclass
class KillAt:
    """Kill ``delay`` seconds after the ``count``-th event ``kind`` on a name starting with
    ``prefix`` (at once when ``delay`` is 0)."""

    what: str
    kind: str
    prefix: str
    count: int = 1
    delay: float = 0.0


def run_and_kill(argv: list[str], cwd: Path, at: KillAt | None,
                 poll: Callable[[], bool] | None = None, timeout: float = 240.0) -> bool:
    """Run ``argv``; SIGKILL it at ``at`` (or when ``poll()`` turns true). True if killed."""
    events = FolderEvents(cwd)
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    start, hits, armed = time.monotonic(), 0, None
    try:
        while proc.poll() is None:
            assert time.monotonic() - start < timeout, f"{argv[3:5]} did not finish in time"
            for kind, name in events.wait(0.002 if armed else 0.01 if poll else 0.5):
                if at and kind == at.kind and name.startswith(at.prefix):
                    hits += 1
                    if hits == at.count:
                        armed = time.monotonic()
            fire = armed is not None and time.monotonic() - armed >= at.delay
            if fire or (poll is not None and poll()):
                proc.send_signal(signal.SIGKILL)
                proc.wait(60)
                return True
        err = proc.stderr.read().decode()
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(60)
        proc.stderr.close()
        events.close()


def temporary_files(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """Every file in ``folder`` except ``names``; each must be the hidden temporary file of
    an interrupted atomic write of one of ``names`` (``.NAME.XXXX.tmp``)."""
    alternatives = "|".join(map(re.escape, names))
    pattern = re.compile(rf"^\.({alternatives})\.[A-Za-z0-9_]+\.tmp$")
    others = [p for p in folder.iterdir() if p.name not in names]
    strays = [p.name for p in others if not pattern.match(p.name)]
    assert not strays, f"unexpected files after a kill: {strays}"
    return others


# ------------------------------------------------------------------ deltanet train
EPOCHS = 80
TRAIN = ["train", "digits", "--hidden", "16", "--batch-size", "32", "--dropout", "0.1",
         "--epochs", str(EPOCHS), "--seed", "5", "--quiet"]
CHECKPOINT, MODEL = "run.ckpt", "resumed.deltanet"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "deltanet.cli", *args]


def check_train_files(folder: Path, old_params: np.ndarray, straight: dict,
                      last_epoch: int) -> tuple[int, int]:
    """After a kill: the checkpoint is absent or a complete state of the same trajectory,
    the model file the old one or the final one. Returns ``(checkpoint epoch, number of
    interrupted writes left behind)``."""
    epoch = 0
    if (folder / CHECKPOINT).exists():
        ckpt = load_checkpoint(folder / CHECKPOINT)
        epoch = ckpt.epoch
        assert last_epoch <= epoch <= EPOCHS
        cost = ckpt.header["history"]["cost"]
        assert len(cost) == epoch and cost == straight["loss"][:epoch]  # same run, bitwise
        assert np.all(np.isfinite(ckpt.params))
    net, meta = read_model(folder / MODEL)  # never absent: it held the old model
    if "cli" in meta:  # the new one: only written once training is over
        assert net.params.tobytes() == straight["params"].tobytes()
        assert epoch == EPOCHS
    else:
        assert net.params.tobytes() == old_params.tobytes()
    temps = temporary_files(folder, (CHECKPOINT, MODEL, "straight.deltanet"))
    for temp in temps:  # a partial write is refused; a complete one is a valid file
        try:
            load_checkpoint(temp) if CHECKPOINT in temp.name else read_model(temp)
        except ModelFileError:
            pass
    return epoch, len(temps)


@pytest.mark.reliability(
    area="crash safety", fault="SIGKILL of `deltanet train` when the checkpoint first "
    "appears, after 5 epochs, at random moments, while a checkpoint is written, while "
    "the model file is written", how="real CLI in a subprocess, killed 8 times, then "
    "`--resume`", result="checkpoint and model file always the old or the new complete "
    "file (a kill inside a write leaves only a hidden .NAME.XXXX.tmp that no loader opens); "
    "final weights and loss curve bit for bit those of an uninterrupted run")
def test_train_killed_at_any_moment_resumes_bitwise(tmp_path):
    assert run_and_kill(cli(*TRAIN, "--out", "straight.deltanet"), tmp_path, None) is False
    net, meta = read_model(tmp_path / "straight.deltanet")
    straight = {"params": net.params, "loss": meta["cli"]["history"]["loss"]}
    assert len(straight["loss"]) == EPOCHS
    old = dn.Network.layered([64, 16, 10], random_state=99)
    dn.save(old, tmp_path / MODEL)  # an older model the run will overwrite
    argv = cli(*TRAIN, "--out", MODEL, "--checkpoint", CHECKPOINT, "--checkpoint-every", "1",
               "--resume")
    rng = np.random.default_rng(2024)
    temp = f".{CHECKPOINT}."
    plan = [KillAt("checkpoint first appears", "moved", CHECKPOINT, 1),
            KillAt("5 epochs later", "moved", CHECKPOINT, 5),
            KillAt("random moment", "moved", CHECKPOINT, 1, float(rng.uniform(0, 0.08))),
            KillAt("checkpoint being written", "create", temp, 2),
            KillAt("random moment", "moved", CHECKPOINT, 2, float(rng.uniform(0, 0.08))),
            KillAt("checkpoint being written", "create", temp, 3),
            KillAt("checkpoint being written", "create", temp, 1),
            KillAt("model file being written", "create", f".{MODEL}.", 1)]
    epoch, interrupted = 0, 0
    for at in plan:
        assert run_and_kill(argv, tmp_path, at), f"the run ended before: {at.what}"
        epoch, temps = check_train_files(tmp_path, old.params, straight, epoch)
        interrupted = max(interrupted, temps)
    assert 0 < epoch == EPOCHS  # the last kill came after the final checkpoint
    assert interrupted >= 1  # at least one kill landed inside an atomic write
    assert run_and_kill(argv, tmp_path, None) is False
    net, meta = read_model(tmp_path / MODEL)
    assert net.params.tobytes() == straight["params"].tobytes()
    assert meta["cli"]["history"]["loss"] == straight["loss"]
    assert load_checkpoint(tmp_path / CHECKPOINT).finished


# ------------------------------------------------------------------ deltanet search
TRIALS = 5
SEARCH = ["search", "digits", "--trials", str(TRIALS), "--epochs", "3", "--cv", "2",
          "--space", "n_groups=1", "--space", "width=8:16", "--sampler", "random",
          "--study", "killed", "--storage", "sqlite:///search.db", "--out", "best.deltanet",
          "--quiet"]
FINISHED = ("COMPLETE", "PRUNED")


def count_finished(db: Path) -> int:
    """Finished trials, read straight from the SQLite file (read-only, while it runs)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:  # not created yet
        return 0
    try:
        return con.execute("SELECT count(*) FROM trials WHERE state IN (?, ?)",
                           FINISHED).fetchone()[0]
    except sqlite3.OperationalError:  # no tables yet
        return 0
    finally:
        con.close()


def finished_trials(db: Path) -> dict[int, str]:
    """Trial number -> parameters (JSON) of the finished trials, read after an integrity
    check of the SQLite file (a normal connection, so a hot journal is rolled back as the
    next search would do)."""
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        if "trial_params" not in tables:
            return {}
        rows = con.execute(
            "SELECT t.number, p.param_name, p.param_value FROM trials t LEFT JOIN "
            "trial_params p ON p.trial_id = t.trial_id WHERE t.state IN (?, ?) "
            "ORDER BY t.number, p.param_name", FINISHED).fetchall()
    finally:
        con.close()
    trials: dict[int, str] = {}
    for number, name, value in rows:
        trials[number] = trials.get(number, "") + f"{name}={value};"
    return trials


@pytest.mark.reliability(
    area="crash safety", fault="SIGKILL of `deltanet search` while it creates its SQLite "
    "file, after 2 finished trials, while it writes the best model",
    how="real CLI in a subprocess, then the same command again",
    result="SQLite integrity check ok, no finished trial lost or changed, model file "
    "absent or complete; the search resumes to the trials asked")
def test_search_killed_at_any_moment_resumes(tmp_path):
    from deltanet.cli import model_file
    from deltanet.cli._source import load_source

    db, out = tmp_path / "search.db", tmp_path / "best.deltanet"
    argv = cli(*SEARCH)
    plan = [(KillAt("database being created", "create", "search.db-journal", 1), None),
            (None, lambda: count_finished(db) >= 2),
            (KillAt("model file being written", "create", ".best.deltanet.", 1), None)]
    before: dict[int, str] = {}
    for at, poll in plan:
        run_and_kill(argv, tmp_path, at, poll)
        now = finished_trials(db)
        assert {n: now[n] for n in before} == before  # none lost, none changed
        before = now
        if out.exists():
            model_file.read(out)  # complete, with its preprocessing
        temporary_files(tmp_path, ("search.db", "search.db-journal", "best.deltanet"))
    assert run_and_kill(argv, tmp_path, None) is False
    after = finished_trials(db)
    assert len(after) == TRIALS and {n: after[n] for n in before} == before
    study = optuna.load_study(study_name="killed", storage=f"sqlite:///{db}")
    assert len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == TRIALS
    model = model_file.read(out)
    frame = load_source("digits").frame.head(20)
    assert len(model_file.predictions(model, frame)) == 20
