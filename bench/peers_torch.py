"""PyTorch eager on the CPU: the idiomatic training loop (module, loss, optimizer.step()).

The network starts from the same Glorot weights as the NumPy and Numba peers
(``workloads.glorot``), copied into ``torch.nn.Linear`` layers.
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


def _loss_and_targets(model: nn.Sequential, Y: np.ndarray) -> tuple:
    """Cross-entropy on logits for several classes, BCE on the logit for one output."""
    if Y.shape[1] == 1:
        return nn.BCEWithLogitsLoss(), torch.from_numpy(Y).to(model[0].weight.dtype)
    return nn.CrossEntropyLoss(), torch.from_numpy(np.argmax(Y, axis=1))


def train(
    model: nn.Sequential,
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


def predict(model: nn.Sequential, X: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax), or the probability of class 1 for one output."""
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
        if logits.shape[1] == 1:
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()


def set_threads(n: int) -> None:
    """Intra-op threads for torch's CPU kernels."""
    torch.set_num_threads(n)


def version() -> str:
    return torch.__version__
