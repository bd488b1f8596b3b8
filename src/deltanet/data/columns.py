"""Reading the columns of a table: numbers or categories, their values, the kind of target.

Rows in messages are counted from 1 in the order of the table, not counting the header.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from deltanet._validation import fail
from deltanet.data.errors import DataError

#: A text column whose non-missing values parse as numbers at least this often is taken
#: to be a numeric column with a typing mistake, not a categorical column.
NUMERIC_SHARE = 0.9

#: A categorical input column may have at most this many different values by default: each
#: becomes one input, and a column with more is nearly always an identifier or free text.
MAX_CATEGORIES = 100

#: texts that are dates ("2024-01-31", "2024-01-31 12:00", "31/01/2024", "01.31.2024")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                   r"(Z|[+-]\d{2}:?\d{2})?|\d{1,2}[./]\d{1,2}[./]\d{4}")
#: texts that are numbers with a decimal comma ("1,5", "-0,25")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


# --- values -----------------------------------------------------------------------------------

def shown(value: Any) -> str:
    """``repr`` of a cell value for a message, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def label_of(value: Any) -> str:
    """The text of a category or class: ``True``, ``3`` (also for 3.0), ``2.5``, ``red``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if _is_number(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def parse_numbers(series: pd.Series) -> np.ndarray:
    """Float values of ``series``; NaN where missing or not a number (booleans are not)."""
    if pdt.is_bool_dtype(series.dtype):
        return np.full(len(series), np.nan)
    if pdt.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = series.astype(object)
    values = values.where(~values.map(lambda v: isinstance(v, (bool, np.bool_))), None)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def numbers(series: pd.Series, name: str) -> np.ndarray:
    """Values of a numeric column (NaN = missing); any text or infinity is a DataError."""
    parsed = parse_numbers(series)
    bad = series.notna().to_numpy() & np.isnan(parsed)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"column {name!r} has non-numeric text {shown(series.iloc[row])} in "
                        f"row {row + 1}; fix the value or drop the column")
    if np.isinf(parsed).any():
        row = int(np.argmax(np.isinf(parsed)))
        raise DataError(f"column {name!r} has an infinite value in row {row + 1}; replace it "
                        "with a finite number or leave the cell empty")
    return parsed


def labels_of(series: pd.Series, fill: str | None) -> list[str | None]:
    """Category texts of ``series``; a missing value becomes ``fill``."""
    missing = series.isna().to_numpy()
    return [fill if gone else label_of(v) for v, gone in zip(series.astype(object), missing,
                                                           strict=True)]


def sorted_labels(series: pd.Series) -> list[str]:
    """Distinct non-missing values as texts, in the order of the values (numbers by size)."""
    values = list(pd.unique(series.dropna().astype(object)))
    numeric = all(_is_number(v) for v in values)
    ordered = sorted(values, key=float if numeric else label_of)
    return list(dict.fromkeys(label_of(v) for v in ordered))


def column_kind(series: pd.Series, name: str) -> str:
    """``'numeric'`` or ``'categorical'``; a numeric column with stray text is a DataError.

    Text, boolean and category columns are categorical, except text columns whose values
    all parse as numbers (numeric), or at least 90 % of them (a typing mistake: DataError
    naming the first bad row).
    """
    dtype = series.dtype
    check_plain(series, name)
    if pdt.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    present = series.dropna()
    if pdt.is_numeric_dtype(dtype) or present.empty:
        return "numeric"
    share = float(np.mean(~np.isnan(parse_numbers(present))))
    if share == 1.0:
        return "numeric"
    _check_text_numbers(series, name)
    if share >= NUMERIC_SHARE:
        numbers(series, name)
    return "categorical"


def _first(series: pd.Series, test) -> int | None:
    """Position (from 0) of the first present value of ``series`` that passes ``test``."""
    values, missing = series.to_numpy(dtype=object), series.isna().to_numpy()
    for row, (value, gone) in enumerate(zip(values, missing, strict=True)):
        if not gone and test(value):
            return row
    return None


def _is_date(value: Any) -> bool:
    return isinstance(value, str) and _DATE.fullmatch(value.strip()) is not None


def _is_decimal_comma(value: Any) -> bool:
    return isinstance(value, str) and _DECIMAL_COMMA.fullmatch(value.strip()) is not None


def check_plain(series: pd.Series, name: str) -> None:
    """Refuse a column of dates or times (CSV text or Parquet datetimes alike), or of lists
    or records (Parquet list and struct columns): none is a number or a category."""
    dtype = series.dtype
    if pdt.is_datetime64_any_dtype(dtype) or pdt.is_timedelta64_dtype(dtype):
        _refuse_dates(name)
    if pdt.is_numeric_dtype(dtype) or pdt.is_bool_dtype(dtype) or series.isna().all():
        return
    row = _first(series, _is_nested)
    if row is not None:
        raise DataError(f"column {name!r} holds lists or records (row {row + 1}: "
                        f"{shown(series.iloc[row])}), e.g. a Parquet list or struct column, "
                        "which cannot be inputs; flatten it into plain columns, or drop it "
                        f"with --drop {name} (drop=[{name!r}])")
    if _first(series, lambda v: not _is_date(v)) is None:
        _refuse_dates(name)


def _is_nested(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict, set, np.ndarray))


def check_plain_target(series: pd.Series, name: str) -> None:
    """Refuse a target column of lists or records (a Parquet list or struct column)."""
    row = None if pdt.is_numeric_dtype(series.dtype) else _first(series, _is_nested)
    if row is not None:
        raise DataError(f"target column {name!r} holds lists or records (row {row + 1}: "
                        f"{shown(series.iloc[row])}), which are neither classes nor numbers; "
                        "pick another target column")


def _refuse_dates(name: str) -> None:
    raise DataError(f"column {name!r} holds dates or times, which cannot be inputs directly "
                    "(one-hot coding every date would learn nothing); convert it to numbers "
                    "(e.g. days since a start date, or month and weekday columns), or drop it "
                    f"with --drop {name} (drop=[{name!r}])")


def _check_text_numbers(series: pd.Series, name: str) -> None:
    """Refuse a text column whose values are all numbers, some with a decimal comma
    ("1,5"): read as text they would become categories."""
    row = _first(series, _is_decimal_comma)
    if row is None:
        return
    other = _first(series, lambda v: not _is_decimal_comma(v) and np.isnan(
        parse_numbers(pd.Series([v], dtype=object))[0]))
    if other is None:
        raise DataError(f"column {name!r} holds numbers with a decimal comma "
                        f"({shown(series.iloc[row])} in row {row + 1}) that would be read as "
                        "categories; read the table with --decimal-comma (read_table(path, "
                        "decimal=',')), or write them with a decimal point")


def check_categories(column: Column, max_categories: int) -> None:
    """Refuse a categorical column with more than ``max_categories`` different values
    (an identifier or free text), before any one-hot matrix is made."""
    n = len(column.categories or ())
    if column.kind == "categorical" and n > max_categories:
        raise DataError(f"column {column.name!r} has {n:,} different values, more than the "
                        f"{max_categories} categories a column may have (each would become an "
                        f"input; it looks like an identifier or free text); drop it with "
                        f"--drop {column.name} (drop=[{column.name!r}]), or allow more with "
                        f"--max-categories {n} (max_categories={n})")


def detect_task(series: pd.Series, max_classes: int = 20) -> str:
    """``'classification'`` or ``'regression'`` for a target column.

    Text, boolean and category targets are classes; numbers are classes when they are
    whole numbers with at most ``max_classes`` distinct values (0/1, 1..5 stars), and
    otherwise a regression target.
    """
    present = pd.Series(series).dropna()
    if present.empty:
        raise DataError(f"target column {series.name!r} has no values; pick another column")
    if pdt.is_bool_dtype(present.dtype) or isinstance(present.dtype, pd.CategoricalDtype):
        return "classification"
    values = parse_numbers(present)
    if np.isnan(values).any():
        _check_stray_text(pd.Series(series), values)
        return "classification"
    whole = bool(np.all(np.mod(values, 1.0) == 0))
    return "classification" if whole and np.unique(values).size <= max_classes else "regression"


def _check_stray_text(series: pd.Series, present_values: np.ndarray) -> None:
    """A target whose values are numbers but for a few texts (at least ``NUMERIC_SHARE``
    of them parse) holds a typing mistake, not class names: a DataError naming the row."""
    if pdt.is_bool_dtype(series.dtype) or np.mean(~np.isnan(present_values)) < NUMERIC_SHARE:
        return
    bad = series.notna().to_numpy() & np.isnan(parse_numbers(series))
    row = int(np.argmax(bad))
    raise DataError(f"target column {series.name!r} has non-numeric text "
                    f"{shown(series.iloc[row])} in row {row + 1}, and its other values are "
                    "numbers; fix the value, or pass task='classification' (command line: "
                    "--task classification) if the column holds class labels")


# --- columns ----------------------------------------------------------------------------------

@dataclass
class Column:
    """What was learned about one input column."""

    name: str
    kind: str  # "numeric" | "categorical"
    categories: list[str] | None = None
    fill: float | str | None = None


def _fill_value(series: pd.Series, column: Column, impute: str) -> float | str:
    if column.kind == "categorical":
        counts = Counter(labels_of(series.dropna(), None))
        return max(column.categories, key=lambda c: (counts[c], -column.categories.index(c)))
    values = numbers(series, column.name)
    values = values[~np.isnan(values)]
    if impute == "mean":
        return float(np.mean(values))
    if impute == "median":
        return float(np.median(values))
    distinct, counts = np.unique(values, return_counts=True)
    return float(distinct[np.argmax(counts)])


def learn_column(series: pd.Series, name: str, impute: str | None) -> Column:
    column = Column(name, column_kind(series, name))
    if column.kind == "categorical":
        column.categories = sorted_labels(series)
    if impute is not None:
        if series.notna().sum() == 0:
            raise DataError(f"column {name!r} has no values at all, so there is nothing to "
                            "impute from; drop the column")
        column.fill = _fill_value(series, column, impute)
    return column


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_missing(frame: pd.DataFrame, names: list[str]) -> None:
    counts = {n: int(frame[n].isna().sum()) for n in names}
    bad = [f"{n!r} ({_plural(c, 'row')})" for n, c in counts.items() if c]
    if bad:
        raise DataError(f"missing values in column(s) {', '.join(bad)}; pass impute='mean', "
                        "'median' or 'most_frequent' (command line: --impute) to fill them "
                        "from the training data, or remove those rows")


def as_frame(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        fail("expected a pandas DataFrame", type(data).__name__,
             "read the table with deltanet.data.read_table or pandas", TypeError)
    if len(data) == 0:
        raise DataError("the table has no rows; pass at least one row of data")
    frame = data.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def codes_of(labels: list[str | None], categories: list[str]) -> np.ndarray:
    """Index k of each label in ``categories`` (int64); −1 for a label not among them."""
    index = {c: k for k, c in enumerate(categories)}
    return np.fromiter((index.get(label, -1) for label in labels), dtype=np.int64,
                       count=len(labels))


def one_hot_rows(labels: list[str | None], categories: list[str]) -> np.ndarray:
    """Rows ``e_k`` for category k; an unknown category gives a row of zeros."""
    codes = codes_of(labels, categories)
    out = np.zeros((len(labels), len(categories)))
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


def target_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The target column of ``frame``: it must exist (else: nearest names) and be complete."""
    if name not in frame.columns:
        names = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(name, names, n=3)
        close += [c for c in names if c.lower() == name.lower() and c not in close]
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise DataError(f"target column {name!r} is not in the table; {hint}"
                        f"the columns are: {listed}")
    check_plain_target(frame[name], name)
    return complete_target(frame[name], name)


def complete_target(series: pd.Series, name: str) -> pd.Series:
    """``series`` itself, unless a target value is missing (a DataError naming the row)."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise DataError(f"target column {name!r} has {_plural(int(missing.sum()), 'missing value')}"
                        f" (first in row {int(np.argmax(missing)) + 1}); remove those rows or "
                        "fill in the target")
    return series


def target_numbers(series: pd.Series, name: str) -> np.ndarray:
    """A regression target as float64; text in it is a DataError naming the row."""
    values = parse_numbers(series)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"target column {name!r} has the value {shown(series.iloc[row])} in row "
                        f"{row + 1}, which is not a finite number; regression needs numbers, so "
                        "fix the value or use task='classification'")
    return values
