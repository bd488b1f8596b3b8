"""``train()``: the public door of NEURALNETTRAIN. It checks its keyword arguments into one
:class:`~deltanet.training.settings.Settings`, builds the run and hands it to the loop
(:mod:`deltanet.training.loop`)."""

from __future__ import annotations

import inspect
from typing import Any

from .._validation import fail
from .history import History
from .loop import neural_net_train
from .run import prepare, release
from .settings import KEYWORDS, Settings
from .streaming import is_source, prepare_stream


def train(net, X: Any, Y: Any = None, **keywords: Any) -> History:
    """Train ``net`` in place with NEURALNETTRAIN and return its History.

    ``X`` may be a ``deltanet.data.Stream`` (then ``Y`` is left out): the rows are read
    window by window in bounded memory (see :mod:`deltanet.training.streaming`).

    Parameters
    ----------
    loss : loss name, e.g. "squared_error", "log_loss", "cross_entropy".
    lr : learning rate α (for rprop: the initial step size Δ₀).
    batch_size : 1 (per-example SGD), k (mini-batch) or None (full batch).
    epochs : the epoch limit.
    optimizer : 'sgd' (default), 'momentum', 'nesterov', 'adam', 'rprop' (full batch
        only), or a ``deltanet.optimizers`` transform.
    random_state : seeds the one generator of training: the validation split, the
        permutations and the dropout masks.
    shuffle : a new random order of the examples every epoch (False: their own order).
    tol : stop when the cost changes less than ``tol`` across an epoch.
    error_tol : stop when every training error ``|y − a|`` is below ``error_tol``.
    l2, l1, decay_bias : weight decay ``λ Σ w²`` (update ``−2αλw``) and L1 penalty
        ``λ₁ Σ |w|``; on bias arcs too only when ``decay_bias``.
    dropout : a rate for every hidden layer, or ``{layer: rate}`` (layer 0 = the inputs);
        survivors are rescaled by ``1/(1 − rate)``; never applied by ``net.forward``.
    sample_weight : one non-negative weight per example: ``J = Σ s_e ℓ_e / Σ s_e``.
    class_weight : ``'balanced'`` (``w_c = n / (n_classes · n_c)``, as scikit-learn's
        ``compute_class_weight``) or ``{class: weight}``, for one-hot targets or one 0/1
        output; multiplies ``sample_weight``.
    momentum : μ of the 'momentum' and 'nesterov' optimizers.
    lr_schedule : 'constant', 'invscaling' (``α/√(t+1)``, t = examples seen, as
        scikit-learn), 'step' (halve every ``epochs // 4`` epochs), 'cosine'
        (``α(1 + cos(πt/T))/2`` over the T updates, t = 0..T−1: as PyTorch's and Optax's
        cosine schedules, it reaches 0 just after the last update, which still learns),
        'plateau' (divide by 5 when the monitored cost stalls; or pass a
        ``optimizers.ReduceOnPlateau``), or a callable ``update -> α``.
    validation_data : ``(Xv, Yv)`` or ``(Xv, Yv, sample_weight_v)``.
    validation_fraction : hold out this fraction of ``(X, Y)`` (drawn at random); early
        stopping without validation data holds out 0.1.
    early_stopping, patience, min_delta, restore_best : stop after ``patience`` epochs in
        which the validation cost did not fall below its best minus ``min_delta``; then
        (and at any other stop) put back the weights of the best epoch if ``restore_best``.
    metric, train_metric : 'auto' (accuracy for classification, else R²), 'accuracy',
        'zero_one', 'mse', 'mae', 'r2' or ``f(Y, outputs) -> float``; recorded on
        validation data each epoch, and on the training data with ``train_metric=True``.
    callbacks : functions ``f(epoch, logs)`` or objects with ``on_epoch_end(epoch, logs)`` /
        ``on_batch_end(update, logs)``; raising or returning ``StopTraining`` stops.
    verbose : show a progress bar on stderr (epoch, loss, validation metric, time left).
    checkpoint, checkpoint_every : write everything needed to continue to this file, every
        N epochs (``N`` or ``"N epochs"``) and when training ends (atomically); on a
        stream also ``"N windows"``: after every N-th window of an epoch, with the
        position in the epoch (:mod:`deltanet.training.streaming`).
    resume : True to continue from ``checkpoint`` if the file exists (else start afresh),
        or the path of a checkpoint. A resumed run ends with bit-for-bit the weights of an
        uninterrupted one; a different network, data or setting is refused. ``epochs`` may
        grow: a run that ended at its epoch limit goes on to the new one (as an
        uninterrupted run with that limit; refused for 'step' and 'cosine', which depend on
        the limit); fewer epochs than the checkpoint has are refused. A finished run that
        stopped for another reason gives back its weights and history without training.
    diagnostics : record per epoch, on a fixed sample of at most 256 examples, the
        gradient norm and mean ``|Δ_j|`` per group, the mean weight change, the fraction of
        saturated logistic/tanh units and of dead ReLU units (batch normalisation with the
        sample's own statistics, as in training, not the running ones of prediction).
    engine : 'auto' (default), 'numba', 'shaped' or 'numpy': how the updates run (see
        :mod:`deltanet.kernels`). 'numba' compiles the whole epoch (a per-example loop for
        small updates, a loop around BLAS products for larger batches), 'numpy' runs
        mini-batches on BLAS from Python; both give the same weights to rounding. 'auto'
        picks Numba when it supports every setting; 'numba' with batch normalisation,
        dropout or an optimizer other than ``optimizers.sgd``/``adam`` (Rprop, a chain, a
        transform of one's own) is a ValueError. 'shaped' is 'numba' with a kernel
        compiled for the network's shape (a tiny layered network, at most 32 weights,
        trained by per-example plain SGD; anything else is a ValueError): the same results
        bit for bit, faster; a few seconds to compile a new shape, once per machine (kept
        in ``$DELTANET_CACHE_DIR``, else ``~/.cache/deltanet``), after which 'auto' and
        'numba' take it too. When nothing needs Python
        between epochs (no callbacks or ``verbose``, validation, ``train_metric``,
        ``error_tol``, diagnostics, checkpoints, plateau schedule or early stopping), the
        per-example and small-batch engine runs many epochs per compiled call (about
        50 ms' worth), with the same weights, history and random draws as one at a time:
        a tiny network's epoch then costs its updates, not the Python around them.
        ``History.engine`` says which engine ran ('numba', 'shaped', 'numpy', or
        'reference': the passes of :mod:`deltanet.propagation`) and
        ``History.engine_reason`` why, when it is not the one asked for; ``verbose``
        prints both.

    Batch normalisation needs batches of two or more: ``batch_size=1`` is refused, and a
    last batch of one example is merged into the batch before it.

    Examples
    --------
    >>> import numpy as np, deltanet as dn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); y = np.array([0, 1, 1, 0.])
    >>> net = dn.Network.layered([2, 3, 1], random_state=0)
    >>> hist = dn.train(net, X, y, loss="log_loss", lr=0.5, epochs=2000, random_state=0)
    >>> (net.forward(X)[:, 0] > 0.5).astype(int).tolist()
    [0, 1, 1, 0]
    """
    settings = Settings.build(net, keywords)
    if is_source(X):  # a deltanet.data.Stream: read window by window
        if Y is not None:
            fail("a stream holds its targets; Y must be left out", type(Y).__name__,
                 "call train(net, stream, ...) with the target named in the stream")
        return neural_net_train(prepare_stream(net, X, settings))
    if Y is None:
        fail("Y is missing", None, "pass the targets: train(net, X, Y, ...), or a "
             "deltanet.data.Stream in place of X")
    run = prepare(net, X, Y, settings)
    try:
        return neural_net_train(run)
    finally:
        release(run)
        run.monitors = []  # they refer to the run: without this loop it waits for the GC


_P = inspect.Parameter
train.__signature__ = inspect.Signature(  # what help(), IPython and the docs show
    [_P("net", _P.POSITIONAL_OR_KEYWORD), _P("X", _P.POSITIONAL_OR_KEYWORD, annotation=Any),
     _P("Y", _P.POSITIONAL_OR_KEYWORD, default=None, annotation=Any),
     *(_P(name, _P.KEYWORD_ONLY, default=default) for name, default in KEYWORDS.items())],
    return_annotation=History)


def settings_for(net, **overrides: Any) -> Settings:
    """``Settings`` with ``train()``'s defaults but for ``overrides``: for a caller that runs
    the loop with a run of its own (:func:`deltanet.training.run.run_for`)."""
    return Settings.build(net, overrides)
