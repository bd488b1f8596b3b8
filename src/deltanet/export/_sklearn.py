"""``from_sklearn``: a fitted scikit-learn MLP as a deltanet ``Network``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import fail
from ..network import Network
from ._layers import layered_network


def from_sklearn(model: Any) -> Network:
    """The ``Network`` of a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    Layer ``k``'s ``coefs_[k][i, j]`` becomes the weight of the arc from the ``i``-th neuron
    of layer ``k`` to the ``j``-th of layer ``k + 1`` and ``intercepts_[k][j]`` its bias arc
    ``w_0j``; the activations are the model's (``activation`` for the hidden layers,
    ``out_activation_`` for the outputs: softmax for several classes, logistic for two
    classes or multilabel, identity for regression). ``net.forward(X)`` then equals
    ``predict_proba(X)`` (several classes), its last column (two classes), or ``predict(X)``
    (regression), to rounding; so ``dn.explain``, the diagnostics and the playground work on
    the model.

    >>> from sklearn.neural_network import MLPClassifier      # doctest: +SKIP
    >>> net = dn.from_sklearn(MLPClassifier().fit(X, y))     # doctest: +SKIP
    """
    coefs, intercepts = getattr(model, "coefs_", None), getattr(model, "intercepts_", None)
    if coefs is None or intercepts is None or not hasattr(model, "out_activation_"):
        fail("from_sklearn takes a fitted scikit-learn MLPClassifier or MLPRegressor",
             type(model).__name__, "fit the model first (model.fit(X, y)), or pass an MLP")
    hidden = model.activation
    names = [hidden] * (len(coefs) - 1) + [model.out_activation_]
    dtype = np.result_type(*coefs)
    if dtype not in (np.float32, np.float64):
        fail("the model's weights must be float32 or float64", str(dtype),
             "fit the model on float32 or float64 data")
    return layered_network(coefs, intercepts, names, dtype)
