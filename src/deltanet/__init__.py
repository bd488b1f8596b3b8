"""deltanet: feed-forward neural networks trained by backpropagation, from first principles.

The lecture's model, ``N = (V, A)``: neuron 0 is the bias unit, ``1..p`` are the inputs and
the processing neurons follow in topological order. ``Network`` holds the weights once, in
compiled dense blocks; ``net.weights[i, j]`` reads and writes ``w_ij`` by lecture numbers.

>>> import deltanet as dn
>>> net = dn.Network.layered([2, 2, 1], random_state=0)
>>> net.forward([0.0, 1.0]).shape
(1,)

``import deltanet`` loads NumPy only; heavier parts load when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first use, PEP 562)
_LAZY: dict[str, str] = {
    "Network": "deltanet.network",
    "Trace": "deltanet.propagation",
    "gradcheck": "deltanet.propagation",
    "train": "deltanet.training",
    "History": "deltanet.training",
    "TrainingError": "deltanet.training",
    "StopTraining": "deltanet.training",
    "Callback": "deltanet.training",
    "compute_class_weight": "deltanet.training",
    "load_checkpoint": "deltanet.checkpoint",
    "checkpoint": "deltanet.checkpoint",
    "diagnostics": "deltanet.diagnostics",
    "regularization": "deltanet.regularization",
    "vanishing_gradient_experiment": "deltanet.diagnostics",
    "perceptron_train": "deltanet.perceptron",
    "save": "deltanet.io",
    "load": "deltanet.io",
    "ModelFileError": "deltanet.io",
    "export": "deltanet.export",
    "to_onnx": "deltanet.export",
    "from_sklearn": "deltanet.export",
    "from_torch": "deltanet.export",
    "activations": "deltanet.activations",
    "losses": "deltanet.losses",
    "init": "deltanet.init",
    "optimizers": "deltanet.optimizers",
    "kernels": "deltanet.kernels",
    "data": "deltanet.data",
    "load_dataset": "deltanet.data",
    "list_datasets": "deltanet.data",
    "MinMaxScaler": "deltanet.data",
    "StandardScaler": "deltanet.data",
    "one_hot": "deltanet.data",
    "explain": "deltanet.explain", "Explanation": "deltanet.explain",
    "search": "deltanet.search",
    "playground": "deltanet.playground",
    "MLPClassifier": "deltanet.estimators",
    "MLPRegressor": "deltanet.estimators",
    "Perceptron": "deltanet.estimators",
}


# the passes behind Network.forward/backprop/step (NumPy only, like the network itself)
from . import propagation as _propagation  # noqa: E402,F401


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deltanet' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if mod.__name__.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = sorted(_LAZY)
