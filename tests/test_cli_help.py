"""``deltanet --help`` and every subcommand's help: complete, fast, and free of heavy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deltanet.cli import _delegate, build_parser

OWN = ("train", "evaluate", "predict", "info", "datasets")
DELEGATED = tuple(_delegate.DELEGATES)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltanet.cli", *args], capture_output=True,
                          text=True, timeout=120)


def subparsers() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def option_strings(parser) -> list[str]:
    return [s for a in parser._actions for s in a.option_strings]


def test_main_help_lists_every_command():
    done = run_cli("--help")
    assert done.returncode == 0 and done.stderr == ""
    for name in (*OWN, *DELEGATED):
        assert f"\n    {name}" in done.stdout
    for text in ("examples:", "exit status", "--version"):
        assert text in done.stdout


def test_version():
    done = run_cli("--version")
    import deltanet

    assert done.stdout == f"deltanet {deltanet.__version__}\n"


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom deltanet.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "heavy = {'pandas', 'sklearn', 'matplotlib', 'numba', 'scipy', 'optuna'}\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", OWN)
def test_subcommand_help_is_complete(name):
    parser = subparsers()[name]
    done = run_cli(name, "--help")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith(f"usage: deltanet {name}")
    options = option_strings(parser)
    assert {"--json", "--quiet", "--debug", "--help"} <= set(options)
    for option in options:
        assert option in done.stdout, option
    for action in parser._actions:
        assert action.help, action.dest  # every option says what it does
        if action.option_strings == [] and action.dest != "help":
            assert action.metavar in done.stdout
    if name != "datasets":
        assert "example" in done.stdout


def test_train_help_names_every_issue_option():
    done = run_cli("train", "--help")
    for option in ("--target", "--task", "--hidden", "--activation", "--solver", "--lr",
                   "--batch-size", "--epochs", "--alpha", "--dropout", "--batch-norm",
                   "--early-stopping", "--patience", "--scale", "--impute", "--test-size",
                   "--val-size", "--seed", "--dtype", "--out", "--plots", "--checkpoint",
                   "--checkpoint-every", "--resume", "--class-weight"):
        assert option in done.stdout, option


@pytest.mark.parametrize("name", DELEGATED)
def test_delegated_subcommand_help_is_theirs(name):
    parser, run = _delegate.build_parser(name)
    assert callable(run)
    done = run_cli(name, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: deltanet {name}")
    for option in option_strings(parser):
        assert option in done.stdout, option
    assert "--debug" in done.stdout
