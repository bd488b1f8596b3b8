"""Generated 2-D datasets, as in TensorFlow Playground.

Every generator takes ``n_samples``, ``noise`` and ``random_state`` (``None``, an int, or a
``numpy.random.Generator``; never the global seed) and returns ``(X, y)``: ``X`` is a float64
array of shape ``(n_samples, 2)`` holding points ``(x1, x2)`` in about ``[-6, 6]²``; ``y`` holds
class indices ``0..K-1`` (int64) for classification and floats for regression: in
``[-1, 1]`` for the gaussian bumps, in ``[-1.2, 1.2]`` for the plane (``(x1 + x2) / 10``;
up to ±1.8 where the noise moves the point it is read at). The rows come in a random order.

``noise`` follows the playground's slider (0 to 50 %, here 0.0 to 0.5): for xor, circles,
plane and gaussian_regression it moves the point a label is computed from, so labels near
the boundary flip; for spirals, gaussians and blobs it spreads the points themselves; for
moons it is the standard deviation of Gaussian noise relative to a moon's radius.
"""

from __future__ import annotations

import numpy as np

from deltanet._validation import check_number, fail

#: Half-width of the square the playground draws points in.
RADIUS = 6.0


def as_generator(random_state: object) -> np.random.Generator:
    """Turn ``None``, an int, a SeedSequence or a Generator into a ``numpy.random.Generator``.

    A Generator is returned as it is (and advanced by whoever draws from it).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        fail("random_state must be None, an int or a numpy.random.Generator", random_state,
             "pass e.g. random_state=0 or numpy.random.default_rng(0)", TypeError)
    if random_state < 0:
        fail("random_state must be >= 0", random_state, "pass a non-negative int")
    return np.random.default_rng(int(random_state))


def _check(n_samples: int, noise: float, n_classes: int = 2) -> tuple[int, float]:
    n = int(check_number("n_samples", n_samples, low=n_classes, integer=True))
    return n, check_number("noise", noise, low=0.0)


def _counts(n_samples: int, n_classes: int) -> list[int]:
    """Split ``n_samples`` into ``n_classes`` sizes that differ by at most one."""
    return [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(X))
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order]


def make_xor(n_samples: int = 500, noise: float = 0.0, random_state=None, n_classes: int = 2):
    """Four quadrants: class 1 where ``x1 · x2 >= 0`` (the label is read after the noise).

    Points are uniform in ``[-5, 5]²`` pushed 0.3 away from the axes. With ``n_classes``
    ``K > 2`` the square is a checkerboard of ``K × K`` cells, cell ``(r, c)`` labelled
    ``(r + c) mod K``: every class has ``K`` cells, so the classes are equally likely.
    """
    k = int(check_number("n_classes", n_classes, low=2, integer=True))
    n, noise = _check(n_samples, noise, k)
    rng = as_generator(random_state)
    X = rng.uniform(-5.0, 5.0, size=(n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    moved = X + rng.uniform(-5.0, 5.0, size=(n, 2)) * noise
    if k == 2:
        y = (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)
    else:
        cells = np.clip(np.floor((moved + 5.3) / 10.6 * k), 0, k - 1).astype(np.int64)
        y = (cells[:, 0] + cells[:, 1]) % k
    return _shuffled(X, y, rng)


def make_circles(n_samples: int = 500, noise: float = 0.0, random_state=None,
                 n_classes: int = 2):
    """A disc of class 1 (radius < 2.5) inside a ring of class 0 (radius 3.5 to 5).

    With ``n_classes`` ``K`` the radii ``[0, 5]`` are cut into ``K`` bands of width ``w = 5/K``;
    band ``c`` (counted from the centre) holds radii ``c·w + 0.4·w`` to ``(c + 1)·w`` (from 0
    for the disc) and class ``K − 1 − c``, read at the noisy point.
    """
    k = int(check_number("n_classes", n_classes, low=2, integer=True))
    n, noise = _check(n_samples, noise, k)
    rng = as_generator(random_state)
    width, counts = 5.0 / k, _counts(n, k)
    r = np.concatenate([rng.uniform(band * width + (band > 0) * 0.4 * width,
                                    (band + 1) * width, counts[k - 1 - band])
                        for band in range(k)])
    angle = rng.uniform(0.0, 2 * np.pi, n)
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    moved = X + rng.uniform(-5.0, 5.0, size=(n, 2)) * noise
    band = np.minimum(np.hypot(moved[:, 0], moved[:, 1]) // width, k - 1).astype(np.int64)
    return _shuffled(X, k - 1 - band, rng)


def make_gaussians(n_samples: int = 500, noise: float = 0.0, random_state=None):
    """Two Gaussian clouds: class 1 around (2, 2), class 0 around (−2, −2).

    The variance grows with the noise as in the playground: ``σ² = 0.5 + 7 · noise``.
    """
    return make_blobs(n_samples, noise, random_state, n_classes=2)


def make_blobs(n_samples: int = 500, noise: float = 0.0, random_state=None, n_classes: int = 3):
    """``n_classes`` Gaussian clouds with variance ``0.5 + 7 · noise``.

    Two classes sit at (−2, −2) and (2, 2); more classes sit on a circle of radius 3.
    """
    k = int(check_number("n_classes", n_classes, low=2, integer=True))
    n, noise = _check(n_samples, noise, k)
    rng = as_generator(random_state)
    if k == 2:
        centers = np.array([[-2.0, -2.0], [2.0, 2.0]])
    else:
        angle = 2 * np.pi * np.arange(k) / k
        centers = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    y = np.repeat(np.arange(k, dtype=np.int64), _counts(n, k))
    X = centers[y] + rng.normal(0.0, np.sqrt(0.5 + 7.0 * noise), size=(n, 2))
    return _shuffled(X, y, rng)


def make_spirals(n_samples: int = 500, noise: float = 0.0, random_state=None, n_classes: int = 2):
    """Interleaved spiral arms, one per class.

    Arm ``k`` has points ``r = 5 i/m``, ``t = 1.75 · 2π i/m + 2πk/K`` at
    ``(r sin t, r cos t)`` plus uniform noise in ``[−noise, noise]`` on each coordinate.
    """
    k = int(check_number("n_classes", n_classes, low=2, integer=True))
    n, noise = _check(n_samples, noise, k)
    rng = as_generator(random_state)
    parts, labels = [], []
    for label, m in enumerate(_counts(n, k)):
        frac = np.arange(m) / m
        r = 5.0 * frac
        t = 1.75 * frac * 2 * np.pi + 2 * np.pi * label / k
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(m, label, dtype=np.int64))
    X = np.concatenate(parts) + rng.uniform(-1.0, 1.0, size=(n, 2)) * noise
    return _shuffled(X, np.concatenate(labels), rng)


def make_moons(n_samples: int = 500, noise: float = 0.0, random_state=None):
    """Two interleaving half circles (class 0 on top), centred and scaled by 3."""
    n, noise = _check(n_samples, noise)
    rng = as_generator(random_state)
    n_top, n_bottom = _counts(n, 2)
    t_top = rng.uniform(0.0, np.pi, n_top)
    t_bottom = rng.uniform(0.0, np.pi, n_bottom)
    X = np.concatenate([np.column_stack([np.cos(t_top), np.sin(t_top)]),
                        np.column_stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)])])
    X = X + rng.normal(0.0, 1.0, size=(n, 2)) * noise
    X = 3.0 * (X - [0.5, 0.25])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_top, n_bottom])
    return _shuffled(X, y, rng)


def _regression_points(n_samples: int, noise: float, random_state):
    n, noise = _check(n_samples, noise, 1)
    rng = as_generator(random_state)
    X = rng.uniform(-RADIUS, RADIUS, size=(n, 2))
    moved = X + rng.uniform(-RADIUS, RADIUS, size=(n, 2)) * noise
    return X, moved, rng


def make_plane(n_samples: int = 500, noise: float = 0.0, random_state=None):
    """Regression on a tilted plane: ``y = (x1 + x2) / 10``, read at the noisy point."""
    X, moved, rng = _regression_points(n_samples, noise, random_state)
    return _shuffled(X, (moved[:, 0] + moved[:, 1]) / 10.0, rng)


#: (cx, cy, sign) of the six bumps of the playground's "multi gaussian" regression set.
_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
          (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))


def make_gaussian_regression(n_samples: int = 500, noise: float = 0.0, random_state=None):
    """Regression on six signed bumps ("multi gaussian" in the playground).

    Each bump contributes ``sign · clip(1 − d/2, 0, 1)`` at distance ``d`` from its centre;
    ``y`` is the contribution of largest magnitude (the first one on ties).
    """
    X, moved, rng = _regression_points(n_samples, noise, random_state)
    y = np.zeros(len(X))
    for cx, cy, sign in _BUMPS:
        d = np.hypot(moved[:, 0] - cx, moved[:, 1] - cy)
        bump = sign * np.clip(1.0 - d / 2.0, 0.0, 1.0)
        y = np.where(np.abs(bump) > np.abs(y), bump, y)
    return _shuffled(X, y, rng)
