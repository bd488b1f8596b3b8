"""Scaling of input attributes and one-hot coding of class labels (pure NumPy).

The lecture advises normalising the inputs ``x_j`` before training, "e.g., by rescaling
values to the range [−1, 1] via min-max normalization" (seed 002): a logistic unit whose
net input ``in_j`` is large has ``g'(in_j) ≈ 0`` and learns slowly. The scalers are fitted
on training data only and then applied, unchanged, to validation, test and new data.

Every transformer has ``fit``, ``transform``, ``fit_transform``, ``inverse_transform``
and ``to_dict``/``from_dict`` (lists and floats only, so a model file can carry it as JSON).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deltanet._validation import check_array, check_number, fail


def _as_table(name: str, X: Any) -> tuple[np.ndarray, bool]:
    """Return ``X`` as a finite 2-D float array and whether it came in 1-D (one column)."""
    arr = check_array(name, X, ndim=(1, 2))
    return (arr[:, None], True) if arr.ndim == 1 else (arr, False)


def _check_type(data: Any, cls: type) -> dict:
    if not isinstance(data, dict) or data.get("type") != cls.__name__:
        shown = data.get("type") if isinstance(data, dict) else type(data).__name__
        fail(f"not a saved {cls.__name__}", shown,
             f"pass the dict made by {cls.__name__}.to_dict()")
    return data


def _vectors(data: dict, *keys: str) -> list[np.ndarray]:
    """The saved per-column statistics ``keys``: 1-D float arrays of one length."""
    arrays = [np.asarray(data[key], dtype=np.float64) for key in keys]
    if any(a.ndim != 1 or a.shape != arrays[0].shape or not np.isfinite(a).all()
           for a in arrays):
        fail(f"saved {' and '.join(keys)} must be lists of finite numbers of one length",
             [np.shape(a) for a in arrays], "save the scaler again with to_dict()")
    return arrays


class _Scaler:
    """What the scalers share: ``fit_transform``, checks, and 1-D input as one column."""

    _fitted_attr = ""

    def fit_transform(self, X: Any) -> np.ndarray:
        """Fit on ``X`` and return ``X`` transformed."""
        return self.fit(X).transform(X)

    def _check_fitted(self) -> np.ndarray:
        stat = getattr(self, self._fitted_attr)
        if stat is None:
            fail(f"{type(self).__name__} is not fitted yet", type(self).__name__,
                 "call fit(X) on the training data first")
        return stat

    def _prepare(self, X: Any) -> tuple[np.ndarray, bool]:
        """Check the scaler is fitted and ``X`` has its width; 1-D ``X`` is one column."""
        stat = self._check_fitted()
        arr, flat = _as_table("X", X)
        if arr.shape[1] != stat.size:
            fail(f"X has {arr.shape[1]} columns but {type(self).__name__} was fitted on "
                 f"{stat.size}", arr.shape, f"pass an array with {stat.size} columns")
        return arr, flat

    def __repr__(self) -> str:
        fitted = getattr(self, self._fitted_attr) is not None
        return f"{type(self).__name__}({self._params()}{', fitted' if fitted else ''})"

    def _params(self) -> str:
        return ""


def _restore(out: np.ndarray, flat: bool) -> np.ndarray:
    return out[:, 0] if flat else out


class MinMaxScaler(_Scaler):
    """Min-max normalisation of each column to ``feature_range`` (default ``[−1, 1]``).

    ``x' = lo + (x − min) (hi − lo) / (max − min)`` with ``min``/``max`` from the training
    data. A constant column (``max == min``) maps to the middle ``(lo + hi) / 2``; there is
    no division by zero. New data outside the training range maps outside ``[lo, hi]``.

    >>> MinMaxScaler().fit_transform([[0.0], [5.0], [10.0]]).ravel().tolist()
    [-1.0, 0.0, 1.0]
    """

    _fitted_attr = "data_min_"

    def __init__(self, feature_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        if not isinstance(feature_range, (tuple, list)) or len(feature_range) != 2:
            fail("feature_range must be a pair (lo, hi)", feature_range, "pass e.g. (-1, 1)")
        lo = check_number("feature_range[0]", feature_range[0])
        hi = check_number("feature_range[1]", feature_range[1])
        if not lo < hi:
            fail("feature_range must have lo < hi", feature_range, "pass e.g. (-1, 1)")
        self.feature_range = (lo, hi)
        self.data_min_: np.ndarray | None = None
        self.data_max_: np.ndarray | None = None

    def _params(self) -> str:
        return f"feature_range={self.feature_range}"

    def fit(self, X: Any) -> MinMaxScaler:
        """Learn each column's ``min`` and ``max`` from the training data ``X``."""
        arr, _ = _as_table("X", X)
        self.data_min_ = arr.min(axis=0)
        self.data_max_ = arr.max(axis=0)
        return self

    def reset(self) -> None:
        """Forget what was fitted (before a new series of ``partial_fit``)."""
        self.data_min_ = self.data_max_ = None

    def partial_fit(self, X: Any) -> MinMaxScaler:
        """Fold one chunk of rows into ``min`` and ``max`` (a pass over a stream gives
        exactly the in-memory ``fit``)."""
        arr, _ = _as_table("X", X)
        if arr.shape[0] == 0:
            return self
        if self.data_min_ is None:
            return self.fit(arr)
        self.data_min_ = np.minimum(self.data_min_, arr.min(axis=0))
        self.data_max_ = np.maximum(self.data_max_, arr.max(axis=0))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Map each column from ``[min, max]`` to ``[lo, hi]`` (1-D ``X`` is one column)."""
        arr, flat = self._prepare(X)
        lo, hi = self.feature_range
        # In halves, and the quotient (in [0, 1] on the training data) before the factor:
        # a range such as ±1e308 would overflow
        half_min, half_span = self._halves()
        const = half_span == 0
        # lo + (x/2 − min/2) / span · (hi − lo), step by step in one array (no temporaries)
        out = arr / 2
        out -= half_min
        out /= np.where(const, 1.0, half_span)
        out *= hi - lo
        out += lo
        out[:, const] = (lo + hi) / 2
        return _restore(out, flat)

    def _halves(self) -> tuple[np.ndarray, np.ndarray]:
        """``min / 2`` and ``(max − min) / 2``, which cannot overflow."""
        return self.data_min_ / 2, self.data_max_ / 2 - self.data_min_ / 2

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map scaled values back: ``x = min + (x' − lo) (max − min) / (hi − lo)``.

        A constant column comes back as its training value.
        """
        arr, flat = self._prepare(X)
        lo, hi = self.feature_range
        half_min, half_span = self._halves()
        return _restore(2 * (half_min + (arr - lo) / (hi - lo) * half_span), flat)

    def to_dict(self) -> dict:
        """JSON-safe state: ``{"type", "feature_range", "data_min", "data_max"}``."""
        self._check_fitted()
        return {"type": "MinMaxScaler", "feature_range": list(self.feature_range),
                "data_min": self.data_min_.tolist(), "data_max": self.data_max_.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> MinMaxScaler:
        """Rebuild a fitted scaler from ``to_dict()``'s output."""
        data = _check_type(data, cls)
        scaler = cls(tuple(data["feature_range"]))
        scaler.data_min_, scaler.data_max_ = _vectors(data, "data_min", "data_max")
        if not np.all(scaler.data_min_ <= scaler.data_max_):
            fail("saved data_min must not exceed data_max", data["data_min"],
                 "save the scaler again with to_dict()")
        return scaler


class StandardScaler(_Scaler):
    """Standardisation of each column: ``x' = (x − mean) / std`` (population std, ddof 0).

    A constant column is divided by 1, so it maps to 0. As in scikit-learn, a column counts
    as constant when its variance is within rounding of 0 (``0.1`` ten times has a
    computed std of about 1e-17, not 0).

    >>> StandardScaler().fit_transform([[1.0], [3.0]]).ravel().tolist()
    [-1.0, 1.0]
    """

    _fitted_attr = "mean_"

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> StandardScaler:
        """Learn each column's mean and standard deviation from the training data ``X``."""
        arr, _ = _as_table("X", X)
        return self._set(arr.shape[0], arr.mean(axis=0), arr.std(axis=0))

    @classmethod
    def from_moments(cls, n: int, mean: Any, std: Any) -> StandardScaler:
        """The scaler of ``n`` rows with these column means and standard deviations."""
        return cls()._set(n, np.asarray(mean, dtype=np.float64),
                          np.asarray(std, dtype=np.float64))

    def _set(self, n: int, mean: np.ndarray, std: np.ndarray) -> StandardScaler:
        # scikit-learn's bound on the rounding error of a computed variance
        eps = np.finfo(np.float64).eps
        var = std * std
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        self.mean_, self.scale_ = mean, np.where(constant, 1.0, std)
        return self

    def reset(self) -> None:
        """Forget what was fitted (before a new series of ``partial_fit``)."""
        self.mean_ = self.scale_ = None
        self._n, self._m2 = 0, None

    def partial_fit(self, X: Any) -> StandardScaler:
        """Fold one chunk of rows into the mean and variance (Chan et al.'s merge of
        ``n``, mean and ``M2 = Σ (x − mean)²``); equal to the in-memory ``fit`` to rounding."""
        arr, _ = _as_table("X", X)
        n_b = arr.shape[0]
        if n_b == 0:
            return self
        mean_b = arr.mean(axis=0)
        m2_b = ((arr - mean_b) ** 2).sum(axis=0)
        n_a = getattr(self, "_n", 0) if self.mean_ is not None else 0
        if n_a == 0:
            n, mean, m2 = n_b, mean_b, m2_b
        else:
            n = n_a + n_b
            d = mean_b - self.mean_
            mean = self.mean_ + d * (n_b / n)
            m2 = self._m2 + m2_b + d * d * (n_a * n_b / n)
        self._n, self._m2, self.mean_ = n, m2, mean
        var, eps = m2 / n, np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        self.scale_ = np.where(constant, 1.0, np.sqrt(var))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``(X − mean) / std`` (1-D ``X`` is one column)."""
        arr, flat = self._prepare(X)
        out = arr - self.mean_
        out /= self.scale_
        return _restore(out, flat)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Return ``X' · std + mean``."""
        arr, flat = self._prepare(X)
        return _restore(arr * self.scale_ + self.mean_, flat)

    def to_dict(self) -> dict:
        """JSON-safe state: ``{"type", "mean", "scale"}``."""
        self._check_fitted()
        return {"type": "StandardScaler", "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> StandardScaler:
        """Rebuild a fitted scaler from ``to_dict()``'s output."""
        data = _check_type(data, cls)
        scaler = cls()
        scaler.mean_, scaler.scale_ = _vectors(data, "mean", "scale")
        if not np.all(scaler.scale_ > 0):
            fail("saved scale must be positive numbers", data["scale"],
                 "save the scaler again with to_dict()")
        return scaler


def scaler_from_dict(data: dict) -> MinMaxScaler | StandardScaler:
    """Rebuild whichever scaler ``data`` was saved from (by its ``"type"``)."""
    kinds = {"MinMaxScaler": MinMaxScaler, "StandardScaler": StandardScaler}
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in kinds:
        fail("not a saved scaler", kind, f"pass a dict whose 'type' is one of {', '.join(kinds)}")
    return kinds[kind].from_dict(data)


class OneHotEncoder:
    """One-hot coding of class labels: label ``c_k`` becomes row ``e_k`` of the K×K identity.

    This is the lecture's target for K-class problems: K output neurons, ``y_k = 1`` for the
    true class and 0 otherwise; a prediction is read back with ``argmax``.

    Parameters
    ----------
    classes : sequence, optional
        The classes in output order. Default: the sorted distinct labels seen by ``fit``.
    """

    def __init__(self, classes: Any = None) -> None:
        self.classes = None if classes is None else _labels("classes", classes)
        if self.classes is not None and len(set(self.classes.tolist())) < self.classes.size:
            fail("classes must be distinct", self.classes.tolist(), "list each class once")
        self.classes_: np.ndarray | None = None

    def fit(self, labels: Any) -> OneHotEncoder:
        """Learn the classes (sorted distinct labels) unless they were given."""
        labels = _labels("labels", labels)
        if self.classes is not None:
            self.classes_ = self.classes
        else:
            try:
                self.classes_ = np.unique(labels)
            except TypeError as err:
                fail("labels cannot be sorted", labels[:5].tolist(),
                     f"use labels of one type, e.g. all strings or all ints ({err})")
        return self

    def transform(self, labels: Any) -> np.ndarray:
        """Return ``Y`` (float64, ``(n, K)``) with ``Y[e, k] = 1`` where label ``e`` is class k."""
        if self.classes_ is None:
            fail("OneHotEncoder is not fitted yet", "OneHotEncoder", "call fit(labels) first")
        labels = _labels("labels", labels)
        index = {c: k for k, c in enumerate(self.classes_.tolist())}
        unknown = [c for c in labels.tolist() if c not in index]
        if unknown:
            fail(f"label {unknown[0]!r} is not one of the classes", self.classes_.tolist(),
                 "pass labels from the classes, or pass classes= that include it")
        Y = np.zeros((labels.size, len(index)))
        Y[np.arange(labels.size), [index[c] for c in labels.tolist()]] = 1.0
        return Y

    def fit_transform(self, labels: Any) -> np.ndarray:
        """Fit on ``labels`` and return their one-hot rows."""
        return self.fit(labels).transform(labels)

    def inverse_transform(self, Y: Any) -> np.ndarray:
        """Return the class of each row of ``Y`` (one-hot rows or scores): ``argmax_k Y[e, k]``."""
        if self.classes_ is None:
            fail("OneHotEncoder is not fitted yet", "OneHotEncoder", "call fit(labels) first")
        Y = check_array("Y", Y, ndim=2)
        if Y.shape[1] != self.classes_.size:
            fail(f"Y has {Y.shape[1]} columns but there are {self.classes_.size} classes",
                 Y.shape, f"pass an array of shape (n, {self.classes_.size})")
        return self.classes_[np.argmax(Y, axis=1)]

    def to_dict(self) -> dict:
        """JSON-safe state: ``{"type": "OneHotEncoder", "classes": [...]}``."""
        if self.classes_ is None:
            fail("OneHotEncoder is not fitted yet", "OneHotEncoder", "call fit(labels) first")
        return {"type": "OneHotEncoder", "classes": self.classes_.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> OneHotEncoder:
        """Rebuild a fitted encoder from ``to_dict()``'s output."""
        data = _check_type(data, cls)
        encoder = cls(data["classes"])
        encoder.classes_ = encoder.classes
        return encoder

    def __repr__(self) -> str:
        shown = "" if self.classes_ is None else f"classes={self.classes_.tolist()!r}"
        return f"OneHotEncoder({shown})"


def _labels(name: str, labels: Any) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        fail(f"{name} must be a non-empty 1-D sequence", arr.shape,
             "pass one label per example, e.g. [0, 2, 1]")
    return arr


def one_hot(labels: Any, classes: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """One-hot code ``labels``; return ``(Y, classes)``.

    >>> Y, classes = one_hot(["b", "a", "b"])
    >>> Y.tolist(), classes.tolist()
    ([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], ['a', 'b'])
    """
    encoder = OneHotEncoder(classes).fit(labels)
    return encoder.transform(labels), encoder.classes_
