"""Training the network of ``deltanet train`` on prepared arrays.

Stochastic solvers (sgd, momentum, nesterov, adam, rprop) train a layered network with
:func:`deltanet.train`: Rich progress bar, validation curve, early stopping, per-epoch
gradient diagnostics and checkpoints that resume bit for bit. ``lbfgs`` trains with the
scikit-learn-compatible estimator (full-batch L-BFGS through SciPy) and keeps its network.

Outputs and losses follow the lecture's pairs: K > 2 classes use K softmax outputs with
cross-entropy on one-hot targets, two classes one logistic output with log loss, and
regression one identity output with the squared error on the standardised target.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import CommandError
from ._progress import EpochBar

STOCHASTIC = ("adam", "sgd", "momentum", "nesterov", "rprop")
SOLVERS = (*STOCHASTIC, "lbfgs")
#: how the plots and reports name each loss of output_layer
LOSS_NAMES = {"squared_error": "squared error (standardised target)", "log_loss": "log loss",
              "cross_entropy": "cross-entropy"}
#: activations a hidden layer may have (softmax normalises output groups only)
HIDDEN_ACTIVATIONS = ("relu", "tanh", "logistic", "softplus", "identity", "exp", "threshold")


@dataclass
class Arrays:
    """Inputs and coded targets of the three parts (validation and test may be empty)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass
class Fitted:
    """The trained network and what training recorded (plain JSON)."""

    net: Any
    history: dict[str, Any] = field(default_factory=dict)


def output_layer(task: str, n_classes: int | None) -> tuple[int, str, str]:
    """``(number of outputs, output activation, loss)`` for the task."""
    if task == "regression":
        return 1, "identity", "squared_error"
    if n_classes == 2:
        return 1, "logistic", "log_loss"
    return int(n_classes), "softmax", "cross_entropy"


def targets(y: np.ndarray, task: str, n_classes: int | None) -> np.ndarray:
    """Network targets: one-hot rows ``e_k`` for K > 2 classes, else one column."""
    if task == "classification" and n_classes > 2:
        return np.eye(n_classes)[y]
    return np.asarray(y, dtype=np.float64).reshape(-1, 1)


def build_network(n_inputs: int, args: argparse.Namespace, task: str,
                  n_classes: int | None):
    """The layered network ``[p, *hidden, K]`` named by the command's options."""
    import deltanet as dn

    n_out, out_act, _ = output_layer(task, n_classes)
    acts = hidden_activations(args.activation, len(args.hidden))
    init = "he" if acts and all(a == "relu" for a in acts) else "glorot"
    return dn.Network.layered([n_inputs, *args.hidden, n_out], hidden=acts or "relu",
                              output=out_act, init=init, random_state=args.seed,
                              dtype=np.dtype(args.dtype), batch_norm=bool(args.batch_norm))


def hidden_activations(spec: str, n_hidden: int) -> list[str]:
    """One activation per hidden layer from ``relu`` or ``relu,tanh`` (one per layer)."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if len(names) == 1:
        return names * n_hidden
    if len(names) != n_hidden:
        raise CommandError(f"--activation lists {len(names)} activations for {n_hidden} hidden "
                           f"layers (got {spec!r}); give one name, or one per layer of --hidden")
    return names


def fit(args: argparse.Namespace, data: Arrays, task: str, n_classes: int | None) -> Fitted:
    """Train on ``data.X_train`` (validating on ``data.X_val`` when it has rows)."""
    if args.solver == "lbfgs":
        return _fit_lbfgs(args, data, task, n_classes)
    net = build_network(data.X_train.shape[1], args, task, n_classes)
    val = None
    if len(data.X_val):
        val = (data.X_val.astype(net.dtype), targets(data.y_val, task, n_classes))
    return train_network(args, net, data.X_train.astype(net.dtype),
                         targets(data.y_train, task, n_classes), val, task, n_classes)


def train_network(args: argparse.Namespace, net: Any, X: Any, Y: Any, val: Any, task: str,
                  n_classes: int | None, bar: Any = None) -> Fitted:
    """Train ``net`` with a stochastic solver on ``X, Y`` (or on a stream ``X``, with
    ``Y=None``) with the command's options, its progress bar (``bar``, default the epoch
    bar) and its one-line errors."""
    import deltanet as dn

    _, _, loss = output_layer(task, n_classes)
    metric = "accuracy" if task == "classification" else "r2"
    resumed_at = _resumed_at(args)
    if resumed_at > args.epochs:
        raise CommandError(f"checkpoint {args.checkpoint} already has {resumed_at} epochs, more "
                           f"than --epochs {args.epochs}; pass --epochs {resumed_at} or more to "
                           "go on from it, or leave out --resume to start afresh")
    if bar is None and not (args.quiet or args.json):
        bar = EpochBar(args.epochs, metric, resumed_at)
    try:
        hist = dn.train(
            net, X, Y, loss=loss, optimizer=args.solver,
            lr=args.lr, batch_size=args.batch_size or None, epochs=args.epochs,
            random_state=args.seed, l2=args.alpha, dropout=args.dropout or None,
            class_weight=args.class_weight, validation_data=val, metric=metric,
            early_stopping=args.early_stopping, patience=args.patience,
            callbacks=[bar] if bar else None, diagnostics=args.plots is not None,
            checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
            resume=bool(args.resume))
    except BaseException as err:
        if bar is not None:
            bar.close(failed=True)
        if isinstance(err, dn.TrainingError):
            # the library keeps the last good weights in the network; the command writes none
            what = str(err).split(";")[0]
            hint = "scale the inputs (--scale minmax), " if args.scale == "none" else ""
            raise CommandError(f"training failed, no model was written: {what}; {hint}lower "
                               "the learning rate (--lr) or add weight decay (--alpha)") from None
        if isinstance(err, ValueError) and args.checkpoint:
            raise CommandError(checkpoint_words(str(err))) from None
        raise
    if bar is not None:
        bar.close(epochs_done=hist.epochs)
    record = history_record(hist)
    # early stopping puts back the best epoch's weights; otherwise the last epoch's are kept
    record["saved_epoch"] = hist.best_epoch if args.early_stopping and hist.best_epoch \
        else hist.epochs
    record["loss_name"] = LOSS_NAMES[loss]
    return Fitted(net, record)


def check_training_classes(pre: Any, classes: list[str], seen: set[str]) -> None:
    """Warn about classes without a training row (``seen``: the training rows' classes):
    the network cannot learn them."""
    from ._common import warn

    absent = [c for c in classes if c not in seen]
    if absent:
        warn(f"class(es) {', '.join(map(repr, absent))} of target column {pre.target!r} have "
             "no training rows after the split, so the network cannot learn them; add rows of "
             "those classes, or split with other --test-size, --val-size or --seed")


def checkpoint_words(message: str) -> str:
    """A library message about the checkpoint, with the command's flags for its parameters
    (``resume=False`` is leaving out ``--resume``, ``epochs=N`` is ``--epochs N``)."""
    import re

    message = message.replace("start afresh with resume=False",
                              "leave out --resume to start afresh (overwriting the checkpoint)")
    message = re.sub(r"\bepochs=(\d+)", r"--epochs \1", message)
    # the command has no --engine: a checkpoint of another engine cannot be resumed here
    message = re.sub(r"pass engine='\w+' to resume it, or ",
                     "this version trains these settings on another engine; ", message)
    return message.replace("random_state", "--seed")


def _resumed_at(args: argparse.Namespace) -> int:
    """The epoch a resumed run starts after (0 for a fresh run), for the progress bar."""
    from pathlib import Path

    if not (args.resume and args.checkpoint and Path(args.checkpoint).is_file()):
        return 0
    from deltanet.checkpoint import load_checkpoint

    try:
        return load_checkpoint(args.checkpoint).epoch
    except ValueError:
        return 0  # train() reports what is wrong with the file


def history_record(hist: Any) -> dict[str, Any]:
    """What the model file keeps of a History: curves, stop reason, gradient norms."""
    record = {
        "epochs": hist.epochs, "unit": "epoch", "updates": hist.updates,
        "stop_reason": hist.stop_reason,
        "best_epoch": hist.best_epoch, "metric": hist.metric, "loss": list(hist.cost),
        "val_loss": list(hist.val_cost), "val_metric": list(hist.val_metric),
    }
    if hist.diagnostics:
        first = hist.diagnostics[0]
        record["gradient_norms"] = {
            "epoch": [d["epoch"] for d in hist.diagnostics],
            "layer": list(first["layer"]), "depth": list(first["depth"]),
            "grad_norm": [list(d["grad_norm"]) for d in hist.diagnostics],
            "dead_fraction": [d["dead_fraction"] for d in hist.diagnostics],
            "saturated_fraction": [d["saturated_fraction"] for d in hist.diagnostics],
        }
    return record


def _fit_lbfgs(args: argparse.Namespace, data: Arrays, task: str,
               n_classes: int | None) -> Fitted:
    """Full-batch L-BFGS with the estimator; its ``network_`` is the trained network."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    import deltanet as dn

    from ._common import note

    acts = hidden_activations(args.activation, len(args.hidden))
    if len(set(acts)) > 1:
        raise CommandError("--solver lbfgs takes one activation for every hidden layer (got "
                           f"{args.activation!r}); give one name, or use --solver adam")
    if task == "classification" and np.unique(data.y_train).size != n_classes:
        raise CommandError("--solver lbfgs learns the classes from the training rows, and some "
                           "class has none there; split with another --seed (or without "
                           "--no-stratify), or use --solver adam")
    kind = dn.MLPClassifier if task == "classification" else dn.MLPRegressor
    est = kind(hidden_layer_sizes=tuple(args.hidden), activation=_sk_activation(acts),
               solver="lbfgs", alpha=args.alpha, max_iter=args.epochs,
               random_state=args.seed, **estimator_extras(args))
    note(args, f"training with L-BFGS (at most {args.epochs} iterations) ...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(data.X_train, data.y_train)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    reason = (f"L-BFGS converged after {est.n_iter_} iterations" if converged else
              f"L-BFGS reached {est.n_iter_} iterations without converging (raise --epochs)")
    _, _, loss = output_layer(task, n_classes)
    record = {"epochs": int(est.n_iter_), "updates": int(est.n_iter_), "metric": "",
              "unit": "iteration", "saved_epoch": int(est.n_iter_),
              "loss_name": LOSS_NAMES[loss],
              "stop_reason": reason,
              "best_epoch": None, "loss": [float(v) for v in est.loss_curve_],
              "val_loss": [], "val_metric": []}
    return Fitted(est.network_, record)


def _sk_activation(acts: list[str]) -> str:
    name = acts[0] if acts else "relu"
    return {"linear": "identity", "sigmoid": "logistic"}.get(name, name)


def estimator_extras(args: argparse.Namespace) -> dict[str, Any]:
    """The estimator's parameters beyond scikit-learn's that the options set."""
    extras: dict[str, Any] = {"dtype": args.dtype}
    if args.batch_norm:
        extras["batch_norm"] = True
    if args.class_weight:
        extras["class_weight"] = args.class_weight
    return extras
