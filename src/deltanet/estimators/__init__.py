"""scikit-learn compatible estimators: ``MLPClassifier``, ``MLPRegressor``, ``Perceptron``.

They follow the scikit-learn estimator contract (``fit``, ``predict``, ``get_params``,
clone, pipelines, grid search, pickling) and keep the fitted deltanet ``Network`` in
``network_``.
"""

from .mlp import MLPClassifier, MLPRegressor
from .perceptron import Perceptron

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron"]
