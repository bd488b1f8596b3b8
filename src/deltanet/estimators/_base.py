"""What ``MLPClassifier`` and ``MLPRegressor`` share: parameters, the fit driver, the
fitted network and its ``coefs_``/``intercepts_`` views, prediction and pickling.

The fit mirrors scikit-learn's ``BaseMultilayerPerceptron._fit`` step for step (same input
validation, same ``RandomState`` draws in the same order), so with the same
``random_state`` the fitted weights agree with scikit-learn's.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._validation import fail
from ..activations import Activation
from ..losses import Loss
from ..network import Network
from ..regularization import copy_bn_stats
from ._lbfgs import fit_lbfgs
from ._losses import output_loss
from ._network import (
    build_network,
    coef_views,
    init_uniform,
    intercept_views,
    skip_blocks,
    use_expit,
)
from ._objective import predict_outputs
from ._pickling import NetworkPickling, check_picklable
from ._stochastic import fit_stochastic

#: scikit-learn's five hidden activations, then deltanet's other elementwise built-ins
HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "softplus", "leaky_relu", "elu",
                      "gelu")
STOCHASTIC_SOLVERS = ("sgd", "adam")


class BaseMLP(NetworkPickling, BaseEstimator):
    """Base class of the MLP estimators; use ``MLPClassifier`` or ``MLPRegressor``."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), Activation, "array-like"],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "batch_norm": ["boolean"],
        "skip_connections": ["boolean"],
        "engine": [StrOptions({"auto", "numpy", "numba"})],
        "dtype": [None, Options(type, {np.float32, np.float64}),
                  StrOptions({"float32", "float64"})],
    }

    # ------------------------------------------------------------------ settings
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _hidden_activations(self, n_hidden: int) -> list[str | Activation]:
        """One activation per hidden layer: a name of ``HIDDEN_ACTIVATIONS`` or an
        elementwise ``Activation`` (built-in or ``activations.custom``)."""
        if isinstance(self.activation, (str, Activation)):
            acts = [self.activation] * n_hidden
        else:
            acts = list(self.activation)
            if len(acts) != n_hidden:
                fail(f"activation must be one name or Activation, or a list of {n_hidden} "
                     "names or Activation objects (one per hidden layer)", self.activation,
                     "give one entry per hidden layer")
        for a in acts:
            if isinstance(a, Activation) and not a.elementwise:
                fail("a hidden activation must be elementwise", a,
                     "use softmax as output_activation, not in a hidden layer")
            if not isinstance(a, Activation) and a not in HIDDEN_ACTIVATIONS:
                fail("unknown hidden activation", a,
                     f"use one of {', '.join(HIDDEN_ACTIVATIONS)} or an Activation object "
                     "(deltanet.activations.custom(...) or activations.get(name))")
        return acts

    def _init_activations(self, hidden_acts: list[str | Activation]) -> list[str]:
        # scikit-learn uses the hidden activation for every layer's Glorot factor,
        # the output layer included; with a list, each layer uses its own. The factor
        # (init_uniform) is 2 for logistic and 6 for every other activation.
        if isinstance(self.activation, (str, Activation)):
            return [_name(self.activation)] * (len(hidden_acts) + 1)
        names = [_name(a) for a in hidden_acts]
        return [*names, names[-1] if names else "relu"]

    def _dropout_layers(self) -> dict[int, float] | None:
        n_hidden = self.n_layers_ - 2
        rates = self.dropout
        rates = [float(rates)] * n_hidden if np.ndim(rates) == 0 else list(rates)
        if len(rates) != n_hidden or any(not 0 <= r < 1 for r in rates):
            raise ValueError(f"dropout must be a rate in [0, 1) or a list of {n_hidden} rates "
                             f"(one per hidden layer); got {self.dropout!r}.")
        layers = {k + 1: r for k, r in enumerate(rates) if r > 0}
        return layers or None

    def _output_loss(self) -> Loss:
        if isinstance(self.loss, Loss):
            return _check_loss(self.loss)
        return output_loss(self._loss_name(), self.out_activation_)

    def _custom_definitions(self) -> list[str]:
        """The user-defined activations and loss of this estimator, in words."""
        acts = self.activation if isinstance(self.activation, (list, tuple)) else [
            self.activation]
        found = [f"activation {a.name!r}" for a in acts
                 if isinstance(a, Activation) and not a.builtin]
        if isinstance(self.loss, Loss) and not self.loss.builtin:
            found.append(f"loss {self.loss.name!r}")
        return found

    # ------------------------------------------------------------------ fitting
    def _check_definitions(self) -> None:
        """The hidden sizes; the loss and the engine's name fit the activations and loss
        given."""
        self._hidden_sizes()
        if isinstance(self.loss, Loss):
            _check_loss(self.loss)
        if self.engine == "numba" and self._custom_definitions():
            fail("engine='numba' runs the built-in activations and losses only; this "
                 f"estimator has {', '.join(self._custom_definitions())}", self.engine,
                 "use engine='auto' (it runs them on NumPy) or engine='numpy'")

    def _fit(self, X, y, sample_weight=None, incremental=False, validation_data=None):
        self._check_definitions()
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, Y, labels, class_sw = self._validate_input(X, y, incremental, reset=first_pass)
        out_activation = self._out_activation()
        Y = self._output_targets(Y, out_activation)
        dtype = self._setup_dtype(first_pass, X.dtype)
        X, Y = X.astype(dtype, copy=False), Y.astype(dtype)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=dtype)
        if class_sw is not None:
            sw = class_sw.astype(dtype) if sw is None else sw * class_sw
        if self.batch_norm and X.shape[0] < 2:
            raise ValueError("batch_norm needs at least 2 samples for batch statistics; got "
                             f"n_samples = {X.shape[0]}")
        self._setup_network(first_pass, X.shape[1], Y.shape[1], dtype, out_activation)
        validation = self._validation_set(validation_data, dtype)
        if self.solver in STOCHASTIC_SOLVERS:
            self._check_stochastic_state()
            fit_stochastic(self, X, Y, sw, labels, incremental, validation)
        else:
            if self._dropout_layers():
                raise ValueError("dropout needs a stochastic solver (the L-BFGS cost must "
                                 "not change between evaluations); use solver='adam' or "
                                 "'sgd', or dropout=0")
            fit_lbfgs(self, X, Y, sw, validation)
        return self._check_finite_weights()

    def _check_finite_weights(self):
        """``self``, unless training left a weight NaN or infinite."""
        if not np.all(np.isfinite(self.network_.params)):
            bad = [k + 1 for k, v in enumerate(self.loss_curve_) if not np.isfinite(v)]
            raise ValueError("Solver produced non-finite parameter weights"
                             + (f" (the loss became non-finite in epoch {bad[0]})" if bad else "")
                             + ". The input data may contain large values and need to be "
                             "preprocessed.")
        return self

    def _setup_dtype(self, first_pass: bool, data_dtype) -> np.dtype:
        """The network's precision: ``dtype``, else the data's; a continued fit keeps the
        fitted network's (after checking that its architecture is still the one asked)."""
        if not first_pass:
            self._check_fitted_architecture()
            return self.network_.dtype
        return np.dtype(self.dtype or data_dtype)

    def _setup_network(self, first_pass: bool, n_features: int, n_outputs: int, dtype,
                       out_activation: str) -> None:
        """A new network drawn from ``random_state`` (first pass), or the fitted one with
        the current activations (warm start, partial fit)."""
        self.n_outputs_ = n_outputs
        layer_units = [n_features, *self._hidden_sizes(), n_outputs]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, dtype, out_activation)
        elif self.network_.plan.layer_sizes() != layer_units:
            raise ValueError(f"the fitted network has layer sizes "
                             f"{self.network_.plan.layer_sizes()} but this call needs "
                             f"{layer_units}; fit again without warm_start")
        else:
            self._use_activations(layer_units, out_activation)

    def _initialize(self, layer_units: list[int], dtype, out_activation: str) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = out_activation
        hidden_acts = self._hidden_activations(len(layer_units) - 2)
        self.network_ = build_network(layer_units, hidden_acts, self.out_activation_,
                                      skip=self.skip_connections,
                                      batch_norm=self.batch_norm, dtype=dtype)
        init_uniform(self.network_, self._init_activations(hidden_acts), self._random_state)
        self._best_params = self.network_.params.copy()
        self._best_bn = copy_bn_stats(self.network_.bn_state)
        self.validation_loss_curve_ = []
        self.loss_curve_ = []
        if self.solver in STOCHASTIC_SOLVERS:
            self._start_stochastic_state()

    def _check_fitted_architecture(self) -> None:
        """warm_start and partial_fit continue ``network_``: its arcs, batch normalisation
        and precision must be what the parameters ask for (a new activation is honoured,
        see ``_use_activations``; new layer sizes are checked in ``_fit``)."""
        net = self.network_
        hidden = len(net.plan.groups) > 1  # without hidden layers both flags change nothing
        fitted = {"skip_connections": bool(skip_blocks(net)),
                  "batch_norm": bool(net.bn_state),
                  "dtype": np.dtype(net.dtype).name}
        wanted = {"skip_connections": bool(self.skip_connections) and hidden,
                  "batch_norm": bool(self.batch_norm) and hidden,
                  "dtype": fitted["dtype"] if self.dtype is None else np.dtype(self.dtype).name}
        for name, value in wanted.items():
            if value != fitted[name]:
                raise ValueError(
                    f"{name}={value!r} does not match the fitted network (built with "
                    f"{name}={fitted[name]!r}); warm_start and partial_fit continue that "
                    f"network, so set warm_start=False (or fit a new estimator) to change "
                    f"{name}")

    def _use_activations(self, layer_units: list[int], out_activation: str) -> None:
        """Continue the fitted weights with the current ``activation`` and output
        activation, as scikit-learn's warm start does: the weights stay, ``g`` changes."""
        net = self.network_
        hidden_acts = self._hidden_activations(len(layer_units) - 2)
        fitted = [g.activation.name for g in net.plan.groups]
        if fitted == [*map(_name, hidden_acts), out_activation]:
            return
        new = build_network(layer_units, hidden_acts, out_activation,
                            skip=bool(skip_blocks(net)), batch_norm=bool(net.bn_state),
                            dtype=net.dtype)
        new.params, new.bn_state = net.params, net.bn_state  # same layout: keep the arrays
        self.network_, self.out_activation_ = new, out_activation

    def _start_stochastic_state(self) -> None:
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _check_stochastic_state(self) -> None:
        # a warm start may switch from L-BFGS to a stochastic solver
        if not hasattr(self, "_no_improvement_count"):
            self._start_stochastic_state()
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf

    def _validation_set(self, validation_data, dtype):
        """``(X_val, Y_val, labels, sample_weight)`` from ``fit(validation_data=...)``."""
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a pair (X_val, y_val) or a triple "
                             f"(X_val, y_val, sample_weight_val); got {type(validation_data)}")
        X_val = validate_data(self, validation_data[0], accept_sparse=["csr", "csc"],
                              reset=False, dtype=dtype)
        Y_val, labels = self._encode_targets(validation_data[1])
        sw = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            sw = _check_sample_weight(validation_data[2], X_val, dtype=dtype)
        if Y_val.shape != (X_val.shape[0], self.n_outputs_):
            raise ValueError(f"validation_data: y_val does not fit X_val and the outputs "
                             f"(got {Y_val.shape}, expected ({X_val.shape[0]}, "
                             f"{self.n_outputs_}))")
        return X_val, Y_val.astype(dtype), labels, sw

    # ------------------------------------------------------------------ the network
    def _fitted_network(self) -> Network:
        net = self.__dict__.get("network_")
        if net is None:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet.")
        return net

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices ``(n_i, n_{i+1})`` of layers ``i → i+1``: views of the network's
        parameters (writing into them changes ``network_``)."""
        return coef_views(self._fitted_network())

    @coefs_.setter
    def coefs_(self, values: list[np.ndarray]) -> None:
        _assign(self.coefs_, values, "coefs_")

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``w_0j`` of layers ``1..``: views of the network's parameters."""
        return intercept_views(self._fitted_network())

    @intercepts_.setter
    def intercepts_(self, values: list[np.ndarray]) -> None:
        _assign(self.intercepts_, values, "intercepts_")

    def _forward(self, X, check_input: bool = True) -> np.ndarray:
        check_is_fitted(self)
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                              dtype=self.network_.dtype)
        return predict_outputs(self, X)

    def _score_with_function(self, X, y, sample_weight, score_function):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        check_picklable(self)
        return super().__getstate__()

    def _restored(self, net: Network) -> Network:
        """Logistic units compute with ``expit`` again, as after ``fit``."""
        return use_expit(net)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _name(act: str | Activation) -> str:
    return act if isinstance(act, str) else act.name


def _check_loss(loss: Loss) -> Loss:
    if loss.name == "perceptron" and loss.builtin:
        fail("the perceptron loss works on threshold units, not on an MLP's outputs", loss,
             "use the estimator's loss names or a loss of deltanet.losses.custom(...)",
             InvalidParameterError)
    return loss


def _assign(views: list[np.ndarray], values: Any, name: str) -> None:
    values = list(values)
    if len(values) != len(views):
        raise ValueError(f"{name} needs {len(views)} arrays, got {len(values)}")
    for k, (view, value) in enumerate(zip(views, values, strict=True)):
        value = np.asarray(value)
        if value.shape != view.shape:
            raise ValueError(f"{name}[{k}] must have shape {view.shape}, got {value.shape}")
        view[...] = value
