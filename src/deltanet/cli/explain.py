"""``deltanet explain``: worked examples, custom networks, saved models and exercises.

``add_arguments(parser)`` declares the flags and ``run(args)`` does the work and returns
the exit code. Bad input raises ``ValueError`` with a one-line message, which the command
line prints as ``deltanet: error: <message>`` (exit status 2).

Examples::

    deltanet explain --list
    deltanet explain --example seed002-sgd-step --format markdown
    deltanet explain --sizes 2,3,1 --hidden logistic --output identity --weights 1 \\
        --input 0.5,0.5 --target 0.5 --loss half_squared_error --lr 1/3 --digits 2
    deltanet explain --model net.deltanet --input 0,1 --target 1
    deltanet explain --exercise --seed 7 --out homework/ex7
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import init
from ..explain.examples import get_example, list_examples
from ..explain.exercise import EXTENSIONS, make_exercise
from ..explain.explanation import FORMATS, SUFFIXES, Explanation, explain
from ..losses import NAMES as LOSS_NAMES
from ..network import Network
from ._common import check_output_file, print_json

SEPARATOR = "=" * 30 + " SOLUTION " + "=" * 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the flags of ``deltanet explain`` on ``parser``."""
    what = parser.add_argument_group("what to explain")
    what.add_argument("--list", action="store_true", help="list the built-in examples")
    what.add_argument("--example", metavar="NAME", help="a built-in example (see --list)")
    what.add_argument("--model", metavar="FILE",
                      help="a saved model file (with --input, --target); a model written by "
                           "'deltanet train' codes --input and --target as it codes a table "
                           "row (column values, class name), and its loss is the default")
    what.add_argument("--exercise", action="store_true",
                      help="a random exercise: the question and the solution separately")
    what.add_argument("--seed", type=int, default=0, help="the exercise's seed (default 0)")
    net = parser.add_argument_group("custom network")
    net.add_argument("--sizes", metavar="P,H,...,K", help="layer sizes, e.g. 2,3,1")
    net.add_argument("--hidden", default="logistic",
                     help="hidden activation, or one per hidden layer: relu,tanh "
                          "(default logistic)")
    net.add_argument("--output", default="logistic",
                     help="output activation (default logistic)")
    net.add_argument("--weights", metavar="W", help="one weight for every arc, or one per arc "
                     "in net.arcs order (bias arcs (0, j) first for each neuron j)")
    net.add_argument("--bias", metavar="B", help="bias weight when --weights is one number")
    net.add_argument("--weights-file", metavar="FILE",
                     help="weights in net.arcs order, separated by commas, spaces or lines")
    step = parser.add_argument_group("the training step")
    step.add_argument("--input", metavar="X", help="the example's inputs, e.g. 0.5,0.5; "
                      "several examples separated by ';'")
    step.add_argument("--target", metavar="Y", help="the target(s), e.g. 0.5 (for a negative "
                      "number write --target=-0.02)")
    step.add_argument("--loss", choices=LOSS_NAMES,
                      help="default: the loss of a model written by 'deltanet train', else "
                           "squared_error")
    step.add_argument("--coded", action="store_true",
                      help="with --model: --input and --target are the network's own inputs "
                           "and targets, already coded (no table preprocessing)")
    step.add_argument("--lr", default="0.1", metavar="ALPHA",
                      help="learning rate, a decimal or a fraction such as 1/3 (default 0.1)")
    step.add_argument("--l2", default="0", metavar="LAMBDA", help="weight decay λ")
    step.add_argument("--decay-bias", action="store_true",
                      help="with --l2: decay the bias arcs (0, j) too, as the lecture's "
                           "λ Σ w² over all arcs does (default: bias arcs are not decayed)")
    step.add_argument("--steps", type=int, help="number of SGD steps (default: one per example)")
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=FORMATS,
                     help="text (terminal), markdown or latex (default: from --out, else text)")
    out.add_argument("--out", metavar="FILE", help="write to FILE instead of printing")
    out.add_argument("--force", action="store_true",
                     help="replace an existing --out file even if it is not a text document")
    out.add_argument("--digits", type=int, help="decimals shown (default 4)")


# ---------------------------------------------------------------------- parsing
def parse_number(text: str, flag: str) -> float:
    """A decimal or a fraction (``1/3``); a one-line ValueError otherwise."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{flag}: {text.strip()!r} is not a number (use decimals or "
                         "fractions such as 1/3)") from None
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{flag}: {text.strip()!r} is too large for a floating-point number; "
                         "give a finite number (at most about 1.8e308)")
    return value


def parse_numbers(text: str, flag: str) -> list[float]:
    items = [t for t in text.replace("\n", ",").replace(" ", ",").split(",") if t.strip()]
    if not items:
        raise ValueError(f"{flag} is empty; give numbers separated by commas")
    return [parse_number(t, flag) for t in items]


def parse_examples(text: str, flag: str, size: int, what: str) -> np.ndarray:
    """``"0,0; 0,1"`` -> ``[[0, 0], [0, 1]]``, each row of ``size`` values."""
    rows = [parse_numbers(part, flag) for part in text.split(";") if part.strip()]
    if not rows:
        raise ValueError(f"{flag} is empty; give {size} numbers separated by commas")
    for k, row in enumerate(rows, start=1):
        if len(row) != size:
            which = "" if len(rows) == 1 else f" (example {k})"
            raise ValueError(f"{flag} has {len(row)} value{'s' * (len(row) != 1)}{which} but "
                             f"the network has {size} {what}{'s' * (size != 1)}")
    return np.array(rows, dtype=float)


def _read_weights_file(path: str) -> str:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ValueError(f"cannot read --weights-file {path}: {err.strerror}") from None
    return ",".join(line.split("#")[0] for line in lines)


def _set_weights(net: Network, args: argparse.Namespace) -> None:
    text = _read_weights_file(args.weights_file) if args.weights_file else args.weights
    flag = "--weights-file" if args.weights_file else "--weights"
    values = parse_numbers(text, flag)
    arcs = net.arcs
    if len(values) == 1 and not args.weights_file:
        bias = parse_number(args.bias, "--bias") if args.bias is not None else values[0]
        values = [bias if i == 0 else values[0] for i, _ in arcs]
    if len(values) != len(arcs):
        shown = " ".join(f"({i},{j})" for i, j in arcs[:8]) + (" ..." if len(arcs) > 8 else "")
        raise ValueError(f"{flag} has {len(values)} values but the network has {len(arcs)} "
                         f"arcs; give one number for all, or {len(arcs)} in the order {shown}")
    for (i, j), w in zip(arcs, values, strict=True):
        net.weights[i, j] = w


def _load_model(path: str, args: argparse.Namespace):
    """The model file of ``--model``: its network and, for a file written by 'deltanet
    train', its table preprocessing (a one-line error for a missing or damaged file)."""
    from deltanet.cli import model_file

    return model_file.read(path, **model_file.limits(args))


def build_network(args: argparse.Namespace) -> Network:
    """The network of custom mode: ``--model FILE`` or ``--sizes`` with weights."""
    if args.model:
        net = _load_model(args.model, args).net
        if args.weights or args.weights_file:
            _set_weights(net, args)
        return net
    sizes = [int(v) if float(v).is_integer() else -1 for v in parse_numbers(args.sizes, "--sizes")]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"--sizes must be two or more positive whole numbers such as 2,3,1 "
                         f"(got {args.sizes!r})")
    hidden = args.hidden.split(",") if "," in args.hidden else args.hidden
    net = Network.layered(sizes, hidden=hidden, output=args.output, init=init.constant(0.0))
    if not (args.weights or args.weights_file):
        raise ValueError("custom mode needs --weights (one number, or one per arc) or "
                         "--weights-file")
    _set_weights(net, args)
    return net


# ---------------------------------------------------------------------- modes
def _check_modes(args: argparse.Namespace) -> None:
    modes = [name for name, on in (("--list", args.list), ("--example", args.example),
                                   ("--model", args.model), ("--sizes", args.sizes),
                                   ("--exercise", args.exercise)) if on]
    if len(modes) > 1:
        raise ValueError(f"{' and '.join(modes)} cannot be combined; choose one of them")
    if not modes:
        raise ValueError("say what to explain: --example NAME (see --list), --sizes with "
                         "--weights, --input and --target, --model FILE, or --exercise")
    custom = [flag for flag, value in (("--input", args.input), ("--target", args.target),
                                       ("--weights", args.weights), ("--bias", args.bias),
                                       ("--weights-file", args.weights_file),
                                       ("--decay-bias", args.decay_bias)) if value]
    if custom and modes[0] in ("--list", "--example", "--exercise"):
        raise ValueError(f"{', '.join(custom)} only apply to a custom network (--sizes or "
                         f"--model), not to {modes[0]}")
    if args.coded and modes[0] != "--model":
        raise ValueError(f"--coded applies to --model only, not to {modes[0]}")


def _custom(args: argparse.Namespace, fmt: str) -> Explanation:
    model = _load_model(args.model, args) if args.model else None
    net = build_network(args) if model is None else model.net
    if model is not None and (args.weights or args.weights_file):
        _set_weights(net, args)
    if args.input is None or args.target is None:
        raise ValueError("custom mode needs --input and --target, e.g. --input 0.5,0.5 "
                         "--target 0.5")
    table = model is not None and model.pre is not None and not args.coded
    if table:
        X, Y, loss = _table_example(model, args)
    else:
        X = parse_examples(args.input, "--input", net.n_inputs, "input")
        Y = parse_examples(args.target, "--target", net.n_outputs, "output")
        loss = "squared_error"
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"--input gives {X.shape[0]} examples but --target gives "
                         f"{Y.shape[0]}; give one target per example")
    try:
        doc = explain(net, X, Y, loss=args.loss or loss, lr=parse_number(args.lr, "--lr"),
                      l2=parse_number(args.l2, "--l2"), decay_bias=args.decay_bias,
                      steps=args.steps,
                      digits=4 if args.digits is None else args.digits, format=fmt)
    except ValueError as err:
        raise ValueError(_flag_words(str(err))) from None
    if table:
        doc = doc.with_notes(notes=[_coding_note(model, args, X, Y, args.loss or loss)])
    return doc


def _flag_words(message: str) -> str:
    """A library message with the flags of this command: ``steps must`` -> ``--steps must``."""
    return re.sub(r"(?<![\w-])(steps|digits|lr|l2)(?= must| is|=)", r"--\1", message)


def _raw_rows(text: str) -> list[list[str]]:
    return [[v.strip() for v in part.split(",")] for part in text.split(";") if part.strip()]


def _table_example(model, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """``--input`` and ``--target`` as table values, coded by the model's preprocessing."""
    from deltanet.cli.model_file import coded_example

    rows = _raw_rows(args.input)
    targets = [t.strip() for t in args.target.split(";") if t.strip()]
    if not rows or not targets:
        raise ValueError("--input and --target need values, e.g. --input 5.1,3.5,1.4,0.2 "
                         "--target setosa")
    if len(rows) != len(targets):
        raise ValueError(f"--input gives {len(rows)} examples but --target gives "
                         f"{len(targets)}; give one target per example")
    kinds = [c.kind for c in model.pre.columns_]
    rows = [[parse_number(v, "--input") if k < len(kinds) and kinds[k] == "numeric" else v
             for k, v in enumerate(row)] for row in rows]
    return coded_example(model, rows, targets)


def _coding_note(model, args: argparse.Namespace, X: np.ndarray, Y: np.ndarray, loss: str):
    """The remark that says how the table values became the network's x and y."""
    from ..explain.model import Para

    names = [c.name for c in model.pre.columns_]
    parts: list = [f"{model.path.name} was written by 'deltanet train': its preprocessing "
                   "coded the table values (pass --coded to give the network's own inputs). "]
    for k, (row, target) in enumerate(zip(_raw_rows(args.input),
                                          args.target.split(";"), strict=False)):
        values = ", ".join(f"{n} = {v}" for n, v in zip(names, row, strict=True))
        parts.append(f"Example {k + 1}: {values} and {model.pre.target} = {target.strip()} "
                     f"gave x = ({', '.join(f'{v:.4g}' for v in X[k])}) and "
                     f"y = ({', '.join(f'{v:.4g}' for v in Y[k])}). ")
    parts.append(f"Loss: {loss.replace('_', ' ')}"
                 f"{' (the model' + chr(39) + 's)' if args.loss is None else ''}.")
    return Para(tuple(parts))


def _list() -> str:
    lines = []
    for ex in list_examples():
        lines += [f"{ex.name:<26}{ex.title}", f"{'':<26}{ex.source}"]
    return "\n".join(lines) + "\n"


def _print(doc: Explanation, fmt: str) -> None:
    """A terminal gets colours; a pipe gets plain text (``COLUMNS`` wide, else 100)."""
    if fmt == "text" and sys.stdout.isatty():
        from rich.console import Console

        Console(highlight=False, emoji=False).print(doc)
    elif fmt == "text":
        sys.stdout.write(doc.to_text(width=shutil.get_terminal_size((100, 24)).columns))
    else:
        sys.stdout.write(doc.render(fmt))


def _wrote(args: argparse.Namespace, paths: list[Path]) -> None:
    if getattr(args, "json", False):
        print_json({"wrote": [str(p) for p in paths]})
    elif not getattr(args, "quiet", False):
        for path in paths:
            print(f"wrote {path}")


def _summary(doc: Explanation, fmt: str) -> dict:
    """The JSON form: the document and, per step, the example and its effect."""
    steps = []
    for step in doc.steps:
        effect = {ln.ref: ln.value for ln in step.section("effect").lines}
        steps.append({"index": step.index, "x": step.x.tolist(), "y": step.y.tolist(),
                      "loss": float(step.trace.losses[0]), "loss_after": effect[("loss_new",)],
                      "gradient": {f"{i},{j}": step.trace.grad[i, j]
                                   for i, j in doc.network.arcs}})
    weights = {f"{i},{j}": w for (i, j), w in doc.network.weights.items()}
    return {"title": doc.title, "format": fmt, "digits": doc.digits, "steps": steps,
            "weights_after": weights, "document": doc.render(fmt)}


def _exercise(args: argparse.Namespace, fmt: str) -> int:
    ex = make_exercise(args.seed, digits=4 if args.digits is None else args.digits, format=fmt)
    if args.out:
        _wrote(args, list(ex.save(args.out, fmt)))
    elif getattr(args, "json", False):
        question, solution = ex.render(fmt)
        print_json({"seed": ex.seed, "format": fmt, "question": question,
                    "solution": solution})
    else:
        _print(ex.question, fmt)
        print(f"\n{SEPARATOR}\n")
        _print(ex.solution, fmt)
    return 0


def _check_out(args: argparse.Namespace, fmt: str) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written or is an input file."""
    inputs = {"--model file": args.model, "--weights-file": args.weights_file}
    if not args.exercise:
        check_output_file(args.out, "--out", inputs, example="step.md", kind="text",
                          force=args.force)
        return
    base = Path(args.out)  # the exercise writes BASE-question and BASE-solution
    if base.suffix.lower() in SUFFIXES:
        base = base.with_suffix("")
    for part in ("question", "solution"):
        path = base.parent / f"{base.name}-{part}{EXTENSIONS[fmt]}"
        check_output_file(path, "--out", inputs, example="step.md", kind="text",
                          force=args.force)


def run(args: argparse.Namespace) -> int:
    """Carry out ``deltanet explain``; returns the exit status."""
    _check_modes(args)
    if args.list:
        if getattr(args, "json", False):
            print_json([{"name": ex.name, "title": ex.title, "source": ex.source}
                        for ex in list_examples()])
        else:
            sys.stdout.write(_list())
        return 0
    fmt = args.format or (SUFFIXES.get(Path(args.out).suffix.lower(), "text") if args.out
                          else "text")
    if args.out:
        _check_out(args, fmt)
    if args.exercise:
        return _exercise(args, fmt)
    if args.example:
        doc = get_example(args.example).explain(format=fmt, digits=args.digits,
                                                steps=args.steps)
    else:
        doc = _custom(args, fmt)
    if args.out:
        _wrote(args, [doc.save(args.out, fmt)])
    elif getattr(args, "json", False):
        print_json(_summary(doc, fmt))
    else:
        _print(doc, fmt)
    return 0
