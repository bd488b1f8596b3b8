"""MLPClassifier and MLPRegressor: the fitted network, the scikit-learn workflow (pipelines,
grid search, cross-validation, clone, pickle) and the deltanet extensions."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import compute_sample_weight
from sklearn.utils._param_validation import InvalidParameterError

import deltanet as dn
from deltanet import MLPClassifier, MLPRegressor
from deltanet.estimators._objective import data_loss, loss_grad

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4,
                               n_redundant=0, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=150, n_features=5, noise=1.0, random_state=0)
    return X, y / 100


# ---------------------------------------------------------------- the fitted network
def test_coefs_are_views_of_the_network(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(X, y)
    net = clf.network_
    assert [c.shape for c in clf.coefs_] == [(6, 4), (4, 3)]
    assert all(np.shares_memory(c, net.params) for c in clf.coefs_ + clf.intercepts_)
    # lecture numbering: inputs 1..6, hidden 7..10, outputs 11..13
    assert net.weights[2, 8] == clf.coefs_[0][1, 1]
    assert net.weights[0, 12] == clf.intercepts_[1][1]
    before = clf.predict_proba(X[:3])
    clf.coefs_[1][:] = 0.0
    clf.intercepts_[1][:] = [0.0, 5.0, 0.0]
    assert net.weights[7, 11] == 0.0
    assert (clf.predict(X[:3]) == clf.classes_[1]).all()
    assert not np.allclose(before, clf.predict_proba(X[:3]))


def test_network_predicts_like_the_estimator_and_saves(clf_data, tmp_path):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, y)
    assert_allclose(clf.network_.forward(X), clf.predict_proba(X), rtol=1e-12)
    path = dn.save(clf.network_, tmp_path / "clf.deltanet")
    assert_allclose(dn.load(path).forward(X), clf.predict_proba(X), rtol=1e-12)
    assert "softmax" in clf.network_.summary()


def test_explain_and_diagnostics_work_on_the_fitted_network(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(3,), activation="logistic", max_iter=5,
                        random_state=0).fit(X, y)
    Y = np.eye(3)[y]
    ex = dn.explain(clf.network_, X[0], Y[0], loss="cross_entropy", lr=0.1)
    assert [s.key for s in ex.steps[0].sections][:3] == ["forward", "loss", "backward"]
    assert "Δ" in ex.to_text()
    norms = dn.diagnostics.gradient_norms(clf.network_, X, Y, loss="cross_entropy")
    assert set(norms) == {1, 2} and all(v > 0 for v in norms.values())
    assert set(dn.diagnostics.saturation(clf.network_, X)) == {1}
    assert_allclose(clf.network_.forward(X), clf.predict_proba(X), rtol=1e-12)


def test_unfitted_estimator_has_no_coefs():
    clf = MLPClassifier()
    assert not hasattr(clf, "coefs_")
    assert not hasattr(clf, "network_")


# ---------------------------------------------------------------- scikit-learn workflow
def test_pipeline_grid_search_and_cross_validation():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(solver="lbfgs", max_iter=300,
                                                         random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.9
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(3,), (8,)],
                               "mlpclassifier__alpha": [1e-4, 1.0]}, cv=3).fit(X, y)
    assert set(grid.cv_results_["param_mlpclassifier__alpha"]) == {1e-4, 1.0}
    assert grid.best_estimator_[-1].network_.n_inputs == 4
    assert grid.score(X, y) > 0.9


def test_clone_keeps_parameters_not_state(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(3, 2), activation=["tanh", "relu"], dropout=0.1,
                        class_weight="balanced", max_iter=5, random_state=0).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "network_")


def test_pickle_round_trip_continues_training(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(5,), batch_norm=True, random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    copy = pickle.loads(pickle.dumps(clf))
    assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.network_.bn_state.keys() == clf.network_.bn_state.keys()
    for est in (clf, copy):
        est.partial_fit(X, y)
    assert_array_equal(copy.network_.params, clf.network_.params)
    assert copy.network_.params is not clf.network_.params


# ---------------------------------------------------------------- deltanet extensions
def test_dropout_trains_differently_but_predicts_deterministically(clf_data):
    X, y = clf_data
    plain = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(X, y)
    a = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0,
                      dropout=0.3).fit(X, y)
    b = clone(a).fit(X, y)
    assert not np.allclose(a.coefs_[0], plain.coefs_[0])
    assert_array_equal(a.coefs_[0], b.coefs_[0])  # random_state fixes the masks
    assert_array_equal(a.predict_proba(X), a.predict_proba(X))
    with pytest.raises(ValueError, match="dropout needs a stochastic solver"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="list of 1 rates"):
        MLPClassifier(dropout=[0.1, 0.2], max_iter=2).fit(X, y)


def test_batch_norm_statistics(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(6, 4), batch_norm=True, max_iter=100,
                        learning_rate_init=0.01, random_state=0).fit(X, y)
    mean, var = clf.network_.bn_state[1]
    assert mean.shape == (6,) and not np.allclose(var, 1.0)
    assert clf.score(X, y) > 0.7
    # L-BFGS keeps the statistics of the whole training set for prediction
    lbfgs = MLPClassifier(hidden_layer_sizes=(5,), batch_norm=True, solver="lbfgs",
                          max_iter=50, random_state=0).fit(X, y)
    net = lbfgs.network_
    train_mode = dn.propagation.forward(net.plan, net.params, X, training=True,
                                        bn_state=net.bn_state).outputs
    assert_allclose(lbfgs.predict_proba(X), train_mode, rtol=1e-10)


def test_class_weight_is_a_sample_weight(clf_data):
    X, y = clf_data
    y = np.where(y == 2, 1, y)  # unbalanced: 50 zeros, 100 ones
    for weights in ("balanced", {0: 3.0, 1: 0.5}):
        a = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0,
                          class_weight=weights).fit(X, y)
        b = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(
            X, y, sample_weight=compute_sample_weight(weights, y))
        assert_array_equal(a.coefs_[0], b.coefs_[0])
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_activation_per_layer(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(4, 3), activation=["tanh", "logistic"],
                        max_iter=3, random_state=0).fit(X, y)
    net = clf.network_
    assert [net.activation_of(j) for j in (7, 11, 14)] == ["tanh", "logistic", "softmax"]
    with pytest.raises(ValueError, match="list of 2 names"):
        MLPClassifier(hidden_layer_sizes=(4, 3), activation=["tanh"]).fit(X, y)


def test_output_activation_and_loss_choices(clf_data, reg_data):
    X, y = clf_data
    binary = (y > 0).astype(int)
    soft = MLPClassifier(output_activation="softmax", max_iter=30, random_state=0).fit(
        X, binary)
    assert soft.n_outputs_ == 2 and soft.out_activation_ == "softmax"
    proba = soft.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(soft.predict(X), soft.classes_[proba.argmax(axis=1)])
    ovr = MLPClassifier(output_activation="logistic", loss="squared_error", solver="lbfgs",
                        max_iter=200, random_state=0).fit(X, y)
    assert ovr.out_activation_ == "logistic" and ovr.score(X, y) > 0.8
    Xr, yr = reg_data
    squashed = MLPRegressor(output_activation="logistic", max_iter=20, random_state=0).fit(
        Xr, (yr - yr.min()) / np.ptp(yr))
    assert ((squashed.predict(Xr) > 0) & (squashed.predict(Xr) < 1)).all()
    counts = np.random.default_rng(0).poisson(np.exp(Xr[:, 0] / 2))
    pois = MLPRegressor(loss="poisson", solver="lbfgs", max_iter=200, random_state=0).fit(
        Xr, counts)
    assert pois.out_activation_ == "exp" and (pois.predict(Xr) > 0).all()
    assert pois.score(Xr, counts) > 0.3
    with pytest.raises(ValueError, match="non-negative targets"):
        MLPRegressor(loss="poisson").fit(Xr, yr - 10)
    with pytest.raises(ValueError, match="positive output"):
        MLPRegressor(loss="poisson", output_activation="identity").fit(Xr, counts)


def test_skip_connections(reg_data):
    X, y = reg_data
    reg = MLPRegressor(hidden_layer_sizes=(4, 3), skip_connections=True, solver="lbfgs",
                       max_iter=100, random_state=0).fit(X, y)
    net = reg.network_
    assert {(b.src, b.dst) for b in net.plan.blocks} == {
        (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    assert [c.shape for c in reg.coefs_] == [(5, 4), (4, 3), (3, 1)]
    assert net.weights[1, 13] != 0.0  # an arc from input 1 straight to the output
    assert reg.score(X, y) > 0.95
    _check_gradient(reg, X, y.reshape(-1, 1))


def _check_gradient(est, X, Y):
    params = est.network_.params.copy()
    _, grad, _ = loss_grad(est, params, X, Y, None)
    h = 1e-6
    for k in range(0, len(params), 3):
        up, down = params.copy(), params.copy()
        up[k] += h
        down[k] -= h
        numeric = (loss_grad(est, up, X, Y, None)[0] - loss_grad(est, down, X, Y, None)[0])
        assert numeric / (2 * h) == pytest.approx(grad[k], rel=1e-5, abs=1e-8)


def test_float32(clf_data):
    X, y = clf_data
    clf = MLPClassifier(dtype=np.float32, max_iter=50, learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    assert clf.network_.params.dtype == np.float32
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_validation_loss_curve_for_every_solver(reg_data, solver):
    X, y = reg_data
    reg = MLPRegressor(hidden_layer_sizes=(6,), solver=solver, max_iter=15,
                       learning_rate_init=0.01, random_state=0)
    reg.fit(X[:100], y[:100], validation_data=(X[100:], y[100:]))
    curve = reg.validation_loss_curve_
    assert len(curve) == len(reg.loss_curve_) == reg.n_iter_
    final = data_loss(reg, X[100:], y[100:].reshape(-1, 1), None)
    assert curve[-1] == pytest.approx(final, rel=1e-12)
    assert curve[-1] < curve[0]


def test_validation_loss_curve_with_early_stopping(clf_data):
    X, y = clf_data
    clf = MLPClassifier(early_stopping=True, max_iter=30, random_state=0).fit(X, y)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == clf.n_iter_


@pytest.mark.reliability(
    area="library input",
    fault="bad estimator parameters: solver, alpha, dropout, dtype, activations; multilabel"
          " targets",
    how="MLPClassifier.fit",
    result="scikit-learn's InvalidParameterError / ValueError")
# ---------------------------------------------------------------- errors and messages
def test_parameter_errors_are_scikit_learn_errors(clf_data):
    X, y = clf_data
    for params in ({"solver": "newton"}, {"alpha": -1.0}, {"dropout": 1.5},
                   {"dtype": np.int32}, {"output_activation": "relu"},
                   {"activation": "swish"}):
        with pytest.raises(InvalidParameterError):
            MLPClassifier(**params).fit(X, y)
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(output_activation="softmax").fit(X, np.eye(3)[y] + np.eye(3)[(y + 1) % 3])


def test_verbose_prints_the_loss(clf_data, capsys):
    X, y = clf_data
    MLPClassifier(max_iter=2, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert out.startswith("Iteration 1, loss = ") and "Iteration 2" in out


@pytest.mark.reliability(
    area="library input",
    fault="warm start with other layer sizes",
    how="MLPClassifier.fit",
    result="ValueError naming the fix")
def test_warm_start_with_other_layer_sizes_is_an_error(clf_data):
    X, y = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, warm_start=True).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(hidden_layer_sizes=(4,))
        with pytest.raises(ValueError, match="fit again without warm_start"):
            clf.fit(X, y)


def test_batches_without_weight_are_skipped(clf_data):
    X, y = clf_data
    sw = np.ones(len(y))
    sw[:40] = 0.0
    clf = MLPClassifier(solver="sgd", batch_size=1, max_iter=2, engine="numpy",
                        random_state=0).fit(X, y, sample_weight=sw)
    assert np.isfinite(clf.network_.params).all()
    assert clf.engine_ == "numpy"
