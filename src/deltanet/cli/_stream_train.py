"""``deltanet train`` on a table larger than the memory budget, read in pieces.

Pass 1 reads every piece once: the whole table's checks and classes (as ``fit_table`` on
the whole table in memory), the preprocessing's statistics on the training rows
(:meth:`deltanet.data.TablePreprocessor.fit_chunks`: the same numbers, to the last bit, as
in memory on those rows), the table's fingerprint and the first validation rows (at most
a tenth of ``--memory``); standardising takes a second pass. Then the network trains on a
:class:`deltanet.data.Stream` of the coded pieces (two-level shuffle within
``--shuffle-buffer`` rows), validating on those rows, and is scored on the test rows, whose
labels and predictions alone are kept. The model file is the in-memory one's, with the
split recorded as a hash split.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import CommandError, fit_table_error
from ._table_stream import Table, in_part

#: the share of the memory budget the validation rows kept in memory may take
VALIDATION_SHARE = 0.1

#: what streaming cannot do, and what to do instead
NOT_STREAMED = {
    "plots": "--plots needs the table in memory (decision regions, gradient norms); "
             "leave it out, or raise --memory",
    "class_weight": "--class-weight needs every training label in memory; balance the "
                    "classes in the table, or raise --memory",
}


@dataclass
class Streamed:
    """The table, its preprocessing, the row counts of each part and the fingerprint."""

    table: Table
    pre: Any
    rows: dict[str, int]
    fingerprint: str
    validation: Any  # the first validation rows (raw), at most VALIDATION_SHARE of --memory


def check_streaming(args: argparse.Namespace) -> None:
    """Refuse options that need the whole table in memory (one line each)."""
    if args.solver == "lbfgs":
        raise CommandError("--solver lbfgs needs the whole table in memory (full-batch "
                           "L-BFGS); use --solver adam to stream the table, or raise --memory")
    for name, fix in NOT_STREAMED.items():
        if getattr(args, name):
            raise CommandError(f"the table is streamed (larger than --memory, or --stream): "
                               f"{fix}")


def prepare(args: argparse.Namespace, table: Table, target: str) -> Streamed:
    """Pass 1 (and 2): fit the preprocessing on the training rows of ``table``."""
    import pandas as pd

    from deltanet.data import DataError, TablePreprocessor
    from deltanet.data.table_fit import TableFit

    from ._table_stream import budget, part_bounds
    from .model_file import Fingerprint

    pre = TablePreprocessor(target, task=args.task, scale=args.scale, impute=args.impute,
                            scale_target=True, drop=args.drop,
                            max_categories=args.max_categories)
    bounds = part_bounds(args.seed, args.val_size, args.test_size)
    try:
        whole, train = TableFit(pre, table.columns, checks_only=True), \
            TableFit(pre, table.columns)
        digest, counts = Fingerprint(table.columns), dict.fromkeys(bounds, 0)
        most = max(1, int(budget(args.memory) * VALIDATION_SHARE) // (8 * len(table.columns)))
        validation: list = []  # raw rows, coded once the preprocessing is learned
        for frame, rows in table.frames():
            digest.add(frame)
            whole.add(frame, rows)
            for name, part in bounds.items():
                keep = in_part(rows, part)
                counts[name] += int(keep.sum())
                if name == "train":
                    train.add(frame[keep], rows[keep])
                elif name == "validation" and sum(map(len, validation)) < most:
                    validation.append(frame[keep].iloc[:most - sum(map(len, validation))])
        whole.learn()  # the whole table's problems first, rows counted as in the file
        train.target.task = pre.task = whole.learned["task"]
        train.learn()
        if train.needs_moments:
            for frame, rows in table.frames():
                train.add_moments(frame[in_part(rows, bounds["train"])])
        train.apply()
    except DataError as err:
        raise fit_table_error(err) from None
    if pre.task_ == "classification":
        from ._fit import check_training_classes

        check_training_classes(pre, whole.learned["classes"], set(train.target.labels.count))
        pre.classes_ = whole.learned["classes"]
    validation = pd.concat(validation) if any(map(len, validation)) else None
    return Streamed(table, pre, counts, digest.text(), validation)


def coder(pre: Any, n_classes: int | None):
    """Raw rows -> ``(X, Y)``: the inputs and the network's targets."""
    from ._fit import targets

    def code(frame: Any) -> tuple[np.ndarray, np.ndarray]:
        return pre.transform(frame), targets(pre.encode_target(frame), pre.task_, n_classes)
    return code


def predictions(net: Any, pre: Any, stream: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(y, predicted, probabilities)`` of ``net`` on the rows of ``stream``, chunk by
    chunk; only these columns are kept, never the rows."""
    from . import model_file

    model = model_file.Model(net, pre, {}, {}, Path("."))
    ys, preds, probas = [], [], []
    for X, Y in stream.chunks():
        if not len(X):
            continue
        out = net.predict(X.astype(net.dtype))
        preds.append(model_file.predict_codes(model, out))
        if pre.task_ == "classification":
            ys.append(np.argmax(Y, axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.int64))
            probas.append(model_file.probabilities(out))
        else:
            ys.append(pre.decode_target(Y[:, 0]))
    if not ys:
        return np.zeros(0), np.zeros(0), None
    proba = np.concatenate(probas) if probas else None
    return np.concatenate(ys), np.concatenate(preds), proba


def metrics_of(pre: Any, y: np.ndarray, pred: np.ndarray, proba: Any) -> dict[str, Any]:
    """The task's metrics (the in-memory functions, on the kept columns)."""
    from .metrics import classification_metrics, regression_metrics

    if pre.task_ == "classification":
        return classification_metrics(y, pred, pre.classes_, proba)
    return regression_metrics(y, pred)


def train_streamed(args: argparse.Namespace, table: Table, target: str
                   ) -> tuple[Streamed, Any, dict[str, Any], dict[str, Any]]:
    """Fit the preprocessing, train on the stream of coded training rows, score on the
    test rows: ``(streamed, fitted, metrics, data record)``."""
    import time

    from ._fit import build_network, output_layer, train_network
    from ._progress import StreamBar
    from ._table_stream import CountedSource, coded_stream

    streamed = prepare(args, table, target)
    pre = streamed.pre
    n_classes = len(pre.classes_) if pre.classes_ else None
    n_out = output_layer(pre.task_, n_classes)[0]
    stream = coded_stream(table, coder(pre, n_classes), len(pre.feature_names_out), n_out,
                          args.memory, args.shuffle_buffer)
    train, val, test = stream.split(validation=args.val_size, test=args.test_size,
                                    random_state=args.seed)
    net = build_network(len(pre.feature_names_out), args, pre.task_, n_classes)
    val_rows = None
    if streamed.validation is not None:
        X, Y = coder(pre, n_classes)(streamed.validation)
        val_rows = (X.astype(net.dtype), Y)
    metric = "accuracy" if pre.task_ == "classification" else "r2"
    bar = None if args.quiet or args.json else StreamBar(args.epochs, metric,
                                                         streamed.rows["train"])
    source = train if bar is None else CountedSource(train, bar)
    started = time.perf_counter()
    fitted = train_network(args, net, source, None, val_rows, pre.task_, n_classes, bar)
    seconds = time.perf_counter() - started
    part = next(p for p, s in (("test", test), ("validation", val), ("train", train))
                if streamed.rows[p])
    scored = {"test": test, "validation": val, "train": train}[part]
    metrics = {"split": part, **metrics_of(pre, *predictions(fitted.net, pre, scored))}
    split = {"seed": args.seed, "test_size": args.test_size, "val_size": args.val_size,
             "stratify": False, "method": "hash"}
    record = {"fingerprint": streamed.fingerprint, "n_rows": sum(table.rows),
              "columns": table.columns, "split": split}
    fitted.history["stream"] = {"memory": stream.memory, "shuffle_buffer": stream.shuffle_buffer,
                                "validation_rows": 0 if val_rows is None else len(val_rows[0]),
                                "training_seconds": seconds}
    return streamed, fitted, metrics, record
