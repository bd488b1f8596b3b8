"""scikit-learn's own estimator checks for MLPClassifier, MLPRegressor and Perceptron.

The instances use the settings scikit-learn uses for its own estimators of the same name in
these checks (``max_iter=100`` for the MLPs, ``max_iter=5`` for the Perceptron). The
deltanet extensions (skip connections, per-layer activations, batch normalisation, dropout,
GELU, your own activation and loss) are checked as well. ConvergenceWarning is ignored, as
scikit-learn's ``test_common`` does: a few epochs are enough for the contract, not for
convergence.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from deltanet import MLPClassifier, MLPRegressor, Perceptron, activations, losses

_NOT_REPETITION = {
    "Perceptron": (
        "sample_weight is not equivalent to removing/repeating samples (scikit-learn's "
        "reason for its own Perceptron): a weight scales one online update, while a "
        "repeated example is visited, and may be updated on, several times per epoch."),
    "dropout": (
        "dropout draws a random mask for every example of a batch, so a repeated example "
        "gets other masks (and shifts every later draw) while a weighted one does not."),
    "batch_norm": (
        "batch normalisation uses the unweighted mean and variance of each batch: a "
        "repeated example shifts these statistics, a weighted one does not."),
}


def _expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, Perceptron):
        reason = _NOT_REPETITION["Perceptron"]
    elif getattr(estimator, "dropout", 0):
        reason = _NOT_REPETITION["dropout"]
    elif getattr(estimator, "batch_norm", False):
        reason = _NOT_REPETITION["batch_norm"]
    else:
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason}


def _softsign(x):
    return x / (1.0 + np.abs(x))


def _softsign_derivative(x):
    return 1.0 / (1.0 + np.abs(x)) ** 2


def _log_cosh(y, a):
    return np.logaddexp(a - y, y - a) - np.log(2.0)


def _log_cosh_da(y, a):
    return np.tanh(a - y)


# your own definitions: a registered activation (it pickles by name) and a loss of
# module-level functions
SOFTSIGN = activations.register(activations.custom("checks_softsign", _softsign,
                                                   _softsign_derivative))
LOG_COSH = losses.custom("checks_log_cosh", _log_cosh, _log_cosh_da)

DEFAULTS = [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100), Perceptron(max_iter=5)]
EXTENSIONS = [
    MLPClassifier(max_iter=100, skip_connections=True, hidden_layer_sizes=(50, 20),
                  activation=["relu", "tanh"]),
    MLPRegressor(max_iter=100, skip_connections=True, hidden_layer_sizes=(20, 10),
                 activation=["tanh", "relu"]),
    MLPClassifier(max_iter=100, dropout=0.1),
    MLPRegressor(max_iter=100, batch_norm=True),
    MLPClassifier(max_iter=100, activation="gelu"),
    MLPRegressor(max_iter=100, activation=SOFTSIGN, loss=LOG_COSH),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(DEFAULTS, expected_failed_checks=_expected_failures)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(EXTENSIONS, expected_failed_checks=_expected_failures)
def test_sklearn_checks_extensions(estimator, check):
    check(estimator)


def test_array_api_dispatch_with_numpy():
    # scikit-learn skips check_array_api_input unless SCIPY_ARRAY_API=1 is set before SciPy
    # is imported, so it runs here in a fresh interpreter with the variable set.
    code = (
        "import warnings\n"
        "from sklearn.exceptions import ConvergenceWarning\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from deltanet import MLPClassifier, MLPRegressor, Perceptron\n"
        "warnings.simplefilter('ignore', ConvergenceWarning)\n"
        "for est in [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100),\n"
        "            Perceptron(max_iter=5)]:\n"
        "    check_array_api_input(type(est).__name__, est, array_namespace='numpy',\n"
        "                          expect_only_array_outputs=False)\n"
        "print('passed')\n")
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().endswith("passed")
