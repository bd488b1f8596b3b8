"""``deltanet card MODEL [DATA] --out card.md``: a model card, in Markdown or HTML.

What the model is (architecture), what it was trained on (data fingerprint, columns and
their coding, split sizes), how (training settings, history plot, which epoch's weights
were saved), and how well: the test metrics with bootstrap confidence intervals, the
calibration and the permutation importance of the raw columns (those three need DATA: the
training table, whose held-out test rows are then scored, or another table with the
target). The same model, data and ``--seed`` always give the same card, byte for byte.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path
from typing import Any

import numpy as np

from ._common import CommandError, add_output_options, check_output_file, note, print_json
from ._options import non_negative_int, positive_int

EPILOG = """\
examples:
  deltanet card iris.deltanet iris --out iris_card.md
  deltanet card shop.deltanet shop.csv --format html --out shop_card.html"""


def add_parser(commands: Any) -> None:
    """Register ``card`` on the subcommand table ``commands``."""
    parser = commands.add_parser(
        "card", help="a model card (Markdown or HTML): data, training, metrics with "
                     "confidence intervals", description=__doc__.split("\n\n")[1].replace(
                         "\n", " "), epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="model file written by 'deltanet train'")
    from . import model_file

    model_file.add_limits(parser)
    parser.add_argument("data", metavar="DATA", nargs="?",
                        help="table with the target column (the training table: its test "
                             "rows are scored); without it the card shows the metrics the "
                             "model file recorded, without intervals")
    parser.add_argument("--out", metavar="FILE", help="card to write (default MODEL's name "
                                                      "with _card.md or _card.html)")
    parser.add_argument("--format", choices=("md", "html"), default=None,
                        help="Markdown or HTML (default: from --out's suffix, else md)")
    parser.add_argument("--bootstrap", type=positive_int, default=200, metavar="N",
                        help="bootstrap resamples for the 95%% confidence intervals "
                             "(default 200)")
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="N",
                        help="seed of the bootstrap and of the importance shuffles (default 0)")
    add_output_options(parser)
    parser.set_defaults(func=run)


def bootstrap_intervals(model: Any, scored: Any, n: int, seed: int) -> dict[str, list]:
    """95 % percentile intervals of every scalar metric over ``n`` resamples of the scored
    rows (drawn with replacement, ``numpy.random.default_rng(seed)``)."""
    from .evaluate import Scored, metrics_of

    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    size = len(scored.y)
    for _ in range(n):
        pick = rng.integers(0, size, size)
        sample = Scored(None, scored.y[pick], scored.pred[pick],
                        None if scored.proba is None else scored.proba[pick], scored.rows)
        for key, value in metrics_of(model, sample).items():
            if isinstance(value, float) and np.isfinite(value):
                draws.setdefault(key, []).append(value)
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
            for k, v in draws.items()}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_fmt(c).replace("|", "\\|") for c in row) + " |"
              for row in rows]
    return [*lines, ""]


def _section_model(model: Any) -> list[str]:
    from .info import network_record

    net = network_record(model.net)
    info = model.info
    lines = [f"# Model card: {model.path.name}", "",
             f"{model.task} of `{model.pre.target}`"
             + (f" into {len(model.classes)} classes: {', '.join(model.classes)}"
                if model.classes else "") + f"; deltanet {info.get('deltanet_version')}.", "",
             "## Model", "",
             f"Layers {'-'.join(map(str, net['layers']))}, {net['n_params']} parameters, "
             f"{net['dtype']}.", ""]
    lines += _table(["layer", "depth", "activation", "neurons", "role", "batch norm"],
                    [[g["layer"], g["depth"], g["activation"], g["neurons"],
                      "output" if g["output"] else "hidden", "yes" if g["batch_norm"] else ""]
                     for g in net["groups"]])
    return lines


def _section_data(model: Any) -> list[str]:
    info, pre = model.info, model.pre
    data = info.get("data") or {}
    lines = ["## Data", "", f"Source: `{info.get('source')}`; "
             f"fingerprint `{data.get('fingerprint', 'not recorded')}`"
             + (f" ({data['n_rows']} rows)." if data.get("n_rows") else "."), ""]
    rows = info.get("rows") or {}
    if rows:
        split = data.get("split", {})
        how = ""
        if split:
            stratified = "stratified" if split["stratify"] else "not stratified"
            how = f" (seed {split['seed']}, {stratified})"
        lines += [f"Split: {rows.get('train')} training, {rows.get('validation')} validation, "
                  f"{rows.get('test')} test rows{how}.", ""]
    lines += [f"Numeric columns are scaled `{pre.scale}`; missing values "
              + (f"filled with the training {pre.impute}." if pre.impute else "are refused.")
              + " A category not seen in training is coded as none of the known ones.", ""]
    lines += _table(["column", "kind", "coding", "fill"],
                    [[c.name, c.kind, ", ".join(c.categories) if c.categories else "scaled",
                      c.fill] for c in pre.columns_])
    return lines


def _section_training(model: Any, images: dict[str, str]) -> list[str]:
    from ._progress import epochs_text

    training, hist = model.info.get("training") or {}, model.info.get("history") or {}
    lines = ["## Training", ""]
    lines += _table(["setting", "value"], [[k, "–" if v is None else str(v)]
                                           for k, v in training.items()])
    if hist:
        saved = hist.get("saved_epoch")
        lines += [f"{epochs_text(hist['epochs'], hist.get('unit', 'epoch'))}; "
                  f"{hist.get('stop_reason', '')}."
                  + (f" The saved weights are those of epoch {saved}." if saved else ""), ""]
    if "loss" in images:
        lines += [f"![loss per epoch]({images['loss']})", ""]
    return lines


def _section_metrics(model: Any, metrics: dict, intervals: dict | None, rows_note: str,
                     images: dict[str, str], importance: dict | None) -> list[str]:
    from .metrics import CLASSIFICATION_SCORES, REGRESSION_SCORES

    names = CLASSIFICATION_SCORES if model.task == "classification" else REGRESSION_SCORES
    lines = ["## Metrics", "", f"Scored on {rows_note}."
             + (f" 95 % intervals from {intervals.pop('_n')} bootstrap resamples."
                if intervals else " (No DATA given: the metrics the model file recorded.)"),
             ""]
    rows = []
    for key, label in names:
        if key in metrics:
            ci = (intervals or {}).get(key)
            rows.append([label, metrics[key], "–" if ci is None else
                         f"[{ci[0]:.4f}, {ci[1]:.4f}]"])
    lines += _table(["metric", "value", "95 % interval"], rows)
    if metrics.get("per_class"):
        lines += _table(["class", "precision", "recall", "F1", "support"],
                        [[c, r["precision"], r["recall"], r["f1"], r["support"]]
                         for c, r in metrics["per_class"].items()])
    for key, title in (("calibration", "Calibration"), ("residuals", "Residuals")):
        if key in images:
            lines += [f"### {title}", "", f"![{key}]({images[key]})", ""]
    if importance:
        lines += ["### Permutation importance of the input columns", ""]
        lines += _table(["column", "importance", "± std"],
                        [[c, r["mean"], r["std"]] for c, r in importance.items()])
        lines += [f"![importance]({images['importance']})", ""]
    return lines


def _images(folder: Path, model: Any, scored: Any, importance: Any) -> dict[str, Path]:
    from . import evaluation_plots as ep
    from .plots import loss_curves

    paths = {}
    hist = model.info.get("history") or {}
    if hist.get("loss"):
        paths["loss"] = loss_curves(hist, folder / "loss.png")
    if scored is not None and model.task == "classification":
        paths["calibration"] = ep.calibration(scored.y, scored.proba, model.classes,
                                              folder / "calibration.png")
    elif scored is not None:
        paths["residuals"] = ep.residuals(scored.y, scored.pred, model.pre.target,
                                          folder / "residuals.png")
    if importance:
        paths["importance"] = ep.importance_bars(importance, model.task,
                                                 folder / "importance.png")
    return paths


def run(args: argparse.Namespace) -> int:
    from . import model_file
    from ._source import load_source
    from .evaluate import metrics_of, permutation_importance, rows_to_score, score_rows

    fmt = args.format or ("html" if args.out and args.out.lower().endswith(".html") else "md")
    out = Path(args.out or f"{Path(args.model).stem}_card.{fmt}")
    check_output_file(out, "--out", {"model file": args.model, "data file": args.data},
                      example=f"card.{fmt}")
    model = model_file.read(args.model, **model_file.limits(args))
    model.require_table()
    scored = importance = intervals = None
    metrics, rows_note = model.info.get("metrics") or {}, "the test rows at training time"
    if args.data:
        frame, which, rows_note = rows_to_score(model, load_source(args.data).frame, False)
        scored = score_rows(model, frame, which)
        metrics = metrics_of(model, scored)
        intervals = {**bootstrap_intervals(model, scored, args.bootstrap, args.seed),
                     "_n": args.bootstrap}
        importance = permutation_importance(model, scored, 5, args.seed)
    if not metrics:
        raise CommandError(f"{model.path.name} records no metrics; pass DATA to score it")
    folder = out.parent / f"{out.stem}_files"
    images = _images(folder, model, scored, importance)
    links = {k: (_data_uri(p) if fmt == "html" else f"{folder.name}/{p.name}")
             for k, p in images.items()}
    lines = [*_section_model(model), *_section_data(model), *_section_training(model, links),
             *_section_metrics(model, metrics, intervals, rows_note, links, importance)]
    text = "\n".join(lines)
    if fmt == "html":
        text = _html(text, model.path.name)
        for p in images.values():
            p.unlink()
        folder.rmdir()
    from deltanet.io import atomic_write

    atomic_write(out, text.encode())
    if args.json:
        print_json({"card": str(out), "format": fmt, "metrics": metrics,
                    "intervals": intervals, "importance": importance})
    else:
        note(args, f"model card written to {out}")
    return 0


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _html(markdown: str, title: str) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .6em}"
             "img{max-width:100%}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Model card: {title}"
            f"</title><style>{style}</style></head><body>\n{body}</body></html>\n")
