"""``deltanet predict MODEL DATA``: predictions of a saved model for raw rows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import (
    CommandError,
    add_force_option,
    add_output_options,
    check_output_file,
    print_json,
    writing,
)
from ._options import add_reading_options

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
    from . import model_file

    model_file.add_limits(parser)
    parser.add_argument("data", metavar="DATA", help="CSV or Parquet file, or a dataset name")
    parser.add_argument("--proba", action="store_true",
                        help="one probability column P(class) per class instead of the class")
    parser.add_argument("--out", metavar="FILE",
                        help="write the predictions to FILE (.csv, .json or .parquet) "
                             "instead of stdout; an existing FILE must hold predictions "
                             "with the same columns")
    parser.add_argument("--memory", metavar="SIZE",
                        help="memory budget, e.g. 2GB (default: a quarter of the RAM); a "
                             "Parquet DATA larger than it is predicted batch by batch into "
                             "a .parquet or .csv --out")
    add_force_option(parser)
    add_reading_options(parser.add_argument_group("data"))
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


def _holds_columns(path: Path, columns: list[str]) -> bool:
    """Whether the file at ``path`` is a table of predictions with exactly ``columns``
    (what an earlier ``deltanet predict --out`` of this model wrote)."""
    import json

    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names) == columns
        if suffix == ".json":
            if path.stat().st_size > 64 << 20:
                return False
            rows = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(rows, list) and all(
                isinstance(r, dict) and list(r) == columns for r in rows[:1])
        with open(path, encoding="utf-8", newline="") as fh:
            first = fh.readline(1 << 16)
        return first.rstrip("\r\n") == pd.DataFrame(columns=columns).to_csv(
            index=False).rstrip("\r\n")
    except (OSError, ValueError, UnicodeDecodeError, ImportError):
        return False


def _write(table: Any, out: str, force: bool = False) -> Path:
    from deltanet.io import atomic_write

    path = Path(out)
    if path.is_file() and not force and not _holds_columns(path, list(table.columns)):
        raise CommandError(f"--out {out!r} exists and is not a table of these predictions "
                           f"(columns {', '.join(map(str, table.columns))}); writing would "
                           "destroy it, so give another file name, or add --force to "
                           "replace it")
    with writing(path, "--out"):
        atomic_write(path, _encode(table, path.suffix.lower()))
    return path


def run(args: argparse.Namespace) -> int:
    from . import _stream_predict, model_file
    from ._source import load_source

    if args.out:
        check_out(args)
    model = model_file.read(args.model, **model_file.limits(args))
    model.require_table()
    if _stream_predict.should_stream(args.data, args.out, args.memory):
        n, cols = _stream_predict.predict_stream(model, args.data, args.out, args.proba,
                                                 args.memory)
        return _written(args, Path(args.out), n, cols)
    frame = load_source(args.data, args.encoding, args.decimal_comma).frame
    table = model_file.predictions(model, frame, proba=args.proba)
    if args.out:
        return _written(args, _write(table, args.out, args.force), len(table),
                        list(table.columns))
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
