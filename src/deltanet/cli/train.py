"""``deltanet train DATA``: train a network on a table, report its metrics, save it.

DATA is read (:mod:`._source`), its rows split into training, validation and test parts
(stratified by class), the preprocessing learned on the training rows only (one-hot coding
of categories, min-max scaling to ``[−1, 1]`` or standardisation, optional imputation),
the network trained (:mod:`._fit`), scored on the test rows, and saved with everything
needed to use it on raw rows (:mod:`.model_file`). A table larger than ``--memory`` is
read in pieces instead (:mod:`._stream_train`).
"""

from __future__ import annotations

import argparse
import difflib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import (
    CommandError,
    add_output_options,
    check_output_file,
    check_output_folder,
    check_plot_files,
    console,
    fit_table,
    note,
    print_json,
    same_file,
    writing,
)
from ._options import add_train_options

DESCRIPTION = """\
Train a feed-forward network on DATA and report its metrics on held-out test rows.

DATA is a CSV (.csv, .csv.gz) or Parquet (.parquet, .pq) file, or the name of a dataset:
iris, wine, breast_cancer, digits, diabetes (scikit-learn's tables) or the generated 2-D
sets xor, circles, moons, spirals, gaussians, ... ('deltanet datasets' lists them).

The task (classification or regression) is detected from the target column; categorical
columns are one-hot coded, numeric ones scaled to [-1, 1] (or standardised). The model file
keeps that preprocessing, so 'deltanet predict MODEL raw.csv' works on raw rows."""

EPILOG = """\
examples:
  deltanet train iris
  deltanet train digits --hidden 64,32 --epochs 50 --plots runs/plots
  deltanet train houses.csv --target price --impute median --out houses.deltanet
  deltanet train spirals --hidden 16,16 --activation tanh --lr 0.01 --epochs 300
  deltanet train big.csv --target label --checkpoint big.ckpt --resume
  deltanet train big.parquet --target label --memory 2GB --shuffle-buffer 500000

A table larger than --memory (default a quarter of the RAM) is streamed: read in pieces,
its preprocessing learned in a first pass exactly as in memory, its rows split by a seeded
hash of the row number (never stratified), shuffled by pieces and within a buffer."""


def add_parser(commands: Any) -> None:
    """Register ``train`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "train", help="train a network on a CSV/Parquet file or a bundled dataset",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", metavar="DATA",
                        help="CSV or Parquet file, or a dataset name (see 'deltanet datasets')")
    add_train_options(parser)
    add_output_options(parser)
    parser.set_defaults(func=run)


@dataclass
class Prepared:
    """The table, its preprocessing and the coded parts."""

    source: Any  # _source.Source
    pre: Any  # TablePreprocessor fitted on the training rows
    rows: dict[str, np.ndarray]  # part name -> row positions in the table
    arrays: Any  # _fit.Arrays


def split_rows(frame: Any, target: str, task: str, args: argparse.Namespace
               ) -> dict[str, np.ndarray]:
    """Row positions of the training, validation and test parts (stratified by class unless
    ``--no-stratify``)."""
    from deltanet.data import split

    labels = frame[target].astype(str).to_numpy()
    parts = split(np.arange(len(frame)), labels, test_size=args.test_size,
                  val_size=args.val_size,
                  stratify=task == "classification" and not args.no_stratify,
                  random_state=args.seed)
    return {"train": np.sort(parts.X_train), "validation": np.sort(parts.X_val),
            "test": np.sort(parts.X_test)}


def _target(source: Any, args: argparse.Namespace) -> str:
    if args.target:
        return args.target
    if source.target:
        return source.target
    return _no_target([str(c) for c in source.frame.columns])


def prepare(args: argparse.Namespace) -> Prepared:
    """Read DATA, split its rows, learn the preprocessing on the training rows, code all."""
    from deltanet.data import TablePreprocessor, detect_task
    from deltanet.data.columns import labels_of, target_column

    from ._fit import Arrays, check_training_classes
    from ._source import load_source

    source = load_source(args.data, args.encoding, args.decimal_comma)
    frame = source.frame
    target = _target(source, args)
    task = args.task or detect_task(target_column(frame, target))
    pre = TablePreprocessor(target, task=task, scale=args.scale, impute=args.impute,
                            scale_target=True, drop=args.drop,
                            max_categories=args.max_categories)
    fit_table(pre, frame)  # checks the whole table first, so messages count rows as in the file
    classes = pre.classes_
    rows = split_rows(frame, target, task, args)
    pre.fit(frame.iloc[rows["train"]])  # what the network sees is learned on training rows
    if classes is not None:
        # the classes are those of the whole target column (as scikit-learn's classes=):
        # a rare class that falls only in validation or test rows still has its output
        seen = set(labels_of(frame[target].iloc[rows["train"]], None))
        check_training_classes(pre, classes, seen)
        pre.classes_ = classes
    coded = []
    for part in ("train", "validation", "test"):
        sub = frame.iloc[rows[part]]
        if len(sub):
            coded += [pre.transform(sub), pre.encode_target(sub)]
        else:
            coded += [np.zeros((0, len(pre.feature_names_out))), np.zeros(0)]
    return Prepared(source, pre, rows, Arrays(*coded))


def score(pre: Any, net: Any, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Metrics of ``net`` on coded inputs ``X`` and coded targets ``y``."""
    from . import model_file
    from .metrics import classification_metrics, regression_metrics

    model = model_file.Model(net, pre, {}, {}, Path("."))
    out = net.predict(X.astype(net.dtype))
    codes = model_file.predict_codes(model, out)
    if pre.task_ == "classification":
        return classification_metrics(y, codes, pre.classes_, model_file.probabilities(out))
    return regression_metrics(pre.decode_target(y), codes)


def _scored_part(prep: Prepared) -> tuple[str, np.ndarray, np.ndarray]:
    a = prep.arrays
    for name, X, y in (("test", a.X_test, a.y_test), ("validation", a.X_val, a.y_val),
                       ("train", a.X_train, a.y_train)):
        if len(X):
            return name, X, y
    raise CommandError("no rows to score the model on")


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The training options, as the model file records them."""
    keys = ("hidden", "activation", "solver", "lr", "batch_size", "epochs", "alpha", "dropout",
            "batch_norm", "early_stopping", "patience", "scale", "impute", "test_size",
            "val_size", "no_stratify", "seed", "dtype", "class_weight")
    return {k: getattr(args, k) for k in keys}


def check_options(args: argparse.Namespace) -> None:
    """Combinations of options that cannot work, and output paths that cannot be written,
    refused before any data is read."""
    inputs = {"data file": args.data}
    if args.out:
        check_output_file(args.out, "--out", inputs, kind="model", force=args.force)
    if args.plots:
        check_output_folder(args.plots, "--plots")
        check_plot_files(args.plots, "--plots", args.force)
    if args.resume and not args.checkpoint:
        raise CommandError("--resume needs --checkpoint FILE (the checkpoint to continue from)")
    if args.checkpoint:
        check_output_file(args.checkpoint, "--checkpoint", inputs, example="run.ckpt")
        if args.out and same_file(args.out, args.checkpoint):
            raise CommandError(f"--out and --checkpoint both name {args.out!r}; the model would "
                               "overwrite the checkpoint, so give them different file names")
        check_checkpoint_file(args.checkpoint, args.resume, args.force)
    if args.early_stopping and args.val_size == 0:
        raise CommandError("--early-stopping watches the loss on the validation rows, and "
                           "--val-size 0 leaves none; give --val-size 0.1 (or another "
                           "fraction above 0), or leave out --early-stopping")
    check_activations(args.activation)
    if args.solver == "rprop" and args.batch_size != 0:
        raise CommandError("--solver rprop uses the sign of the full-batch gradient; add "
                           "--batch-size 0 (full batch), or use --solver adam")
    if args.solver == "lbfgs" and (args.checkpoint or args.dropout or args.early_stopping):
        raise CommandError("--solver lbfgs trains full-batch in one SciPy call: it takes no "
                           "--checkpoint, --dropout or --early-stopping; use --solver adam")


def check_checkpoint_file(path: str, resume: bool, force: bool = False) -> None:
    """An existing ``--checkpoint`` file must be a deltanet checkpoint: resuming reads it,
    and a fresh run overwrites it (so it must not be some other file, unless ``force``)."""
    from deltanet.checkpoint import load_checkpoint

    if not Path(path).is_file() or (force and not resume):
        return
    try:
        load_checkpoint(path)
    except ValueError as err:  # ModelFileError: not a checkpoint, or a damaged one
        if resume:
            raise CommandError(f"--checkpoint {path!r} is not a deltanet checkpoint ({err}); "
                               "--resume needs the file that 'deltanet train ... --checkpoint "
                               "FILE' wrote, or leave out --resume and give a new --checkpoint "
                               "file name") from None
        raise CommandError(f"--checkpoint {path!r} already exists and is not a deltanet "
                           f"checkpoint ({err}); training would overwrite it, so give a new "
                           "file name, or add --force to replace it") from None


def check_activations(spec: str) -> None:
    """Every name in ``--activation`` must be a hidden-layer activation."""
    from deltanet.activations import ACTIVATIONS

    from ._fit import HIDDEN_ACTIVATIONS

    names = [s.strip() for s in spec.split(",") if s.strip()]
    allowed = [n for n in ACTIVATIONS if ACTIVATIONS[n].name in HIDDEN_ACTIVATIONS]
    for name in names or [spec]:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            if name == "softmax":
                hint = "softmax is for the output layer only, which the command picks; "
            raise CommandError(f"--activation: unknown hidden activation {name!r}; {hint}"
                               f"valid names are: {', '.join(HIDDEN_ACTIVATIONS)} (one for "
                               "every hidden layer, or one per layer such as relu,tanh)")


def run(args: argparse.Namespace) -> int:
    """Train, score, save, plot and report."""
    from . import model_file
    from ._fit import fit
    from ._table_stream import should_stream
    from ._warm_up import warm_up

    check_options(args)
    started = time.perf_counter()
    if should_stream(args):
        return _run_streamed(args, started)
    prep = prepare(args)
    out = _out_path(args, prep.source.name)
    pre, n_classes = prep.pre, (len(prep.pre.classes_) if prep.pre.classes_ else None)
    _describe(args, prep.source.name, prep.pre, prep.rows)
    compile_seconds = 0.0
    if args.solver != "lbfgs":
        show = not (args.quiet or args.json)
        compile_seconds = warm_up(args, prep.arrays, pre.task_, n_classes, show)
    training_started = time.perf_counter()
    fitted = fit(args, prep.arrays, pre.task_, n_classes)
    timing = {"training": time.perf_counter() - training_started, "compile": compile_seconds}
    part, X, y = _scored_part(prep)
    metrics = {"split": part, **score(pre, fitted.net, X, y)}
    split = {"seed": args.seed, "test_size": args.test_size, "val_size": args.val_size,
             "stratify": not args.no_stratify}
    info = {"source": prep.source.name,
            "data": model_file.data_record(prep.source.frame, prep.rows, split),
            "task": pre.task_, "target": pre.target,
            "classes": pre.classes_, "features": pre.feature_names_out,
            "rows": {k: len(v) for k, v in prep.rows.items()}, "training": settings(args),
            "history": fitted.history, "metrics": metrics}
    with writing(out, "--out"):
        model_file.write(out, fitted.net, pre, info)
    plots, failed = [], None
    if args.plots is not None:
        from .plots import write_plots

        try:
            plots = write_plots(Path(args.plots), prep, fitted, metrics)
        except OSError as err:
            failed = err.strerror or type(err).__name__
    timing["total"] = time.perf_counter() - started
    _report(args, out, plots, info, fitted.net, timing)
    if failed:
        raise CommandError(f"cannot write the plots in {args.plots!r} (--plots): {failed}; the "
                           f"model was saved to {out} and the metrics are complete, so only "
                           "the plots are missing: choose another --plots folder")
    return 0


def _out_path(args: argparse.Namespace, name: str) -> Path:
    """``--out``, or NAME.deltanet (checked like ``--out``)."""
    out = Path(args.out or f"{name}.deltanet")
    if not args.out:
        check_output_file(out, "--out (default)", {"data file": args.data}, kind="model",
                          force=args.force)
        if args.checkpoint and same_file(out, args.checkpoint):
            raise CommandError(f"--checkpoint {args.checkpoint!r} is the default model file "
                               f"{str(out)!r}; the model would overwrite the checkpoint, so "
                               "give --out or another --checkpoint name")
    return out


def _run_streamed(args: argparse.Namespace, started: float) -> int:
    """Train on DATA read in pieces (:mod:`._stream_train`), save and report."""
    from . import model_file
    from ._stream_train import check_streaming, train_streamed
    from ._table_stream import open_table

    check_streaming(args)
    table = open_table(args.data, args.memory, args.encoding, args.decimal_comma)
    target = args.target or table.target or _no_target(table.columns)
    out = _out_path(args, table.name)
    note(args, f"[bold]{table.name}[/bold]: {sum(table.rows)} rows in {len(table.pieces)} "
               "pieces, streamed (larger than --memory, or --stream); a first pass learns "
               "the preprocessing")
    streamed, fitted, metrics, record = train_streamed(args, table, target)
    pre = streamed.pre
    _describe(args, table.name, pre, streamed.rows)
    stream = fitted.history.pop("stream")
    seconds = stream.pop("training_seconds")
    info = {"source": table.name, "data": record, "task": pre.task_, "target": pre.target,
            "classes": pre.classes_, "features": pre.feature_names_out,
            "rows": streamed.rows, "training": {**settings(args), "stream": stream},
            "history": fitted.history, "metrics": metrics}
    with writing(out, "--out"):
        model_file.write(out, fitted.net, pre, info)
    timing = {"training": seconds, "compile": 0.0, "total": time.perf_counter() - started}
    _report(args, out, [], info, fitted.net, timing)
    return 0


def _no_target(columns: list[str]) -> str:
    raise CommandError(f"--target is required for a data file: name the column to predict, "
                       f"e.g. --target {columns[-1]} (the columns are: "
                       f"{', '.join(columns[:20])})")


def _sizes(net: Any) -> str:
    return "-".join(map(str, net.plan.layer_sizes()))


def _describe(args: argparse.Namespace, name: str, pre: Any, rows: dict[str, Any]) -> None:
    rows = {k: v if isinstance(v, int) else len(v) for k, v in rows.items()}
    what = (f"classification of {pre.target!r} into {len(pre.classes_)} classes"
            if pre.task_ == "classification" else f"regression of {pre.target!r}")
    note(args, f"[bold]{name}[/bold]: {what}; {len(pre.feature_names_out)} inputs; "
               f"{rows['train']} training, {rows['validation']} validation, "
               f"{rows['test']} test rows")


def _report(args: argparse.Namespace, out: Path, plots: list[Path], info: dict[str, Any],
            net: Any, timing: dict[str, float]) -> None:
    from ._progress import epochs_text
    from ._warm_up import SLOW_SECONDS
    from .metrics import metrics_tables

    hist, metrics = info["history"], info["metrics"]
    if args.json:
        print_json({"model": str(out), "source": info["source"], "task": info["task"],
                    "target": info["target"], "classes": info["classes"], "rows": info["rows"],
                    "network": {"layers": net.plan.layer_sizes(), "params": net.n_params},
                    "history": {k: hist[k] for k in ("epochs", "updates", "stop_reason",
                                                     "best_epoch", "saved_epoch", "loss",
                                                     "val_loss", "val_metric", "metric")},
                    "metrics": metrics, "plots": [str(p) for p in plots],
                    "seconds": round(timing["total"], 3),
                    "training_seconds": round(timing["training"], 3),
                    "warm_up_seconds": round(timing["compile"], 3)})
        return
    if args.quiet:
        return
    out_console = console()
    compiled = (f" (before it, the engine compiled once in {timing['compile']:.1f} s)"
                if timing["compile"] > SLOW_SECONDS else "")
    out_console.print(f"network {_sizes(net)} ({net.n_params} parameters): "
                      f"{epochs_text(hist['epochs'], hist['unit'])} in "
                      f"{timing['training']:.1f} s{compiled}; {hist['stop_reason']}")
    for table in metrics_tables(metrics, f"metrics on the {metrics['split']} rows"):
        out_console.print(table)
    out_console.print(f"model written to {out}")
    if plots:
        out_console.print(f"plots written to {plots[0].parent}: "
                          f"{', '.join(p.name for p in plots)}")
