"""``deltanet evaluate MODEL DATA``: the metrics of a saved model on a table with targets."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output_options, console, print_json

DESCRIPTION = """\
Score a model written by 'deltanet train' on DATA, which must hold the target column.
Prints accuracy, macro F1 and the confusion matrix (classification) or R², MAE and RMSE
(regression). DATA is a CSV or Parquet file, or a dataset name."""

EPILOG = """\
examples:
  deltanet evaluate iris.deltanet iris
  deltanet evaluate houses.deltanet houses_2024.csv --json"""


def add_parser(commands: Any) -> None:
    """Register ``evaluate`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "evaluate", help="metrics of a saved model on a table with the target column",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="model file written by 'deltanet train'")
    parser.add_argument("data", metavar="DATA",
                        help="CSV or Parquet file with the target column, or a dataset name")
    add_output_options(parser)
    parser.set_defaults(func=run)


def evaluate(model: Any, frame: Any) -> dict[str, Any]:
    """Metrics of ``model`` on the raw rows of ``frame`` (the target column included)."""
    from . import model_file
    from .metrics import classification_metrics, regression_metrics

    model.require_table()
    out = model_file.outputs(model, frame)
    codes = model_file.predict_codes(model, out)
    y = model.pre.encode_target(frame)
    if model.task == "classification":
        return classification_metrics(y, codes, model.classes)
    return regression_metrics(model.pre.decode_target(y), codes)


def run(args: argparse.Namespace) -> int:
    from . import model_file
    from ._source import load_source
    from .metrics import metrics_tables

    model = model_file.read(args.model)
    model.require_table()
    source = load_source(args.data)
    metrics = evaluate(model, source.frame)
    if args.json:
        print_json({"model": str(args.model), "data": args.data, "task": model.task,
                    "target": model.pre.target, "metrics": metrics})
    elif args.quiet:  # the metrics still, as plain "name value" lines for scripts
        for name, value in metrics.items():
            if not isinstance(value, (list, dict)):
                print(f"{name} {'nan' if value is None else value}")
    else:
        out = console()
        for table in metrics_tables(metrics, f"metrics of {model.path.name} on {args.data}"):
            out.print(table)
    return 0
