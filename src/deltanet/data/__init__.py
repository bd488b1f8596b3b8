"""Data for deltanet: datasets by name, scaling, one-hot coding, and tables from disk.

``import deltanet.data`` stays light (NumPy only): scikit-learn is imported when a bundled
table is loaded, and pandas when a table name below is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from deltanet.data.datasets import Dataset, DatasetInfo, dataset_names, list_datasets, load_dataset
from deltanet.data.errors import DataError
from deltanet.data.generators import (
    make_blobs,
    make_circles,
    make_gaussian_regression,
    make_gaussians,
    make_moons,
    make_plane,
    make_spirals,
    make_xor,
)
from deltanet.data.scaling import (
    MinMaxScaler,
    OneHotEncoder,
    StandardScaler,
    one_hot,
    scaler_from_dict,
)
from deltanet.data.stream import Stream

#: names that need pandas, imported from their module on first use
_LAZY = {
    "read_table": "files",
    "TablePreprocessor": "tables",
    "detect_task": "columns",
    "split": "splitting",
    "Split": "splitting",
}

__all__ = [
    "DataError", "Dataset", "DatasetInfo", "MinMaxScaler", "OneHotEncoder", "StandardScaler",
    "Stream",
    "dataset_names", "list_datasets", "load_dataset", "make_blobs", "make_circles",
    "make_gaussian_regression", "make_gaussians", "make_moons", "make_plane", "make_spirals",
    "make_xor", "one_hot", "scaler_from_dict", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"deltanet.data.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deltanet.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
