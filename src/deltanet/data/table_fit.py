"""One fitting of a :class:`~deltanet.data.TablePreprocessor`, in passes over chunks.

``fit(frame)`` is one chunk; a table larger than memory is many (``TablePreprocessor.
fit_chunks``). Pass 1 (:meth:`TableFit.add`) gathers each column's statistics
(:mod:`.table_stats`); :meth:`TableFit.learn` decides task, classes, column kinds,
categories and fill values, raising the first problem in the order of the columns;
standardisation needs a second pass (:meth:`TableFit.add_moments`) for
``M2 = Σ (x − mean)²`` around the exact mean; :meth:`TableFit.apply` stores the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from deltanet.data import columns as col
from deltanet.data.errors import DataError
from deltanet.data.exact import ExactSum
from deltanet.data.scaling import MinMaxScaler, StandardScaler
from deltanet.data.table_stats import ColumnStats, TargetStats


class TableFit:
    """The statistics of one fitting of ``pre`` on a table with ``columns`` (only what its
    checks and classes need when ``checks_only``: the whole table's, beside the training
    rows' fitting)."""

    def __init__(self, pre: Any, columns: list[str], checks_only: bool = False) -> None:
        names = [str(c) for c in columns]
        col.unknown_target(pre.target, names)
        unknown = [name for name in pre.drop if name not in names]
        if unknown:
            raise DataError(f"cannot drop column {unknown[0]!r}: it is not in the table; the "
                            f"columns are: {', '.join(names[:20])}")
        inputs = [c for c in names if c != pre.target and c not in pre.drop]
        if not inputs:
            raise DataError(f"the table has no input columns besides the target "
                            f"{pre.target!r}; add at least one feature column")
        self.pre, self.rows = pre, 0
        self.target = TargetStats(pre.target, pre.task, pre.max_classes)
        self.columns = [ColumnStats(n, pre.impute, pre.max_categories, not checks_only)
                        for n in inputs]
        self.checks_only = checks_only
        self.m2: list[ExactSum] | None = None
        self.learned: dict[str, Any] = {}

    def add(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> None:
        """Fold in the rows of ``frame``; ``rows``: their numbers in the table (from 0;
        default: the rows after those added so far)."""
        frame = frame.copy(deep=False)
        frame.columns = [str(c) for c in frame.columns]
        if rows is None:
            rows = np.arange(self.rows, self.rows + len(frame))
        self.rows += len(frame)
        self.target.add(frame[self.pre.target], rows)
        for stats in self.columns:
            stats.add(frame[stats.name], rows)

    def learn(self) -> None:
        """Task, classes, columns with categories and fill values; the first problem of
        the table (in ``fit``'s order) is a DataError."""
        if self.rows == 0:
            raise DataError("the table has no rows; pass at least one row of data")
        pre, target = self.pre, self.target
        target.check()
        task = target.detect_task()
        classes = None
        if task == "classification":
            classes = target.classes()
            if len(classes) < 2:
                raise DataError(f"target column {pre.target!r} has only one class "
                                f"({classes[0]!r}); a classifier needs at least two "
                                "classes, so check the target column and the rows kept")
        else:
            target.check_numbers()
        columns = [stats.column() for stats in self.columns]
        for column in columns:
            col.check_categories(column, pre.max_categories)
        if pre.impute is None:
            col.missing_values({s.name: s.missing for s in self.columns})
        numeric = [s for s, c in zip(self.columns, columns, strict=True)
                   if c.kind == "numeric"]
        for stats in numeric:
            stats.check_finite()
        fills = {c.name: c.fill for c in columns}
        means = [] if self.checks_only else [s.mean(fills[s.name]) for s in numeric]
        self.learned = {"task": task, "classes": classes, "columns": columns,
                        "numeric": numeric, "means": means}

    @property
    def needs_moments(self) -> bool:
        """Whether standardisation needs the second pass (:meth:`add_moments`)."""
        standard = self.pre.scale == "standard" and self.learned["numeric"]
        return bool(standard or self._scales_target)

    @property
    def _scales_target(self) -> bool:
        return self.learned["task"] == "regression" and self.pre.scale_target

    def add_moments(self, frame: pd.DataFrame) -> None:
        """Pass 2: fold ``Σ (x − mean)²`` of the rows of ``frame`` (the same rows as pass
        1) into the standardisation's statistics."""
        learned = self.learned
        if self.m2 is None:
            self.m2 = [ExactSum() for _ in range(len(learned["numeric"]) + 1)]
        if self.pre.scale == "standard" and learned["numeric"]:
            self.pre.columns_ = learned["columns"]
            block = self.pre._numeric_block(frame)
            for j, mean in enumerate(learned["means"]):
                self.m2[j].add((block[:, j] - mean) ** 2)
        if self._scales_target:
            y = col.parse_numbers(frame[self.pre.target])
            self.m2[-1].add((y - self.target.total.mean(self.rows)) ** 2)

    def apply(self) -> None:
        """Store what was learned in the preprocessor (after :meth:`learn`, and
        :meth:`add_moments` when :attr:`needs_moments`)."""
        pre, learned = self.pre, self.learned
        n = self.rows
        pre.task_, pre.classes_, pre.columns_ = learned["task"], learned["classes"], \
            learned["columns"]
        pre.scaler_, pre.target_scaler_ = None, None
        numeric = learned["numeric"]
        if numeric and pre.scale == "minmax":
            ends = np.array([[s.low for s in numeric], [s.high for s in numeric]])
            pre.scaler_ = MinMaxScaler(pre.feature_range).fit(ends)
        elif numeric and pre.scale == "standard":
            std = [np.sqrt(m2.mean(n)) for m2 in self.m2[:-1]]
            pre.scaler_ = StandardScaler.from_moments(n, learned["means"], std)
        if self._scales_target:
            mean = self.target.total.mean(n)
            pre.target_scaler_ = StandardScaler.from_moments(n, [mean],
                                                             [np.sqrt(self.m2[-1].mean(n))])
