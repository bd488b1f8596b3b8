"""``deltanet predict MODEL DATA``: predictions of a saved model for raw rows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import CommandError, add_output_options, check_output_file, print_json, writing

DESCRIPTION = """\
Predict with a model written by 'deltanet train'. DATA holds raw rows with the same input
columns as the training table (the target column may be there; it is ignored); the model
file's preprocessing codes and scales them exactly as in training. Prints one prediction
per row as CSV (the class name, or the number for regression), or writes it to --out."""

EPILOG = """\
examples:
  deltanet predict iris.deltanet new_flowers.csv
  deltanet predict iris.deltanet new_flowers.csv --proba --out probabilities.csv
  deltanet predict houses.deltanet houses.parquet --json"""

WRITERS = (".csv", ".json", ".parquet")


def add_parser(commands: Any) -> None:
    """Register ``predict`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "predict", help="predictions of a saved model for the rows of a table",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="model file written by 'deltanet train'")
    parser.add_argument("data", metavar="DATA", help="CSV or Parquet file, or a dataset name")
    parser.add_argument("--proba", action="store_true",
                        help="one probability column P(class) per class instead of the class")
    parser.add_argument("--out", metavar="FILE",
                        help="write the predictions to FILE (.csv, .json or .parquet) "
                             "instead of stdout")
    parser.add_argument("--memory", metavar="SIZE",
                        help="memory budget, e.g. 2GB (default: a quarter of the RAM); a "
                             "Parquet DATA larger than it is predicted batch by batch into "
                             "a .parquet or .csv --out")
    add_output_options(parser)
    parser.set_defaults(func=run)


def _encode(table: Any, suffix: str) -> bytes:
    import io
    import json

    from ._common import jsonable

    if suffix == ".json":
        return json.dumps(jsonable(table.to_dict(orient="records")), allow_nan=False).encode()
    if suffix == ".parquet":
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return table.to_csv(index=False).encode()


def check_out(args: argparse.Namespace) -> None:
    """Refuse a ``--out`` of unknown type, that cannot be written, or that is the model or
    the data file, before any work is done."""
    path = Path(args.out)
    suffix = path.suffix.lower()
    if suffix not in WRITERS:
        raise CommandError(f"--out {args.out!r}: unknown file type {suffix or '(none)'!r}; use "
                           f"a name ending in {', '.join(WRITERS)}")
    check_output_file(path, "--out", {"data file": args.data, "model file": args.model},
                      example="predictions.csv")


def _write(table: Any, out: str) -> Path:
    from deltanet.io import atomic_write

    path = Path(out)
    with writing(path, "--out"):
        atomic_write(path, _encode(table, path.suffix.lower()))
    return path


def run(args: argparse.Namespace) -> int:
    from . import _stream_predict, model_file
    from ._source import load_source

    if args.out:
        check_out(args)
    model = model_file.read(args.model)
    model.require_table()
    if _stream_predict.should_stream(args.data, args.out, args.memory):
        n, cols = _stream_predict.predict_stream(model, args.data, args.out, args.proba,
                                                 args.memory)
        return _written(args, Path(args.out), n, cols)
    frame = load_source(args.data).frame
    table = model_file.predictions(model, frame, proba=args.proba)
    if args.out:
        return _written(args, _write(table, args.out), len(table), list(table.columns))
    elif args.json:
        print_json({"model": str(args.model), "target": model.pre.target,
                    "columns": list(table.columns),
                    "predictions": table.to_dict(orient="records")})
    else:
        sys.stdout.write(table.to_csv(index=False))
    return 0


def _written(args: argparse.Namespace, path: Path, rows: int, columns: list) -> int:
    if args.json:
        print_json({"out": str(path), "rows": rows, "columns": columns})
    elif not args.quiet:
        print(f"{rows} predictions written to {path}", file=sys.stderr)
    return 0
