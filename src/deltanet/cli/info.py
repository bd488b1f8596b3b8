"""``deltanet info MODEL``: what a model file holds.

Architecture (layers, activations, parameters), preprocessing (columns, categories, fill
values, scaling, classes), training settings and history, and the test metrics. Works on any
deltanet model file; a network saved with ``deltanet.save`` shows its architecture only.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_output_options, console, print_json

DESCRIPTION = """\
Show what a deltanet model file holds: the network (layers, activations, parameters), the
preprocessing (input columns, categories, scaling, classes), the training settings and
history, and the metrics measured on the test rows."""


def add_parser(commands: Any) -> None:
    """Register ``info`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "info", help="architecture, preprocessing and training history of a model file",
        description=DESCRIPTION, epilog="example:\n  deltanet info iris.deltanet --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a deltanet model file")
    from . import model_file

    model_file.add_limits(parser)
    add_output_options(parser)
    parser.set_defaults(func=run)


def network_record(net: Any) -> dict[str, Any]:
    """The architecture in numbers: layer sizes, activations, parameters, dtype."""
    return {
        "n_inputs": net.n_inputs, "n_outputs": net.n_outputs, "n_params": net.n_params,
        "layers": net.plan.layer_sizes(), "dtype": str(net.dtype),
        "groups": [{"layer": g.layer, "depth": g.depth, "activation": g.activation.name,
                    "neurons": len(g.neurons), "output": bool(g.is_output),
                    "batch_norm": bool(g.batch_norm)} for g in net.plan.groups],
    }


def preprocessing_record(pre: Any) -> dict[str, Any]:
    """Input columns with their kind, categories and fill value; scaling; classes."""
    return {
        "target": pre.target, "task": pre.task_, "scale": pre.scale, "impute": pre.impute,
        "columns": [{"name": c.name, "kind": c.kind, "categories": c.categories,
                     "fill": c.fill} for c in pre.columns_],
        "inputs": pre.feature_names_out, "classes": pre.classes_,
    }


def record(model: Any) -> dict[str, Any]:
    """Everything ``info`` shows, as plain JSON."""
    doc = {"model": str(model.path), "network": network_record(model.net)}
    if model.pre is None:
        doc["preprocessing"] = None
        return doc
    info = model.info
    doc["deltanet_version"] = info.get("deltanet_version")
    doc["source"] = info.get("source")
    doc["data"] = info.get("data")  # fingerprint and split (None in older model files)
    doc["preprocessing"] = preprocessing_record(model.pre)
    doc["rows"] = info.get("rows")
    doc["training"] = info.get("training")
    doc["history"] = info.get("history")
    doc["metrics"] = info.get("metrics")
    return doc


def _show(doc: dict[str, Any], model: Any) -> None:
    from rich.table import Table

    from .metrics import metrics_tables

    out = console()
    out.print(f"[bold]{model.path.name}[/bold]")
    out.print(model.net.summary())
    pre = doc["preprocessing"]
    if pre is None:
        out.print("no table preprocessing (a network saved with deltanet.save)")
        return
    out.print(f"task: {pre['task']} of {pre['target']!r}"
              + (f"; classes: {', '.join(pre['classes'])}" if pre["classes"] else ""))
    columns = Table(title=f"input columns (scale: {pre['scale']}, impute: {pre['impute']})",
                    title_justify="left")
    for name in ("column", "kind", "categories", "fill"):
        columns.add_column(name)
    for c in pre["columns"]:
        cats = ", ".join(c["categories"]) if c["categories"] else ""
        columns.add_row(c["name"], c["kind"], cats if len(cats) < 60 else cats[:57] + "...",
                        "" if c["fill"] is None else str(c["fill"]))
    out.print(columns)
    _show_training(out, doc)
    if doc.get("metrics"):
        for table in metrics_tables(doc["metrics"], f"metrics on the {doc['metrics']['split']} "
                                                    "rows at training time"):
            out.print(table)


def _show_training(out: Any, doc: dict[str, Any]) -> None:
    from ._progress import epochs_text

    training, hist, rows = doc.get("training") or {}, doc.get("history") or {}, doc.get("rows")
    if training:
        out.print("training: " + ", ".join(f"{k}={v}" for k, v in training.items()))
    if (doc.get("data") or {}).get("fingerprint"):
        out.print(f"data: {doc['data']['n_rows']} rows, fingerprint {doc['data']['fingerprint']}")
    if rows:
        parts = ["train", "validation", "test"]
        order = sorted(rows, key=lambda k: parts.index(k) if k in parts else len(parts))
        out.print("rows: " + ", ".join(f"{rows[k]} {k}" for k in order))
    if hist.get("loss"):
        line = f"history: {epochs_text(hist['epochs'], hist.get('unit', 'epoch'))}, "
        line += f"final loss {hist['loss'][-1]:.4g}"
        if hist.get("val_loss"):
            line += f", final validation loss {hist['val_loss'][-1]:.4g}"
        if hist.get("best_epoch"):
            line += f", best epoch {hist['best_epoch']}"
        out.print(f"{line}; {hist.get('stop_reason', '')}")


def run(args: argparse.Namespace) -> int:
    from . import model_file

    model = model_file.read(args.model, **model_file.limits(args))
    doc = record(model)
    if args.json:
        print_json(doc)
    elif args.quiet:
        _show_plain(doc)
    else:
        _show(doc, model)
    return 0


def _show_plain(doc: dict[str, Any]) -> None:
    """What the file holds as plain ``name value`` lines, without tables or colour: --quiet
    drops the decoration, not the information asked for."""
    net = doc["network"]
    lines = [("model", doc["model"]), ("layers", "-".join(map(str, net["layers"]))),
             ("activations", ",".join(g["activation"] for g in net["groups"])),
             ("params", net["n_params"]), ("dtype", net["dtype"])]
    pre = doc.get("preprocessing")
    if pre:
        lines += [("task", pre["task"]), ("target", pre["target"]),
                  ("columns", ",".join(c["name"] for c in pre["columns"]))]
        if pre["classes"]:
            lines.append(("classes", ",".join(pre["classes"])))
    lines += [(f"rows_{k}", v) for k, v in (doc.get("rows") or {}).items()]
    if doc.get("history"):
        lines.append(("epochs", doc["history"].get("epochs")))
    for name, value in (doc.get("metrics") or {}).items():
        if not isinstance(value, (list, dict)):
            lines.append((name, value))
    for name, value in lines:
        print(f"{name} {value}")
