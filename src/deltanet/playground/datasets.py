"""The playground's two-dimensional data sets: ``deltanet.data.generators`` under the page's names.

Every point lies in the square ``[-6, 6]²`` that the page draws. Classification sets return
integer labels ``0..K-1`` (``K`` classes; class 1 of a two-class set is TensorFlow
Playground's positive, blue class); regression sets return labels in about ``[-1, 1]``.
``noise`` is a fraction in ``[0, 0.5]`` (the page's 0–50 %). Randomness comes in as a
``numpy.random.Generator``.

Beyond TensorFlow Playground each classification set has a ``K``-class form: ``K`` rings,
``K`` gaussians, ``K`` spiral arms, and quadrants taken modulo ``K`` for XOR.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np

from deltanet.data import generators as gen
from deltanet.data.scaling import MinMaxScaler, StandardScaler
from deltanet.data.tables import TablePreprocessor

DOMAIN = gen.RADIUS
CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "reg-gauss")
MAX_CLASSES = 8  # generated sets offer 2–5 on the page; a CSV may hold up to 8
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")

_CLASSIFIERS = {"circle": gen.make_circles, "xor": gen.make_xor, "gauss": gen.make_blobs,
                "spiral": gen.make_spirals}
_REGRESSORS = {"plane": gen.make_plane, "reg-gauss": gen.make_gaussian_regression}


def generate(name: str, n: int, noise: float, n_classes: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` points of data set ``name`` (one of ``CLASSIFICATION + REGRESSION``).

    Returns
    -------
    X : ndarray of shape (n, 2)
        Coordinates ``(x1, x2)`` in ``[-6, 6]²`` (a few gaussian points may fall outside).
    y : ndarray of shape (n,)
        Class indices (int) for classification sets, values in about ``[-1, 1]`` for
        regression.
    """
    if name in _REGRESSORS:
        return _REGRESSORS[name](n, noise, rng)
    X, y = _CLASSIFIERS[name](n, noise, rng, n_classes=n_classes)
    if name == "spiral" and n_classes == 2:
        y = 1 - y  # the arm with phase 0 is TensorFlow Playground's positive class
    return X, y


def features(X: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """Map coordinates ``(x1, x2)`` to the chosen input features, in ``FEATURES`` order."""
    x1, x2 = X[:, 0], X[:, 1]
    table = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1*x2": x1 * x2,
             "sin(x1)": np.sin(x1), "sin(x2)": np.sin(x2)}
    return np.column_stack([table[name] for name in FEATURES if name in names])


def split(X: np.ndarray, y: np.ndarray, ratio: float,
          rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Shuffle and split into training and test parts; ``ratio`` is the training share."""
    order = rng.permutation(len(X))
    n_train = min(max(1, round(len(X) * ratio)), len(X) - 1)
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


@dataclass(frozen=True)
class Upload:
    """An uploaded CSV read into playground data, with what it takes to use it again.

    ``X`` are the coordinates scaled onto ``[-6, 6]``, ``y`` the labels (class indices, or
    regression values scaled onto ``[-1, 1]``); ``text`` is the CSV as uploaded (a lesson
    link carries it); ``preprocessing`` is the fitted ``TablePreprocessor`` that maps a raw
    table with the same columns to the network's coordinates, so that a downloaded model
    works with ``deltanet predict``.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    text: str
    preprocessing: TablePreprocessor

    @property
    def columns(self) -> list[str]:
        """The two coordinate columns and the label column, as named in the CSV."""
        return [c.name for c in self.preprocessing.columns_] + [self.preprocessing.target]


def parse_csv(text: str, max_rows: int) -> Upload:
    """Read a CSV of two features and a label (optional header) into playground data.

    A number is written as ``NUMBER`` reads it (digits, a decimal point, an exponent), the
    grammar the page's reader uses too. Features are scaled linearly onto ``[-6, 6]`` (a
    constant column to 0). Labels that are whole numbers with at most eight distinct values
    make a classification set (mapped to ``0..K-1`` in the order of their values); other
    numbers make a regression set, scaled onto ``[-1, 1]``; text labels (``red``, ``yes``)
    are classes in the order of their texts (at most eight). Fields are read as ``deltanet
    train`` reads a CSV (spaces after a comma skipped, double quotes). The first row is a
    header when its features are not numbers; without one the columns are named ``x1, x2,
    label``.

    Raises
    ------
    ValueError
        When the text is not two numeric columns and a label, has too few or too many rows,
        too many text classes, or non-finite values.
    """
    lines = csv.reader(io.StringIO(text), skipinitialspace=True)  # as deltanet train reads
    rows = [row for row in lines if any(cell.strip() for cell in row)]
    names = ["x1", "x2", "label"]
    if rows and not _is_numeric(rows[0][:2]):
        header = rows[0]  # the names deltanet predict reads: spaces after a comma skipped
        if len(header) == 3 and all(c.strip() for c in header) and len(set(header)) == 3:
            names = header
        rows = rows[1:]  # a header line
    if len(rows) < 4:
        raise ValueError(f"the CSV has {len(rows)} data rows; give at least 4 rows of x1,x2,label")
    if len(rows) > max_rows:
        raise ValueError(f"the CSV has {len(rows)} rows; the playground takes at most {max_rows}")
    for number, row in enumerate(rows, start=1):
        if len(row) != 3 or not _is_numeric(row[:2]) or not row[2].strip():
            raise ValueError(f"data row {number} is {', '.join(row[:4])!r}; every row must be "
                             "two numbers and a label: x1, x2, label")
    labels = [row[2] for row in rows]
    text_labels = not _is_numeric(labels)
    data = np.array([row[:2] + ([0] if text_labels else [row[2]]) for row in rows], dtype=float)
    if not np.all(np.isfinite(data)):
        raise ValueError("the CSV holds NaN or infinite values; remove them and upload again")
    task = _task(data[:, 2], labels if text_labels else None)
    frame = _frame(data, names, labels if text_labels else None)
    pre = _preprocessing(frame, data, task)
    X = pre.transform(frame)
    y = pre.encode_target(frame)
    return Upload(X, y if task == "regression" else y.astype(int), task, text, pre)


def _task(values: np.ndarray, texts: list[str] | None) -> str:
    """``'classification'`` or ``'regression'``; refuses a single class or too many texts."""
    classes = sorted(set(texts)) if texts is not None else np.unique(values)
    if len(classes) == 1:
        raise ValueError(f"every label is {classes[0]:g}; give at least two classes (or, for "
                         "regression, labels that vary)" if texts is None else
                         f"every label is {classes[0]!r}; give at least two classes")
    if texts is not None:
        if len(classes) > MAX_CLASSES:
            raise ValueError(f"the labels are {len(classes)} different texts; the playground "
                             f"takes at most {MAX_CLASSES} classes")
        return "classification"
    return ("classification" if np.all(values == np.round(values))
            and len(classes) <= MAX_CLASSES else "regression")


def _frame(data: np.ndarray, names: list[str], texts: list[str] | None = None):
    import pandas as pd

    frame = pd.DataFrame(data, columns=names)
    if texts is not None:
        frame[names[2]] = pd.Series(texts, dtype=object)
    return frame


def _preprocessing(frame, data: np.ndarray, task: str) -> TablePreprocessor:
    """The table preprocessing of an upload: coordinates min-max scaled onto ``[-6, 6]``;
    regression labels onto ``[-1, 1]`` (an affine map, kept as a mean and a scale)."""
    pre = TablePreprocessor(frame.columns[2], task=task, scale="minmax",
                            feature_range=(-DOMAIN, DOMAIN), max_classes=MAX_CLASSES)
    pre.fit(frame)
    if task == "regression":
        to_unit = MinMaxScaler((-1.0, 1.0)).fit(data[:, 2:])
        low, high = to_unit.data_min_[0], to_unit.data_max_[0]
        pre.scale_target = True
        pre.target_scaler_ = StandardScaler.from_dict(
            {"type": "StandardScaler", "mean": [low / 2 + high / 2], "scale": [high / 2 - low / 2]})
    return pre


def _is_numeric(cells: list[str]) -> bool:
    return all(NUMBER.fullmatch(cell) for cell in cells)
