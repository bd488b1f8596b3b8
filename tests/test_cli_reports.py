"""What the commands tell a new user: the engine's one-off compilation said and timed apart
from training, "1 epoch", ``--quiet`` keeping the data asked for, help with examples and
defaults, and Ctrl+C on the playground ending with status 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from deltanet.cli import _progress, _warm_up, main


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:  # --help
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def test_one_epoch_is_singular(capsys, tmp_path):
    status, out, _ = cli(capsys, "train", "iris", "--epochs", "1", "--out",
                         tmp_path / "m.deltanet")
    assert status == 0 and ": 1 epoch in " in out and "1 epochs" not in out
    status, out, _ = cli(capsys, "info", tmp_path / "m.deltanet")
    assert "history: 1 epoch, final loss" in out
    assert _progress.epochs_text(2, "epoch") == "2 epochs"
    assert _progress.epochs_text(1, "iterations") == "1 iteration"  # older model files


def test_slow_warm_up_is_announced_and_timed_apart(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(_warm_up, "SLOW_SECONDS", 0.0)  # every warm-up counts as slow
    status, out, err = cli(capsys, "train", "iris", "--epochs", "3", "--out",
                           tmp_path / "m.deltanet")
    assert status == 0
    assert f"compiling the engine once (about {_warm_up.COMPILE_SECONDS} s)" in err
    assert "3 epochs in " in out and "(before it, the engine compiled once in " in out
    status, out, _ = cli(capsys, "train", "iris", "--epochs", "3", "--out",
                         tmp_path / "m.deltanet", "--json")
    doc = json.loads(out)
    assert doc["seconds"] >= doc["training_seconds"] + doc["warm_up_seconds"]


@pytest.mark.slow
def test_first_run_compiles_before_training_and_reports_it(tmp_path):
    # an empty Numba cache: this process compiles the engine, as on a new machine
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    done = subprocess.run([sys.executable, "-m", "deltanet.cli", "train", "iris", "--epochs",
                           "20", "--out", "m.deltanet"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "compiling the engine once (about" in done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("network "))
    training = float(line.split(" epochs in ")[1].split(" s")[0])
    compiled = float(line.split("compiled once in ")[1].split(" s")[0])
    assert training < compiled  # the compilation is not counted as training


def test_quiet_keeps_the_data_asked_for(capsys, tmp_path):
    status, out, _ = cli(capsys, "datasets", "--quiet")
    rows = [line.split("\t") for line in out.splitlines()]
    assert status == 0 and ["iris", "150", "4", "classification", "3"] in rows
    assert "╭" not in out and "┏" not in out
    assert cli(capsys, "train", "iris", "--epochs", "2", "--out", tmp_path / "m.deltanet",
               "--quiet")[1] == ""
    status, out, _ = cli(capsys, "info", tmp_path / "m.deltanet", "--quiet")
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["layers"] == "4-64-32-3" and lines["classes"] == "setosa,versicolor,virginica"
    assert lines["rows_test"] == "30" and "accuracy" in lines and "┏" not in out


@pytest.mark.parametrize(("command", "wanted"), [
    ("explain", ["examples:", "deltanet explain --example", "(default 0.1)",
                 "(default logistic)"]),
    ("playground", ["examples:", "deltanet playground --port 0", "exit status 130"]),
    ("search", ["(default 1)", "(default: none, every trial runs its epochs)",
                "default NAME.deltanet"]),
    ("export", ["examples:", "deltanet export iris.deltanet --out iris.onnx"]),
    ("card", ["examples:", "deltanet card iris.deltanet iris --out iris_card.md"]),
])
def test_help_has_examples_and_defaults(capsys, command, wanted):
    status, out, _ = cli(capsys, command, "--help")
    text = " ".join(out.split())
    assert status == 0
    for part in wanted:
        assert " ".join(part.split()) in text, part
    if command == "explain":  # every option of the custom network states its default
        for flag in ("--lr", "--hidden", "--output"):
            block = text.split(flag, 2)[-1][:160]
            assert "default" in block, flag


def test_ctrl_c_on_the_playground_exits_130(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.cli", "playground", "--port", "0",
                             "--no-browser", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            # as from a shell: SIGINT at its default (a child inherits an
                            # ignored SIGINT from a background parent)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url = json.loads(proc.stdout.readline())["url"]
        assert url.startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
