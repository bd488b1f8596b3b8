"""scikit-learn compatible multi-layer perceptrons on the deltanet engine.

``MLPClassifier`` and ``MLPRegressor`` take every parameter of scikit-learn's estimators
of the same name (same defaults and meaning) and give the same fitted weights for the same
``random_state``; they add dropout, batch normalisation, class weights, per-layer
activations, output activation and loss choices, skip connections, float32, a validation
loss curve for every solver, and ``network_``, the fitted deltanet ``Network``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d, compute_sample_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._validation import fail
from ..losses import Loss
from ..training.streaming import is_source
from ._base import STOCHASTIC_SOLVERS, BaseMLP
from ._docs import CLASSIFIER_DOC, REGRESSOR_DOC
from ._streamed import fit_stream, predict_stream, score_stream


def _check_solver(est: BaseMLP) -> bool:
    if est.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError("partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"log_loss", "squared_error"}), Loss, None],
        "output_activation": [StrOptions({"logistic", "softmax"}), None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 loss=None, output_activation=None, class_weight=None, dropout=0.0,
                 batch_norm=False, skip_connections=False, dtype=None, engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.output_activation = output_activation
        self.class_weight = class_weight
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.skip_connections = skip_connections
        self.dtype = dtype
        self.engine = engine

    # ------------------------------------------------------------------ targets
    def _loss_name(self) -> str:
        if isinstance(self.loss, Loss):
            return repr(self.loss)
        return "squared_error" if self.loss == "squared_error" else "log_loss"

    def _out_activation(self) -> str:
        y_type = self._label_binarizer.y_type_
        if self.output_activation is None:
            return "softmax" if y_type == "multiclass" else "logistic"
        if self.output_activation == "softmax" and y_type.startswith("multilabel"):
            raise ValueError("output_activation='softmax' cannot fit multilabel targets "
                             "(the probabilities of a row must sum to 1); use 'logistic'")
        return self.output_activation

    def _output_targets(self, Y: np.ndarray, out_activation: str) -> np.ndarray:
        if out_activation == "softmax" and Y.shape[1] == 1:  # binary with two softmax units
            return np.hstack([~Y, Y])
        return Y

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(bool)
        class_sw = None
        if self.class_weight is not None:
            if incremental and self.class_weight == "balanced":
                raise ValueError("class_weight='balanced' is not supported by partial_fit "
                                 "(one batch does not show the class frequencies); pass a "
                                 "dict of class weights")
            class_sw = compute_sample_weight(self.class_weight, y)
        return X, Y, y, class_sw

    def _encode_targets(self, y):
        y = np.asarray(y)
        if not self._label_binarizer.y_type_.startswith("multilabel"):
            known = set(self.classes_.tolist())
            unknown = [c for c in unique_labels(y).tolist() if c not in known]
            if unknown:
                raise ValueError(
                    f"validation_data: y_val has labels {unknown} that are not among the "
                    f"classes seen in fit, classes_ = {self.classes_.tolist()}; remove those "
                    "examples from the validation data, or give the training data examples "
                    "of every class")
        Y = self._output_targets(self._label_binarizer.transform(y).astype(bool),
                                 self.out_activation_)
        return Y, y

    # ------------------------------------------------------------------ API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, *, validation_data=None, classes=None):
        """Fit the network to ``X`` and class labels ``y``, or to a stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or a
            ``deltanet.data.Stream`` (then ``y`` is left out: the stream holds the labels;
            the rows are read window by window, see ``estimators._streamed``)
        y : array-like of shape (n_samples,) or (n_samples, n_labels) for multilabel
        sample_weight : array-like of shape (n_samples,), default=None
        validation_data : tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), or a
            stream. Recorded in ``validation_loss_curve_`` after every epoch or iteration.
            With ``early_stopping=True`` these data are the ones monitored (in
            ``validation_scores_``) and no ``validation_fraction`` is held out.
        classes : array-like, default=None
            With a stream: every class label (saves the pass that finds them).

        Returns
        -------
        self : MLPClassifier
        """
        if is_source(X):
            return fit_stream(self, X, y, sample_weight, classes, validation_data)
        if classes is not None:
            fail("classes= is for fitting on a stream; fit(X, y) takes the classes of y",
                 classes, "leave classes out (or use partial_fit(X, y, classes=...))")
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(_check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; ``classes`` (all labels) is needed on the first call."""
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None and getattr(self, "classes_", None) is not None:
            if not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call "
                                 f"to partial_fit, was: {self.classes_!r}")
        elif classes is not None:
            self.classes_ = unique_labels(classes)
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel")
                                      else classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        out = self._forward(X, check_input=check_input)
        if self.out_activation_ == "softmax" and len(self.classes_) <= 2:
            out = out[:, 1:]
        if out.shape[1] == 1:
            out = out.ravel()
        return self._label_binarizer.inverse_transform(out)

    def predict(self, X):
        """The predicted class of every row of ``X`` (label sets for multilabel); of a
        stream, chunk by chunk."""
        check_is_fitted(self)
        if is_source(X):
            return predict_stream(X, self._predict)
        return self._predict(X)

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)`` in the order of ``classes_``; of a
        stream, chunk by chunk."""
        check_is_fitted(self)
        if is_source(X):
            return predict_stream(X, self.predict_proba)
        out = self._forward(X)
        if out.shape[1] == 1:
            out = out.ravel()
            return np.vstack([1 - out, out]).T
        return out

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def score(self, X, y=None, sample_weight=None):
        """Mean accuracy on ``(X, y)``, or on a stream (accumulated chunk by chunk)."""
        if is_source(X):
            return score_stream(self, X, y, sample_weight)
        return super().score(X, y, sample_weight)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"}), Loss],
        "output_activation": [
            StrOptions({"identity", "logistic", "tanh", "relu", "softplus", "exp"}), None],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 output_activation=None, dropout=0.0, batch_norm=False,
                 skip_connections=False, dtype=None, engine="auto"):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.output_activation = output_activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.skip_connections = skip_connections
        self.dtype = dtype
        self.engine = engine

    def _loss_name(self) -> str:
        return repr(self.loss) if isinstance(self.loss, Loss) else self.loss

    def _out_activation(self) -> str:
        if self.output_activation is None:
            return "exp" if self.loss == "poisson" else "identity"
        if self.loss == "poisson" and self.output_activation not in ("exp", "softplus"):
            raise ValueError("loss='poisson' needs a positive output: output_activation "
                             f"'exp' or 'softplus' (got {self.output_activation!r})")
        return self.output_activation

    def _output_targets(self, Y: np.ndarray, out_activation: str) -> np.ndarray:
        return Y

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if self.loss == "poisson" and np.any(Y < 0):
            raise ValueError("loss='poisson' needs non-negative targets y (counts or rates); "
                             f"the smallest is {Y.min()}")
        return X, Y, Y, None

    def _encode_targets(self, y):
        Y = check_array(y, ensure_2d=False, dtype=(np.float64, np.float32))
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        return Y, Y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, *, validation_data=None):
        """Fit the network to ``X`` and real targets ``y``, or to a stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or a
            ``deltanet.data.Stream`` (then ``y`` is left out: the stream holds the
            targets; the rows are read window by window, see ``estimators._streamed``)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        validation_data : tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), or a
            stream. Recorded in ``validation_loss_curve_`` after every epoch or iteration.
            With ``early_stopping=True`` these data are the ones monitored (in
            ``validation_scores_``) and no ``validation_fraction`` is held out.

        Returns
        -------
        self : MLPRegressor
        """
        if is_source(X):
            return fit_stream(self, X, y, sample_weight, None, validation_data)
        return self._fit(X, y, sample_weight, incremental=False,
                         validation_data=validation_data)

    @available_if(_check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)`` (stochastic solvers)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        out = self._forward(X, check_input=check_input)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X):
        """The predicted targets, ``(n_samples,)`` or ``(n_samples, n_outputs)``; of a
        stream, chunk by chunk."""
        check_is_fitted(self)
        if is_source(X):
            return predict_stream(X, self._predict)
        return self._predict(X)

    def score(self, X, y=None, sample_weight=None):
        """R² on ``(X, y)``, or on a stream (accumulated chunk by chunk)."""
        if is_source(X):
            return score_stream(self, X, y, sample_weight)
        return super().score(X, y, sample_weight)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, r2_score)


MLPClassifier.__doc__ = CLASSIFIER_DOC
MLPRegressor.__doc__ = REGRESSOR_DOC
