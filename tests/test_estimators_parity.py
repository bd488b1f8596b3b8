"""The estimators against scikit-learn's: same random_state and data give the same weights.

Initialisation, shuffling, batches, losses, gradients and update rules follow
scikit-learn's operation for operation, so after training the weights agree to far
better than the 1e-6 asked for: to the last bit with ``engine='numpy'`` (scikit-learn's
own loop), to rounding with the compiled engine that ``engine='auto'`` picks for SGD and
Adam.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import deltanet as dn
from deltanet.estimators._objective import loss_grad

ATOL = 1e-9  # 1e-6 would do for parity; the implementations agree far more closely


def _classification(n_classes: int = 3):
    return make_classification(n_samples=120, n_features=5, n_informative=3,
                               n_redundant=0, n_classes=n_classes, random_state=0)


def _regression(n_targets: int = 1):
    X, y = make_regression(n_samples=120, n_features=5, n_targets=n_targets, noise=0.5,
                           random_state=0)
    return X, y / 100


def _fit_both(name: str, X, y, fit_kw: dict | None = None, engine: str = "auto", **kwargs):
    ours, theirs = getattr(dn, name)(engine=engine, **kwargs), getattr(sk, name)(**kwargs)
    fit_kw = fit_kw or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Got `batch_size` less than 1 or larger")
        ours.fit(X, y, **fit_kw)
        theirs.fit(X, y, **fit_kw)
    return ours, theirs


def _assert_same_fit(ours, theirs, atol: float = ATOL) -> None:
    assert len(ours.coefs_) == len(theirs.coefs_)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        assert a.shape == b.shape
        assert a.dtype == b.dtype
        assert_allclose(a, b, rtol=0, atol=atol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert_allclose(ours.loss_, theirs.loss_, rtol=0, atol=atol)


SOLVER_SETTINGS = [
    dict(solver="adam"),
    dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-6),
    dict(solver="sgd"),
    dict(solver="sgd", nesterovs_momentum=False),
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", learning_rate="invscaling", power_t=0.3, learning_rate_init=0.1),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.05),
]


@pytest.mark.parametrize("settings", SOLVER_SETTINGS, ids=str)
def test_five_epochs_classification(settings):
    X, y = _classification()
    kw = dict(hidden_layer_sizes=(8, 6), max_iter=5, batch_size=16, random_state=3,
              learning_rate_init=0.01) | settings
    ours, theirs = _fit_both("MLPClassifier", X, y, **kw)
    _assert_same_fit(ours, theirs)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=0, atol=ATOL)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=ATOL)


@pytest.mark.parametrize("settings", SOLVER_SETTINGS, ids=str)
def test_five_epochs_regression(settings):
    X, y = _regression()
    kw = dict(hidden_layer_sizes=(7,), max_iter=5, batch_size=20, random_state=5,
              learning_rate_init=0.01) | settings
    ours, theirs = _fit_both("MLPRegressor", X, y, **kw)
    _assert_same_fit(ours, theirs)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=ATOL)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("target", ["binary", "multilabel"])
def test_activations_and_targets(activation, target):
    if target == "binary":
        X, y = _classification(n_classes=2)
    else:
        X, y = make_multilabel_classification(n_samples=80, n_features=6, n_classes=4,
                                              random_state=0)
    ours, theirs = _fit_both("MLPClassifier", X, y, hidden_layer_sizes=(6,),
                             activation=activation, max_iter=5, random_state=0)
    _assert_same_fit(ours, theirs)
    assert (ours.predict(X) == theirs.predict(X)).all()


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("settings", [
    dict(shuffle=False), dict(batch_size=500), dict(early_stopping=True, max_iter=30),
    dict(early_stopping=True, validation_fraction=0.3, n_iter_no_change=2, max_iter=40),
    dict(alpha=0.5), dict(hidden_layer_sizes=()), dict(max_iter=60, tol=1e-2),
], ids=str)
@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_training_options(name, settings, engine):
    X, y = _classification() if name == "MLPClassifier" else _regression()
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=1) | settings
    ours, theirs = _fit_both(name, X, y, engine=engine, **kw)
    _assert_same_fit(ours, theirs)
    assert ours.engine_ == ("numpy" if engine == "numpy" else "numba")

    def same(a, b):  # bit for bit on scikit-learn's own loop, else to rounding
        return a == b if engine == "numpy" or b is None else a == pytest.approx(b, rel=1e-12)

    assert same(ours.best_loss_, theirs.best_loss_)
    assert same(ours.validation_scores_, theirs.validation_scores_)
    assert same(ours.best_validation_score_, theirs.best_validation_score_)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_sample_weight(early_stopping):
    X, y = _classification()
    sw = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    ours, theirs = _fit_both("MLPClassifier", X, y, hidden_layer_sizes=(6,), max_iter=8,
                             random_state=2, early_stopping=early_stopping,
                             fit_kw={"sample_weight": sw})
    _assert_same_fit(ours, theirs)


def test_float32_input_keeps_float32():
    X, y = _classification()
    ours, theirs = _fit_both("MLPClassifier", X.astype(np.float32), y, max_iter=5,
                             hidden_layer_sizes=(6,), random_state=0)
    assert ours.coefs_[0].dtype == np.float32
    _assert_same_fit(ours, theirs, atol=1e-5)


def test_partial_fit_and_warm_start():
    X, y = _classification()
    ours, theirs = dn.MLPClassifier(random_state=0, hidden_layer_sizes=(6,)), \
        sk.MLPClassifier(random_state=0, hidden_layer_sizes=(6,))
    for start in range(0, 120, 40):
        for est in (ours, theirs):
            est.partial_fit(X[start:start + 40], y[start:start + 40], classes=np.unique(y))
    _assert_same_fit(ours, theirs)
    for est in (ours, theirs):
        est.set_params(warm_start=True, max_iter=4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    _assert_same_fit(ours, theirs)


def test_multi_output_regression_same_weights():
    # the gradients and the reported loss are scikit-learn's (see the test further down)
    X, y = _regression(n_targets=3)
    ours, theirs = _fit_both("MLPRegressor", X, y, hidden_layer_sizes=(6,), max_iter=5,
                             random_state=0, alpha=0.0)
    for a, b in zip(ours.coefs_, theirs.coefs_, strict=True):
        assert_allclose(a, b, rtol=0, atol=ATOL)
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-12)


@pytest.mark.parametrize("name, data", [
    ("MLPClassifier", _classification(3)), ("MLPClassifier", _classification(2)),
    ("MLPRegressor", _regression()),
], ids=["multiclass", "binary", "regression"])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_lbfgs_reaches_the_same_loss(name, data, activation):
    X, y = data
    ours, theirs = _fit_both(name, X, y, solver="lbfgs", hidden_layer_sizes=(5,),
                             activation=activation, max_iter=300, random_state=1)
    assert abs(ours.loss_ - theirs.loss_) < 1e-6
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_curve_[-1] == pytest.approx(ours.loss_)


def test_convergence_warnings_match():
    X, y = _classification()
    for solver, expected in [("adam", "Maximum iterations \\(3\\)"),
                             ("lbfgs", "lbfgs failed to converge")]:
        with pytest.warns(ConvergenceWarning, match=expected):
            dn.MLPClassifier(solver=solver, max_iter=3, random_state=0).fit(X, y)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_lbfgs_gradient_matches_finite_differences(n_outputs):
    # scikit-learn #8349: with several outputs its loss averages over them while the
    # gradient sums, so L-BFGS line-searches on one function and steps along another
    X, y = _regression(n_targets=n_outputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = dn.MLPRegressor(solver="lbfgs", hidden_layer_sizes=(4, 3), activation="tanh",
                              alpha=1e-3, max_iter=10, random_state=0).fit(X, y)
    Y = y.reshape(len(y), -1)
    params = est.network_.params.copy()
    _, grad, _ = loss_grad(est, params, X, Y, None)
    h = 1e-6
    numeric = np.empty_like(params)
    for k in range(len(params)):
        up, down = params.copy(), params.copy()
        up[k] += h
        down[k] -= h
        numeric[k] = (loss_grad(est, up, X, Y, None)[0]
                      - loss_grad(est, down, X, Y, None)[0]) / (2 * h)
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_compiled_engine_gives_the_same_weights():
    # per-example SGD: the Numba kernel makes the updates scikit-learn makes, to rounding
    X, y = _classification()
    kw = dict(solver="sgd", batch_size=1, max_iter=3, hidden_layer_sizes=(6,),
              learning_rate_init=0.002, random_state=0)
    _, theirs = _fit_both("MLPClassifier", X, y, **kw)
    compiled = dn.MLPClassifier(engine="numba", **kw).fit(X, y)
    reference = dn.MLPClassifier(engine="numpy", **kw).fit(X, y)
    assert (compiled.engine_, reference.engine_) == ("numba", "numpy")
    _assert_same_fit(reference, theirs, atol=0.0)  # bit for bit
    _assert_same_fit(compiled, theirs)
    assert_allclose(compiled.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    auto = dn.MLPClassifier(**kw).fit(X, y)
    assert auto.engine_ == "numba"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kw", [
    dict(),  # scikit-learn's defaults: Adam, batches of 200 (a short last one), alpha 1e-4
    dict(batch_size=1, alpha=1e-2, hidden_layer_sizes=(6,)),
    dict(batch_size=45, alpha=1e-2, solver="sgd", learning_rate="invscaling"),
], ids=str)
def test_adam_and_sgd_with_any_batches_run_compiled_with_scikit_learns_updates(kw):
    # the penalty is divided by each batch's own size, the short last batch included
    X, y = make_classification(n_samples=450, n_features=8, random_state=1)
    kw = dict(max_iter=4, random_state=0) | kw
    ours, theirs = _fit_both("MLPClassifier", X, y, **kw)
    assert ours.engine_ == "numba"
    _assert_same_fit(ours, theirs)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


def test_compiled_engine_names_what_it_cannot_run():
    X, y = _classification()
    with pytest.raises(ValueError, match=r"not support sample or class weights, batch_norm"):
        dn.MLPClassifier(engine="numba", batch_norm=True, max_iter=1).fit(
            X, y, sample_weight=np.ones(120))


@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_the_epoch_shuffle_is_scikit_learns(n):
    from sklearn.utils import check_random_state, shuffle

    from deltanet.estimators._stochastic import SklearnOrder

    ours, theirs = check_random_state(4), check_random_state(4)
    order, sample_idx = SklearnOrder(ours, n), np.arange(n)
    for _ in range(3):  # as _fit_stochastic: each epoch shuffles the order before it
        sample_idx = shuffle(sample_idx, random_state=theirs)
        assert_array_equal(order.permutation(n), sample_idx)
    assert ours.randint(1000) == theirs.randint(1000)  # the random states stay in step


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_an_infinite_cost_trains_on_as_in_scikit_learn():
    # Adam's v overflows to inf, so its steps vanish: the cost is inf, the weights finite.
    # The compiled loops stop at such a cost; the epoch is rerun on scikit-learn's loop.
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    ours, theirs = _fit_both("MLPRegressor", X, y * 1e160, solver="adam", max_iter=3,
                             random_state=0)
    assert ours.engine_ == "numpy"
    _assert_same_fit(ours, theirs, atol=0.0)
    assert np.isinf(ours.loss_) and np.isfinite(ours.coefs_[0]).all()


@pytest.mark.parametrize("kw", [dict(max_iter=60, tol=1e-2), dict(solver="sgd", max_iter=8),
                                dict(early_stopping=True, max_iter=30)], ids=str)
def test_several_outputs_report_scikit_learns_squared_error(kw):
    # scikit-learn averages its squared error over the outputs (and steps along the summed
    # loss's gradient): the reported loss, and so the tol stopping rule, must follow
    X, y = _regression(n_targets=3)
    ours, theirs = _fit_both("MLPRegressor", X, y, hidden_layer_sizes=(5,), random_state=1,
                             **kw)
    _assert_same_fit(ours, theirs, atol=0.0)
    assert ours.loss_curve_ == theirs.loss_curve_
