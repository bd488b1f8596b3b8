"""Turning a table into network inputs and targets (reading one: :mod:`.files`).

Every problem with the table becomes a :class:`DataError` with a one-line message that says
what is wrong and what to do, so the command line can print it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from deltanet._validation import check_choice, check_number, fail
from deltanet.data import columns as col
from deltanet.data.errors import DataError
from deltanet.data.scaling import MinMaxScaler, StandardScaler, scaler_from_dict
from deltanet.data.table_fit import TableFit

TASKS = ("classification", "regression")
SCALES = ("minmax", "standard", "none")
IMPUTES = ("mean", "median", "most_frequent")
FORMAT_VERSION = 1


def _saved_column(record: Any) -> col.Column:
    """A column of ``to_dict()``'s output, checked: a name, its kind, text categories."""
    column = col.Column(**record)
    labels = column.categories
    ok = isinstance(column.name, str) and column.fill is not True and column.fill is not False
    if column.kind == "categorical":
        ok = ok and isinstance(labels, list) and all(isinstance(c, str) for c in labels) \
            and len(set(labels)) == len(labels) and isinstance(column.fill, (str, type(None)))
    else:
        ok = ok and column.kind == "numeric" and labels is None \
            and isinstance(column.fill, (int, float, type(None)))
    if not ok:
        fail("a saved column is malformed", record, "save the preprocessor again with to_dict()")
    return column


class TablePreprocessor:
    """Turn a raw table into network inputs ``X`` and targets ``y``, and predictions back.

    Everything is learned by ``fit`` from the training table and applied unchanged later,
    and ``to_dict()`` carries it (JSON, no pickle), so a model file gives the same inputs
    for a raw table at prediction time.

    - Numeric columns are scaled: min-max to ``feature_range`` (default ``[−1, 1]``, as the
      lecture advises) or standardised (``scale='standard'``), or left as they are
      (``'none'``).
    - Categorical columns (text, boolean, category) are one-hot coded: one input per
      category seen in training, named ``column=value``. A category not seen in training
      becomes a row of zeros ("none of the known categories"). A column with more than
      ``max_categories`` (default 100) different values, nearly always an identifier or
      free text, is a DataError: leave it out with ``drop=[name]``, or raise the limit.
    - Dates and times (CSV text such as ``2024-01-31``, Parquet datetimes), lists and
      records (Parquet list and struct columns), and text numbers with a decimal comma
      are refused with a DataError saying what to do; they are never one-hot coded.
    - Missing values are a DataError unless ``impute`` is ``'mean'``, ``'median'`` or
      ``'most_frequent'``: numeric columns are then filled with that training statistic,
      categorical columns with their most frequent training category.
    - The target is coded as class indices ``0..K−1`` into ``classes_`` (the class names
      as text, sorted by value) or, for regression, as float64 numbers, optionally
      standardised (``scale_target=True``; ``decode_target`` undoes it).

    Parameters
    ----------
    target : str
        Name of the target column.
    task : {'classification', 'regression'}, optional
        Default: :func:`detect_task` on the training target.
    scale : {'minmax', 'standard', 'none'}
    impute : {'mean', 'median', 'most_frequent'}, optional
    feature_range : (float, float)
        Range of min-max scaling.
    max_classes : int
        Largest number of distinct whole numbers a numeric target may have to be detected
        as classes.
    scale_target : bool
        Standardise a regression target.
    drop : list of str
        Columns to leave out of the inputs.
    max_categories : int
        Most different values a categorical input column may have (default 100).
    """

    def __init__(self, target: str, *, task: str | None = None, scale: str = "minmax",
                 impute: str | None = None, feature_range: tuple[float, float] = (-1.0, 1.0),
                 max_classes: int = 20, scale_target: bool = False,
                 drop: Iterable[str] = (), max_categories: int = col.MAX_CATEGORIES) -> None:
        if not isinstance(target, str) or not target:
            fail("target must be a column name", target, "pass the name of the target column")
        self.target = target
        self.task = None if task is None else check_choice("task", task, TASKS)
        self.scale = check_choice("scale", scale, SCALES)
        self.impute = None if impute is None else check_choice("impute", impute, IMPUTES)
        self.feature_range = tuple(MinMaxScaler(feature_range).feature_range)
        self.max_classes = int(check_number("max_classes", max_classes, low=2, integer=True))
        self.scale_target = bool(scale_target)
        if isinstance(drop, str):
            drop = [drop]
        self.drop = list(drop)
        if not all(isinstance(d, str) for d in self.drop):
            fail("drop must be a list of column names", drop, "e.g. drop=['id']")
        self.max_categories = int(check_number("max_categories", max_categories, low=1,
                                               integer=True))
        self.task_: str | None = None
        self.columns_: list[col.Column] | None = None
        self.scaler_: MinMaxScaler | StandardScaler | None = None
        self.classes_: list[str] | None = None
        self.target_scaler_: StandardScaler | None = None

    # --- learning -------------------------------------------------------------------------

    def fit(self, frame: pd.DataFrame) -> TablePreprocessor:
        """Learn columns, categories, scaling, fill values, task and classes from ``frame``."""
        frame = col.as_frame(frame)
        return self.fit_chunks(frame.columns, lambda: iter([frame]))

    def fit_chunks(self, columns: list[str], chunks: Callable[[], Iterable[Any]]
                   ) -> TablePreprocessor:
        """Learn from a table given in chunks: ``chunks()`` iterates over its rows as data
        frames (with ``columns``), or as ``(frame, rows)`` pairs where ``rows`` are their
        numbers in the table (from 0) for messages. It is called once, or twice when
        standardising (the second pass must give the same rows). The result is the same,
        to the last bit, as ``fit`` on the rows in one frame (:mod:`.table_stats`)."""
        fitting = TableFit(self, list(columns))
        for chunk in chunks():
            fitting.add(*(chunk if isinstance(chunk, tuple) else (chunk,)))
        fitting.learn()
        if fitting.needs_moments:
            for chunk in chunks():
                fitting.add_moments(chunk[0] if isinstance(chunk, tuple) else chunk)
        fitting.apply()
        return self

    def fit_transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fit on ``frame``; return its inputs ``X`` and coded targets ``y``."""
        self.fit(frame)
        return self.transform(frame), self.encode_target(frame)

    # --- applying -------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self.columns_ is None:
            fail("TablePreprocessor is not fitted yet", "TablePreprocessor",
                 "call fit(frame) on the training table first")

    def _numeric_block(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for column in self.columns_:
            if column.kind == "numeric":
                values = col.numbers(frame[column.name], column.name)
                if column.fill is not None:
                    values = np.where(np.isnan(values), column.fill, values)
                blocks.append(values)
        return np.column_stack(blocks) if blocks else np.zeros((len(frame), 0))

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the inputs ``X`` (float64, one column per ``feature_names_out`` entry).

        Extra columns (the target among them) are ignored; a missing one is a DataError.
        """
        self._check_fitted()
        frame = col.as_frame(frame)
        absent = [c.name for c in self.columns_ if c.name not in frame.columns]
        if absent:
            expected = ", ".join(repr(c.name) for c in self.columns_)
            present = ", ".join(map(repr, list(frame.columns)[:20]))
            present += ", ..." if frame.shape[1] > 20 else ""
            raise DataError(f"column(s) {', '.join(map(repr, absent))} missing from the table; "
                            f"the model was trained on columns {expected}; the table has "
                            f"columns {present}")
        if self.impute is None:
            col.check_missing(frame, [c.name for c in self.columns_])
        numeric = self._numeric_block(frame)
        if self.scaler_ is not None:
            numeric = self.scaler_.transform(numeric)
        parts, k = [], 0
        for column in self.columns_:
            if column.kind == "numeric":
                parts.append(numeric[:, k:k + 1])
                k += 1
            else:
                labels = col.labels_of(frame[column.name], column.fill)
                parts.append(col.one_hot_rows(labels, column.categories))
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float64)

    @property
    def feature_names_out(self) -> list[str]:
        """Names of the columns of ``transform``'s output (``column=value`` for categories)."""
        self._check_fitted()
        names = []
        for column in self.columns_:
            if column.kind == "numeric":
                names.append(column.name)
            else:
                names.extend(f"{column.name}={c}" for c in column.categories)
        return names

    # --- the target -----------------------------------------------------------------------

    def _target_series(self, data: pd.DataFrame | pd.Series) -> pd.Series:
        if isinstance(data, pd.DataFrame):
            return col.target_column(col.as_frame(data), self.target)
        if not isinstance(data, pd.Series):
            data = pd.Series(np.asarray(data, dtype=object))
        return col.complete_target(data, self.target)

    def encode_target(self, data: pd.DataFrame | pd.Series) -> np.ndarray:
        """Code the target: class indices (int64) or numbers (float64, scaled if asked).

        ``data`` is the table (its target column is used) or the target values themselves.
        A class not seen in training is a DataError.
        """
        self._check_fitted()
        target = self._target_series(data)
        if self.task_ == "regression":
            values = col.target_numbers(target, self.target)
            return values if self.target_scaler_ is None else self.target_scaler_.transform(values)
        labels = col.labels_of(target, None)
        codes = col.codes_of(labels, self.classes_)
        if (codes < 0).any():
            row = int(np.argmax(codes < 0))
            raise DataError(f"target column {self.target!r} has the class {labels[row]!r} in row "
                            f"{row + 1}, which the model was not trained on; known classes: "
                            f"{', '.join(self.classes_)}")
        return codes

    def decode_target(self, y: Any) -> np.ndarray:
        """Undo ``encode_target``: class indices to class names, or scaled numbers back."""
        self._check_fitted()
        y = np.asarray(y)
        if self.task_ == "regression":
            y = y.astype(np.float64)
            return y if self.target_scaler_ is None else self.target_scaler_.inverse_transform(y)
        k = len(self.classes_)
        ok = y.ndim == 1 and y.dtype.kind in "iuf" and bool(
            np.all((y % 1 == 0) & (y >= 0) & (y < k)))
        if not ok:
            fail(f"y must be class indices 0..{k - 1}", y[:5].tolist() if y.ndim else y,
                 "pass the predicted class indices, e.g. argmax of the outputs")
        return np.asarray(self.classes_, dtype=object)[y.astype(np.int64)]

    # --- saving ---------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Everything learned, as JSON-safe lists, strings and floats (no pickle)."""
        self._check_fitted()
        return {
            "type": "TablePreprocessor", "version": FORMAT_VERSION,
            "target": self.target, "task": self.task_, "scale": self.scale,
            "impute": self.impute, "feature_range": list(self.feature_range),
            "max_classes": self.max_classes, "scale_target": self.scale_target,
            "drop": self.drop, "max_categories": self.max_categories,
            "columns": [asdict(c) for c in self.columns_],
            "scaler": None if self.scaler_ is None else self.scaler_.to_dict(),
            "classes": self.classes_,
            "target_scaler": (None if self.target_scaler_ is None
                              else self.target_scaler_.to_dict()),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TablePreprocessor:
        """Rebuild a fitted preprocessor from ``to_dict()``'s output."""
        if not isinstance(data, dict) or data.get("type") != "TablePreprocessor":
            fail("not a saved TablePreprocessor", type(data).__name__,
                 "pass the dict made by TablePreprocessor.to_dict()")
        if data.get("version") != FORMAT_VERSION:
            fail("unsupported TablePreprocessor format version", data.get("version"),
                 f"this deltanet reads version {FORMAT_VERSION}; use a matching deltanet")
        pre = cls(data["target"], task=data["task"], scale=data["scale"], impute=data["impute"],
                  feature_range=tuple(data["feature_range"]), max_classes=data["max_classes"],
                  scale_target=data["scale_target"], drop=data.get("drop", ()),
                  max_categories=data.get("max_categories", col.MAX_CATEGORIES))
        pre.task_ = data["task"]
        pre.columns_ = [_saved_column(c) for c in data["columns"]]
        pre.scaler_ = None if data["scaler"] is None else scaler_from_dict(data["scaler"])
        pre.classes_ = None if data["classes"] is None else list(data["classes"])
        if data["task"] == "classification" and not (
                pre.classes_ and all(isinstance(c, str) for c in pre.classes_)):
            fail("a saved classifier needs its class names", data["classes"],
                 "save the preprocessor again with to_dict()")
        if data["target_scaler"] is not None:
            pre.target_scaler_ = StandardScaler.from_dict(data["target_scaler"])
        return pre

    def __repr__(self) -> str:
        if self.columns_ is None:
            return f"TablePreprocessor(target={self.target!r})"
        kinds = [c.kind for c in self.columns_]
        return (f"TablePreprocessor(target={self.target!r}, task={self.task_!r}, "
                f"numeric={kinds.count('numeric')}, categorical={kinds.count('categorical')}, "
                f"features_out={len(self.feature_names_out)})")
