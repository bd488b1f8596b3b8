"""The options of ``deltanet train``, with argument types that reject bad values in one line."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from ._common import add_force_option

SOLVERS = ("adam", "sgd", "momentum", "nesterov", "rprop", "lbfgs")


def layer_sizes(text: str) -> list[int]:
    """``'64,32'`` -> ``[64, 32]``; ``''`` or ``'none'`` -> no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes layer sizes separated by commas, e.g. 64,32 (got {text!r})"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--hidden layer sizes must be at least 1 (got {text!r})")
    return sizes


def _number(kind: type, low: float, high: float = math.inf, low_open: bool = False,
            high_open: bool = False) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}"
                                             f"number, got {text!r}") from None
        below = value < low or (low_open and value == low)
        above = value > high or (high_open and value == high)
        if below or above or (kind is float and not math.isfinite(value)):
            lo, hi = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"{text!r} is out of range {lo}{low:g}, {high:g}{hi}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = _number(int, 1)
non_negative_int = _number(int, 0)
folds = _number(int, 2)
positive_float = _number(float, 0.0, low_open=True)
non_negative_float = _number(float, 0.0)
fraction = _number(float, 0.0, 1.0, high_open=True)
open_fraction = _number(float, 0.0, 1.0, low_open=True, high_open=True)


def jobs(text: str) -> int:
    """A number of worker processes: 1 or more, or -1 for every core."""
    value = _number(int, -1)(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 workers cannot run trials; give 1 or more, or -1 "
                                         "for every core")
    return value


jobs.__name__ = "int"


def memory_size(text: str) -> int:
    """A memory budget: ``2GB``, ``500MB``, ``1.5GiB`` or a number of bytes."""
    from deltanet.data.stream_sources import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 2GB, 500MB or 1.5GiB, got "
                                         f"{text!r}") from None


memory_size.__name__ = "size"


def add_memory_option(group) -> None:
    """``--memory``: the budget above which a table is read in pieces."""
    group.add_argument("--memory", type=memory_size, metavar="SIZE",
                       help="memory budget, e.g. 2GB or 500MB (default: a quarter of the "
                            "RAM); a table larger than it is streamed: read in pieces, "
                            "never whole")


def add_stream_options(parser: argparse.ArgumentParser) -> None:
    """The options of training on a table larger than memory."""
    group = parser.add_argument_group("tables larger than memory")
    add_memory_option(group)
    group.add_argument("--stream", action="store_true",
                       help="stream the table even if it fits in the budget (rows split by "
                            "a seeded hash of the row number, never stratified)")
    group.add_argument("--shuffle-buffer", type=positive_int, metavar="ROWS",
                       help="rows shuffled together when streaming (default: as many as a "
                            "tenth of --memory holds); one epoch reads the row groups or "
                            "chunks in a random order into this buffer, then shuffles it")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--hidden", type=layer_sizes, default=[64, 32], metavar="SIZES",
                       help="hidden layer sizes, comma separated; 'none' for no hidden layer "
                            "(default 64,32)")
    group.add_argument("--activation", default="relu", metavar="NAME",
                       help="hidden activation: relu, tanh, logistic, softplus, identity; or "
                            "one per hidden layer, e.g. relu,tanh (default relu)")
    group.add_argument("--batch-norm", action="store_true",
                       help="batch-normalise the hidden layers")
    group.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                       help="floating-point type of the weights (default float64)")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument("--solver", choices=SOLVERS, default="adam",
                       help="optimizer (default adam); lbfgs trains full-batch with SciPy's "
                            "L-BFGS, rprop needs --batch-size 0 (full batch)")
    group.add_argument("--lr", type=positive_float, default=0.001, metavar="ALPHA",
                       help="learning rate α (default 0.001)")
    group.add_argument("--batch-size", type=_number(int, 0), default=32, metavar="N",
                       help="examples per update: 1 = per-example SGD, 0 = full batch "
                            "(default 32)")
    group.add_argument("--epochs", type=positive_int, default=100, metavar="N",
                       help="most epochs (lbfgs: iterations) (default 100)")
    group.add_argument("--alpha", type=non_negative_float, default=0.0, metavar="LAMBDA",
                       help="L2 weight decay λ Σ w² (default 0)")
    group.add_argument("--dropout", type=fraction, default=0.0, metavar="RATE",
                       help="dropout rate of the hidden layers (default 0)")
    group.add_argument("--class-weight", choices=("balanced",), default=None,
                       help="weigh classes by n / (K n_c) against imbalance")
    group.add_argument("--early-stopping", action="store_true",
                       help="stop when the validation loss stops improving; keep the best "
                            "epoch's weights")
    group.add_argument("--patience", type=positive_int, default=10, metavar="N",
                       help="epochs without improvement before early stopping (default 10)")
    group.add_argument("--seed", type=_number(int, 0), default=0, metavar="N",
                       help="seed of the split, the initial weights and the shuffling "
                            "(default 0)")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--target", metavar="COLUMN",
                       help="column to predict (default: the dataset's target; required for "
                            "files)")
    group.add_argument("--task", choices=("classification", "regression"),
                       help="override the detected task")
    group.add_argument("--scale", choices=("minmax", "standard", "none"), default="minmax",
                       help="numeric columns: min-max to [-1, 1], standardise, or keep "
                            "(default minmax)")
    group.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                       help="fill missing values from the training rows (default: missing "
                            "values are an error)")
    group.add_argument("--drop", action="append", default=[], metavar="COLUMN",
                       help="leave COLUMN out of the inputs (repeat for several)")
    group.add_argument("--max-categories", type=positive_int, default=100, metavar="N",
                       help="most different values a text column may have (default 100; "
                            "a column with more is refused: an identifier or free text)")
    add_reading_options(group)


def add_reading_options(group) -> None:
    """``--encoding`` and ``--decimal-comma``: how a CSV file's text is read."""
    group.add_argument("--encoding", metavar="NAME",
                       help="text encoding of a CSV file, e.g. latin-1 (default: UTF-8, "
                            "strictly)")
    group.add_argument("--decimal-comma", action="store_true",
                       help="numbers in the CSV file are written with a decimal comma "
                            "(\"1,5\")")
    group.add_argument("--test-size", type=fraction, default=0.2, metavar="F",
                       help="fraction of rows held out for the test metrics (default 0.2)")
    group.add_argument("--val-size", type=fraction, default=0.1, metavar="F",
                       help="fraction of rows for validation (loss curve, early stopping) "
                            "(default 0.1)")
    group.add_argument("--no-stratify", action="store_true",
                       help="split the rows at random, without keeping each class's share "
                            "in every part (for classes too small to stratify)")


def add_output_files(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("files")
    group.add_argument("--out", metavar="MODEL",
                       help="model file to write (default NAME.deltanet in the current folder)")
    group.add_argument("--plots", metavar="DIR",
                       help="write PNG plots here: loss curves, confusion matrix, decision "
                            "regions (two inputs), gradient norm per depth")
    group.add_argument("--checkpoint", metavar="FILE",
                       help="write a training checkpoint to FILE (atomically)")
    group.add_argument("--checkpoint-every", type=positive_int, default=1, metavar="N",
                       help="write the checkpoint every N epochs (default 1)")
    group.add_argument("--resume", action="store_true",
                       help="continue from --checkpoint if it exists (a larger --epochs "
                            "trains on to it); the result is bit for bit that of an "
                            "uninterrupted run")
    add_force_option(group)


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """Every option of ``deltanet train``."""
    add_data_options(parser)
    add_model_options(parser)
    add_training_options(parser)
    add_stream_options(parser)
    add_output_files(parser)
