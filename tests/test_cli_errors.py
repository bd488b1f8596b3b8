"""The ``deltanet`` command on bad input: one line on stderr, exit status 2, no traceback.

The cases are read from the README's troubleshooting table and run as real commands in a
folder holding the files named there, so the documented messages are the real ones.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltanet as dn
from deltanet.cli import _common, build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltanet.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def write_fixtures(folder: Path) -> None:
    """The files the troubleshooting table's commands use."""
    rng = np.random.default_rng(7)
    rows = ["age,city,price,bought"]
    for i in range(60):
        age = "" if i % 11 == 4 else str(int(rng.integers(18, 80)))
        city = "" if i % 13 == 6 else str(rng.choice(["Lyon", "Oslo", "Porto"]))
        rows.append(f"{age},{city},{rng.uniform(5, 50):.2f},{'yes' if i % 3 else 'no'}")
    (folder / "shop.csv").write_text("\n".join(rows) + "\n")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "header_only.csv").write_text("age,city,bought\n")
    (folder / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "ragged.csv").write_text("x,y\n1,2\n3,4,5\n")
    (folder / "one_class.csv").write_text("x,label\n" + "".join(f"{i},yes\n" for i in range(10)))
    (folder / "few.csv").write_text("x,label\n" + "".join(f"{i},{'abc'[i % 3]}\n"
                                                          for i in range(12)))
    (folder / "typo.csv").write_text("x,y\n" + "".join(
        f"{'twelve' if i == 4 else i},{i % 2}\n" for i in range(20)))
    (folder / "no_target.csv").write_text("x,y\n1,0\n2,\n3,1\n4,0\n")
    (folder / "notes.deltanet").write_text("not a model\n")
    rows = range(30)
    (folder / "latin1.csv").write_bytes(b"town,y\n" + "".join(
        f"{'Köln' if i == 7 else 'Ulm'},{i % 2}\n" for i in rows).encode("latin-1"))
    (folder / "comma.csv").write_text("x,y\n" + "".join(f'"{i},5",{i % 2}\n' for i in rows))
    (folder / "dates.csv").write_text("day,y\n" + "".join(f"2024-03-{i + 1:02d},{i % 2}\n"
                                                          for i in rows))
    (folder / "ids.csv").write_text("user,x,y\n" + "".join(f"u{i:04d},{i},{i % 2}\n"
                                                           for i in range(150)))
    import pandas as pd

    pd.DataFrame({"tags": [[1, 2]] * 30, "y": [i % 2 for i in rows]}).to_parquet(
        folder / "nested.parquet")
    dn.save(dn.Network.layered([2, 2, 1], random_state=0), folder / "bare.deltanet")


def troubleshooting_rows() -> list[tuple[str, str, str]]:
    """``(case, command, message)`` of every row of the README's troubleshooting table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and cells[1].startswith("`deltanet "):
            rows.append((cells[0], cells[1].strip("`"), cells[2].strip("`")))
    return rows


ROWS = troubleshooting_rows()


def test_the_table_covers_the_required_cases():
    cases = " ".join(case for case, _, _ in ROWS)
    for required in ("missing file", "empty CSV", "unreadable", "unknown target column",
                     "a single class", "text in a numeric column", "missing values without",
                     "not a deltanet model"):
        assert required in cases
    assert len(ROWS) >= 15


@pytest.mark.reliability(
    area="command line",
    fault="every case of the README's troubleshooting table: missing, empty, header-only, "
          "binary, ragged CSV; unknown dataset or target; one class; text in numbers; "
          "missing values; missing model; not a model; bare network; bad option; --resume "
          "without checkpoint; rprop on mini-batches",
    how="deltanet train / info / predict / evaluate",
    result="the documented line word for word, exit status 2")
@pytest.mark.parametrize(("case", "command", "message"), ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_and_status_2(tmp_path, case, command, message):
    write_fixtures(tmp_path)
    if "wide.deltanet" in command:  # one neuron over the default limit, inputs included
        dn.save(dn.Network.layered([2, 99_998, 1]), tmp_path / "wide.deltanet")
    argv = shlex.split(command)
    assert argv[0] == "deltanet"
    done = run_cli(*argv[1:], cwd=tmp_path)
    assert done.returncode == 2, (case, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.rstrip("\n") == message
    assert done.stdout == ""


def test_no_stratify_splits_what_stratification_cannot(tmp_path):
    write_fixtures(tmp_path)
    done = run_cli("train", "few.csv", "--target", "label", "--no-stratify", "--epochs", "2",
                   "--json", "--out", "few.deltanet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == {"train": 7, "validation": 2, "test": 3}
    info = json.loads(run_cli("info", "few.deltanet", "--json", cwd=tmp_path).stdout)
    assert info["training"]["no_stratify"] is True


@pytest.mark.reliability(
    area="command line",
    fault="training that diverges (--lr 1e6)",
    how="deltanet train",
    result="one line naming the epoch, exit status 2, no model written")
def test_diverging_training_is_one_line(tmp_path):
    command = ["train", "iris", "--solver", "sgd", "--lr", "1e6", "--activation", "identity",
               "--epochs", "5"]
    assert f"`deltanet {' '.join(command)}`" in " ".join(README.read_text(encoding="utf-8").split())
    done = run_cli(*command, "--out", "never.deltanet", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert re.match(r"deltanet: error: training failed, no model was written: the cost "
                    r"became (nan|inf|-inf) in epoch \d+", done.stderr)
    assert not (tmp_path / "never.deltanet").exists()


@pytest.mark.reliability(
    area="command line",
    fault="predicting on a table without the model's columns, with missing values, to an "
          "unknown file type",
    how="deltanet predict",
    result="one line naming the columns, exit status 2")
def test_predict_on_a_table_the_model_cannot_use(tmp_path):
    done = run_cli("train", "xor", "--epochs", "1", "--hidden", "4", "--quiet", "--out",
                   "xor.deltanet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    done = run_cli("predict", "xor.deltanet", "other.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == ("deltanet: error: column(s) 'x1', 'x2' missing from the table; the "
                           "model was trained on columns 'x1', 'x2'; the table has columns "
                           "'a', 'b'\n")
    (tmp_path / "holes.csv").write_text("x1,x2\n1,2\n,3\n4,\n,\n")
    done = run_cli("predict", "xor.deltanet", "holes.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == ("deltanet: error: missing values in column(s) 'x1' (2 rows), 'x2' "
                           "(2 rows); xor.deltanet was trained without --impute, so fill in or "
                           "remove those rows, or train again with --impute median\n")
    done = run_cli("predict", "xor.deltanet", "xor", "--out", "p.txt", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown file type '.txt'" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.reliability(
    area="command line",
    fault="no command, no data, unknown flag, missing argument, unknown command",
    how="deltanet",
    result="one line, exit status 2")
@pytest.mark.parametrize("argv", [[], ["train"], ["train", "iris", "--bogus"],
                                  ["evaluate", "only_model.deltanet"], ["frobnicate"]])
def test_usage_errors_are_one_line(tmp_path, argv):
    done = run_cli(*argv, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("deltanet: error: ")
    assert "--help'" in done.stderr


@pytest.mark.reliability(
    area="command line",
    fault="Ctrl+C (SIGINT) during training",
    how="deltanet train",
    result="'interrupted', exit status 130")
def test_interrupt_exits_130(tmp_path):
    import signal
    import time

    # As from a shell: SIGINT at its default. A child inherits an ignored SIGINT (which
    # some libraries leave behind in the test process), and Python then never raises
    # KeyboardInterrupt.
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltanet.cli", "train", "digits", "--epochs", "5000",
         "--quiet", "--checkpoint", "run.ckpt", "--out", "d.deltanet"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 90
    while not (tmp_path / "run.ckpt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "deltanet: error: interrupted\n"


@pytest.mark.reliability(
    area="command line",
    fault="an unexpected exception inside a command",
    how="the error policy",
    result="one line, exit status 1; --debug shows the traceback")
def test_an_unexpected_exception_is_reported_as_a_bug(capsys):
    def broken(args):
        return {}["missing"]

    status = _common.guarded(broken, argparse.Namespace(debug=False))
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith("deltanet: error: unexpected KeyError: 'missing'; this is a bug")
    with pytest.raises(KeyError):
        _common.guarded(broken, argparse.Namespace(debug=True))


@pytest.mark.reliability(
    area="command line",
    fault="a non-number for --epochs",
    how="the argument parser",
    result="one line, exit status 2")
def test_usage_error_of_the_parser_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["train", "iris", "--epochs", "zero"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == ("deltanet: error: argument --epochs: expected a whole number, got 'zero'; "
                   "see 'deltanet train --help'\n")


@pytest.mark.parametrize("command", ["info", "predict", "evaluate", "export", "card"])
def test_the_loading_limits_are_options_of_every_command_that_reads_a_model(command):
    args = build_parser().parse_args([command, "m.deltanet", "--max-blocks", "20000",
                                      "--max-neurons", "300000",
                                      *(["x.csv"] if command in ("predict", "evaluate") else []),
                                      *(["--out", "m.onnx"] if command == "export" else [])])
    assert (args.max_blocks, args.max_neurons) == (20_000, 300_000)


def test_a_raised_limit_loads_a_model_the_default_refuses(tmp_path):
    dn.save(dn.Network.layered([2, 99_998, 1]), tmp_path / "wide.deltanet")
    assert run_cli("info", "wide.deltanet", cwd=tmp_path).returncode == 2
    done = run_cli("info", "wide.deltanet", "--max-neurons", "100001", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 inputs, 99999 processing neurons" in done.stdout, done.stdout
