"""MLPClassifier / MLPRegressor with your own activations and losses, the built-in leaky
ReLU, ELU and GELU, and the engine record (``engine_``, ``engine_reason_``)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_moons, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from deltanet import MLPClassifier, MLPRegressor, activations, losses

SEEDS = [0, 1, 2]


# module-level functions: a definition built from them pickles once registered
def mish(x):
    return x * np.tanh(np.logaddexp(0.0, x))


def mish_derivative(x):
    t = np.tanh(np.logaddexp(0.0, x))
    return t + x * (1.0 - t * t) / (1.0 + np.exp(-x))


def pseudo_huber(y, a):
    return np.sqrt(1.0 + (a - y) ** 2) - 1.0


def pseudo_huber_da(y, a):
    return (a - y) / np.sqrt(1.0 + (a - y) ** 2)


def hand_log_loss(y, a):
    p = np.clip(a, 1e-12, 1 - 1e-12)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def hand_log_loss_da(y, a):
    p = np.clip(a, 1e-12, 1 - 1e-12)
    return -y / p + (1 - y) / (1 - p)


MISH = activations.custom("est_mish", mish, mish_derivative,
                          formula=r"g(in) = in \tanh(\log(1+e^{in}))")
PSEUDO_HUBER = losses.custom("est_pseudo_huber", pseudo_huber, pseudo_huber_da)
HAND_LOG_LOSS = losses.custom("est_hand_log_loss", hand_log_loss, hand_log_loss_da)


def _fit(est, X, y):
    """``est.fit(X, y)``; short fits may stop at max_iter (a ConvergenceWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _moons(seed):
    return make_moons(300, noise=0.15, random_state=seed)


def _regression(seed):
    X, y = make_regression(300, 5, noise=1.0, random_state=seed)
    return X, y / y.std()


@pytest.fixture
def registered_mish():
    activations.register(MISH)
    yield MISH
    activations.ACTIVATIONS.pop(MISH.name)


@pytest.mark.parametrize("seed", SEEDS)
def test_custom_mish_activation_trains_a_classifier_on_numpy_saying_why(seed):
    X, y = _moons(seed)
    clf = _fit(MLPClassifier((16,), activation=MISH, solver="lbfgs", max_iter=500,
                        random_state=seed), X, y)
    assert clf.score(X, y) > 0.95
    assert clf.engine_ == "numpy"
    clf = _fit(MLPClassifier((16,), activation=MISH, learning_rate_init=0.01, max_iter=300,
                        random_state=seed), X, y)
    assert clf.score(X, y) > 0.95
    assert clf.engine_ == "numpy"
    assert "est_mish" in clf.engine_reason_ and "user-defined" in clf.engine_reason_


@pytest.mark.parametrize("seed", SEEDS)
def test_custom_activation_and_loss_train_a_regressor(seed):
    X, y = _regression(seed)
    reg = _fit(MLPRegressor(hidden_layer_sizes=(16,), activation=MISH, loss=PSEUDO_HUBER,
                       learning_rate_init=0.01, max_iter=400, random_state=seed), X, y)
    assert reg.score(X, y) > 0.95
    assert reg.engine_ == "numpy"
    assert "est_mish" in reg.engine_reason_ and "est_pseudo_huber" in reg.engine_reason_


@pytest.mark.parametrize("seed", SEEDS)
def test_custom_loss_trains_a_classifier(seed):
    X, y = make_classification(300, 6, n_informative=4, random_state=seed)
    clf = _fit(MLPClassifier((16,), loss=HAND_LOG_LOSS, solver="lbfgs", max_iter=400,
                        random_state=seed), X, y)
    assert clf.score(X, y) > 0.9
    assert clf.engine_ == "numpy"


def test_custom_loss_equal_to_the_default_gives_the_default_fit():
    # the hand-written log loss has the fused loss's gradient, so the fits agree
    X, y = make_classification(200, 5, random_state=3)
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, engine="numpy")
    default = _fit(MLPClassifier(**kw), X, y)
    own = _fit(MLPClassifier(loss=HAND_LOG_LOSS, **kw), X, y)
    np.testing.assert_allclose(own.predict_proba(X), default.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "gelu"])
def test_leaky_relu_elu_gelu_estimators_fit_on_the_compiled_engine(name):
    X, y = _moons(0)
    clf = _fit(MLPClassifier((16,), activation=name, learning_rate_init=0.01, max_iter=300,
                        random_state=0), X, y)
    assert clf.score(X, y) > 0.9
    assert (clf.engine_, clf.engine_reason_) == ("numba", "")
    Xr, yr = _regression(0)
    reg = _fit(MLPRegressor(hidden_layer_sizes=(16,), activation=name, learning_rate_init=0.01,
                       max_iter=300, random_state=0), Xr, yr)
    assert reg.score(Xr, yr) > 0.95
    on_numpy = _fit(clone(reg).set_params(engine="numpy"), Xr, yr)
    assert on_numpy.engine_reason_ == "engine='numpy'"
    np.testing.assert_allclose(on_numpy.predict(Xr), reg.predict(Xr), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["identity", "logistic", "tanh", "relu", "softplus"])
def test_builtin_activation_object_fits_bit_for_bit_as_its_name(name):
    X, y = make_classification(100, 4, random_state=1)
    kw = dict(hidden_layer_sizes=(5, 4), solver="lbfgs", max_iter=20, random_state=0)
    by_name = _fit(MLPClassifier(activation=name, **kw), X, y)
    by_object = _fit(MLPClassifier(activation=activations.get(name), **kw), X, y)
    for a, b in zip(by_name.coefs_ + by_name.intercepts_,
                    by_object.coefs_ + by_object.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_custom_activation_starts_from_the_uniform_glorot_bound():
    # W ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)) (no logistic factor); one Adam step
    # of 1e-12 leaves the draw as it was
    X, y = make_classification(500, 20, random_state=0)
    fresh = _fit(MLPClassifier((30,), activation=MISH, max_iter=1, random_state=0,
                               learning_rate_init=1e-12), X, y)
    bound = np.sqrt(6.0 / (20 + 30))
    w = np.abs(fresh.coefs_[0])
    assert w.max() <= bound + 1e-9 and w.max() > 0.9 * bound


def test_one_activation_per_hidden_layer_mixes_objects_and_names():
    X, y = _moons(1)
    clf = _fit(MLPClassifier((12, 8), activation=[MISH, "elu"], solver="lbfgs",
                             max_iter=300, random_state=0), X, y)
    assert [g.activation.name for g in clf.network_.plan.groups] == [
        "est_mish", "elu", "logistic"]
    assert clf.score(X, y) > 0.95


def test_engine_numba_with_a_custom_definition_is_a_clear_error():
    X, y = _moons(0)
    for est in (MLPClassifier(activation=MISH, engine="numba"),
                MLPRegressor(loss=PSEUDO_HUBER, engine="numba"),
                MLPClassifier(activation=MISH, solver="lbfgs", engine="numba")):
        with pytest.raises(ValueError, match=r"engine='numba'.*engine='auto'"):
            est.fit(X, y)


@pytest.mark.parametrize("params, match", [
    (dict(activation="softmax"), "activation"),
    (dict(activation=42), "activation"),
    (dict(activation=lambda x: x), "activation"),
    (dict(loss="poisson"), "loss"),
    (dict(loss=losses.get("perceptron")), "threshold units"),
])
def test_invalid_activation_or_loss_is_an_invalid_parameter(params, match):
    X, y = _moons(0)
    with pytest.raises(InvalidParameterError, match=match):
        MLPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("activation, match", [
    ([MISH], "list of 2"),
    ([MISH, "softmax"], "unknown hidden activation"),
    ([MISH, activations.get("softmax")], "elementwise"),
    (activations.get("softmax"), "elementwise"),
])
def test_invalid_hidden_activations_say_what_to_use(activation, match):
    X, y = _moons(0)
    with pytest.raises(ValueError, match=match):
        MLPClassifier((4, 4), activation=activation).fit(X, y)


def test_unregistered_custom_activation_refuses_pickling_with_the_fix():
    lam = activations.custom("est_lambda_act", lambda x: np.tanh(x),
                             lambda x: 1 - np.tanh(x) ** 2)
    X, y = _moons(0)
    clf = _fit(MLPClassifier((4,), activation=lam, solver="lbfgs", max_iter=50,
                        random_state=0), X, y)
    with pytest.raises(pickle.PicklingError, match="register"):
        pickle.dumps(clf)


def test_lambda_loss_refuses_pickling_with_the_fix():
    lam = losses.custom("est_lambda_loss", lambda y, a: (y - a) ** 2,
                        lambda y, a: 2 * (a - y))
    with pytest.raises(pickle.PicklingError, match="module-level"):
        pickle.dumps(MLPRegressor(loss=lam))


def test_registered_activation_and_module_level_loss_pickle_and_clone(registered_mish):
    X, y = _regression(2)
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8,), activation=registered_mish,
                       loss=PSEUDO_HUBER, solver="lbfgs", max_iter=200,
                       random_state=0), X, y)
    back = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    assert back.get_params()["activation"] is registered_mish
    twin = clone(reg)
    assert twin.get_params()["activation"] is registered_mish
    np.testing.assert_array_equal(twin.fit(X, y).predict(X), reg.predict(X))
