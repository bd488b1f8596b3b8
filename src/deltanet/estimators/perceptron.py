"""``Perceptron``: Rosenblatt's rule as a scikit-learn classifier (seed 002, Lecture 07-1c).

One threshold unit per class (one unit for two classes)::

    a_k = g(in_k),  g(in) = 1 if in >= 0 else 0,    w_ik ← w_ik + η s_e (y_k − a_k) x_i

applied example by example, so a unit moves only on the examples it gets wrong. Several
classes are learned one-vs-rest and predicted by the largest net input ``in_k``. The fitted
network (the units and their arcs) is ``network_``; ``coef_`` and ``intercept_`` are views
of its parameters.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numba
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..network import Network
from ..propagation import forward
from ._pickling import NetworkPickling


@numba.njit(cache=True)
def _epoch(X, T, W, b, order, step, fit_intercept):  # pragma: no cover - compiled
    """One pass of Rosenblatt's rule in ``order``; returns (Σ ℓπ, examples misclassified).

    ``ℓπ = Σ_k max(0, (1 − 2 y_k) in_k)`` is the perceptron loss before each update.
    """
    n_features, n_units = W.shape
    loss = 0.0
    mistakes = 0
    for e in order:
        wrong = False
        for k in range(n_units):
            in_ = b[k]
            for i in range(n_features):
                in_ += X[e, i] * W[i, k]
            loss += max(0.0, (1.0 - 2.0 * T[e, k]) * in_)
            err = T[e, k] - (1.0 if in_ >= 0.0 else 0.0)  # y_k − a_k
            if err != 0.0:
                wrong = True
                for i in range(n_features):
                    W[i, k] += step[e] * err * X[e, i]
                if fit_intercept:
                    b[k] += step[e] * err
        mistakes += wrong
    return loss, mistakes


class Perceptron(ClassifierMixin, NetworkPickling, BaseEstimator):
    """Rosenblatt's perceptron: threshold units trained example by example.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Learn the bias ``w_0k`` (else it stays 0).
    max_iter : int, default=1000
        Most epochs.
    tol : float or None, default=1e-3
        Stop after ``n_iter_no_change`` epochs whose mean perceptron loss did not fall by
        more than ``tol``; None: only an epoch without a mistake stops early.
    shuffle : bool, default=True
        Visit the examples in a new random order every epoch.
    eta0 : float, default=1.0
        Learning rate ``η``.
    random_state : int, RandomState instance or None, default=0
        Seeds the order of the examples.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    class_weight : dict, 'balanced' or None, default=None
        Scales the update of each example by the weight of its class.
    warm_start : bool, default=False
        Continue from the fitted weights.
    verbose : int, default=0
        Print the loss and mistakes of every epoch.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray
    network_ : deltanet.Network
        The threshold units as a network (``deltanet.save`` works on it).
    loss_curve_ : list of float
        Mean perceptron loss of every epoch.
    mistakes_curve_ : list of int
        Examples misclassified during every epoch.
    n_iter_ : int
        Epochs of the last fit.
    t_ : int
        Example visits (updates tried) so far.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Notes
    -----
    scikit-learn's ``Perceptron`` is ``SGDClassifier(loss="perceptron")``: ±1 labels,
    regularisation options, averaging and its own shuffling. This one is the lecture's
    rule: 0/1 targets, ``in >= 0`` counts as the positive class, one update per
    misclassified example, and training stops at the first epoch without a mistake.

    Examples
    --------
    >>> import numpy as np
    >>> from deltanet import Perceptron
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([0, 0, 0, 1])  # AND
    >>> Perceptron().fit(X, y).predict(X).tolist()
    [0, 0, 0, 1]
    """

    _parameter_constraints: ClassVar[dict] = {
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, *, fit_intercept=True, max_iter=1000, tol=1e-3, shuffle=True,
                 eta0=1.0, random_state=0, n_iter_no_change=5, class_weight=None,
                 warm_start=False, verbose=0):
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.eta0 = eta0
        self.random_state = random_state
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train with Rosenblatt's rule until an epoch has no mistake (or a stop rule)."""
        return self._fit(X, y, sample_weight, self.max_iter, classes=None,
                         reset=not (self.warm_start and hasattr(self, "network_")))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``(X, y)``; ``classes`` (all labels) is needed on the first call.

        As in scikit-learn: ``y`` may hold only labels among ``classes``; a later call may
        repeat ``classes`` but not change them; ``class_weight='balanced'`` is refused
        (one batch does not show the class frequencies).
        """
        first = not hasattr(self, "network_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order to use "
                "'balanced' weights, use compute_class_weight('balanced', classes=classes, "
                "y=y) on a large enough sample of the training targets and pass the "
                "resulting weights as the class_weight parameter.")
        if classes is not None:
            given, classes = classes, unique_labels(classes)
            if not first and not np.array_equal(self.classes_, classes):
                raise ValueError(f"`classes={given!r}` is not the same as on last call "
                                 f"to partial_fit, was: {self.classes_!r}")
        return self._fit(X, y, sample_weight, 1, classes=classes, reset=first)

    def _fit(self, X, y, sample_weight, max_iter, classes, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], dtype=np.float64,
                             reset=reset)
        X = X.toarray() if hasattr(X, "toarray") else np.ascontiguousarray(X)
        check_classification_targets(y)
        if classes is not None:
            known = set(classes.tolist())
            unknown = [c for c in unique_labels(y).tolist() if c not in known]
            if unknown:
                raise ValueError(f"classes should include all valid labels that can be in "
                                 f"y: `y` has {unknown}, not in classes={classes.tolist()}")
        if reset:
            self._binarizer = LabelBinarizer().fit(y if classes is None else classes)
            self.classes_ = self._binarizer.classes_
            self.network_ = _units(X.shape[1], max(len(self.classes_) if
                                                   len(self.classes_) > 2 else 1, 1))
            self.loss_curve_, self.mistakes_curve_, self.t_ = [], [], 0
            self._rng = check_random_state(self.random_state)
        elif np.setdiff1d(np.unique(y), self.classes_).size:
            raise ValueError(f"`y` has classes not in `self.classes_` {self.classes_}")
        T = self._binarizer.transform(y).astype(np.float64)
        if T.shape[1] != self.network_.n_outputs:  # a single class: one unit, all 0
            T = np.zeros((len(y), self.network_.n_outputs))
        step = self.eta0 * _weights(self, X, y, sample_weight)
        self._train(X, T, step, max_iter)
        return self

    def _train(self, X, T, step, max_iter):
        net = self.network_
        block = net.plan.blocks[0]
        W, b = net.plan.W(net.params, block), net.plan.bias(net.params, net.plan.groups[0])
        n = X.shape[0]
        best, no_improvement, self.n_iter_ = np.inf, 0, 0
        for _ in range(max_iter):
            order = self._rng.permutation(n) if self.shuffle else np.arange(n)
            good = net.params.copy()
            loss, mistakes = _epoch(X, T, W, b, order, step, bool(self.fit_intercept))
            if not (np.isfinite(loss) and np.all(np.isfinite(net.params))):
                net.params[:] = good  # the weights of the last good epoch
                raise ValueError(f"Floating-point under-/overflow occurred at epoch "
                                 f"#{self.n_iter_ + 1}. Scaling input data with StandardScaler "
                                 "or MinMaxScaler might help.")
            self.n_iter_ += 1
            self.t_ += n
            self.loss_curve_.append(loss / n)
            self.mistakes_curve_.append(int(mistakes))
            if self.verbose:
                print(f"Epoch {self.n_iter_}, loss = {loss / n:.6f}, mistakes = {mistakes}")
            if mistakes == 0:
                return
            if self.tol is not None:
                no_improvement = no_improvement + 1 if loss / n > best - self.tol else 0
                best = min(best, loss / n)
                if no_improvement >= self.n_iter_no_change:
                    return
        if max_iter > 1:  # mistakes left after the last epoch
            warnings.warn("Maximum number of iteration reached before convergence. Consider "
                          "increasing max_iter to improve the fit.", ConvergenceWarning,
                          stacklevel=3)

    @property
    def coef_(self) -> np.ndarray:
        net = self._net()
        return net.plan.W(net.params, net.plan.blocks[0]).T

    @property
    def intercept_(self) -> np.ndarray:
        net = self._net()
        return net.plan.bias(net.params, net.plan.groups[0])

    def _net(self) -> Network:
        if "network_" not in self.__dict__:
            raise AttributeError("This Perceptron instance is not fitted yet.")
        return self.network_

    def decision_function(self, X):
        """Net inputs ``in_k = w_0k + Σ_i w_ik x_i``: ``(n,)`` for two classes, else
        ``(n, n_classes)``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=np.float64,
                          reset=False)
        net = self.network_
        in_ = forward(net.plan, net.params, X).in_[1]
        return in_.ravel() if in_.shape[1] == 1 else in_

    def predict(self, X):
        """The class of the unit that fires (two classes) or has the largest ``in_k``."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores >= 0).astype(int) if len(self.classes_) > 1
                                 else np.zeros(len(scores), dtype=int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _units(n_features: int, n_units: int) -> Network:
    """``n_units`` threshold units, each with an arc from every input, weights 0."""
    first = n_features + 1
    arcs = [(i, first + k) for k in range(n_units) for i in range(1, n_features + 1)]
    return Network(n_features, arcs, "threshold", init=0.0)


def _weights(est: Perceptron, X, y, sample_weight) -> np.ndarray:
    """Per-example update scale ``s_e``: sample weight times class weight."""
    s = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if est.class_weight is not None:
        s = s * compute_sample_weight(est.class_weight, y)
    return np.ascontiguousarray(s)
