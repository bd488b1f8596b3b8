"""Subcommands whose options and work live in other parts of deltanet: ``explain``,
``search`` and ``playground``.

They are registered on the main parser without importing their modules (``deltanet --help``
stays fast); their own parser is built when the subcommand runs, from the module's
``add_arguments(parser)`` and ``run(args) -> int``, so ``deltanet explain --help`` shows
their options.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Any

from ._common import CommandError, OneLineParser, add_output_options, guarded


@dataclass(frozen=True)
class Delegate:
    """A subcommand implemented by ``module`` (functions ``add`` and ``run``); ``run`` reads
    ``args.json`` and ``args.quiet``."""

    name: str
    module: str
    add: str
    run: str
    help: str
    description: str
    epilog: str = ""


DELEGATES = {
    "explain": Delegate(
        "explain", "deltanet.cli.explain", "add_arguments", "run",
        "worked example of a forward/backward/update step in lecture notation",
        "Write out one step of backpropagation on a small network: every in_j, a_j, Δ_j, "
        "gradient and update, in the lecture's notation.",
        """examples:
  deltanet explain --list
  deltanet explain --example seed003-backprop --format markdown
  deltanet explain --sizes 2,2,1 --weights 0.5 --input 1,0 --target 1 --lr 0.5
  deltanet explain --model iris.deltanet --input 5.1,3.5,1.4,0.2 --target setosa
  deltanet explain --exercise --seed 7 --out homework/ex7"""),
    "search": Delegate(
        "search", "deltanet.cli.search", "add_arguments", "run",
        "architecture and hyper-parameter search (Optuna; Dask for many machines)",
        "Search architectures and hyper-parameters for DATA with Optuna, on this machine or "
        "a Dask cluster; trials are stored so a search can be resumed."),
    "playground": Delegate(
        "playground", "deltanet.playground", "add_cli_arguments", "run_from_args",
        "train small networks live in the browser (local web server)",
        "Start the playground: a local web server on 127.0.0.1 and a page to train small "
        "networks live, with the backward view of every Δ_j. Ctrl+C stops it (exit status "
        "130).",
        """examples:
  deltanet playground                       # http://127.0.0.1:8000/ in your browser
  deltanet playground --port 0 --no-browser # any free port; the URL is printed
  deltanet playground --json --no-browser   # {"url": ...} for scripts"""),
}


def add_parsers(commands: Any) -> None:
    """Register every delegated subcommand (its options are parsed when it runs)."""
    for d in DELEGATES.values():
        commands.add_parser(d.name, help=d.help, add_help=False)


def _functions(d: Delegate):
    try:
        module = importlib.import_module(d.module)
    except ModuleNotFoundError as err:
        if err.name and d.module.startswith(err.name):
            raise CommandError(f"'deltanet {d.name}' is not available: this installation has "
                               f"no {d.module}; reinstall deltanet") from None
        raise
    return getattr(module, d.add), getattr(module, d.run)


def build_parser(name: str) -> tuple[argparse.ArgumentParser, Any]:
    """The full parser of a delegated subcommand, and its run function.

    The module's own options come first; then ``--json``, ``--quiet`` and ``--debug``,
    those it does not define itself.
    """
    d = DELEGATES[name]
    add, run = _functions(d)
    import textwrap

    parser = OneLineParser(prog=f"deltanet {name}", description=textwrap.fill(d.description, 88),
                           epilog=d.epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add(parser)
    add_output_options(parser)
    return parser, run


def run(name: str, argv: list[str]) -> int:
    """Parse ``argv`` with the subcommand's own parser and run it under the error policy."""
    built: list = []
    status = guarded(lambda _: built.append(build_parser(name)),
                     argparse.Namespace(debug="--debug" in argv))
    if status != 0:
        return status
    parser, command = built[0]
    return guarded(command, parser.parse_args(argv))
