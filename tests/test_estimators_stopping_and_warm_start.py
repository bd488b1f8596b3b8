"""The estimators as scikit-learn users expect them: early stopping with batch norm and with
validation data, unknown validation labels, Perceptron.partial_fit's classes, and warm
starts that change the network's architecture."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import deltanet as dn
from deltanet.estimators._objective import data_loss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    return X, y / 100


# ---------------------------------------------------------------- 1: batch-norm statistics
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_early_stopping_restores_the_best_epochs_batch_norm_statistics(name, iris,
                                                                       regression):
    X, y = iris if name == "MLPClassifier" else regression
    kw = dict(hidden_layer_sizes=(8,), batch_norm=True, early_stopping=True,
              n_iter_no_change=3, learning_rate_init=0.05, random_state=0)
    stopped = getattr(dn, name)(**kw).fit(X, y)
    best = int(np.argmax(stopped.validation_scores_)) + 1
    assert best < stopped.n_iter_  # some epochs after the best one ran, then were undone
    # the same run cut at the best epoch: same weights and the same running statistics
    cut = getattr(dn, name)(**kw, max_iter=best).fit(X, y)
    assert_array_equal(stopped.network_.params, cut.network_.params)
    for layer, (mean, var) in cut.network_.bn_state.items():
        assert_array_equal(stopped.network_.bn_state[layer][0], mean)
        assert_array_equal(stopped.network_.bn_state[layer][1], var)
    assert_array_equal(stopped.predict(X), cut.predict(X))
    # the saved statistics are copies, not the arrays the network keeps updating
    saved, running = stopped._best_bn, stopped.network_.bn_state
    assert all(saved[k][0] is not running[k][0] for k in running)


# ---------------------------------------------------------------- 2: unknown labels
@pytest.mark.reliability(
    area="library input",
    fault="validation_data with labels not among the training classes",
    how="MLPClassifier.fit(validation_data=...)",
    result="ValueError naming the labels")
@pytest.mark.parametrize("n_classes", [3, 2])
def test_validation_labels_outside_classes_are_an_error(iris, n_classes):
    X, y = iris
    keep = y < n_classes
    X, y = X[keep], y[keep]
    # multiclass: an unseen label binarises to a row of zeros (loss 0); binary: to the
    # negative class. Both would be recorded silently as validation data.
    y_val = y[:10].copy()
    y_val[:3] = 7
    clf = dn.MLPClassifier((5,), max_iter=3, random_state=0)
    with pytest.raises(ValueError, match=r"y_val has labels \[7\] .* classes_ = "):
        clf.fit(X, y, validation_data=(X[:10], y_val))


# ---------------------------------------------------------------- 3: early stopping, given data
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_monitors_the_given_validation_data(iris, solver):
    X, y = iris
    X_tr, y_tr, X_val, y_val = X[::2], y[::2], X[1::2], y[1::2]
    clf = dn.MLPClassifier((5,), solver=solver, early_stopping=True, n_iter_no_change=3,
                           max_iter=60, learning_rate_init=0.01, random_state=0)
    clf.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    # nothing held out: every epoch trains on all 75 training examples
    assert clf.t_ == clf.n_iter_ * len(y_tr)
    scores = clf.validation_scores_
    assert len(scores) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(scores)
    # the kept weights are the best epoch's on the validation data given
    best = int(np.argmax(scores))
    assert clf.score(X_val, y_val) == clf.best_validation_score_
    Y_val = clf._label_binarizer.transform(y_val).astype(float)
    assert data_loss(clf, X_val, Y_val, None) == pytest.approx(
        clf.validation_loss_curve_[best], rel=1e-12)


# ---------------------------------------------------------------- 4: Perceptron.partial_fit
X4 = np.array([[0.0], [1.0], [2.0], [3.0]])
y4 = np.array([0, 1, 2, 2])


@pytest.mark.reliability(
    area="library input",
    fault="partial_fit with labels outside classes, changed classes, balanced weights",
    how="Perceptron.partial_fit",
    result="ValueError as scikit-learn's")
def test_perceptron_partial_fit_checks_classes_as_scikit_learn():
    with pytest.raises(ValueError, match="classes should include all valid labels"):
        dn.Perceptron().partial_fit(X4, y4, classes=[0, 1])
    clf = dn.Perceptron().partial_fit(X4, y4, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X4, y4, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="class_weight 'balanced' is not supported"):
        dn.Perceptron(class_weight="balanced").partial_fit(X4, [0, 0, 0, 1], classes=[0, 1])


def test_perceptron_partial_fit_accepts_the_same_classes_again():
    clf = dn.Perceptron().partial_fit(X4, y4, classes=[2, 1, 0])
    clf.partial_fit(X4, y4, classes=np.array([0, 1, 2])).partial_fit(X4[:2], y4[:2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.coef_.shape == (3, 1)


# ---------------------------------------------------------------- 5: warm start
@pytest.mark.reliability(
    area="library input",
    fault="warm start after changing skip_connections, batch_norm or dtype",
    how="MLPClassifier.fit, partial_fit",
    result="ValueError naming the parameter and the fix")
@pytest.mark.parametrize("change", [dict(skip_connections=True), dict(batch_norm=True),
                                    dict(dtype=np.float32)], ids=lambda c: next(iter(c)))
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_warm_start_with_another_architecture_is_an_error(iris, change, how):
    X, y = iris
    clf = dn.MLPClassifier((4,), max_iter=2, warm_start=True, random_state=0).fit(X, y)
    params = clf.network_.params.copy()
    clf.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name}=.*set warm_start=False"):
        clf.fit(X, y) if how == "warm_start" else clf.partial_fit(X, y)
    assert_array_equal(clf.network_.params, params)  # nothing was trained


def test_warm_start_without_hidden_layers_ignores_skip_and_batch_norm(iris):
    # with no hidden layer neither option changes the network, so nothing stands in the way
    X, y = iris
    clf = dn.MLPClassifier((), max_iter=2, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(skip_connections=True, batch_norm=True).fit(X, y)
    assert clf.n_iter_ == 2


def test_warm_start_with_another_activation_continues_as_scikit_learn(iris):
    # scikit-learn keeps the weights and computes with the new activation from then on
    X, y = iris
    ours = dn.MLPClassifier((6,), max_iter=3, warm_start=True, random_state=0)
    theirs = sk.MLPClassifier((6,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, theirs):
            est.fit(X, y).set_params(activation="tanh").fit(X, y)
    assert [g.activation.name for g in ours.network_.plan.groups] == ["tanh", "softmax"]
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-9)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-9)


def test_partial_fit_with_another_output_activation_uses_it(iris):
    X, y = iris
    clf = dn.MLPClassifier((6,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    views = clf.coefs_  # the weights live on in the same arrays
    clf.set_params(output_activation="logistic", activation="logistic").partial_fit(X, y)
    assert clf.out_activation_ == "logistic"
    assert [g.activation.name for g in clf.network_.plan.groups] == ["logistic"] * 2
    assert views[0].base is clf.network_.params or np.shares_memory(
        views[0], clf.network_.params)


def test_warm_start_with_poisson_loss_needs_a_positive_output(regression):
    X, y = regression
    reg = dn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, warm_start=True,
                          random_state=0).fit(X, np.abs(y))
    with pytest.raises(ValueError, match="loss='poisson' needs a positive output"):
        reg.set_params(loss="poisson", output_activation="identity").fit(X, np.abs(y))
    reg.set_params(output_activation=None).fit(X, np.abs(y))
    assert reg.out_activation_ == "exp"
