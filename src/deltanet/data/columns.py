"""Reading the columns of a table: numbers or categories, their values, the kind of target.

Rows in messages are counted from 1 in the order of the table, not counting the header.
"""

from __future__ import annotations

import difflib
import re
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


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def label_of(value: Any) -> str:
    """The text of a category or class: ``True``, ``3`` (also for 3.0), ``2.5``, ``red``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if is_number(value) and float(value).is_integer():
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


def _first(series: pd.Series, test) -> int | None:
    """Position (from 0) of the first present value of ``series`` that passes ``test``."""
    values, missing = series.to_numpy(dtype=object), series.isna().to_numpy()
    for row, (value, gone) in enumerate(zip(values, missing, strict=True)):
        if not gone and test(value):
            return row
    return None


def is_date(value: Any) -> bool:
    return isinstance(value, str) and _DATE.fullmatch(value.strip()) is not None


def is_decimal_comma(value: Any) -> bool:
    return isinstance(value, str) and _DECIMAL_COMMA.fullmatch(value.strip()) is not None


def check_plain(series: pd.Series, name: str) -> None:
    """Refuse a column of dates or times (CSV text or Parquet datetimes alike), or of lists
    or records (Parquet list and struct columns): none is a number or a category."""
    if check_nested(series, name):
        return
    if _first(series, lambda v: not is_date(v)) is None:
        refuse_dates(name)


def check_nested(series: pd.Series, name: str) -> bool:
    """Refuse a column of datetimes, lists or records; return whether its type holds
    numbers or booleans only (or nothing), so that it cannot hold dates as text."""
    dtype = series.dtype
    if pdt.is_datetime64_any_dtype(dtype) or pdt.is_timedelta64_dtype(dtype):
        refuse_dates(name)
    if pdt.is_numeric_dtype(dtype) or pdt.is_bool_dtype(dtype) or series.isna().all():
        return True
    row = _first(series, _is_nested)
    if row is not None:
        raise DataError(f"column {name!r} holds lists or records (row {row + 1}: "
                        f"{shown(series.iloc[row])}), e.g. a Parquet list or struct column, "
                        "which cannot be inputs; flatten it into plain columns, or drop it "
                        f"with --drop {name} (drop=[{name!r}])")
    return False


def _is_nested(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict, set, np.ndarray))


def check_plain_target(series: pd.Series, name: str) -> None:
    """Refuse a target column of lists or records (a Parquet list or struct column)."""
    row = None if pdt.is_numeric_dtype(series.dtype) else _first(series, _is_nested)
    if row is not None:
        raise DataError(f"target column {name!r} holds lists or records (row {row + 1}: "
                        f"{shown(series.iloc[row])}), which are neither classes nor numbers; "
                        "pick another target column")


def refuse_dates(name: str) -> None:
    raise DataError(f"column {name!r} holds dates or times, which cannot be inputs directly "
                    "(one-hot coding every date would learn nothing); convert it to numbers "
                    "(e.g. days since a start date, or month and weekday columns), or drop it "
                    f"with --drop {name} (drop=[{name!r}])")


def check_text_numbers(series: pd.Series, name: str) -> None:
    """Refuse a text column whose values are all numbers, some with a decimal comma
    ("1,5"): read as text they would become categories."""
    row = _first(series, is_decimal_comma)
    if row is None:
        return
    other = _first(series, lambda v: not is_decimal_comma(v) and np.isnan(
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
        raise DataError(too_many_categories(column.name, n, max_categories))


def too_many_categories(name: str, n: int | str, max_categories: int) -> str:
    """The message for a column with ``n`` (or ``"more than N"``) different values."""
    allow = n if isinstance(n, int) else "N"
    shown_n = f"{n:,}" if isinstance(n, int) else n
    return (f"column {name!r} has {shown_n} different values, more than the "
            f"{max_categories} categories a column may have (each would become an "
            f"input; it looks like an identifier or free text); drop it with "
            f"--drop {name} (drop=[{name!r}]), or allow more with "
            f"--max-categories {allow} (max_categories={allow})")


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
    raise DataError(stray_text(series.name, series.iloc[row], row))


def stray_text(name: Any, value: Any, row: int) -> str:
    """The message for a numeric target with the text ``value`` in row ``row`` (from 0)."""
    return (f"target column {name!r} has non-numeric text {shown(value)} in row {row + 1}, "
            "and its other values are numbers; fix the value, or pass task='classification' "
            "(command line: --task classification) if the column holds class labels")


# --- columns ----------------------------------------------------------------------------------

@dataclass
class Column:
    """What was learned about one input column."""

    name: str
    kind: str  # "numeric" | "categorical"
    categories: list[str] | None = None
    fill: float | str | None = None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_missing(frame: pd.DataFrame, names: list[str]) -> None:
    missing_values({n: int(frame[n].isna().sum()) for n in names})


def missing_values(counts: dict[str, int]) -> None:
    """Refuse missing values: ``counts`` gives each column's number of missing cells."""
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
        unknown_target(name, [str(c) for c in frame.columns])
    check_plain_target(frame[name], name)
    return complete_target(frame[name], name)


def unknown_target(name: str, names: list[str]) -> None:
    """Refuse a target column that is not among ``names`` (with the nearest names)."""
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        close += [c for c in names if c.lower() == name.lower() and c not in close]
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise DataError(f"target column {name!r} is not in the table; {hint}"
                        f"the columns are: {listed}")


def complete_target(series: pd.Series, name: str) -> pd.Series:
    """``series`` itself, unless a target value is missing (a DataError naming the row)."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise DataError(missing_target(name, int(missing.sum()), int(np.argmax(missing))))
    return series


def missing_target(name: str, count: int, first: int) -> str:
    """The message for ``count`` missing target values, the first in row ``first`` (from 0)."""
    return (f"target column {name!r} has {_plural(count, 'missing value')} (first in row "
            f"{first + 1}); remove those rows or fill in the target")


def target_numbers(series: pd.Series, name: str) -> np.ndarray:
    """A regression target as float64; text in it is a DataError naming the row."""
    values = parse_numbers(series)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(not_a_number_target(name, series.iloc[row], row))
    return values


def not_a_number_target(name: str, value: Any, row: int) -> str:
    """The message for a regression target ``value`` in row ``row`` (from 0) that is not a
    finite number."""
    return (f"target column {name!r} has the value {shown(value)} in row {row + 1}, which is "
            "not a finite number; regression needs numbers, so fix the value or use "
            "task='classification'")
