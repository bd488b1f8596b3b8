"""The playground's two-dimensional data sets, generated as TensorFlow Playground does.

Every point lies in the square ``[-6, 6]²`` that the page draws. Classification sets return
integer labels ``0..K-1`` (``K`` classes; class 1 of a two-class set is TensorFlow
Playground's positive, blue class); regression sets return labels in ``[-1, 1]``.
``noise`` is a fraction in ``[0, 0.5]`` (the page's 0–50 %). Randomness comes in as a
``numpy.random.Generator``.

Beyond TensorFlow Playground each classification set has a ``K``-class form: ``K`` rings,
``K`` gaussians, ``K`` spiral arms, and quadrants taken modulo ``K`` for XOR.
"""

from __future__ import annotations

import csv
import io

import numpy as np

DOMAIN = 6.0
CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "reg-gauss")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")


def _uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    return rng.uniform(low, high, size=n)


def _circle(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple:
    # Ring c holds radii in [c·5/K, (c+1)·5/K], shrunk by a gap so classes start apart
    # (for K = 2 this is TF Playground's disc r < 2.5 and ring 3.5 < r < 5).
    radius, width = 5.0, 5.0 / k
    ring = np.arange(n) % k
    low = ring * width + np.where(ring > 0, 0.2 * width, 0.0)
    r = low + rng.uniform(0.0, 1.0, n) * ((ring + 1) * width - low)
    angle = _uniform(rng, 0.0, 2 * np.pi, n)
    x = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    shifted = x + rng.uniform(-radius, radius, (n, 2)) * noise
    label = np.minimum((np.hypot(shifted[:, 0], shifted[:, 1]) / width).astype(int), k - 1)
    # Class 1 is the inner disc for two classes, as in TF Playground.
    return x, (k - 1 - label) if k == 2 else label


def _xor(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple:
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)
    shifted = x + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    if k == 2:
        return x, (shifted[:, 0] * shifted[:, 1] >= 0).astype(int)
    quadrant = (shifted[:, 0] < 0).astype(int) + 2 * (shifted[:, 1] < 0).astype(int)
    return x, quadrant % k


def _gauss(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple:
    variance = 0.5 + 3.5 * noise / 0.5
    if k == 2:
        centers = np.array([[-2.0, -2.0], [2.0, 2.0]])
    else:
        angle = 2 * np.pi * np.arange(k) / k + np.pi / 4
        centers = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    label = np.arange(n) % k
    x = centers[label] + rng.normal(0.0, np.sqrt(variance), (n, 2))
    return x, label


def _spiral(rng: np.random.Generator, n: int, noise: float, k: int) -> tuple:
    label = np.arange(n) % k
    per_arm = np.maximum(np.bincount(label, minlength=k), 1)
    i = np.arange(n) // k
    frac = i / per_arm[label]
    r = 5.0 * frac
    t = 1.75 * frac * 2 * np.pi + 2 * np.pi * label / k
    x = np.column_stack([r * np.sin(t), r * np.cos(t)])
    x += rng.uniform(-1.0, 1.0, (n, 2)) * noise
    # The arm with phase 0 is TF Playground's positive class.
    return x, (1 - label) if k == 2 else label


def _plane(rng: np.random.Generator, n: int, noise: float) -> tuple:
    x = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    shifted = x + rng.uniform(-DOMAIN, DOMAIN, (n, 2)) * noise
    return x, np.clip((shifted[:, 0] + shifted[:, 1]) / 10.0, -1.0, 1.0)


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=float)


def _reg_gauss(rng: np.random.Generator, n: int, noise: float) -> tuple:
    x = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    shifted = x + rng.uniform(-DOMAIN, DOMAIN, (n, 2)) * noise
    dist = np.hypot(shifted[:, None, 0] - _BUMPS[:, 0], shifted[:, None, 1] - _BUMPS[:, 1])
    value = _BUMPS[:, 2] * np.clip(1.0 - dist / 2.0, 0.0, 1.0)
    # Keep, for each point, the bump with the largest absolute value.
    pick = np.argmax(np.abs(value), axis=1)
    return x, value[np.arange(n), pick]


def generate(name: str, n: int, noise: float, n_classes: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` points of data set ``name``.

    Returns
    -------
    X : ndarray of shape (n, 2)
        Coordinates ``(x1, x2)`` in ``[-6, 6]²`` (a few gaussian points may fall outside).
    y : ndarray of shape (n,)
        Class indices (int) for classification sets, values in ``[-1, 1]`` for regression.
    """
    if name == "plane":
        return _plane(rng, n, noise)
    if name == "reg-gauss":
        return _reg_gauss(rng, n, noise)
    make = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}[name]
    return make(rng, n, noise, n_classes)


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


def parse_csv(text: str, max_rows: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Read a CSV of two features and a label (optional header) into playground data.

    Features are scaled linearly onto ``[-6, 6]``. Labels that are whole numbers with at most
    eight distinct values make a classification set (mapped to ``0..K-1``); any other labels
    make a regression set, scaled onto ``[-1, 1]``.

    Returns
    -------
    X, y, task
        Scaled coordinates, labels and ``"classification"`` or ``"regression"``.

    Raises
    ------
    ValueError
        When the text is not three numeric columns, has too few or too many rows, or
        non-finite values.
    """
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and not _is_numeric(rows[0]):
        rows = rows[1:]  # a header line
    if len(rows) < 4:
        raise ValueError(f"the CSV has {len(rows)} data rows; give at least 4 rows of x1,x2,label")
    if len(rows) > max_rows:
        raise ValueError(f"the CSV has {len(rows)} rows; the playground takes at most {max_rows}")
    for number, row in enumerate(rows, start=1):
        if len(row) != 3 or not _is_numeric(row):
            raise ValueError(f"data row {number} is {row[:4]!r}; every row must be three "
                             "numbers: x1, x2, label")
    data = np.array(rows, dtype=float)
    if not np.all(np.isfinite(data)):
        raise ValueError("the CSV holds NaN or infinite values; remove them and upload again")
    X = _scale(data[:, :2], -DOMAIN, DOMAIN)
    labels = data[:, 2]
    classes = np.unique(labels)
    if np.all(labels == np.round(labels)) and 2 <= len(classes) <= 8:
        return X, np.searchsorted(classes, labels).astype(int), "classification"
    return X, _scale(labels[:, None], -1.0, 1.0)[:, 0], "regression"


def _is_numeric(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    lo, hi = values.min(axis=0), values.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return low + (values - lo) / span * (high - low)
