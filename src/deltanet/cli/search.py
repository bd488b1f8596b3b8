"""``deltanet search DATA --target COLUMN``: architecture search from the command line.

DATA is read and coded as ``deltanet train`` does (one-hot categories, numbers scaled to
``[−1, 1]``); the whole table takes part in the cross-validation. A numeric target keeps
its units (each trial standardises it inside), so errors are reported in them. The best
network, retrained on all rows, is saved with its preprocessing, so ``deltanet predict``
and ``deltanet evaluate`` use it on raw rows. A table larger than ``--memory`` is read in
pieces: the trials run on a sample of its rows, the retraining on all of them
(:mod:`._stream_search`).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from deltanet.cli._common import fit_table
from deltanet.cli._options import (
    add_memory_option,
    folds,
    jobs,
    non_negative_int,
    open_fraction,
    positive_int,
)

from ..search.runner import DEFAULT_STORAGE, PRUNERS, SAMPLERS, in_memory
from ..search.space import DEFAULT_SPACE

EXAMPLES = """\
examples:
  deltanet search digits --trials 30 --out digits.deltanet --plots runs/search
  deltanet search iris --sampler nsga2 --objectives error,params --trials 40
  deltanet search houses.csv --target price --pruner hyperband --jobs 2
  deltanet search digits --space n_groups=1:2 --space optimizer=adam --space width=16:128:log
  deltanet search digits --storage postgresql://db/search --dask tcp://10.0.0.5:8786

A search is stored (default: ./deltanet-search.db) under a study name derived from the data
and settings: run the same command again and it resumes where it stopped."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``deltanet search`` to ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("data", metavar="DATA",
                        help="CSV or Parquet file, or a dataset name (see 'deltanet datasets')")
    parser.add_argument("--target", metavar="COLUMN", help="column to predict (data files)")
    parser.add_argument("--task", choices=("classification", "regression"),
                        help="default: detected from the target column")
    parser.add_argument("--trials", type=positive_int, default=30, metavar="N",
                        help="trials the study should hold, complete or pruned (default 30)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                        help="tpe (default), nsga2 (genetic algorithm), random or grid")
    parser.add_argument("--objectives", default="error", metavar="LIST",
                        help="'error' (default) or 'error,params' for a Pareto front")
    parser.add_argument("--pruner", choices=("auto", *PRUNERS), default="auto",
                        help="stop poor trials early (auto: median with one objective)")
    parser.add_argument("--cv", type=folds, default=3, metavar="K",
                        help="cross-validation folds (default 3)")
    parser.add_argument("--epochs", type=positive_int, default=40, metavar="E",
                        help="epochs per trial (default 40)")
    parser.add_argument("--patience", type=positive_int, metavar="P",
                        help="end a trial after P epochs without improvement (default: "
                             "none, every trial runs its epochs)")
    parser.add_argument("--subsample", type=open_fraction, metavar="F",
                        help="train the first third of the trials on this fraction of rows")
    parser.add_argument("--space", action="append", default=[], metavar="KEY=VALUES",
                        help="override the search space: KEY=a,b,c (choices), KEY=lo:hi "
                             "(range), KEY=lo:hi:log, KEY=value (fixed); keys: "
                             + ", ".join(DEFAULT_SPACE))
    parser.add_argument("--storage", metavar="URL",
                        help=f"study storage (default {DEFAULT_STORAGE}; any SQLAlchemy URL)")
    parser.add_argument("--study", metavar="NAME", help="study name (default: from the data "
                                                        "and settings)")
    parser.add_argument("--jobs", type=jobs, default=1, metavar="N",
                        help="trials in parallel on local processes (-1: every core) "
                             "(default 1)")
    parser.add_argument("--dask", metavar="ADDRESS", help="run trials on this Dask scheduler")
    parser.add_argument("--out", metavar="MODEL",
                        help="save the best network here (default NAME.deltanet in the "
                             "current folder, as train)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out or plot file even if it is not of "
                             "the kind this command writes (refused otherwise)")
    parser.add_argument("--plots", metavar="DIR", help="write history, Pareto front and "
                                                       "importance plots (PNG) here")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="random seed (default 0)")
    parser.add_argument("--scale", choices=("minmax", "standard", "none"), default="minmax",
                        help="scaling of numeric columns (default minmax to [-1, 1])")
    parser.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                        help="fill missing values (default: refuse them)")
    parser.add_argument("--drop", action="append", default=[], metavar="COLUMN",
                        help="leave COLUMN out of the inputs (repeat for several)")
    parser.add_argument("--max-categories", type=positive_int, default=100, metavar="N",
                        help="most different values a text column may have (default 100)")
    parser.add_argument("--encoding", metavar="NAME",
                        help="text encoding of a CSV file (default: UTF-8, strictly)")
    parser.add_argument("--decimal-comma", action="store_true",
                        help="numbers in the CSV file are written with a decimal comma")
    _add_stream_arguments(parser)


def _add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tables larger than memory")
    add_memory_option(group)
    group.add_argument("--stream", action="store_true",
                       help="read DATA in pieces even if it fits in the budget: the trials "
                            "run on a sample of the rows, the best network is retrained on "
                            "every row")


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text.strip()


def parse_space(items: list[str]) -> dict[str, Any]:
    """``["width=16:128:log", "optimizer=adam,sgd", "n_groups=2"]`` as a space override."""
    space = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not text:
            raise ValueError(f"--space takes KEY=VALUES (got {item!r}); e.g. --space "
                             "n_groups=1:3 or --space optimizer=adam,sgd")
        if ":" in text:
            parts = text.split(":")
            space[key.strip()] = tuple(_value(p) if p != "log" else p for p in parts)
        elif "," in text:
            space[key.strip()] = [_value(p) for p in text.split(",")]
        else:
            space[key.strip()] = _value(text)
    return space


def _table(args: argparse.Namespace):
    """The coded table: ``(X, y, preprocessor, source name, fingerprint)``; a numeric ``y`` in the
    target's units (not standardised), so the cross-validated mean squared error is too."""
    from deltanet.cli._source import load_source
    from deltanet.data import TablePreprocessor

    source = load_source(args.data, getattr(args, "encoding", None),
                         getattr(args, "decimal_comma", False))
    target = args.target or source.target
    if target is None:
        columns = ", ".join(list(source.frame.columns)[:20])
        raise ValueError(f"--target is required for a data file: name the column to predict "
                         f"(the columns are: {columns})")
    pre = TablePreprocessor(target, task=args.task, scale=args.scale, impute=args.impute,
                            drop=getattr(args, "drop", ()),
                            max_categories=getattr(args, "max_categories", 100))
    fit_table(pre, source.frame)
    from deltanet.cli.model_file import fingerprint

    return (pre.transform(source.frame), pre.encode_target(source.frame), pre, source.name,
            fingerprint(source.frame))


#: library parameter -> the flag of this command, for messages raised below it
FLAGS = {"n_trials": "--trials", "n_jobs": "--jobs", "random_state": "--seed",
         "study_name": "--study", "cv": "--cv", "epochs": "--epochs", "patience": "--patience",
         "subsample": "--subsample", "sampler": "--sampler", "pruner": "--pruner",
         "objectives": "--objectives", "storage": "--storage", "dask": "--dask",
         "task": "--task"}


def flag_words(message: str) -> str:
    """A library message with this command's flags for the parameters it names:
    ``n_trials must be >= 1`` -> ``--trials must be >= 1``, ``n_jobs=2`` -> ``--jobs 2``,
    ``space['width']`` -> ``--space width``."""
    message = re.sub(r"space\['(\w+)'\]", r"--space \1", message)
    for name, flag in FLAGS.items():
        message = re.sub(rf"(?<![\w-]){name}=", f"{flag} ", message)
        if "_" in name or name == "cv":  # plain words ('storage', 'task') stay words
            message = re.sub(rf"(?<![\w-]){name}\b", flag, message)
    return message


def check_options(args: argparse.Namespace) -> None:
    """Options that cannot work together, and output paths that cannot be written, refused
    before the data is read and the trials run."""
    from deltanet.cli._common import check_output_file, check_output_folder, check_plot_files

    force = getattr(args, "force", False)
    if args.out:
        check_output_file(args.out, "--out", {"data file": args.data,
                                              "search storage": _sqlite_file(args.storage)},
                          kind="model", force=force)
    if args.plots:
        check_output_folder(args.plots, "--plots")
        check_plot_files(args.plots, "--plots", force)
    if args.dask and args.jobs != 1:
        raise ValueError("give --jobs or --dask, not both: Dask runs one trial per worker "
                         "thread of the cluster")
    if in_memory(args.storage) and (args.jobs != 1 or args.dask):
        raise ValueError(f"--storage {args.storage} keeps the trials in the memory of this "
                         "process, and worker processes cannot share it; give an SQLite file "
                         "or a database URL to --storage, or leave out --jobs and --dask")
    pruner = args.pruner not in ("auto", "none")
    if pruner and "," in args.objectives:
        raise ValueError(f"--pruner {args.pruner} needs a single objective; use --pruner none "
                         "(or auto) with --objectives error,params")


def _sqlite_file(storage: str | None) -> str | None:
    """The file of an SQLite storage URL (None for other databases)."""
    from ..search.runner import resolve_storage

    try:
        url = resolve_storage(storage)
    except (TypeError, ValueError):
        return None  # the search reports a bad URL itself
    if in_memory(url):
        return None
    prefix = "sqlite:///"
    return url[len(prefix):] if url.startswith(prefix) else None


def run(args: argparse.Namespace) -> int:
    """Run the search, save the best network, print the table (or JSON)."""
    check_options(args)
    from deltanet.cli._table_stream import should_stream

    space = parse_space(args.space)
    sampled = None
    if should_stream(args):  # trials on a sample, the best network retrained on every row
        from deltanet.cli._stream_search import sampled_table

        sampled = sampled_table(args)
        X, y, pre, name = sampled.X, sampled.y, sampled.pre, sampled.name
        data_fingerprint = sampled.fingerprint
    else:
        X, y, pre, name, data_fingerprint = _table(args)
    _check_classes(y, pre, args.cv)
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    out = args.out or f"{name}.deltanet"  # as 'deltanet train' names its model file
    if not args.out:
        from deltanet.cli._common import check_output_file

        check_output_file(out, "--out (default)", {"data file": args.data})
    result = _search(args, X, y, pre.task_, space, quiet,
                     None if sampled is None else sampled.stream)
    doc = result.to_dict()
    from deltanet.cli._common import writing

    rows = len(X) if sampled is None else sampled.n_rows
    with writing(out, "--out"):
        doc["model"] = str(_save(out, result, pre, name, rows, data_fingerprint, len(X)))
    if getattr(args, "json", False):
        from deltanet.cli._common import print_json

        print_json(doc)
    elif not quiet:
        _print(result, doc)
    return 0


def _check_classes(y: Any, pre: Any, cv: int) -> None:
    """A class with fewer rows than folds, named as in the data (the search sees codes)."""
    import numpy as np

    if pre.task_ != "classification" or cv > len(y):  # more folds than rows: the search says
        return
    counts = np.bincount(y, minlength=len(pre.classes_))
    rare = int(np.argmin(counts))
    if counts[rare] < cv:
        rows = f"{counts[rare]} row" + ("" if counts[rare] == 1 else "s")
        raise ValueError(f"class {pre.classes_[rare]!r} of column {pre.target!r} has {rows}, "
                         f"fewer than the {cv} cross-validation folds; lower --cv or add rows "
                         "of that class")


def _search(args: argparse.Namespace, X: Any, y: Any, task: str, space: dict[str, Any],
            quiet: bool, stream: Any = None):
    """:func:`deltanet.search` with the options (the best network retrained on ``stream``
    when given); its messages name the options' flags."""
    from deltanet.search import search

    try:
        return search(X, y, task=task, n_trials=args.trials, space=space,
                      sampler=args.sampler, objectives=args.objectives, pruner=args.pruner,
                      cv=args.cv, epochs=args.epochs, patience=args.patience,
                      storage=args.storage, study_name=args.study, n_jobs=args.jobs,
                      dask=args.dask, subsample=args.subsample, random_state=args.seed,
                      plots=args.plots, callbacks=[] if quiet else [_progress(args.trials, task)],
                      retrain_on=stream)
    except (TypeError, ValueError) as err:
        raise ValueError(flag_words(str(err))) from None


def _progress(n_trials: int, task: str):
    """A line on stderr for every finished trial."""
    from ..search.report import trial_line

    def show(record: dict[str, Any]) -> None:
        print(trial_line(record, n_trials, task), file=sys.stderr, flush=True)

    return show


def _save(path: str, result: Any, pre: Any, name: str, rows: int, data_fingerprint: str,
          trial_rows: int):
    """The best network with its preprocessing, as ``deltanet train`` writes models
    (``trial_rows``: the rows the trials saw, a sample of a table read in pieces)."""
    from deltanet.cli import model_file

    best = result.to_dict()["best"]
    # every row trained the saved network: no held-out part ("split": None)
    data = {"fingerprint": data_fingerprint, "n_rows": rows, "split": None}
    info = {"source": name, "data": data, "task": pre.task_, "target": pre.target,
            "classes": pre.classes_,
            "features": pre.feature_names_out, "rows": {"train": rows},
            "training": {**result.best_params, "epochs": result.best_trial.user_attrs.get(
                "best_epoch")},
            "search": {"study": result.study.study_name, "storage": result.storage,
                       "trial_rows": trial_rows,
                       "trial": best["number"], "cv_error": best["error"],
                       "network": best["network"]}}
    return model_file.write(path, result.network, pre, info)


def _print(result: Any, doc: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    console.print(result.table())
    counts = ", ".join(f"{n} {state}" for state, n in doc["trials"].items() if n)
    score = "accuracy" if result.task == "classification" else "MSE"
    console.print(f"study {doc['study']} in {doc['storage']}: {counts}")
    console.print(f"best: trial {result.best_trial.number}, cross-validated {score} "
                  f"{result.best_score:.4f}, {result.best_config.describe()}")
    console.print(f"best network, retrained on all rows, saved to {doc['model']}")
    for label, path in doc["plots"].items():
        if path:
            console.print(f"{label} plot: {path}")
    for note in doc["notes"]:
        print(note, file=sys.stderr)
