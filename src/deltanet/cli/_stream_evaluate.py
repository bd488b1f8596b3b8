"""``deltanet evaluate`` on a table read in pieces (larger than ``--memory``, or
``--stream``): the rows are coded and predicted piece by piece, and only the labels, the
predicted classes (or numbers) and the class probabilities are kept, never the rows; the
metrics are then those of the in-memory command on the same numbers.

On the table the model was trained on (same row count and columns, then the same
fingerprint, in a first pass) only the held-out test rows are scored: those of the hash
split for a model trained in pieces. A model trained in memory split its rows by strata,
which cannot be redone piece by piece: then every row is scored, with a warning.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import warn


def score_streamed(model: Any, args: argparse.Namespace) -> tuple:
    """``(y, predicted, probabilities, which rows, sentence)`` of ``model`` on DATA."""
    from ._fit import output_layer
    from ._stream_train import coder, predictions
    from ._table_stream import coded_stream, open_table

    table = open_table(args.data, args.memory)
    pre = model.pre
    n_classes = len(pre.classes_) if pre.classes_ else None
    code = coder(pre, n_classes)

    def checked(frame: Any) -> tuple:
        from .model_file import _check_missing

        _check_missing(model, frame)
        return code(frame)

    stream = coded_stream(table, checked, len(pre.feature_names_out),
                          output_layer(pre.task_, n_classes)[0], args.memory, None)
    which, sentence, part = _rows(model, table, args.all_rows)
    if part is not None:
        stream = stream.split(validation=part["val_size"], test=part["test_size"],
                              random_state=part["seed"])[2]
    y, pred, proba = predictions(model.net, pre, stream)
    if which == "test":
        sentence = f"the {len(y)} held-out test rows of {sum(table.rows)}: " + sentence
    return y, pred, proba, which, sentence


def _rows(model: Any, table: Any, all_rows: bool) -> tuple[str, str, dict | None]:
    """Which rows to score: ``("test", ..., split)`` on the training table of a model
    trained in pieces, else ``("all", ..., None)``."""
    from .model_file import Fingerprint

    n = sum(table.rows)
    record = model.info.get("data") or {}
    same = record.get("n_rows") == n and record.get("columns") == table.columns
    if same:
        digest = Fingerprint(table.columns)
        for frame, _ in table.frames():
            digest.add(frame)
        same = digest.text() == record.get("fingerprint")
    if not same:
        return "all", f"all {n} rows (not the table the model was trained on)", None
    if all_rows:
        return "all", (f"all {n} rows, as --all-rows asks: this is the table the model was "
                       "trained on, so most rows were seen in training"), None
    split = record.get("split")
    if split is not None and split.get("method") == "hash":
        return "test", ("this is the table the model was trained on (--all-rows scores every "
                        "row)"), split
    warn("this is the table the model was trained on, but its held-out test rows cannot be "
         "recovered when it is read in pieces (the model split its rows by strata in "
         "memory); scoring all rows, most of which were seen in training")
    return "all", f"all {n} rows (held-out rows not recoverable)", None
