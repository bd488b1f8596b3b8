"""PyTorch on the CPU: the idiomatic training loop (module, loss, optimizer.step()), eager
and with ``torch.compile``.

The network starts from the weights it is given, copied into ``torch.nn.Linear`` layers.
``torch.compile`` (Inductor, C++ code for the CPU) compiles the model once per shape of the
network and thread count; every batch shape a run will see (the full batches and the last,
shorter one) goes through it once before the timing, and those seconds are reported apart.
Each timed run then copies the starting weights back into the same compiled model.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


def build(layers: list[tuple], hidden: str) -> nn.Sequential:
    """An ``nn.Sequential`` of Linear layers holding the given (W, b), with g = hidden."""
    modules: list[nn.Module] = []
    for index, (W, b) in enumerate(layers):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.from_numpy(W).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if index < len(layers) - 1:
            modules.append(nn.Sigmoid() if hidden == "logistic" else nn.ReLU())
    return nn.Sequential(*modules)


def _loss_and_targets(model: nn.Module, Y: np.ndarray) -> tuple:
    """Cross-entropy on logits for several classes, BCE on the logit for one output."""
    if Y.shape[1] == 1:
        return nn.BCEWithLogitsLoss(), torch.from_numpy(Y).to(next(model.parameters()).dtype)
    return nn.CrossEntropyLoss(), torch.from_numpy(np.argmax(Y, axis=1))


def train(
    model: nn.Module,
    X: np.ndarray,
    Y: np.ndarray,
    lr: float,
    orders: np.ndarray,
    batch_size: int,
) -> float:
    """Plain SGD over the given example orders (one row per epoch); returns loop seconds."""
    loss_fn, targets = _loss_and_targets(model, Y)
    inputs = torch.from_numpy(X)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    start = time.perf_counter()
    for order in orders:
        batches = torch.from_numpy(order).split(batch_size)
        for batch in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


_compiled: dict[tuple, tuple[nn.Sequential, nn.Module]] = {}


def compiled(layers: list[tuple], hidden: str, X: np.ndarray, Y: np.ndarray,
             batch_sizes: set[int]) -> tuple[nn.Sequential, nn.Module, float | None]:
    """``(model, torch.compile(model), compile seconds or None when cached)``, the model
    holding ``layers``; on first use every batch size in ``batch_sizes`` runs forward and
    backward once (no update), which is when Inductor compiles."""
    key = (tuple(W.shape for W, _ in layers), layers[0][0].dtype.name, hidden,
           torch.get_num_threads(), tuple(sorted(batch_sizes)))
    seconds = None
    if key not in _compiled:
        _allow_recompiles()
        model = build(layers, hidden)
        fast = torch.compile(model)
        loss_fn, targets = _loss_and_targets(model, Y)
        start = time.perf_counter()
        for m in sorted(batch_sizes):
            loss_fn(fast(torch.from_numpy(X[:m])), targets[:m]).backward()
        seconds = time.perf_counter() - start
        model.zero_grad(set_to_none=True)
        _compiled[key] = (model, fast)
    model, fast = _compiled[key]
    with torch.no_grad():
        for linear, (W, b) in zip(model[::2], layers, strict=True):
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b))
    return model, fast, seconds


def _allow_recompiles(limit: int = 64) -> None:
    """Every compiled model of a run shares ``nn.Sequential.forward``: each model (and each
    batch shape) is one more compiled entry for it, and past Dynamo's limit (8) it would fall
    back to eager without a word."""
    import torch._dynamo

    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, max(limit, getattr(torch._dynamo.config, name)))


def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax), or the probability of class 1 for one output."""
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
        if logits.shape[1] == 1:
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()


def set_threads(n: int) -> None:
    """Intra-op threads for torch's CPU kernels."""
    torch.set_num_threads(n)


def get_threads() -> int:
    return torch.get_num_threads()


def version() -> str:
    return torch.__version__
