"""``deltanet search`` on a table larger than the memory budget (``--memory``), or with
``--stream``: the trials run on a sample of the rows, the best network is retrained on
every row, read in pieces.

Pass 1 learns the preprocessing on every row (exactly as in memory:
:meth:`deltanet.data.TablePreprocessor.fit_chunks`) and the table's fingerprint; then the
rows whose seeded hash falls below ``SAMPLE_SHARE`` of the budget's worth are kept, coded,
for the trials (their cross-validation, and ``--subsample`` on top); the final retraining
streams the coded table (:func:`deltanet.search.result.retrain_stream`). A numeric target is
standardised by the preprocessing (and decoded by the model file), so the stream's
targets are those the trials' networks learn.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import fit_table_error

#: the share of --memory the rows sampled for the trials may take, coded
SAMPLE_SHARE = 0.25


@dataclass
class Sampled:
    """The coded sample for the trials, the stream of every row for the retraining."""

    X: np.ndarray
    y: np.ndarray
    pre: Any
    name: str
    fingerprint: str
    stream: Any
    n_rows: int


def sampled_table(args: argparse.Namespace) -> Sampled:
    """Read DATA in pieces: preprocessing, fingerprint, the trials' sample, the stream."""
    import pandas as pd

    from deltanet.data import DataError, TablePreprocessor
    from deltanet.data.columns import target_numbers
    from deltanet.data.table_fit import TableFit

    from ._table_stream import budget, coded_stream, in_part, open_table
    from .model_file import Fingerprint

    table = open_table(args.data, args.memory, getattr(args, "encoding", None),
                       getattr(args, "decimal_comma", False))
    target = args.target or table.target
    if target is None:
        raise ValueError(f"--target is required for a data file: name the column to predict "
                         f"(the columns are: {', '.join(table.columns[:20])})")
    pre = TablePreprocessor(target, task=args.task, scale=args.scale, impute=args.impute,
                            drop=getattr(args, "drop", ()), scale_target=True,
                            max_categories=getattr(args, "max_categories", 100))
    digest = Fingerprint(table.columns)
    try:
        fitting = TableFit(pre, table.columns)
        for frame, rows in table.frames():
            digest.add(frame)
            fitting.add(frame, rows)
        fitting.learn()
        if fitting.needs_moments:
            for frame, _ in table.frames():
                fitting.add_moments(frame)
        fitting.apply()
    except DataError as err:
        raise fit_table_error(err) from None
    n, p = sum(table.rows), len(pre.feature_names_out)
    share = min(1.0, budget(args.memory) * SAMPLE_SHARE / (8 * (p + 1)) / n)
    sample = pd.concat([frame[in_part(rows, (args.seed, 0.0, share))]
                        for frame, rows in table.frames()])
    classes = pre.task_ == "classification"
    y = pre.encode_target(sample) if classes else target_numbers(sample[target], target)
    k = len(pre.classes_) if classes else 1

    def code(frame: Any) -> tuple[np.ndarray, np.ndarray]:
        coded = pre.encode_target(frame)
        return pre.transform(frame), np.eye(k)[coded] if classes else coded.reshape(-1, 1)

    stream = coded_stream(table, code, p, k, args.memory, getattr(args, "shuffle_buffer", None))
    return Sampled(pre.transform(sample), y, pre, table.name, digest.text(), stream, n)
