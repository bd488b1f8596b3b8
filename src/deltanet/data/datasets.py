"""Datasets by name: scikit-learn's bundled tables and the generated 2-D sets.

>>> from deltanet.data import load_dataset
>>> ds = load_dataset("xor", n_samples=200, noise=0.1, random_state=0)
>>> ds.X.shape, ds.task, ds.class_names
((200, 2), 'classification', ('0', '1'))

Nothing is downloaded: the tables ship with scikit-learn (imported only when one is loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deltanet._validation import check_choice, fail
from deltanet.data import generators as gen


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset: features ``X`` (float64, ``(n, d)``) and target ``y``.

    ``y`` holds class indices ``0..K-1`` (int64) into ``class_names`` for classification,
    and float64 values for regression (``class_names`` is then ``None``).
    """

    name: str
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    feature_names: tuple[str, ...]
    target_name: str
    task: str
    class_names: tuple[str, ...] | None
    description: str

    @property
    def n_samples(self) -> int:
        """Number of examples (rows of ``X``)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of input attributes (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        """Number of classes K, or ``None`` for regression."""
        return None if self.class_names is None else len(self.class_names)

    def as_frame(self, class_names: bool = False):
        """Return a pandas DataFrame of the features plus the target column.

        Parameters
        ----------
        class_names : bool
            For classification, put the class names (strings) in the target column
            instead of the class indices.
        """
        import pandas as pd

        frame = pd.DataFrame(self.X, columns=list(self.feature_names))
        target = self.y
        if class_names and self.class_names is not None:
            target = np.asarray(self.class_names, dtype=object)[self.y]
        frame[self.target_name] = target
        return frame


@dataclass(frozen=True)
class DatasetInfo:
    """One line of ``list_datasets()``: what ``deltanet datasets`` prints."""

    name: str
    shape: tuple[int, int]
    task: str
    n_classes: int | None
    description: str
    source: str  # "scikit-learn" (bundled table) or "generated"


@dataclass(frozen=True)
class _Entry:
    load: Callable[..., Dataset]
    options: tuple[str, ...]
    description: str


# --- scikit-learn's bundled tables -----------------------------------------------------------

#: name -> (target column name, task, one-line description)
_BUNDLED = {
    "iris": ("species", "classification",
             "Fisher's iris flowers: 4 measurements, 3 species"),
    "wine": ("cultivar", "classification",
             "Italian wines: 13 chemical measurements, 3 cultivars"),
    "breast_cancer": ("diagnosis", "classification",
                      "Wisconsin breast cancer: 30 cell-nucleus features, malignant or benign"),
    "digits": ("digit", "classification",
               "Handwritten digits: 8x8 images (64 pixel values 0-16), 10 classes"),
    "diabetes": ("progression", "regression",
                 "Diabetes: 10 baseline variables, disease progression one year later"),
}


def _load_bundled(name: str) -> Dataset:
    from sklearn import datasets as sk_datasets

    loader = getattr(sk_datasets, f"load_{name}")
    bunch = loader(scaled=False) if name == "diabetes" else loader()
    target_name, task, description = _BUNDLED[name]
    classification = task == "classification"
    class_names = (tuple(str(c) for c in bunch.target_names) if classification else None)
    return Dataset(
        name=name,
        X=np.ascontiguousarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.int64 if classification else np.float64),
        feature_names=tuple(str(f) for f in bunch.feature_names),
        target_name=target_name,
        task=task,
        class_names=class_names,
        description=description,
    )


# --- generated 2-D sets ---------------------------------------------------------------------

_GENERATED = {
    "xor": (gen.make_xor, "XOR: class 1 in the quadrants where x1·x2 >= 0"),
    "circles": (gen.make_circles, "Circle: a disc of one class inside a ring of the other"),
    "gaussians": (gen.make_gaussians, "Two Gaussian clouds, one per class"),
    "spirals": (gen.make_spirals, "Two interleaved spirals"),
    "moons": (gen.make_moons, "Two interleaving half circles"),
    "blobs3": (gen.make_blobs, "K Gaussian clouds on a circle (n_classes, default 3)"),
    "spirals3": (gen.make_spirals, "K interleaved spirals (n_classes, default 3)"),
    "plane": (gen.make_plane, "Regression on a plane: y = (x1 + x2) / 10"),
    "gaussian_regression": (gen.make_gaussian_regression,
                            "Regression on six signed Gaussian-like bumps"),
}

_MULTICLASS = {"blobs3": 3, "spirals3": 3}
_REGRESSION = {"plane", "gaussian_regression"}

_ALIASES = {
    "circle": "circles",
    "spiral": "spirals",
    "two_gaussians": "gaussians",
    "gauss": "gaussians",
    "multi_gaussian": "gaussian_regression",
    "blobs": "blobs3",
}


def _generated_loader(name: str) -> Callable[..., Dataset]:
    make, description = _GENERATED[name]
    regression = name in _REGRESSION

    def load(n_samples: int = 500, noise: float = 0.0, random_state: Any = None,
             **extra: Any) -> Dataset:
        if name in _MULTICLASS:
            extra.setdefault("n_classes", _MULTICLASS[name])
        X, y = make(n_samples=n_samples, noise=noise, random_state=random_state, **extra)
        n_classes = extra.get("n_classes", 2)
        return Dataset(
            name=name, X=X, y=y, feature_names=("x1", "x2"),
            target_name="y" if regression else "label",
            task="regression" if regression else "classification",
            class_names=None if regression else tuple(str(k) for k in range(n_classes)),
            description=description,
        )

    return load


def _registry() -> dict[str, _Entry]:
    entries = {name: _Entry(lambda name=name: _load_bundled(name), (), info[2])
               for name, info in _BUNDLED.items()}
    for name, (_, description) in _GENERATED.items():
        options = ("n_samples", "noise", "random_state")
        if name in _MULTICLASS:
            options += ("n_classes",)
        entries[name] = _Entry(_generated_loader(name), options, description)
    return entries


_REGISTRY = _registry()


def dataset_names() -> list[str]:
    """The names ``load_dataset`` accepts (without aliases), bundled tables first."""
    return list(_REGISTRY)


def _resolve(name: Any) -> str:
    if isinstance(name, str):
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        name = _ALIASES.get(key, key)
    return check_choice("dataset", name, _REGISTRY)


def load_dataset(name: str, **options: Any) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of ``list_datasets()`` (aliases: circle, spiral, two_gaussians,
        multi_gaussian, blobs).
    **options
        For generated sets: ``n_samples`` (default 500), ``noise`` (playground scale,
        0.0 to 0.5; default 0.0), ``random_state`` (None, int or Generator), and
        ``n_classes`` for blobs3 and spirals3. Bundled tables take no options.

    Returns
    -------
    Dataset
    """
    key = _resolve(name)
    entry = _REGISTRY[key]
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        allowed = ", ".join(entry.options) if entry.options else "none (it is a fixed table)"
        fail(f"dataset {key!r} does not take option(s) {', '.join(unknown)}", options,
             f"its options are: {allowed}")
    return entry.load(**options)


def list_datasets() -> list[DatasetInfo]:
    """Describe every dataset: name, shape (with default options), task, classes, source."""
    infos = []
    for name, entry in _REGISTRY.items():
        ds = entry.load(random_state=0) if entry.options else entry.load()
        infos.append(DatasetInfo(
            name=name, shape=(ds.n_samples, ds.n_features), task=ds.task,
            n_classes=ds.n_classes, description=entry.description,
            source="generated" if entry.options else "scikit-learn",
        ))
    return infos
