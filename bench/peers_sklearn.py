"""scikit-learn's MLPClassifier set up as plain SGD (no momentum, no L2, no early stopping)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier


def make(hidden: list[int], activation: str, lr: float, batch_size: int, epochs: int):
    """An MLPClassifier that runs exactly ``epochs`` epochs of constant-rate SGD."""
    return MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        activation=activation,
        solver="sgd",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate="constant",
        learning_rate_init=lr,
        momentum=0.0,
        nesterovs_momentum=False,
        max_iter=epochs,
        shuffle=True,
        random_state=0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
    )


def train(model: MLPClassifier, X: np.ndarray, y: np.ndarray) -> float:
    """``model.fit(X, y)`` (X's dtype is kept: float32 stays float32); returns fit seconds.

    The ConvergenceWarning for stopping at ``max_iter`` is expected and silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start


def predict(model: MLPClassifier, X: np.ndarray) -> np.ndarray:
    """Class probabilities; the column of class 1 for a 0/1 problem."""
    probabilities = model.predict_proba(X)
    return probabilities[:, 1:] if probabilities.shape[1] == 2 else probabilities


def version() -> str:
    return sklearn.__version__
