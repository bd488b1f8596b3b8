"""What :class:`~deltanet.data.TablePreprocessor` learns, gathered chunk by chunk.

``TablePreprocessor.fit(frame)`` gives this the whole table as one chunk; a table larger
than memory is given in chunks (``fit_chunks``). Each column keeps only what its decisions
need: counts (rows, missing, present, numbers among them), the first problem row, its
categories with their counts, ``min``/``max``, exact sums (:mod:`.exact`) and, for
``impute='median'``/``'most_frequent'``, the counts of its distinct numbers. Every one of
them merges exactly, so the fitted preprocessing is the same to the last bit for any
chunking. Rows in messages are the rows of the whole table (``rows`` of each chunk).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from deltanet.data import columns as col
from deltanet.data.errors import DataError
from deltanet.data.exact import ExactSum, ValueCounts

#: most categories a column's statistics keep; a column with more cannot be one-hot coded
LABEL_CAP = 100_000


def shifted(err: DataError, row: int) -> DataError:
    """``err`` raised on a one-value series, its ``row 1`` made table row ``row + 1``."""
    return DataError(re.sub(r"\brow 1\b", f"row {row + 1}", str(err), count=1))


def _first(mask: np.ndarray, rows: np.ndarray) -> int | None:
    return int(rows[int(np.argmax(mask))]) if mask.any() else None


class Labels:
    """The categories of a column (as texts) with their counts, in value order."""

    def __init__(self, cap: int) -> None:
        self.cap, self.count, self.key, self.overflow = cap, {}, {}, False
        self.numbers = True  # every value is a number: ordered by value, else by text

    def add(self, values: pd.Series) -> None:
        if self.overflow:
            return
        for value, n in values.dropna().astype(object).value_counts(sort=False).items():
            label = col.label_of(value)
            number = col.is_number(value)
            self.numbers = self.numbers and number
            if label not in self.count:
                if len(self.count) >= self.cap:
                    self.overflow = True
                    return
                self.key[label] = float(value) if number else None
            self.count[label] = self.count.get(label, 0) + int(n)

    def sorted(self) -> list[str]:
        return sorted(self.count, key=(lambda c: self.key[c]) if self.numbers else None)

    def most_frequent(self, categories: list[str]) -> str:
        return max(categories, key=lambda c: (self.count.get(c, 0), -categories.index(c)))


class ColumnStats:
    """One input column (see the module docstring)."""

    def __init__(self, name: str, impute: str | None, max_categories: int,
                 sums: bool = True) -> None:
        self.name, self.impute, self.max_categories = name, impute, max_categories
        self.sums = sums  # False: only what the checks need (no sums, ranges, fills)
        self.rows = self.missing = self.present = self.parsed = 0
        self.dates = None  # every present text value a date (None: no text seen)
        self.categorical = False  # a boolean or category column
        self.problem: DataError | None = None  # dates, lists or records
        self.text = self.inf = self.comma = None  # (row, value) of the first such cell
        self.other_text = False  # text that is neither a number nor a decimal-comma number
        self.labels = Labels(LABEL_CAP)
        self.low = self.high = None
        self.total = ExactSum()
        self.counts = ValueCounts() if impute in ("median", "most_frequent") and sums else None

    def add(self, s: pd.Series, rows: np.ndarray) -> None:
        missing = s.isna().to_numpy()
        self.rows += len(s)
        self.missing += int(missing.sum())
        if self.problem is not None or missing.all():
            return
        try:
            col.check_nested(s, self.name)
        except DataError as err:
            at = re.search(r"\(row (\d+):", str(err))
            self.problem = shifted(err, int(rows[int(at.group(1)) - 1])) if at else err
            return
        if pdt.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            self.categorical = True
            self.labels.add(s)
            return
        self._numbers(s, col.parse_numbers(s), missing, rows)

    def _numbers(self, s: pd.Series, x: np.ndarray, missing: np.ndarray,
                 rows: np.ndarray) -> None:
        ok = ~np.isnan(x)
        text = ~missing & ~ok
        self.present += int((~missing).sum())
        self.parsed += int(ok.sum())
        if text.any():
            self._text(s[text], rows[text])
        if text.any() or not pdt.is_numeric_dtype(s.dtype):
            self.labels.add(s)
        elif not self.labels.overflow:  # numbers: kept while few (a text chunk may follow)
            self.labels.cap = min(self.labels.cap, 2 * self.max_categories)
            self.labels.add(s)
        inf = np.isinf(x)
        if inf.any() and self.inf is None:
            self.inf = (_first(inf, rows), s[inf].iloc[0])
        x = x[ok & ~inf]
        if x.size and self.sums:
            self.low = min(x.min(), self.low) if self.low is not None else x.min()
            self.high = max(x.max(), self.high) if self.high is not None else x.max()
            self.total.add(x)
            if self.counts is not None:
                self.counts.add(x)

    def _text(self, s: pd.Series, rows: np.ndarray) -> None:
        if self.text is None:
            self.text = (int(rows[0]), s.iloc[0])
        values = s.to_numpy(dtype=object)
        dates = all(col.is_date(v) for v in values)
        self.dates = dates if self.dates is None else (self.dates and dates)
        comma = np.fromiter((col.is_decimal_comma(v) for v in values), bool, len(values))
        if comma.any() and self.comma is None:
            self.comma = (_first(comma, rows), s[comma].iloc[0])
        self.other_text = self.other_text or not comma.all()

    # --- what is learned -------------------------------------------------------------------

    def kind(self) -> str:
        """``'numeric'`` or ``'categorical'`` (``columns.column_kind``'s rules), or a
        DataError for dates, lists, decimal commas and stray text."""
        if self.problem is not None:
            raise self.problem
        if self.dates and self.parsed == 0:
            col.refuse_dates(self.name)
        if self.categorical:
            return "categorical"
        if self.present == 0 or self.parsed == self.present:
            return "numeric"
        if self.comma is not None and not self.other_text:
            self._raise_at(self.comma, col.check_text_numbers)
        if self.parsed / self.present >= col.NUMERIC_SHARE:
            self._raise_at(self.text, col.numbers)
        return "categorical"

    def _raise_at(self, where: tuple, check) -> None:
        row, value = where
        try:
            check(pd.Series([value], dtype=object), self.name)
        except DataError as err:
            raise shifted(err, row) from None

    def column(self) -> col.Column:
        """The learned :class:`~deltanet.data.columns.Column` (kind, categories, fill)."""
        column = col.Column(self.name, self.kind())
        if column.kind == "categorical":
            if self.labels.overflow:
                raise DataError(col.too_many_categories(
                    self.name, f"more than {self.labels.cap:,}", self.max_categories))
            column.categories = self.labels.sorted()
        if self.impute is not None:
            if self.missing == self.rows:
                raise DataError(f"column {self.name!r} has no values at all, so there is "
                                "nothing to impute from; drop the column")
            column.fill = self._fill(column) if self.sums else None
        return column

    def _fill(self, column: col.Column) -> float | str:
        if column.kind == "categorical":
            return self.labels.most_frequent(column.categories)
        self.check_finite()
        if self.impute == "mean":
            return self.total.mean(self.parsed)
        return self.counts.median() if self.impute == "median" else self.counts.most_frequent()

    def check_finite(self) -> None:
        """The numbers check of ``columns.numbers``: an infinite value is a DataError."""
        if self.inf is not None:
            self._raise_at(self.inf, col.numbers)

    def mean(self, fill: float | None) -> float:
        """Mean of the column as the network sees it (missing cells hold ``fill``)."""
        total = self.total
        if fill is not None and self.missing:
            total = ExactSum()
            total.units = self.total.units
            total.add_times(fill, self.missing)
        return total.mean(self.rows)


class TargetStats:
    """The target column: missing values, the kind of task, classes, numbers."""

    def __init__(self, name: str, task: str | None, max_classes: int) -> None:
        self.name, self.task, self.max_classes = name, task, max_classes
        self.rows = self.missing = self.present = self.parsed = 0
        self.first_missing = self.text = self.bad = self.nested = None
        self.categorical, self.whole = False, True
        self.distinct = np.zeros(0)  # distinct numbers, while they may be classes
        self.labels = Labels(LABEL_CAP)
        self.total = ExactSum()

    def add(self, s: pd.Series, rows: np.ndarray) -> None:
        missing = s.isna().to_numpy()
        self.rows += len(s)
        self.missing += int(missing.sum())
        if self.first_missing is None and missing.any():
            self.first_missing = _first(missing, rows)
        try:
            col.check_plain_target(s, self.name)
        except DataError as err:
            self.nested = self.nested or shifted(err, int(rows[int(re.search(
                r"\(row (\d+):", str(err)).group(1)) - 1]))
        present = s[~missing]
        rows = rows[~missing]
        if pdt.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            self.categorical = True
            x = np.full(len(present), np.nan)
        else:
            x = col.parse_numbers(present)
        ok = np.isfinite(x)
        self.present += len(present)
        self.parsed += int((~np.isnan(x)).sum())
        if self.bad is None and not ok.all():
            self.bad = (_first(~ok, rows), present[~ok].iloc[0])
        if np.isnan(x).any() and self.text is None:
            self.text = (_first(np.isnan(x), rows), present[np.isnan(x)].iloc[0])
        self.whole = self.whole and bool(np.all(np.mod(x[ok], 1.0) == 0))
        if self.distinct.size <= self.max_classes:
            self.distinct = np.union1d(self.distinct, x[ok])
        numbers = self.whole and self.distinct.size <= self.max_classes
        if self.task == "classification" or (self.task is None and (
                self.categorical or self.parsed < self.present or numbers)):
            self.labels.add(present)
        else:  # numbers of a regression: their labels are not kept
            self.labels.overflow = True
        if ok.any():
            self.total.add(x[ok])

    def check(self) -> None:
        """``columns.target_column``'s checks: no lists or records, no missing value."""
        if self.nested is not None:
            raise self.nested
        if self.missing:
            raise DataError(col.missing_target(self.name, self.missing, self.first_missing))

    def detect_task(self) -> str:
        """``columns.detect_task`` on the whole column."""
        if self.task is not None:
            return self.task
        if self.categorical:
            return "classification"
        if self.parsed < self.present:
            if self.parsed / self.present >= col.NUMERIC_SHARE:
                row, value = self.text
                raise DataError(col.stray_text(self.name, value, row))
            return "classification"
        few = self.distinct.size <= self.max_classes
        return "classification" if self.whole and few else "regression"

    def classes(self) -> list[str]:
        if self.labels.overflow or (not self.labels.count and self.present):
            raise DataError(f"target column {self.name!r} has too many different values to "
                            "be classes; pass --task regression (task='regression')")
        return self.labels.sorted()

    def check_numbers(self) -> None:
        """``columns.target_numbers``: a regression target must be finite numbers."""
        if self.bad is not None:
            row, value = self.bad
            raise DataError(col.not_a_number_target(self.name, value, row))
