"""The MLP estimators on a ``deltanet.data.Stream``: ``fit(stream)``, and ``predict``,
``predict_proba`` and ``score`` read chunk by chunk, in bounded memory.

``fit(stream)`` is ``fit(X, y)`` with the rows read window by window (each window at most
the stream's ``shuffle_buffer`` rows, see :mod:`deltanet.data.stream`):

- the classes of a classifier are found in one pass over the stream before training
  (or given as ``classes=``, which saves that pass); a stream with several target columns
  is multilabel (0/1 columns);
- each epoch draws the order of the pieces from the estimator's ``RandomState``, then, for
  each window, shuffles the window's rows as scikit-learn shuffles the table, and runs the
  window's batches with the optimizer state carried on (on the compiled kernel when it
  computes what scikit-learn does, as in memory). ``loss_`` is the epoch's
  ``Σ_B |B| J_B / n``, and scikit-learn's stopping policy runs after every epoch;
- with ``early_stopping`` the validation rows are the stream's seeded hash split
  (``Stream.split(validation=validation_fraction)``, its seed drawn from ``random_state``)
  or ``validation_data`` (arrays, or a stream read chunk by chunk); the validation loss
  and score are computed chunk by chunk.

When one window holds the whole table the epoch is the in-memory epoch, draw for draw: the
fitted weights are bit for bit those of ``fit(X, y)`` on the same rows (without early
stopping, whose in-memory split is scikit-learn's stratified one). L-BFGS needs every row
at every iteration and is refused; so are sample weights, which a stream does not hold.
``class_weight`` weighs each window's rows as in memory (``'balanced'`` from the class
counts of the pass that finds the labels).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer

from .._validation import fail
from ..engines import EpochResult
from ..engines.protocol import overflow_ignored
from ..training.streaming import is_source
from ._kernel import use_kernel
from ._objective import data_loss
from ._stochastic import (
    SklearnEpochs,
    SklearnOrder,
    _batch_size,
    begin,
    dropout_rng,
    train_epochs,
)

#: a chunk's target columns -> (the network's targets, the labels, the class weights or None)
Encode = Callable[[np.ndarray, str], tuple[np.ndarray, np.ndarray, np.ndarray | None]]


def fit_stream(est: Any, stream: Any, y: Any, sample_weight: Any, classes: Any,
               validation_data: Any) -> Any:
    """``est.fit(stream)``: see the module docstring."""
    if y is not None or sample_weight is not None:
        fail("a stream holds its targets and has no sample weights; y and sample_weight "
             "must be left out", type(y if y is not None else sample_weight).__name__,
             "call fit(stream) with the target named when the stream was made")
    if est.solver not in ("sgd", "adam"):
        fail("solver='lbfgs' needs every row at every iteration and cannot fit a stream",
             est.solver, "use solver='adam' or 'sgd', or load the table into memory")
    est._check_definitions()
    first_pass = not hasattr(est, "network_") or not est.warm_start
    encode = (_class_targets(est, stream, classes, first_pass) if is_classifier(est)
              else _real_targets(est))
    out_activation = est._out_activation()
    dtype = est._setup_dtype(first_pass, np.float64)
    n_outputs = encode(next(iter(stream.chunks()))[1][:1], out_activation)[0].shape[1]
    est.n_features_in_ = stream.n_features
    est.__dict__.pop("feature_names_in_", None)
    est._setup_network(first_pass, stream.n_features, n_outputs, dtype, out_activation)
    est._check_stochastic_state()
    begin(est, incremental=False)
    train, validation = _parts(est, stream, validation_data, encode, dtype)
    n = train.n_rows
    batch_size = _batch_size(est, n)
    drop = est._dropout_layers()
    engine = StreamEpochs(est, train, encode, dtype, batch_size, drop, dropout_rng(est, drop))
    empty = (np.empty((0, stream.n_features), dtype), np.empty((0, n_outputs), dtype))
    train_epochs(est, engine, empty, est._random_state, n, validation, batch_size, False)
    return est._check_finite_weights()


def _class_targets(est: Any, stream: Any, classes: Any, first_pass: bool) -> Encode:
    """The label binarizer (fitted on ``classes`` or on the labels of a pass over the
    stream) and the function that codes a chunk's target columns for the network."""
    k = stream.n_targets
    if k > 1 and est.class_weight is not None:
        fail("class_weight weighs one label per row; a stream with several target "
             "columns is multilabel", est.class_weight,
             "drop class_weight, or give the stream one label column")
    if k > 1:  # multilabel: one 0/1 column per label
        found = np.arange(k)
        fitted_on = np.vstack([np.eye(k, dtype=int), 1 - np.eye(k, dtype=int)])
    else:
        found, counts = _labels(stream, classes, est.class_weight == "balanced")
        fitted_on = found
    if not first_pass and not np.array_equal(found, est.classes_):
        fail("warm_start continues a fit with the same classes", found.tolist(),
             f"give a stream with the classes {est.classes_.tolist()}, or set "
             "warm_start=False")
    lb = LabelBinarizer().fit(fitted_on)
    est._label_binarizer, est.classes_ = lb, lb.classes_
    known = set(found.tolist())
    weights = None if est.class_weight is None else _class_weights(est, found, counts)

    def encode(Y: np.ndarray, out_activation: str) -> tuple:
        y = Y[:, 0] if k == 1 else Y
        if k > 1 and not np.all((Y == 0) | (Y == 1)):
            fail("multilabel targets must be 0 or 1", np.unique(Y[(Y != 0) & (Y != 1)])[:3],
                 "code each label as a 0/1 column")
        if k == 1 and not np.isin(y, found).all():
            fail("the stream has labels that are not among the classes",
                 sorted(set(np.unique(y).tolist()) - known)[:5],
                 f"pass classes= with every label (now {found.tolist()})")
        Y = est._output_targets(lb.transform(y.astype(int) if k > 1 else y).astype(bool),
                                out_activation)
        return Y, y, None if weights is None else weights[np.searchsorted(found, y)]
    return encode


def _class_weights(est: Any, found: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    """The weight of each class, as ``sklearn.utils.compute_sample_weight`` gives it:
    ``'balanced'``: ``n / (n_classes · n_c)`` from the counts of the pass; a dict: its
    weights (1 for a class it omits)."""
    if est.class_weight == "balanced":  # over the classes present, as scikit-learn
        present = counts > 0
        return np.where(present, counts.sum() / (present.sum() * np.maximum(
            counts, 1).astype(np.float64)), 1.0)
    return np.array([float(est.class_weight.get(c, est.class_weight.get(int(c), 1.0)))
                     for c in found.tolist()])


def _labels(stream: Any, classes: Any, count: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The class labels of a stream's target column (``classes``, else found in one pass)
    and, when ``count``, the rows of each (also a pass)."""
    if classes is not None and not count:
        return np.unique(np.asarray(classes)), None
    seen: dict = {}
    for _, Y in stream.chunks():
        labels, n = np.unique(Y[:, 0], return_counts=True)
        for c, m in zip(labels.tolist(), n.tolist(), strict=True):
            seen[c] = seen.get(c, 0) + m
    found = np.array(sorted(seen)) if classes is None else np.unique(np.asarray(classes))
    counts = np.array([seen.get(c, 0) for c in found.tolist()], dtype=np.int64)
    if classes is not None:
        return found, counts
    if not np.all(np.isfinite(found)) or not np.array_equal(found, np.round(found)):
        fail("a classifier needs class labels, and the target column holds other numbers",
             found[~np.isfinite(found) | (found != np.round(found))][:3].tolist(),
             "code the classes as integers, or fit a regressor")
    if len(found) < 2:
        fail("a classifier needs at least two classes", found.tolist(),
             "check the target column, or pass classes= with every label")
    return found, counts


def _real_targets(est: Any) -> Encode:
    def encode(Y: np.ndarray, out_activation: str) -> tuple:
        if est.loss == "poisson" and np.any(Y < 0):
            raise ValueError("loss='poisson' needs non-negative targets y (counts or "
                             f"rates); the smallest is {Y.min()}")
        return Y, Y, None
    return encode


def _parts(est: Any, stream: Any, validation_data: Any, encode: Encode, dtype):
    """The training stream and the validation rows (arrays, or a stream read chunk by
    chunk), or None."""
    if validation_data is not None:
        if is_source(validation_data):  # scored without class weights, as arrays are
            return stream, StreamValidation(validation_data, encode, dtype, weighted=False)
        return stream, est._validation_set(validation_data, dtype)
    if not est.early_stopping:
        return stream, None
    seed = int(est._random_state.randint(2**31 - 1))
    train, val, _ = stream.split(validation=est.validation_fraction, random_state=seed)
    if val.n_rows < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return train, StreamValidation(val, encode, dtype)


class StreamEpochs:
    """The estimator's epochs over a stream, as an engine (see the module docstring); it
    draws its own orders (``source``: the loop passes ``order=None``)."""

    checks_inputs = False
    runs_epochs = False
    reusable = False

    def __init__(self, est: Any, source: Any, encode: Encode, dtype, batch_size: int,
                 drop, rng) -> None:
        self.est, self.source, self.encode, self.dtype = est, source, encode, dtype
        self.batch_size, self.drop, self.rng = batch_size, drop, rng
        self.whole: SklearnOrder | None = None  # the order of a table in one window
        kernel = use_kernel(est, np.empty((0, source.n_features)), None, drop, batch_size)
        est.engine_ = "numba" if kernel else "numpy"

    @property
    def engine(self) -> str:
        return self.est.engine_

    @overflow_ignored
    def run(self, order: Any, state: Any, after_batch: Any = None) -> EpochResult:
        est, total, seen, updates = self.est, 0.0, 0, 0
        first = True
        for Xw, Yw, pos in self.source.windows(est._random_state, bool(est.shuffle)):
            X = Xw.astype(self.dtype, copy=False)
            Y, _, sw = self.encode(Yw, est.out_activation_)
            sw = None if sw is None else sw.astype(self.dtype)
            epochs = SklearnEpochs(est, X, Y.astype(self.dtype), sw, self.batch_size,
                                   self.drop, self.rng)
            res = epochs.run(self._order(X.shape[0], first and pos.at_end), state)
            state, first = res.state, False
            total, seen, updates = total + res.total, seen + res.seen, updates + res.updates
        return EpochResult(total, seen, updates, None, state)

    def _order(self, n: int, whole: bool) -> np.ndarray:
        """A window's order: scikit-learn's shuffle of its rows (of the table's, carried
        from epoch to epoch as in memory, when one window holds it all)."""
        if not self.est.shuffle:
            return np.arange(n)
        if not whole:
            return SklearnOrder(self.est._random_state, n).permutation(n)
        if self.whole is None:
            self.whole = SklearnOrder(self.est._random_state, n)
        return self.whole.permutation(n)


class StreamValidation:
    """Validation rows read chunk by chunk: the loss and the score of the current fit."""

    def __init__(self, stream: Any, encode: Encode, dtype, weighted: bool = True) -> None:
        self.stream, self.encode, self.dtype, self.weighted = stream, encode, dtype, weighted

    def loss(self, est: Any) -> float:
        """The mean loss (weighted by the class weights, if any) over the chunks."""
        total, count = 0.0, 0.0
        for X, Yr in self.stream.chunks():
            if X.shape[0]:
                Y, _, sw = self.encode(Yr, est.out_activation_)
                sw = sw if self.weighted else None
                share = X.shape[0] if sw is None else float(sw.sum())
                total += data_loss(est, X.astype(self.dtype), Y.astype(self.dtype), sw,
                                   as_reported=True) * share
                count += share
        return total / count

    def score(self, est: Any) -> float:
        """Accuracy (weighted by the class weights, if any) or R²."""
        if not self.weighted:
            return score_stream(est, self.stream)
        return score_stream(est, self.stream, weigh=lambda Y: self.encode(
            Y, est.out_activation_)[2])


def predict_stream(stream: Any, predict: Callable) -> np.ndarray:
    """``predict`` of every chunk of ``stream``, one after another, joined."""
    parts = [predict(X) for X, _ in stream.chunks() if X.shape[0]]
    if not parts:
        fail("the stream has no rows", 0, "check the table and the split")
    return np.concatenate(parts)


def score_stream(est: Any, stream: Any, y: Any = None, sample_weight: Any = None,
                 weigh: Callable | None = None) -> float:
    """Accuracy (classifiers) or R² (regressors, averaged over the outputs) of ``est`` on
    ``stream``, accumulated chunk by chunk (``weigh``: a chunk's targets -> the weights of
    its rows, or None)."""
    if y is not None or sample_weight is not None:
        fail("a stream holds its targets; y and sample_weight must be left out",
             type(y if y is not None else sample_weight).__name__, "call score(stream)")
    acc = _Accuracy() if is_classifier(est) else _R2()
    for X, Y in stream.chunks():
        if X.shape[0]:
            pred = est._predict(X)
            if np.issubdtype(pred.dtype, np.floating) and not np.isfinite(pred).all():
                return np.nan
            acc.add(Y, pred, None if weigh is None else weigh(Y))
    return acc.value()


class _Accuracy:
    """The share of rows whose predicted label (or label set) is right."""

    def __init__(self) -> None:
        self.right, self.n = 0.0, 0.0

    def add(self, Y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> None:
        y = Y[:, 0] if Y.shape[1] == 1 else Y
        same = pred == y
        same = same if same.ndim == 1 else same.all(axis=1)
        self.right += float(np.sum(same if w is None else same * w))
        self.n += Y.shape[0] if w is None else float(w.sum())

    def value(self) -> float:
        return self.right / self.n


class _R2:
    """``R² = 1 − SS_res / SS_tot`` per output, ``SS_tot`` merged chunk by chunk (Chan et
    al.'s update of the mean and of ``Σ (y − ȳ)²``), averaged over the outputs as
    scikit-learn's ``r2_score`` (``1`` for a constant target predicted exactly, else 0)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2, self.ss_res = 0, 0.0, 0.0, 0.0

    def add(self, Y: np.ndarray, pred: np.ndarray, w: None = None) -> None:
        pred = pred.reshape(Y.shape)
        nc, mc = Y.shape[0], Y.mean(axis=0)
        m2c = ((Y - mc) ** 2).sum(axis=0)
        delta, total = mc - self.mean, self.n + nc
        self.mean = self.mean + delta * nc / total
        self.m2 = self.m2 + m2c + delta ** 2 * self.n * nc / total
        self.n = total
        self.ss_res = self.ss_res + ((Y - pred) ** 2).sum(axis=0)

    def value(self) -> float:
        m2, res = np.atleast_1d(self.m2), np.atleast_1d(self.ss_res)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(m2 > 0, 1 - res / np.where(m2 > 0, m2, 1), (res == 0) * 1.0)
        return float(np.mean(r2))
