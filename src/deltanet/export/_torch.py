"""``from_torch``: a PyTorch ``nn.Sequential`` of ``Linear`` layers and activations as a
deltanet ``Network`` (PyTorch is needed only when it is called)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations as _activations
from .._validation import fail
from ..network import Network
from ._layers import layered_network

#: PyTorch module class -> deltanet activation (None: no computation at prediction time);
#: one line per activation, those deltanet lacks are left out below
MODULES: dict[str, str | None] = {
    "ReLU": "relu",
    "Sigmoid": "logistic",
    "Tanh": "tanh",
    "Softplus": "softplus",
    "Softmax": "softmax",
    "ELU": "elu",
    "GELU": "gelu",
    "LeakyReLU": "leaky_relu",
    "Identity": None,
    "Dropout": None,  # off at prediction
}


def _activation_of(module: Any) -> str | None:
    kind = type(module).__name__
    name = MODULES.get(kind, "")
    if name == "" or (name is not None and name not in _activations.ACTIVATIONS):
        known = ", ".join(k for k, v in MODULES.items() if v is None or v in
                          _activations.ACTIVATIONS)
        fail(f"from_torch cannot convert the layer {kind}", repr(module),
             f"use Linear layers and these modules: {known}")
    if kind == "Softplus" and (module.beta != 1 or module.threshold < 20):
        fail("from_torch converts Softplus with beta=1 (log(1 + e^x))", repr(module),
             "use nn.Softplus() with its defaults")
    if kind == "LeakyReLU" and module.negative_slope != _activations.LEAK:
        fail(f"from_torch converts LeakyReLU with negative_slope={_activations.LEAK}",
             repr(module), f"use nn.LeakyReLU({_activations.LEAK})")
    if kind == "ELU" and module.alpha != 1.0:
        fail("from_torch converts ELU with alpha=1", repr(module), "use nn.ELU()")
    if kind == "GELU" and module.approximate != "none":
        fail("from_torch converts the exact GELU", repr(module), "use nn.GELU()")
    if kind == "Softmax" and module.dim not in (-1, 1):
        fail("from_torch converts a Softmax over the outputs of a row (dim=-1 or dim=1)",
             repr(module), "use nn.Softmax(dim=-1)")
    return name


def from_torch(module: Any) -> Network:
    """The ``Network`` of a PyTorch ``nn.Sequential`` of ``nn.Linear`` layers, each followed
    by at most one activation (ReLU, Sigmoid, Tanh, Softplus, and Softmax at the end; a
    Linear followed by another Linear has the identity; Identity and Dropout are skipped).

    ``Linear``'s ``weight`` is ``(out, in)``, so ``w_ij`` is ``weight[j, i]``; float64
    modules give a float64 network, float32 ones float32. ``net.forward(X)`` equals
    ``module(X)`` in evaluation mode, to rounding (Softplus: PyTorch returns ``x`` itself
    above its ``threshold`` of 20, where ``log(1 + e^x)`` is larger by ``e^{−x}`` < 2e-9).

    >>> import torch                                                     # doctest: +SKIP
    >>> seq = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
    ...                           torch.nn.Linear(8, 3))                  # doctest: +SKIP
    >>> net = dn.from_torch(seq.double())                                # doctest: +SKIP
    """
    layers = list(module) if type(module).__name__ == "Sequential" else None
    if not layers:
        fail("from_torch takes a non-empty torch.nn.Sequential", type(module).__name__,
             "wrap the layers in nn.Sequential(nn.Linear(...), nn.ReLU(), ...)", TypeError)
    weights, biases, acts = [], [], []
    for layer in layers:
        if type(layer).__name__ == "Linear":
            W = layer.weight.detach().cpu().numpy()
            b = (layer.bias.detach().cpu().numpy() if layer.bias is not None
                 else np.zeros(W.shape[0], W.dtype))
            weights.append(W.T)
            biases.append(b)
            acts.append("identity")
            continue
        name = _activation_of(layer)
        if name is None:
            continue
        if not weights or acts[-1] != "identity" or len(acts) != len(weights):
            fail(f"the activation {type(layer).__name__} must follow a Linear layer",
                 repr(module), "give each Linear layer at most one activation")
        acts[-1] = name
    if not weights:
        fail("the Sequential holds no Linear layer", repr(module), "add nn.Linear layers")
    return layered_network(weights, biases, acts, np.result_type(*weights))
