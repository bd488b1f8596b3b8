"""Parameter and attribute documentation shared by ``MLPClassifier`` and ``MLPRegressor``."""

COMMON_PARAMETERS = """\
hidden_layer_sizes : array-like of int, default=(100,)
    Neurons in each hidden layer (``()`` for no hidden layer).
activation : {'identity', 'logistic', 'tanh', 'relu', 'softplus', 'leaky_relu', 'elu', \
'gelu'}, Activation or list, default='relu'
    Activation ``g`` of the hidden neurons: one name, an elementwise
    ``deltanet.activations.Activation`` (a built-in one, or your own from
    ``activations.custom(name, g, dg)``), or a list with one of these per hidden layer
    (deltanet extensions: everything but scikit-learn's five names). The Glorot-uniform
    start draws ``U(−r, r)``, ``r = √(f / (fan_in + fan_out))``, with scikit-learn's
    factor ``f = 2`` for 'logistic' and ``f = 6`` for every other activation (the uniform
    Glorot bound), your own included. An estimator with your own activation pickles only
    when it is registered (``activations.register``) where it is pickled and loaded.
solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
    'lbfgs' minimises the full-batch cost with SciPy's L-BFGS-B; 'sgd' and 'adam' make one
    update per mini-batch with ``deltanet.optimizers.sgd``/``adam``.
alpha : float, default=1e-4
    L2 penalty: ``J += (α / 2n) Σ w²`` over the weights of the arcs (not the biases).
batch_size : int or 'auto', default='auto'
    Mini-batch size of the stochastic solvers; 'auto' is ``min(200, n_samples)``.
learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
    Schedule of 'sgd': constant ``η₀``; ``η₀ / (t + 1)^power_t`` with ``t`` the samples
    seen; or ``η₀`` divided by 5 whenever the stopping test fails.
learning_rate_init : float, default=0.001
    ``η₀`` of 'sgd' and 'adam'.
power_t : float, default=0.5
    Exponent of 'invscaling'.
max_iter : int, default=200
    Epochs of 'sgd'/'adam', iterations of 'lbfgs'.
shuffle : bool, default=True
    Shuffle the examples before every epoch ('sgd', 'adam').
random_state : int, RandomState instance or None, default=None
    Seeds the initial weights, the shuffling, the early-stopping split (and dropout).
tol : float, default=1e-4
    An epoch improves when the loss falls by more than ``tol`` (or the validation score
    rises by more than ``tol``); 'lbfgs' uses it as its gradient tolerance.
verbose : bool, default=False
    Print the loss after every epoch (iteration for 'lbfgs').
warm_start : bool, default=False
    Start ``fit`` from the fitted weights instead of fresh ones.
momentum : float in [0, 1), default=0.9
    Momentum ``μ`` of 'sgd': ``v ← μ v − η ∂J/∂w``.
nesterovs_momentum : bool, default=True
    Nesterov's form of the momentum update ('sgd' with ``momentum > 0``).
early_stopping : bool, default=False
    Stop when the validation score stops improving and keep the best epoch's weights (and
    batch-norm statistics) ('sgd', 'adam'). The score is taken on ``fit(...,
    validation_data=...)`` when given (then nothing is held out: every example trains, as
    in Keras), else on ``validation_fraction`` of the data held out (stratified for
    classifiers).
validation_fraction : float, default=0.1
    Share of the training data held out for early stopping; unused when ``fit`` gets
    ``validation_data``.
beta_1, beta_2 : float, default=0.9, 0.999
    Decay rates of Adam's first and second moment estimates.
epsilon : float, default=1e-8
    Adam's ``ε`` in ``−η m / (√v + ε)``.
n_iter_no_change : int, default=10
    Epochs without improvement (by ``tol``) before stopping or lowering the rate.
max_fun : int, default=15000
    Most evaluations of the cost by 'lbfgs'."""

EXTRA_PARAMETERS = """\
dropout : float or list of float, default=0.0
    Dropout rate of every hidden layer, or one rate per hidden layer (stochastic solvers):
    each unit is dropped with probability ``r`` and the survivors scaled by ``1/(1 − r)``.
batch_norm : bool, default=False
    Batch-normalise the hidden layers (learned ``γ, β``; running statistics at prediction).
skip_connections : bool, default=False
    Connect every layer to every earlier layer, the inputs included (a DAG, not a chain).
dtype : {None, numpy.float32, numpy.float64}, default=None
    Precision of the network. None follows scikit-learn: float32 input stays float32,
    anything else is float64.
engine : {'auto', 'numpy', 'numba'}, default='auto'
    How the epochs of 'sgd' and 'adam' run: 'numba' hands each epoch to the compiled
    kernels of ``deltanet.kernels`` (same updates as scikit-learn to rounding; many times
    faster for single examples and small batches, and without Python between the BLAS
    products of larger batches); 'auto' does so when the kernels support the settings (no
    sample weights, batch_norm, dropout, sparse input, Poisson loss, or an activation or
    loss of your own: those run on NumPy, and ``engine_reason_`` says why); 'numpy'
    always runs scikit-learn's loop on the NumPy passes (in float64, the same weights bit
    for bit). 'numba' with an activation or loss of your own is an error."""

ATTRIBUTES = """\
coefs_ : list of ndarray
    ``coefs_[i]`` is the ``(n_i, n_{i+1})`` weight matrix from layer ``i`` to ``i + 1``: a
    view of ``network_.params``.
intercepts_ : list of ndarray
    ``intercepts_[i]``: the biases of layer ``i + 1`` (views as well).
network_ : deltanet.Network
    The fitted network: ``deltanet.save``, explanations and diagnostics work on it.
loss_ : float
    The cost at the end of the last epoch ('sgd', 'adam') or the final cost ('lbfgs').
best_loss_ : float or None
    The lowest epoch loss ('sgd', 'adam'; None with early stopping).
loss_curve_ : list of float
    The loss of every epoch; for 'lbfgs' (deltanet extension) of every iteration.
validation_scores_ : list of float or None
    The validation score of every epoch with early stopping (on ``validation_data`` when
    given, else on the held-out split).
best_validation_score_ : float or None
    The best of ``validation_scores_``.
validation_loss_curve_ : list of float
    The loss (without penalty) on the validation data, per epoch or L-BFGS iteration,
    when there is any: the early-stopping split or ``fit(..., validation_data=...)``.
engine_ : {'numpy', 'numba'}
    The engine the last fit ran on (see ``engine``).
engine_reason_ : str
    Why the last fit ran on NumPy (e.g. "activation 'mish' (user-defined: ...)",
    "engine='numpy'", "solver='lbfgs' ..."); '' when it ran on the compiled engine.
t_ : int
    Training samples seen by the stochastic solvers.
n_iter_ : int
    Epochs ('sgd', 'adam') or iterations ('lbfgs') of the last fit.
n_layers_ : int
    Layers, the inputs and the outputs included.
n_outputs_ : int
    Output neurons.
out_activation_ : str
    Activation of the output neurons.
n_features_in_ : int
    Number of features seen in ``fit``.
feature_names_in_ : ndarray of str
    Feature names seen in ``fit``, when ``X`` had string column names."""

DIFFERENCES = """\
Differences from scikit-learn: for several regression outputs, 'lbfgs' minimises the
squared error summed over the outputs of an example (scikit-learn averages the value but
not its gradient, as scikit-learn issue #8349 reports, so its line search and its steps
follow two different functions), and its ``loss_`` is ``n_outputs`` times scikit-learn's;
'sgd' and 'adam' make scikit-learn's steps and report its averaged value, so they stop at
the same epoch; ``partial_fit`` is unavailable with 'lbfgs'; ``momentum`` must be below
1."""

CLASSIFIER_DOC = f"""Multi-layer perceptron classifier (log loss), scikit-learn compatible.

Softmax outputs for several classes, one logistic output for two classes and one
logistic output per label for multilabel targets, as in scikit-learn.

Parameters
----------
{COMMON_PARAMETERS}
loss : {{None, 'log_loss', 'squared_error'}} or Loss, default=None
    None and 'log_loss' give scikit-learn's log loss; 'squared_error' is
    ``½ Σ_k (y_k − a_k)²`` on the probabilities; a ``deltanet.losses.Loss`` (your own
    from ``losses.custom(name, f, df_da)``, or a built-in one) is used as it is, on the
    output probabilities ``a`` (``Δ_j = g'(in_j) ∂ℓ/∂a_j``, fused only where the Loss
    itself is). The perceptron loss is refused (it needs threshold units).
output_activation : {{None, 'logistic', 'softmax'}}, default=None
    None chooses as scikit-learn does; 'logistic' for several classes trains one
    independent logistic unit per class, 'softmax' for two classes uses two units.
class_weight : dict, 'balanced' or None, default=None
    Multiplies the sample weights by the weight of each example's class.
{EXTRA_PARAMETERS}

Attributes
----------
classes_ : ndarray
    The class labels.
{ATTRIBUTES}

Notes
-----
{DIFFERENCES}

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from deltanet import MLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(10,), solver="lbfgs", random_state=0).fit(X, y)
>>> clf.predict(X[:3]).tolist()
[0, 0, 0]
"""

REGRESSOR_DOC = f"""Multi-layer perceptron regressor, scikit-learn compatible.

Parameters
----------
loss : {{'squared_error', 'poisson'}} or Loss, default='squared_error'
    Half squared error (identity output) or half Poisson deviance (exp output); or a
    ``deltanet.losses.Loss`` (your own from ``losses.custom(name, f, df_da)``, or a
    built-in one) used as it is on the outputs (identity unless ``output_activation``).
{COMMON_PARAMETERS}
output_activation : {{None, 'identity', 'logistic', 'tanh', 'relu', 'softplus', 'exp'}}
    Activation of the outputs; None: 'identity', or 'exp' for the Poisson loss.
{EXTRA_PARAMETERS}

Attributes
----------
{ATTRIBUTES}

Notes
-----
{DIFFERENCES}

Examples
--------
>>> import numpy as np
>>> from deltanet import MLPRegressor
>>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
>>> reg = MLPRegressor((8,), "tanh", solver="lbfgs", random_state=0).fit(X, X[:, 0] ** 2)
>>> round(reg.score(X, X[:, 0] ** 2), 2)
1.0
"""
