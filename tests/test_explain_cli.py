"""``deltanet explain`` as a real subprocess: custom mode, models, formats, bad flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec

import pytest

import deltanet as dn
from deltanet.explain import explain_example
from test_explain_render import check_latex, check_markdown

MODULE = [sys.executable, "-m", "deltanet.explain"]
CLI = [sys.executable, "-m", "deltanet.cli", "explain"]
COMMANDS = [pytest.param(MODULE, id="module")]
if find_spec("deltanet.cli.__main__") is not None:
    COMMANDS.append(pytest.param(CLI, id="deltanet"))

# seed 003's example from flags alone
SEED003 = ["--sizes", "2,3,1", "--hidden", "logistic", "--output", "identity", "--weights", "1",
           "--input", "0.5,0.5", "--target", "0.5", "--loss", "half_squared_error",
           "--lr", "1/3"]


def run(cmd: list[str], *args: str, columns: int = 100) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def steps_part(markdown: str) -> str:
    """Sections 1-5 of the first step (what the custom mode and the example share)."""
    return markdown.split("### 1. Forward propagation")[1].split("### 6.")[0]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_custom_mode_reproduces_seed003(cmd):
    done = run(cmd, *SEED003, "--digits", "2", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    check_markdown(done.stdout)
    for number in ("0.88", "3.64", "3.14", "0.33", "0.89"):
        assert f" {number}" in done.stdout, number
    example = explain_example("seed003-backprop").to_markdown()
    assert steps_part(done.stdout) == steps_part(example)


def test_custom_mode_in_each_format(tmp_path):
    latex = run(MODULE, *SEED003, "--format", "latex")
    assert latex.returncode == 0, latex.stderr
    check_latex(latex.stdout)
    assert r"\approx 3.6424" in latex.stdout
    text = run(MODULE, *SEED003, "--digits", "2")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any("Δ₆ = (a₆ − y) g′(in₆) = (3.64 − 0.5)·1 ≈ 3.14" in line for line in lines)
    narrow = run(MODULE, *SEED003, columns=72)
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 72


def test_out_file_and_format_from_suffix(tmp_path):
    out = tmp_path / "step.tex"
    done = run(MODULE, *SEED003, "--out", str(out))
    assert done.returncode == 0 and done.stdout.strip() == f"wrote {out}"
    check_latex(out.read_text())
    md = tmp_path / "step.md"
    assert run(MODULE, "--example", "seed002-sgd-step", "--out", str(md)).returncode == 0
    assert md.read_text() == explain_example("seed002-sgd-step").to_markdown()


def test_several_examples_and_steps_from_flags():
    # seed 000's review: two examples in order, bias 0, α = 1
    done = run(MODULE, "--sizes", "2,2,1", "--weights", "1", "--bias", "0", "--input", "0,0; 0,1",
               "--target", "0;1", "--loss", "half_squared_error", "--lr", "1",
               "--format", "markdown")
    assert done.returncode == 0, done.stderr
    example = explain_example("seed000-review").to_markdown()
    for k in (1, 2):
        ours = done.stdout.split(f"## Step {k}:")[1]
        theirs = example.split(f"## Step {k}:")[1]
        assert steps_part(ours) == steps_part(theirs)


def test_weights_list_and_file(tmp_path):
    net = dn.Network.layered([2, 2, 1], init=dn.init.constant(0.0))
    values = [0.5, -1, 2, 1, 0.5, -0.5, 1, 2, -1]
    listed = ",".join(map(str, values))
    path = tmp_path / "w.txt"
    path.write_text("# w in net.arcs order\n" + "\n".join(map(str, values)) + "\n")
    a = run(MODULE, "--sizes", "2,2,1", "--weights", listed, "--input", "1,0.5", "--target", "1",
            "--format", "markdown")
    b = run(MODULE, "--sizes", "2,2,1", "--weights-file", str(path), "--input", "1,0.5",
            "--target", "1", "--format", "markdown")
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout
    for (i, j), w in zip(net.arcs, values, strict=True):
        assert f"w_{{{i},{j}}} = {w:g}$" in a.stdout


def test_saved_model(tmp_path):
    net = dn.Network.layered([2, 3, 1], hidden="logistic", output="identity",
                             init=dn.init.constant(1.0))
    path = dn.save(net, tmp_path / "seed003.deltanet")
    done = run(MODULE, "--model", str(path), "--input", "0.5,0.5", "--target", "0.5", "--loss",
               "half_squared_error", "--lr", "1/3", "--digits", "2", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert steps_part(done.stdout) == steps_part(explain_example("seed003-backprop").to_markdown())


def test_list_and_json():
    listed = run(MODULE, "--list")
    assert listed.returncode == 0
    assert "seed002-sgd-step" in listed.stdout and "Lecture 07-2a" in listed.stdout
    done = run(CLI if len(COMMANDS) > 1 else MODULE, *SEED003, "--json")
    data = json.loads(done.stdout)
    assert data["steps"][0]["loss"] == pytest.approx(0.5 * (3.6423912 - 0.5) ** 2, rel=1e-6)
    assert data["weights_after"]["0,3"] == pytest.approx(1 - 0.3299 / 3, abs=1e-4)


def test_exercise_question_and_solution(tmp_path):
    done = run(MODULE, "--exercise", "--seed", "3", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    question, solution = done.stdout.split("SOLUTION")
    assert "## Tasks" in question and "### 3. Backward propagation" not in question
    assert "### 3. Backward propagation" in solution
    assert run(MODULE, "--exercise", "--seed", "3", "--format", "markdown").stdout == done.stdout
    out = tmp_path / "hw" / "ex3"
    written = run(MODULE, "--exercise", "--seed", "3", "--out", str(out) + ".md")
    assert written.returncode == 0, written.stderr
    q, s = tmp_path / "hw" / "ex3-question.md", tmp_path / "hw" / "ex3-solution.md"
    assert written.stdout.split() == ["wrote", str(q), "wrote", str(s)]
    check_markdown(q.read_text())
    check_markdown(s.read_text())
    separator = "=" * 30 + " SOLUTION " + "=" * 30
    assert done.stdout == f"{q.read_text()}\n{separator}\n\n{s.read_text()}"
    assert "## Tasks" in q.read_text() and "## Step 1" in s.read_text()


BAD = [
    pytest.param(["--sizes", "2,3,1", "--weights", "1,2,3", "--input", "1,1", "--target", "1"],
                 "--weights has 3 values but the network has 13 arcs", id="weights-length"),
    pytest.param(["--sizes", "2,3,1", "--weights", "1", "--input", "1,1,1", "--target", "1"],
                 "--input has 3 values but the network has 2 inputs", id="input-size"),
    pytest.param(["--example", "seed003-backprob"], "unknown example", id="unknown-example"),
    pytest.param(["--sizes", "2,3,1", "--weights", "1", "--input", "1,1", "--target", "1;0"],
                 "--input gives 1 examples but --target gives 2", id="target-count"),
    pytest.param(["--sizes", "2,3,1", "--weights", "1", "--input", "1,1", "--target", "1",
                  "--lr", "1/0"], "--lr: '1/0' is not a number", id="bad-lr"),
    pytest.param(["--sizes", "2,3,1", "--input", "1,1", "--target", "1"], "needs --weights",
                 id="no-weights"),
    pytest.param(["--sizes", "2,x,1", "--weights", "1"], "--sizes", id="bad-sizes"),
    pytest.param(["--sizes", "2,3,1", "--hidden", "sigmoidal", "--weights", "1"],
                 "unknown activation", id="bad-activation"),
    pytest.param(["--example", "seed002-sgd-step", "--sizes", "2,1"], "cannot be combined",
                 id="two-modes"),
    pytest.param([], "say what to explain", id="nothing"),
    pytest.param(["--example", "seed002-sgd-step", "--input", "1,1"],
                 "--input only apply to a custom network", id="example-with-input"),
    pytest.param(["--model", "/no/such/file.deltanet", "--input", "1", "--target", "1"],
                 "does not exist", id="missing-model"),
    pytest.param(["--frobnicate"], "unrecognized arguments", id="unknown-flag"),
]


@pytest.mark.reliability(
    area="command line",
    fault="bad explain flags: numbers, missing weights, sizes, activation, two modes, "
          "nothing, missing model, unknown flag",
    how="python -m deltanet.explain",
    result="one line, exit status 2")
@pytest.mark.parametrize("args, message", BAD)
def test_bad_flags_give_one_line_and_exit_2(args, message):
    done = run(MODULE, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("deltanet: error: "), done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.reliability(
    area="command line",
    fault="explain --out in a folder that cannot be made",
    how="python -m deltanet.explain --out /proc/nope/x.md",
    result="one line, exit status 2")
def test_unwritable_out_gives_one_line_and_exit_2():
    done = run(MODULE, "--example", "seed002-forward", "--out", "/proc/nope/x.md")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("deltanet: error: "), done.stderr
    assert "/proc/nope" in lines[0]


@pytest.mark.reliability(
    area="command line",
    fault="bad explain flags",
    how="deltanet explain",
    result="one line, exit status 2")
@pytest.mark.skipif(len(COMMANDS) == 1, reason="the deltanet command is not installed")
@pytest.mark.parametrize("args, message", BAD[:3])
def test_bad_flags_through_the_deltanet_command(args, message):
    done = run(CLI, *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr.splitlines()[0]
