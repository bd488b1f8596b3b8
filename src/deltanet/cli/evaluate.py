"""``deltanet evaluate MODEL DATA``: the metrics of a saved model on a table with targets.

Honest by default: on the table the model was trained on (same fingerprint, recorded in the
model file) only the held-out test rows are scored, and the report says so; ``--all-rows``
scores every row. Any other table is scored whole.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import (
    CommandError,
    add_output_options,
    check_output_folder,
    console,
    note,
    print_json,
    warn,
)
from ._options import add_memory_option, non_negative_int, positive_int

DESCRIPTION = """\
Score a model written by 'deltanet train' on DATA, which must hold the target column.
Classification: accuracy, balanced accuracy, macro F1, ROC-AUC, log loss, Brier score,
precision/recall/F1 per class and the confusion matrix. Regression: R², MAE, RMSE and
MAPE. All from scikit-learn's sklearn.metrics. DATA is a CSV or Parquet file, or a dataset
name.

On the very table the model was trained on (the model file records its fingerprint), only
the held-out test rows are scored, since the others were seen in training; --all-rows
scores every row. Another table is scored whole. A table larger than --memory is read in
pieces, keeping only the labels, predictions and probabilities: the same metrics."""

EPILOG = """\
examples:
  deltanet evaluate iris.deltanet iris
  deltanet evaluate iris.deltanet iris --all-rows
  deltanet evaluate houses.deltanet houses_2024.csv --json
  deltanet evaluate shop.deltanet shop.csv --importance --plots eval_plots"""


def add_parser(commands: Any) -> None:
    """Register ``evaluate`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "evaluate", help="metrics of a saved model on a table with the target column",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="model file written by 'deltanet train'")
    from . import model_file

    model_file.add_limits(parser)
    parser.add_argument("data", metavar="DATA",
                        help="CSV or Parquet file with the target column, or a dataset name")
    parser.add_argument("--all-rows", action="store_true",
                        help="score every row, also on the table the model was trained on "
                             "(default there: the held-out test rows only)")
    parser.add_argument("--importance", action="store_true",
                        help="permutation importance of every input column (sklearn."
                             "inspection): how much the score drops when its values are "
                             "shuffled")
    parser.add_argument("--repeats", type=positive_int, default=5, metavar="N",
                        help="shuffles per column for --importance (default 5)")
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                        help="seed of the shuffles of --importance (default 0)")
    parser.add_argument("--plots", metavar="DIR",
                        help="write PNG plots here: ROC and precision-recall curves, "
                             "calibration, confusion matrix (classification); predicted vs "
                             "true and residuals (regression); importance (--importance)")
    group = parser.add_argument_group("tables larger than memory")
    add_memory_option(group)
    group.add_argument("--stream", action="store_true",
                       help="read DATA in pieces even if it fits in the budget")
    add_output_options(parser)
    parser.set_defaults(func=run)


@dataclass
class Scored:
    """A model's answers on some rows: targets, predictions, probabilities."""

    frame: Any  # the rows scored (raw)
    y: np.ndarray  # class indices, or numbers in the target's units
    pred: np.ndarray  # predicted class indices, or numbers
    proba: np.ndarray | None  # (n, K) class probabilities (classification)
    rows: str  # "test" (held-out rows of the training table) or "all"


def score_rows(model: Any, frame: Any, rows: str = "all") -> Scored:
    """The model's predictions on the raw rows of ``frame`` (the target column included)."""
    from . import model_file

    model.require_table()
    out = model_file.outputs(model, frame)
    pred = model_file.predict_codes(model, out)
    y = model.pre.encode_target(frame)
    if model.task == "classification":
        return Scored(frame, y, pred, model_file.probabilities(out), rows)
    return Scored(frame, model.pre.decode_target(y), pred, None, rows)


def metrics_of(model: Any, scored: Scored) -> dict[str, Any]:
    """Every metric of the task (sklearn.metrics) on the scored rows."""
    from .metrics import classification_metrics, regression_metrics

    if model.task == "classification":
        return classification_metrics(scored.y, scored.pred, model.classes, scored.proba)
    return regression_metrics(scored.y, scored.pred)


def evaluate(model: Any, frame: Any) -> dict[str, Any]:
    """Metrics of ``model`` on the raw rows of ``frame`` (the target column included)."""
    return metrics_of(model, score_rows(model, frame))


def rows_to_score(model: Any, frame: Any, all_rows: bool) -> tuple[Any, str, str]:
    """The rows to score, which they are (``"test"`` or ``"all"``) and a sentence saying so.

    On the table the model was trained on, the held-out test rows: the split is recomputed
    from the settings the model file records and checked against its digest.
    """
    from . import model_file
    from .train import split_rows

    n = len(frame)
    if not model_file.trained_on(model, frame):
        return frame, "all", f"all {n} rows (not the table the model was trained on)"
    if all_rows:
        return frame, "all", (f"all {n} rows, as --all-rows asks: this is the table the model "
                              "was trained on, so most rows were seen in training")
    split = model.info["data"].get("split")
    if split is None:  # 'deltanet search' retrains the best network on every row
        warn("every row of this table trained the model (a search retrains its best network "
             "on all rows), so these scores are not from held-out rows; score another table "
             "for an honest estimate")
        return frame, "all", f"all {n} rows, every one of which trained the model"
    if split.get("method") == "hash":  # trained on the table in pieces: no digests
        from ._table_stream import in_part, part_bounds

        test = part_bounds(split["seed"], split["val_size"], split["test_size"])["test"]
        rows = np.flatnonzero(in_part(np.arange(n), test))
        return frame.iloc[rows], "test", _held_out(len(rows), n)
    settings = argparse.Namespace(test_size=split["test_size"], val_size=split["val_size"],
                                  no_stratify=not split["stratify"], seed=split["seed"])
    rows = split_rows(frame, model.pre.target, model.task, settings)["test"]
    if model_file.rows_digest(rows) != split["digests"].get("test") or not len(rows):
        warn("this is the table the model was trained on, but its held-out test rows cannot "
             "be recovered here (the split differs); scoring all rows, most of which were "
             "seen in training")
        return frame, "all", f"all {n} rows (held-out rows not recoverable)"
    return frame.iloc[rows], "test", _held_out(len(rows), n)


def _held_out(rows: int, n: int) -> str:
    return (f"the {rows} held-out test rows of {n}: this is the table the model was trained "
            "on (--all-rows scores every row)")


def run(args: argparse.Namespace) -> int:
    from . import model_file
    from ._source import load_source
    from ._stream_evaluate import score_streamed
    from ._table_stream import should_stream
    from .metrics import metrics_tables

    if args.plots:
        check_output_folder(args.plots, "--plots")
    model = model_file.read(args.model, **model_file.limits(args))
    model.require_table()
    if should_stream(args):
        if args.importance:
            raise CommandError("--importance shuffles the columns of every row in memory; the "
                               "table is streamed (larger than --memory, or --stream), so "
                               "score a sample of it, or raise --memory")
        y, pred, proba, which, sentence = score_streamed(model, args)
        scored = Scored(None, y, pred, proba, which)
    else:
        source = load_source(args.data)
        frame, which, sentence = rows_to_score(model, source.frame, args.all_rows)
        scored = score_rows(model, frame, which)
    metrics = metrics_of(model, scored)
    importance = (permutation_importance(model, scored, args.repeats, args.seed)
                  if args.importance else None)
    plots = write_plots(Path(args.plots), model, scored, importance) if args.plots else []
    if args.json:
        print_json({"model": str(args.model), "data": args.data, "task": model.task,
                    "target": model.pre.target, "rows": which, "rows_note": sentence,
                    "metrics": metrics, "importance": importance,
                    "plots": [str(p) for p in plots]})
        return 0
    if args.quiet:  # the numbers still, as plain "name value" lines for scripts
        for name, value in metrics.items():
            if not isinstance(value, (list, dict)):
                print(f"{name} {'nan' if value is None else value}")
        for name, row in (importance or {}).items():
            print(f"importance[{name}] {row['mean']}")
        return 0
    out = console()
    out.print(f"scoring {sentence}")
    for table in metrics_tables(metrics, f"metrics of {model.path.name} on {args.data}"):
        out.print(table)
    if importance is not None:
        out.print(importance_table(importance, metrics))
    if plots:
        note(args, f"plots written to {plots[0].parent}: {', '.join(p.name for p in plots)}")
    return 0


# --- permutation importance of the raw columns ------------------------------------------------

def permutation_importance(model: Any, scored: Scored, repeats: int, seed: int
                           ) -> dict[str, dict[str, float]]:
    """``sklearn.inspection.permutation_importance`` of every raw input column: the drop of
    the score (accuracy, or R²) when the column's values are shuffled among the rows.
    Sorted from the most to the least important column."""
    from sklearn.inspection import permutation_importance as sk_importance

    from . import model_file

    names = [c.name for c in model.pre.columns_]
    if len(scored.frame) < 2:
        raise CommandError("--importance needs at least 2 rows to shuffle")

    class RawModel:  # the model on raw rows, as sklearn.inspection calls it
        def fit(self, X, y):  # never called: the model is already trained
            return self

        def predict(self, X):
            return model_file.predict_codes(model, model_file.outputs(model, X))

    def score(estimator, X, y) -> float:
        from sklearn.metrics import accuracy_score, r2_score

        metric = accuracy_score if model.task == "classification" else r2_score
        return float(metric(y, estimator.predict(X)))

    result = sk_importance(RawModel(), scored.frame[names].reset_index(drop=True), scored.y,
                           scoring=score, n_repeats=repeats, random_state=seed)
    order = np.argsort(-result.importances_mean, kind="stable")
    return {names[k]: {"mean": float(result.importances_mean[k]),
                       "std": float(result.importances_std[k])} for k in order}


def importance_table(importance: dict[str, dict[str, float]], metrics: dict[str, Any]):
    """The importances as a Rich table with a bar per column."""
    from rich.table import Table

    score = "accuracy" if "accuracy" in metrics else "R²"
    table = Table(title=f"permutation importance (drop of {score} when a column is shuffled)",
                  title_justify="left")
    for name, justify in (("column", "left"), ("importance", "right"), ("± std", "right"),
                          ("", "left")):
        table.add_column(name, justify=justify)
    top = max([abs(r["mean"]) for r in importance.values()] + [1e-12])
    for name, row in importance.items():
        bar = "█" * round(20 * max(row["mean"], 0.0) / top)
        table.add_row(name, f"{row['mean']:.4f}", f"{row['std']:.4f}", bar)
    return table


def write_plots(folder: Path, model: Any, scored: Scored,
                importance: dict[str, dict[str, float]] | None) -> list[Path]:
    """The evaluation plots of the task (and of the importances) in ``folder``."""
    from . import evaluation_plots as ep
    from .plots import confusion_matrix

    paths = []
    if model.task == "classification":
        paths += [ep.roc(scored.y, scored.proba, model.classes, folder / "roc.png"),
                  ep.precision_recall(scored.y, scored.proba, model.classes, folder / "pr.png"),
                  ep.calibration(scored.y, scored.proba, model.classes,
                                 folder / "calibration.png")]
        from sklearn.metrics import confusion_matrix as sk_confusion

        matrix = sk_confusion(scored.y, scored.pred, labels=list(range(len(model.classes))))
        paths.append(confusion_matrix(matrix.tolist(), model.classes,
                                      folder / "confusion_matrix.png",
                                      f"Confusion matrix ({scored.rows} rows)"))
    else:
        paths += [ep.predicted_vs_true(scored.y, scored.pred, model.pre.target,
                                       folder / "predicted_vs_true.png"),
                  ep.residuals(scored.y, scored.pred, model.pre.target,
                               folder / "residuals.png")]
    if importance is not None:
        paths.append(ep.importance_bars(importance, model.task, folder / "importance.png"))
    return paths
