"""Splitting examples into train, validation and test sets (stratified for classes)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from deltanet._validation import check_number
from deltanet.data.errors import DataError
from deltanet.data.generators import as_generator


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."


class Split(NamedTuple):
    """Train, validation and test examples (validation or test may be empty)."""

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray


def _seed(random_state: Any) -> int | None:
    """scikit-learn takes an int seed; draw one from a Generator (advancing it)."""
    if random_state is None:
        return None
    return int(as_generator(random_state).integers(2**32 - 1))


def _cut(X, y, size: float, stratify: bool, seed: int | None):
    """Cut a fraction ``size`` of the rows off: return (rest_X, cut_X, rest_y, cut_y)."""
    if size == 0:
        return X, X[:0], y, y[:0]
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=size, random_state=seed,
                            stratify=y if stratify else None)


def split(X: Any, y: Any, test_size: float = 0.2, val_size: float = 0.0,
          stratify: bool | None = None, random_state: Any = None) -> Split:
    """Split examples into train, validation and test sets (scikit-learn's train_test_split).

    Parameters
    ----------
    X, y : array-like
        Examples (rows) and their targets.
    test_size, val_size : float
        Fractions of all rows for the test and validation sets; 0 gives an empty set.
    stratify : bool, optional
        Keep the class proportions in every set. Default: stratify when ``y`` holds integer,
        boolean or text labels (classification), not when it holds floats (regression).
    random_state : None, int or numpy.random.Generator
        Seed of the shuffle.

    Returns
    -------
    Split
        ``(X_train, X_val, X_test, y_train, y_val, y_test)``.
    """
    X, y = np.asarray(X), np.asarray(y)
    test_size = check_number("test_size", test_size, low=0.0, high=1.0, high_open=True)
    val_size = check_number("val_size", val_size, low=0.0, high=1.0, high_open=True)
    if test_size + val_size >= 1.0:
        raise DataError(f"test_size + val_size must be below 1 (got {test_size} + {val_size}); "
                        "leave some rows for training")
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} rows but y has {len(y)}; pass one target per row")
    if stratify is None:
        stratify = y.dtype.kind in "iubOUS"
    seed = _seed(random_state)
    try:
        X_rest, X_test, y_rest, y_test = _cut(X, y, test_size, stratify, seed)
        X_train, X_val, y_train, y_val = _cut(X_rest, y_rest, val_size / (1.0 - test_size),
                                              stratify, seed)
    except ValueError as err:
        raise DataError(f"cannot split {len(X)} rows with test_size={test_size}, "
                        f"val_size={val_size}{' (stratified)' if stratify else ''}: "
                        f"{_one_line(err)}; use more rows, other sizes (command line: "
                        "--test-size, --val-size) or stratify=False (command line: "
                        "--no-stratify)") from err
    return Split(X_train, X_val, X_test, y_train, y_val, y_test)
