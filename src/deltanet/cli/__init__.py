"""The ``deltanet`` command: train, evaluate, predict, inspect, explain, search, play.

``deltanet train DATA --target COLUMN`` trains a network on a CSV/Parquet file or a bundled
dataset with a progress bar, prints its metrics and writes the model file (with its
preprocessing) and plots; ``evaluate``, ``predict``, ``info``, ``card`` (a model card) and
``export`` (ONNX) use that file. Every
command takes ``--json`` (one JSON document on stdout) and ``--quiet``. A problem with the
input prints one line, ``deltanet: error: ...``, and exits with status 2.

Heavy modules (pandas, scikit-learn, Matplotlib, the training engine) are imported inside
the commands, so ``deltanet --help`` answers at once.
"""

from __future__ import annotations

import sys

from ._common import OneLineParser, guarded, open_closed_streams

COMMANDS = ("train", "evaluate", "predict", "info", "datasets", "export", "card")

DESCRIPTION = """\
deltanet: feed-forward neural networks trained by backpropagation.

Train a network on a CSV/Parquet file or a bundled dataset, then evaluate it, predict
with it, inspect it, write its model card or export it to ONNX; see a worked
backpropagation step, search architectures, or train live in the browser. Every
command takes --json and --quiet; 'deltanet COMMAND --help' shows its options."""

EPILOG = """\
examples:
  deltanet datasets
  deltanet train iris --out iris.deltanet --plots plots
  deltanet evaluate iris.deltanet iris
  deltanet predict iris.deltanet flowers.csv --proba
  deltanet info iris.deltanet
  deltanet export iris.deltanet --out iris.onnx
  deltanet card iris.deltanet iris --out card.md

exit status: 0 success, 2 bad input or usage (one line on stderr), 1 a bug in deltanet,
130 interrupted."""


def build_parser() -> OneLineParser:
    """The ``deltanet`` argument parser with every subcommand."""
    import argparse

    from deltanet import __version__

    from . import _delegate, card, datasets, evaluate, export, info, predict, train

    parser = OneLineParser(prog="deltanet", description=DESCRIPTION, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"deltanet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in (train, evaluate, predict, info, datasets, export, card):
        module.add_parser(commands)
    _delegate.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``deltanet`` command with ``argv`` (default: ``sys.argv[1:]``); return the
    exit status."""
    from . import _delegate

    open_closed_streams()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.error("a command is required: train, evaluate, predict, info, datasets, "
                     "export, card, explain, search or playground")
    if args.command in _delegate.DELEGATES:
        return _delegate.run(args.command, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return guarded(args.func, args)
