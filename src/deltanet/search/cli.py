"""``deltanet search DATA --target COLUMN``: architecture search from the command line.

DATA is read and coded as ``deltanet train`` does (one-hot categories, numbers scaled to
``[−1, 1]``); the whole table takes part in the cross-validation. The best network,
retrained on all rows, is saved with its preprocessing, so ``deltanet predict`` and
``deltanet evaluate`` use it on raw rows.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .runner import DEFAULT_STORAGE, PRUNERS, SAMPLERS
from .space import DEFAULT_SPACE

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
    parser.add_argument("--trials", type=int, default=30, metavar="N",
                        help="trials the study should hold, complete or pruned (default 30)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                        help="tpe (default), nsga2 (genetic algorithm), random or grid")
    parser.add_argument("--objectives", default="error", metavar="LIST",
                        help="'error' (default) or 'error,params' for a Pareto front")
    parser.add_argument("--pruner", choices=("auto", *PRUNERS), default="auto",
                        help="stop poor trials early (auto: median with one objective)")
    parser.add_argument("--cv", type=int, default=3, metavar="K",
                        help="cross-validation folds (default 3)")
    parser.add_argument("--epochs", type=int, default=40, metavar="E",
                        help="epochs per trial (default 40)")
    parser.add_argument("--patience", type=int, metavar="P",
                        help="end a trial after P epochs without improvement")
    parser.add_argument("--subsample", type=float, metavar="F",
                        help="train the first third of the trials on this fraction of rows")
    parser.add_argument("--space", action="append", default=[], metavar="KEY=VALUES",
                        help="override the search space: KEY=a,b,c (choices), KEY=lo:hi "
                             "(range), KEY=lo:hi:log, KEY=value (fixed); keys: "
                             + ", ".join(DEFAULT_SPACE))
    parser.add_argument("--storage", metavar="URL",
                        help=f"study storage (default {DEFAULT_STORAGE}; any SQLAlchemy URL)")
    parser.add_argument("--study", metavar="NAME", help="study name (default: from the data "
                                                        "and settings)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="trials in parallel on local processes (-1: every core)")
    parser.add_argument("--dask", metavar="ADDRESS", help="run trials on this Dask scheduler")
    parser.add_argument("--out", metavar="MODEL", help="save the best network here")
    parser.add_argument("--plots", metavar="DIR", help="write history, Pareto front and "
                                                       "importance plots (PNG) here")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--scale", choices=("minmax", "standard", "none"), default="minmax",
                        help="scaling of numeric columns (default minmax to [-1, 1])")
    parser.add_argument("--impute", choices=("mean", "median", "most_frequent"),
                        help="fill missing values (default: refuse them)")


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
    """The coded table: ``(X, y, preprocessor, source name)``."""
    from deltanet.cli._source import load_source
    from deltanet.data import TablePreprocessor

    source = load_source(args.data)
    target = args.target or source.target
    if target is None:
        columns = ", ".join(list(source.frame.columns)[:20])
        raise ValueError(f"--target is required for a data file: name the column to predict "
                         f"(the columns are: {columns})")
    pre = TablePreprocessor(target, task=args.task, scale=args.scale, impute=args.impute,
                            scale_target=True)
    pre.fit(source.frame)
    return pre.transform(source.frame), pre.encode_target(source.frame), pre, source.name


def run(args: argparse.Namespace) -> int:
    """Run the search, save the best network, print the table (or JSON)."""
    from deltanet.search import search

    X, y, pre, name = _table(args)
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    result = search(X, y, task=pre.task_, n_trials=args.trials, space=parse_space(args.space),
                    sampler=args.sampler, objectives=args.objectives, pruner=args.pruner,
                    cv=args.cv, epochs=args.epochs, patience=args.patience,
                    storage=args.storage, study_name=args.study, n_jobs=args.jobs,
                    dask=args.dask, subsample=args.subsample, random_state=args.seed,
                    plots=args.plots, callbacks=[] if quiet else [_progress(args.trials)])
    doc = result.to_dict()
    if args.out:
        doc["model"] = str(_save(args.out, result, pre, name, len(X)))
    if getattr(args, "json", False):
        from deltanet.cli._common import print_json

        print_json(doc)
    elif not quiet:
        _print(result, doc)
    return 0


def _progress(n_trials: int):
    """A line on stderr for every finished trial."""
    from .report import trial_line

    def show(record: dict[str, Any]) -> None:
        print(trial_line(record, n_trials), file=sys.stderr, flush=True)

    return show


def _save(path: str, result: Any, pre: Any, name: str, rows: int):
    """The best network with its preprocessing, as ``deltanet train`` writes models."""
    from deltanet.cli import model_file

    best = result.to_dict()["best"]
    info = {"source": name, "task": pre.task_, "target": pre.target, "classes": pre.classes_,
            "features": pre.feature_names_out, "rows": {"train": rows},
            "training": {**result.best_params, "epochs": result.best_trial.user_attrs.get(
                "best_epoch")},
            "search": {"study": result.study.study_name, "storage": result.storage,
                       "trial": best["number"], "cv_error": best["error"],
                       "network": best["network"]}}
    return model_file.write(path, result.network, pre, info)


def _print(result: Any, doc: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    console.print(result.table())
    counts = ", ".join(f"{n} {state}" for state, n in doc["trials"].items() if n)
    score = "accuracy" if result.task == "classification" else "mean squared error"
    console.print(f"study {doc['study']} in {doc['storage']}: {counts}")
    console.print(f"best: trial {result.best_trial.number}, cross-validated {score} "
                  f"{result.best_score:.4f}, {result.best_config.describe()}")
    for label, path in [("model", doc.get("model")), *doc["plots"].items()]:
        if path:
            console.print(f"{label}: {path}")
    for note in doc["notes"]:
        print(note, file=sys.stderr)
