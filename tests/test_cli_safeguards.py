"""The command line refuses what would lose data or mislead, early and in the user's words.

Outputs that would overwrite the input data, outputs that cannot be written (found before
any training), rows with more fields than the header, rare classes that fall outside the
training rows, unseen categories, ``explain`` with odd activations, numbers and table
models, Ctrl-C during a search, and messages that name the command's flags rather than
the library's parameters.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deltanet.cli import main
from deltanet.cli import model_file as model_files
from deltanet.data import read_table


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``deltanet ARGV`` in this process: ``(status, stdout, stderr)``."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse usage errors
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def one_error(err: str) -> str:
    """The single ``deltanet: error:`` line of ``err`` (warnings may come before it)."""
    lines = [line for line in err.splitlines() if not line.startswith("deltanet: warning:")]
    assert len(lines) == 1 and lines[0].startswith("deltanet: error: "), err
    assert "Traceback" not in err
    return lines[0]


def shop_csv(path: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(3)
    rows = ["age,city,bought"]
    for i in range(n):
        rows.append(f"{int(rng.integers(18, 80))},{['Lyon', 'Oslo'][i % 2]},"
                    f"{'yes' if i % 3 else 'no'}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def shop_model(tmp_path_factory) -> Path:
    """A model trained on :func:`shop_csv` (categorical column 'city': Lyon, Oslo)."""
    folder = tmp_path_factory.mktemp("shop")
    data = shop_csv(folder / "shop.csv")
    model = folder / "shop.deltanet"
    assert main(["train", str(data), "--target", "bought", "--hidden", "4", "--epochs", "2",
                 "--quiet", "--out", str(model)]) == 0
    return model


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("iris") / "iris.deltanet"
    assert main(["train", "iris", "--hidden", "3", "--epochs", "3", "--quiet", "--out",
                 str(model)]) == 0
    return model


@pytest.fixture
def no_training(monkeypatch):
    """Training fails the test: the checks must come before it."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr("deltanet.cli._fit.fit", refuse)


# --- 1. outputs that are the input data -------------------------------------------------------

@pytest.mark.parametrize("option", ["--out", "--checkpoint"])
def test_train_output_that_is_the_data_file_is_refused(capsys, tmp_path, no_training, option):
    data = shop_csv(tmp_path / "victim.csv")
    before = data.read_bytes()
    status, _, err = cli(capsys, "train", data, "--target", "bought", option, data)
    assert status == 2
    assert f"{option} '{data}' is the data file" in one_error(err)
    assert data.read_bytes() == before


def test_train_output_that_is_the_data_file_by_another_name(capsys, tmp_path, monkeypatch,
                                                            no_training):
    shop_csv(tmp_path / "victim.csv")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    status, _, err = cli(capsys, "train", "../victim.csv", "--target", "bought", "--out",
                         str(tmp_path / "sub" / ".." / "victim.csv"))
    assert status == 2 and "is the data file" in one_error(err)


def test_predict_output_that_is_the_data_or_model_file_is_refused(capsys, tmp_path,
                                                                  shop_model):
    data = shop_csv(tmp_path / "new.csv")
    before = data.read_bytes()
    status, _, err = cli(capsys, "predict", shop_model, data, "--out", data)
    assert status == 2 and "--out" in one_error(err) and "is the data file" in err
    assert data.read_bytes() == before
    renamed = tmp_path / "model.csv"
    renamed.write_bytes(shop_model.read_bytes())
    status, _, err = cli(capsys, "predict", renamed, data, "--out", renamed)
    assert status == 2 and "is the model file" in one_error(err)


def test_checkpoint_that_is_another_file_is_not_overwritten(capsys, tmp_path, no_training):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    status, _, err = cli(capsys, "train", "xor", "--checkpoint", notes, "--out",
                         tmp_path / "m.deltanet")
    assert status == 2
    assert "already exists and is not a deltanet checkpoint" in one_error(err)
    assert notes.read_text() == "my notes\n"


def test_resume_from_a_file_that_is_not_a_checkpoint_says_what_to_do(capsys, tmp_path,
                                                                     shop_model, no_training):
    status, _, err = cli(capsys, "train", "xor", "--resume", "--checkpoint", shop_model)
    assert status == 2
    line = one_error(err)
    assert "is not a deltanet checkpoint" in line and "leave out --resume" in line


def test_out_and_checkpoint_must_differ(capsys, tmp_path, no_training):
    path = tmp_path / "run.deltanet"
    status, _, err = cli(capsys, "train", "xor", "--out", path, "--checkpoint", path)
    assert status == 2 and "--out and --checkpoint both name" in one_error(err)


# --- 2. rows with more fields than the header ---------------------------------------------------

def test_trailing_commas_do_not_shift_the_columns(capsys, tmp_path):
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("x1,x2\n0.9,0.1,\n0.1,0.9,\n")
    frame = read_table(trailing)
    assert list(frame.columns) == ["x1", "x2"]
    assert frame["x1"].tolist() == [0.9, 0.1] and frame["x2"].tolist() == [0.1, 0.9]
    clean = tmp_path / "clean.csv"
    clean.write_text("x1,x2\n0.9,0.1\n0.1,0.9\n")
    model = tmp_path / "xor.deltanet"
    assert cli(capsys, "train", "xor", "--hidden", "4", "--epochs", "2", "-q", "--out",
               model)[0] == 0
    assert cli(capsys, "predict", model, trailing, "--proba")[1] == \
        cli(capsys, "predict", model, clean, "--proba")[1]


def test_values_beyond_the_header_are_an_error(capsys, tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("x1,x2\n0.9,0.1,5\n0.1,0.9\n")
    status, _, err = cli(capsys, "train", extra, "--target", "x2")
    assert status == 2
    assert one_error(err) == (
        f"deltanet: error: file '{extra}' is not a valid CSV table (row 1 has 3 fields but "
        "the header has 2); every row needs as many fields as the header")


def test_row_names_without_a_header_field_are_dropped(tmp_path):
    # R's write.table(df, sep=","): the header names the columns, each row starts with its
    # name; as pandas does, the first field of every row is the row's name, not data
    named = tmp_path / "named.csv"
    named.write_text('"a","b","y"\n"r1",1,2,3\n"r2",4,5,6\n')
    frame = read_table(named)
    assert list(frame.columns) == ["a", "b", "y"]
    assert frame.to_numpy().tolist() == [[1, 2, 3], [4, 5, 6]]
    assert frame.index.tolist() == [0, 1]


# --- 3, 11. outputs that cannot be written, found before the work ---------------------------

def test_unwritable_outputs_are_refused_before_training(capsys, tmp_path, no_training):
    a_file = shop_csv(tmp_path / "shop.csv")
    (tmp_path / "sdir").mkdir()
    cases = [
        (["--out", "/proc/digits.deltanet"], "--out '/proc/digits.deltanet' cannot be written: "
                                              "no file can be created in the folder '/proc'"),
        (["--out", f"{a_file}/x.deltanet"], f"'{a_file}' is a file, not a folder"),
        (["--plots", f"{a_file}/plots"], f"--plots '{a_file}/plots' cannot be written"),
        (["--checkpoint", tmp_path / "sdir"], f"--checkpoint '{tmp_path / 'sdir'}' is a folder; "
                                              f"give a file name, e.g. {tmp_path}/sdir/run.ckpt"),
    ]
    for options, message in cases:
        status, _, err = cli(capsys, "train", "xor", *options)
        assert status == 2 and message in one_error(err), (options, err)


def test_new_output_folders_are_still_made(capsys, tmp_path):
    out = tmp_path / "runs" / "deep" / "xor.deltanet"
    status, _, err = cli(capsys, "train", "xor", "--hidden", "2", "--epochs", "1", "-q",
                         "--out", out, "--plots", tmp_path / "runs" / "plots")
    assert status == 0, err
    assert out.is_file() and (tmp_path / "runs" / "plots" / "loss.png").is_file()
    assert not list(tmp_path.rglob(".deltanet-probe-*"))


def test_plots_that_fail_after_training_keep_the_report(capsys, tmp_path):
    plots = tmp_path / "plots"
    (plots / "loss.png").mkdir(parents=True)  # a folder where the image should go
    out = tmp_path / "xor.deltanet"
    status, stdout, err = cli(capsys, "train", "xor", "--hidden", "2", "--epochs", "1",
                              "--json", "--out", out, "--plots", plots)
    assert status == 2
    line = one_error(err)
    assert f"the model was saved to {out}" in line and "--plots" in line
    assert out.is_file()
    assert "accuracy" in json.loads(stdout)["metrics"]


def test_search_outputs_are_checked_before_the_trials(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("deltanet.search.search", lambda *a, **k: pytest.fail("searched"))
    a_file = shop_csv(tmp_path / "shop.csv")
    status, _, err = cli(capsys, "search", "iris", "--trials", "6", "--out",
                         f"{a_file}/x.deltanet")
    assert status == 2 and f"'{a_file}' is a file, not a folder" in one_error(err)
    status, _, err = cli(capsys, "search", a_file, "--target", "bought", "--out", a_file)
    assert status == 2 and "is the data file" in one_error(err)


def test_explain_out_that_cannot_be_written(capsys, tmp_path, iris_model):
    status, _, err = cli(capsys, "explain", "--example", "seed002-forward", "--out",
                         "/proc/x.txt")
    assert status == 2
    assert "--out '/proc/x.txt' cannot be written" in one_error(err)
    status, _, err = cli(capsys, "explain", "--model", iris_model, "--input", "5,3,1,0.2",
                         "--target", "setosa", "--out", iris_model)
    assert status == 2 and "is the --model file" in one_error(err)


# --- 4. classes outside the training rows -------------------------------------------------------

def rare_csv(path: Path) -> Path:
    rows = ["x,label"] + [f"{i / 82:.3f},{'c' if i >= 80 else 'ab'[i % 2]}" for i in range(82)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_rare_class_outside_the_training_rows_keeps_its_output(capsys, tmp_path):
    data, out = rare_csv(tmp_path / "rare.csv"), tmp_path / "rare.deltanet"
    status, _, err = cli(capsys, "train", data, "--target", "label", "--no-stratify",
                         "--seed", "4", "--epochs", "2", "-q", "--out", out)
    assert status == 0, err
    assert "class(es) 'c' of target column 'label' have no training rows" in err
    model = model_files.read(out)
    assert model.classes == ["a", "b", "c"] and model.net.n_outputs == 3
    assert cli(capsys, "evaluate", out, data, "-q")[0] == 0
    status, _, err = cli(capsys, "train", data, "--target", "label", "--no-stratify",
                         "--seed", "4", "--solver", "lbfgs", "-q", "--out", out)
    assert status == 2 and "--solver lbfgs learns the classes" in one_error(err)


# --- 5, 6, 10. explain: exp, JSON, numbers ----------------------------------------------------

@pytest.mark.parametrize("fmt, forward, derivative", [
    ("text", "a₃ = e^(in₃) = e^(3)", "g′(in₃) = e^(in₃) = e^(3)"),
    ("markdown", "a_{3} = e^{\\mathit{in}_{3}} = e^{3}",
     "g'(\\mathit{in}_{3}) = e^{\\mathit{in}_{3}} = e^{3}"),
    ("latex", "a_{3} &= e^{\\mathit{in}_{3}}", "g'(\\mathit{in}_{3}) &= e^{\\mathit{in}_{3}}"),
])
def test_explain_writes_the_exp_activation(capsys, fmt, forward, derivative):
    status, out, err = cli(capsys, "explain", "--sizes", "2,2,1", "--hidden", "exp",
                           "--weights", "1", "--input", "1,1", "--target", "1", "--format", fmt)
    assert status == 0, err
    assert forward in out and derivative in out


def test_explain_json_is_valid_json_with_huge_numbers(capsys):
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    base = ["explain", "--sizes", "2,2,1", "--hidden", "identity", "--output", "identity",
            "--input", "1,1", "--target", "1", "--json"]
    status, out, err = cli(capsys, *base, "--weights", "1e40", "--lr", "1e-200")
    assert status == 0, err
    doc = json.loads(out, parse_constant=refuse)
    assert doc["steps"][0]["loss"] > 1e100
    # a step whose numbers overflow is refused, in one line, rather than written out
    status, out, err = cli(capsys, *base, "--weights", "1e308")
    assert status == 2 and out == ""
    assert "step 1 diverged in the forward pass" in one_error(err)


@pytest.mark.parametrize("flag, value", [("--lr", "1e400"), ("--sizes", "2,1e400,1"),
                                         ("--l2", "-1e999")])
def test_explain_refuses_numbers_too_large_for_a_float(capsys, flag, value):
    args = {"--sizes": "2,2,1", "--weights": "1", "--input": "1,1", "--target": "1",
            flag: value}
    status, _, err = cli(capsys, "explain", *[f"{k}={v}" for k, v in args.items()])
    assert status == 2
    line = one_error(err)
    assert line.startswith(f"deltanet: error: {flag}: ")
    assert "is too large for a floating-point number; give a finite number" in line


def test_explain_messages_name_its_flags(capsys):
    status, _, err = cli(capsys, "explain", "--sizes", "2,2,1", "--weights", "1", "--input",
                         "1,1", "--target", "1", "--steps", "0")
    assert status == 2 and "--steps must be >= 1" in one_error(err)


# --- 15. explain a model written by 'deltanet train' ----------------------------------------

def test_explain_model_codes_the_table_values_and_uses_its_loss(capsys, iris_model):
    model = model_files.read(iris_model)
    import pandas as pd

    raw = [5.1, 3.5, 1.4, 0.2]
    names = [c.name for c in model.pre.columns_]
    coded = model.pre.transform(pd.DataFrame([raw], columns=names))[0]
    status, out, err = cli(capsys, "explain", "--model", iris_model, "--input",
                           ",".join(map(str, raw)), "--target", "setosa", "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["steps"][0]["x"] == pytest.approx(coded.tolist())
    assert doc["steps"][0]["y"] == [1.0, 0.0, 0.0]
    assert "cross entropy (the model's)" in doc["document"]
    coded_text = ",".join(repr(float(v)) for v in coded)
    status, out2, err = cli(capsys, "explain", "--model", iris_model, "--coded",
                            f"--input={coded_text}", "--target", "1,0,0", "--loss",
                            "cross_entropy", "--json")
    assert status == 0, err
    assert json.loads(out2)["steps"][0]["gradient"] == doc["steps"][0]["gradient"]


def test_explain_model_input_errors(capsys, iris_model):
    status, _, err = cli(capsys, "explain", "--model", iris_model, "--input", "5,3,1",
                         "--target", "setosa")
    assert status == 2 and "takes the table columns sepal length (cm)" in one_error(err)
    status, _, err = cli(capsys, "explain", "--model", iris_model, "--input", "5,3,1,0.2",
                         "--target", "rose")
    assert status == 2 and "known classes: setosa, versicolor, virginica" in one_error(err)


# --- 7. Ctrl-C during a search --------------------------------------------------------------

@pytest.mark.slow
def test_interrupted_search_prints_one_line(tmp_path):
    cmd = [sys.executable, "-m", "deltanet.cli", "search", "digits", "--trials", "50",
           "--epochs", "20", "--storage", f"sqlite:///{tmp_path / 's.db'}"]
    # as from a shell: SIGINT at its default (a child inherits an ignored SIGINT, which some
    # libraries leave behind in the test process, and Python then never raises
    # KeyboardInterrupt)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stderr.readline()  # the first trial has ended: the second is running
        assert first.startswith("trial 0"), first
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: the whole process group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert err == "deltanet: error: interrupted\n"


# --- 8. unseen categories ---------------------------------------------------------------------

@pytest.mark.parametrize("quiet", [[], ["--quiet"]])
def test_unseen_categories_are_warned_about(capsys, tmp_path, shop_model, quiet):
    data = tmp_path / "new.csv"
    data.write_text("age,city\n30,Paris\n40,Lyon\n50,Rome\n60,Paris\n")
    status, out, err = cli(capsys, "predict", shop_model, data, *quiet)
    assert status == 0
    assert out.splitlines()[0] == "bought" and len(out.splitlines()) == 5
    assert err == ("deltanet: warning: column 'city' has value(s) 'Paris', 'Rome' (3 rows) that "
                   "shop.deltanet did not see in training; they are coded as none of the known "
                   "categories (known: Lyon, Oslo)\n")
    data.write_text("age,city,bought\n30,Lyon,yes\n")
    status, out, err = cli(capsys, "evaluate", shop_model, data, *quiet)
    assert status == 0 and err == ""
    if quiet:  # what evaluate is asked for, without the tables: one "name value" per line
        assert [line.split()[0] for line in out.splitlines()] == [
            "n", "accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "brier"]


# --- 9. playground ----------------------------------------------------------------------------

def test_playground_errors_are_one_line_with_status_2(capsys):
    status, _, err = cli(capsys, "playground", "--port", "70000", "--no-browser")
    assert status == 2 and one_error(err) == ("deltanet: error: --port must be 0..65535 "
                                              "(got 70000); 0 picks a free port")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        status, _, err = cli(capsys, "playground", "--port", port, "--no-browser")
    assert status == 2
    assert one_error(err) == (f"deltanet: error: cannot listen on 127.0.0.1:{port}: the port is "
                              "already in use; choose another --port (0 picks a free one)")
    status, _, err = cli(capsys, "playground", "--host", "nothere.invalid", "--no-browser")
    assert status == 2
    line = one_error(err)
    assert "--host 'nothere.invalid' is not a known address" in line and "None" not in line


# --- 12, 13. options and targets that would mislead -----------------------------------------

def test_early_stopping_needs_validation_rows(capsys, no_training):
    status, _, err = cli(capsys, "train", "iris", "--val-size", "0", "--early-stopping")
    assert status == 2 and "give --val-size 0.1" in one_error(err)


def test_a_typo_in_a_numeric_target_names_the_row(capsys, tmp_path):
    data = tmp_path / "y.csv"
    data.write_text("x,y\n" + "".join(f"{i},{'twelve' if i == 7 else i * 1.5}\n"
                                      for i in range(100)))
    status, _, err = cli(capsys, "train", data, "--target", "y")
    assert status == 2
    assert one_error(err) == (
        "deltanet: error: target column 'y' has non-numeric text 'twelve' in row 8, and its "
        "other values are numbers; fix the value, or pass task='classification' (command "
        "line: --task classification) if the column holds class labels")


# --- 14. messages in the command's words ------------------------------------------------------

def test_train_messages_name_the_flags(capsys, tmp_path, shop_model):
    data = shop_csv(tmp_path / "shop.csv")
    status, _, err = cli(capsys, "train", data, "--target", "bought", "--task", "regression")
    assert status == 2
    line = one_error(err)
    assert "pass --task classification" in line and "task=" not in line
    status, _, err = cli(capsys, "train", "xor", "--activation", "foo")
    line = one_error(err)
    assert status == 2 and line.startswith("deltanet: error: --activation: unknown hidden "
                                           "activation 'foo'")
    assert "softmax" not in line
    status, _, err = cli(capsys, "train", "xor", "--activation", "softmax")
    assert status == 2 and "--activation" in one_error(err)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    status, _, err = cli(capsys, "predict", shop_model, other)
    assert status == 2 and "the table has columns 'a', 'b'" in one_error(err)


def test_resume_of_another_run_says_leave_out_resume(capsys, tmp_path):
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "m.deltanet"
    base = ["train", "xor", "--hidden", "2", "--epochs", "2", "-q", "--out", out,
            "--checkpoint", ckpt]
    assert cli(capsys, *base)[0] == 0
    status, _, err = cli(capsys, *base, "--resume", "--lr", "0.01")
    assert status == 2
    line = one_error(err)
    assert "belongs to another training run" in line and "leave out --resume" in line
    assert "resume=False" not in line


def test_diverging_training_does_not_claim_weights_were_kept(capsys, tmp_path):
    status, _, err = cli(capsys, "train", "iris", "--solver", "sgd", "--lr", "1e6",
                         "--activation", "identity", "--epochs", "5", "-q", "--out",
                         tmp_path / "never.deltanet")
    assert status == 2
    line = one_error(err)
    assert line.startswith("deltanet: error: training failed, no model was written: the cost "
                           "became")
    assert "were kept" not in line and "--lr" in line and "--alpha" in line


@pytest.mark.parametrize("options, message", [
    (["--trials", "0"], "argument --trials: '0' is out of range [1, inf]"),
    (["--cv", "1"], "argument --cv: '1' is out of range [2, inf]"),
    (["--jobs", "0"], "argument --jobs: 0 workers cannot run trials"),
    (["--seed", "-1"], "argument --seed: '-1' is out of range [0, inf]"),
    (["--jobs", "2", "--dask", "tcp://127.0.0.1:1"], "give --jobs or --dask, not both"),
    (["--storage", ":memory:", "--jobs", "2"], "--storage :memory: keeps the trials"),
    (["--pruner", "median", "--objectives", "error,params"],
     "--pruner median needs a single objective"),
    (["--cv", "1000", "--storage", ":memory:"], "--cv must be <= 150"),
    (["--space", "width=0:3", "--storage", ":memory:"], "--space width must be >= 1"),
])
def test_search_messages_name_the_flags(capsys, options, message):
    status, _, err = cli(capsys, "search", "iris", "--trials", "1", "--epochs", "1", *options)
    assert status == 2
    line = one_error(err)
    assert message in line
    for name in ("n_trials", "n_jobs", "random_state", "cv=", "space["):
        assert name not in line


# --- output into a pipe that closes early -------------------------------------------------
def test_a_reader_that_stops_early_ends_the_command_quietly(shop_model, tmp_path):
    # `deltanet predict ... | head -1`: exit 141 (128 + SIGPIPE) with nothing on stderr,
    # not "deltanet: error: [Errno 32] Broken pipe"
    data = shop_csv(tmp_path / "many.csv", n=20_000)
    cmd = [sys.executable, "-m", "deltanet.cli", "predict", str(shop_model), str(data), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"{"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141 and err == ""
