"""Perceptron: Rosenblatt's rule as a scikit-learn classifier (seed 002, Lecture 07-1c)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from deltanet import Perceptron

AND_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
AND_y = np.array([0, 0, 0, 1])


def test_and_by_hand():
    # w_i ← w_i + η (y − a) x_i with a = 1 iff w_0 + w·x >= 0, examples in order, η = 1:
    # epoch 1: (0,0) in=0 → a=1 wrong: w0=−1 | (1,1) in=−1 → a=0 wrong: w0=0, w=(1,1)
    # epoch 2: (0,0) in=0 wrong: w0=−1 | (0,1) in=0 wrong: w0=−2, w=(1,0)
    #          (1,1) in=−1 wrong: w0=−1, w=(2,1)
    # epoch 3: (0,1) in=0 wrong: w0=−2, w=(2,0) | (1,0) in=0 wrong: w0=−3, w=(1,0)
    #          (1,1) in=−2 wrong: w0=−2, w=(2,1)
    # epoch 4: (1,0) in=0 wrong: w0=−3, w=(1,1) | (1,1) in=−1 wrong: w0=−2, w=(2,2)
    # epoch 5: (0,1) in=0 wrong: w0=−3, w=(2,1)
    # epoch 6: no mistake: stop
    clf = Perceptron(shuffle=False).fit(AND_X, AND_y)
    assert clf.mistakes_curve_ == [2, 3, 3, 2, 1, 0]
    assert clf.n_iter_ == 6 and clf.t_ == 24
    assert clf.coef_.tolist() == [[2.0, 1.0]]
    assert clf.intercept_.tolist() == [-3.0]
    assert_array_equal(clf.predict(AND_X), AND_y)
    assert clf.decision_function(AND_X).tolist() == [-3.0, -2.0, -1.0, 0.0]


def test_the_network_is_the_perceptron():
    clf = Perceptron(shuffle=False).fit(AND_X, AND_y)
    net = clf.network_
    assert net.activation_of(3) == "threshold"
    assert (net.weights[0, 3], net.weights[1, 3], net.weights[2, 3]) == (-3.0, 2.0, 1.0)
    assert_array_equal(net.forward(AND_X)[:, 0], AND_y)
    assert np.shares_memory(clf.coef_, net.params)


def test_xor_is_not_learned():
    xor = np.array([0, 1, 1, 0])
    with pytest.warns(ConvergenceWarning, match="Maximum number of iteration"):
        clf = Perceptron(max_iter=50, tol=None).fit(AND_X, xor)
    assert min(clf.mistakes_curve_) > 0
    assert clf.score(AND_X, xor) < 1.0


def test_separable_blobs_are_separated():
    X, y = make_blobs(n_samples=200, centers=[[-3, -3], [3, 3]], random_state=0)
    clf = Perceptron(random_state=1).fit(X, y)
    assert clf.mistakes_curve_[-1] == 0
    assert clf.score(X, y) == 1.0


def test_one_vs_rest_on_iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = Perceptron(random_state=0).fit(X, y)
    assert clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    assert clf.decision_function(X).shape == (150, 3)
    assert_array_equal(clf.predict(X), clf.classes_[clf.decision_function(X).argmax(1)])
    assert clf.score(X, y) > 0.75


def test_weights_scale_the_updates():
    a = Perceptron(shuffle=False, eta0=2.0).fit(AND_X, AND_y)
    b = Perceptron(shuffle=False).fit(AND_X, AND_y, sample_weight=np.full(4, 2.0))
    c = Perceptron(shuffle=False, class_weight={0: 2.0, 1: 2.0}).fit(AND_X, AND_y)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.coef_, c.coef_)


def test_partial_fit_is_one_epoch():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    one = Perceptron(max_iter=1, tol=None).fit(X, y)
    part = Perceptron().partial_fit(X, y, classes=np.unique(y))
    assert_array_equal(one.coef_, part.coef_)
    with pytest.raises(ValueError, match="classes must be passed"):
        Perceptron().partial_fit(X, y)


def test_pickle_and_labels():
    y = np.array(["no", "no", "no", "yes"])
    clf = Perceptron(shuffle=False).fit(AND_X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert_array_equal(copy.predict(AND_X), y)
    assert_array_equal(copy.coef_, clf.coef_)
