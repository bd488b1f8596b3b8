"""``deltanet export MODEL --format onnx --out model.onnx``: a model for other runtimes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import (
    CommandError,
    add_output_options,
    check_output_file,
    note,
    print_json,
    writing,
)

DESCRIPTION = """\
Export a model file to ONNX, preprocessing included: the ONNX model of a table model takes
the raw columns (one input per column, named as it: numbers as float64 with NaN for a
missing value, categories as text with "" for a missing value) and returns 'label' and
'probabilities' (classification) or 'prediction' (regression), as 'deltanet predict' does.
A network saved with deltanet.save takes 'X' and returns its outputs 'Y'. Needs the onnx
package: pip install 'deltanet[onnx]'."""

EPILOG = """\
examples:
  deltanet export iris.deltanet --out iris.onnx
  deltanet export shop.deltanet --format onnx --out shop.onnx --json"""

FORMATS = ("onnx",)


def add_parser(commands: Any) -> None:
    """Register ``export`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "export", help="export a model file to ONNX (preprocessing included)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a deltanet model file")
    from . import model_file

    model_file.add_limits(parser)
    parser.add_argument("--format", choices=FORMATS, default="onnx",
                        help="file format (default onnx)")
    parser.add_argument("--out", metavar="FILE",
                        help="file to write (default: MODEL's name with .onnx)")
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import model_file

    out = Path(args.out or Path(args.model).with_suffix(".onnx").name)
    check_output_file(out, "--out", {"model file": args.model}, example="model.onnx")
    model = model_file.read(args.model, **model_file.limits(args))
    try:
        from deltanet.export import to_onnx

        onnx_model = to_onnx(model.net, preprocessing=model.pre)
    except ImportError as err:
        raise CommandError(str(err)) from None
    with writing(out, "--out"):
        from deltanet.io import atomic_write

        atomic_write(out, onnx_model.SerializeToString())
    inputs = [i.name for i in onnx_model.graph.input]
    outputs = [o.name for o in onnx_model.graph.output]
    if args.json:
        print_json({"model": str(args.model), "format": args.format, "out": str(out),
                    "inputs": inputs, "outputs": outputs})
    else:
        note(args, f"ONNX model written to {out}: inputs {', '.join(inputs)}; outputs "
                   f"{', '.join(outputs)}")
    return 0
