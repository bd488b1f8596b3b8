"""Taking a deltanet model elsewhere and bringing other models in (layer 6).

- :func:`to_onnx`: a ``Network``, a fitted ``MLPClassifier``/``MLPRegressor`` or a table
  model written by ``deltanet train`` as one ONNX model, preprocessing included
  (needs the ``onnx`` package: ``pip install 'deltanet[onnx]'``);
- :func:`from_sklearn`: a fitted scikit-learn ``MLPClassifier``/``MLPRegressor`` as a
  ``Network`` in lecture numbering;
- :func:`from_torch`: a PyTorch ``nn.Sequential`` of ``Linear`` layers and activations as a
  ``Network``.

Heavy packages (onnx, PyTorch) are imported only when a function that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"to_onnx": "_onnx", "onnx_inputs": "_onnx", "from_sklearn": "_sklearn",
         "from_torch": "_torch"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"deltanet.export.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deltanet.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
