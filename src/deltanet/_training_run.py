"""Building a ``train()`` run: check every setting once, split the data, build the
optimizer, and pick up a checkpoint when resuming."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint as _ckpt
from . import losses as _losses
from ._callbacks import CallbackList
from ._training_setup import (
    check_loss_outputs,
    combined_weights,
    compute_class_weight,
    resolve_metric,
    resolve_optimizer,
    split_validation,
    validation_arrays,
)
from ._validation import check_finite, check_number, check_random_state, fail
from .diagnostics import sample_indices
from .io import ModelFileError, cannot_create_in
from .propagation import normalize_sample_weight, prepare_inputs, prepare_targets
from .regularization import batch_bounds, resolve_dropout, uses_batch_norm
from .training import _Run

_FLAGS = ("shuffle", "decay_bias", "early_stopping", "restore_best", "train_metric",
          "verbose", "diagnostics")


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(f"{name} must be True or False", value, f"pass {name}=True or {name}=False",
             TypeError)
    return bool(value)


def check_settings(net, s: dict[str, Any]) -> dict[str, Any]:
    """The scalar settings of ``train()``, checked; returns the validated config."""
    cfg = {k: _check_flag(k, s[k]) for k in _FLAGS}
    cfg["epochs"] = int(check_number("epochs", s["epochs"], low=1, integer=True))
    cfg["tol"] = None if s["tol"] is None else check_number("tol", s["tol"], low=0.0)
    cfg["error_tol"] = None if s["error_tol"] is None else check_number(
        "error_tol", s["error_tol"], low=0.0, low_open=True)
    cfg["l2"] = check_number("l2", s["l2"], low=0.0)
    cfg["l1"] = check_number("l1", s["l1"], low=0.0)
    cfg["dropout"] = resolve_dropout(net, s["dropout"])
    cfg["patience"] = int(check_number("patience", s["patience"], low=1, integer=True))
    cfg["min_delta"] = check_number("min_delta", s["min_delta"], low=0.0)
    cfg["checkpoint_every"] = int(check_number("checkpoint_every", s["checkpoint_every"],
                                               low=1, integer=True))
    cfg["checkpoint"] = _check_path("checkpoint", s["checkpoint"])
    resume = s["resume"]
    if isinstance(resume, (bool, np.bool_)):
        if resume and cfg["checkpoint"] is None:
            fail("resume=True needs the checkpoint file", resume,
                 "pass checkpoint='run.ckpt' (or resume='run.ckpt')")
        cfg["resume"] = cfg["checkpoint"] if resume else None
        cfg["resume_required"] = False
    else:
        cfg["resume"] = _check_path("resume", resume)
        cfg["resume_required"] = True
        if cfg["checkpoint"] is None:
            cfg["checkpoint"] = cfg["resume"]
    if cfg["checkpoint"] is not None:
        _check_writable(cfg["checkpoint"])
    cfg["checkpoint_path"] = cfg["checkpoint"]
    return cfg


def _check_path(name: str, value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        fail(f"{name} must be a file path", value, f"e.g. {name}='run.ckpt'", TypeError)
    return Path(value)


def _check_writable(path: Path) -> None:
    """Find out before the first epoch, not after the last, that the checkpoint cannot be
    written: ``path`` must not be a folder, and its folder must take a new file."""
    if path.is_dir():
        fail("checkpoint is a directory", str(path),
             f"give a file name such as {str(path / 'run.ckpt')!r}")
    problem = cannot_create_in(path.parent)
    if problem is not None:
        fail(f"the checkpoint cannot be written: {problem}", str(path),
             "give a path in a folder you can write to, e.g. 'run.ckpt'")


def _batch_size(value: Any, n: int) -> int:
    if value is None:
        return n
    return min(int(check_number("batch_size", value, low=1, integer=True)), n)


def _split(X, Y, sw, val_idx, val_data, class_weight, dtype):
    """Training and validation arrays and their (class-)weights, each scaled to mean 1."""
    if val_idx is not None:
        keep = np.ones(X.shape[0], dtype=bool)
        keep[val_idx] = False
        val_sw = None if sw is None else sw[val_idx]
        val_data = (X[val_idx], Y[val_idx], val_sw)
        X, Y, sw = X[keep], Y[keep], None if sw is None else sw[keep]
    w = combined_weights(sw, class_weight, Y, dtype)
    weights = normalize_sample_weight(w, X.shape[0], dtype)
    val = None
    if val_data is not None:
        Xv, Yv, swv = val_data
        if class_weight is not None:
            per_class = compute_class_weight(class_weight, Y)
            class_weight = per_class  # the training set's class weights, for both parts
        wv = combined_weights(swv, class_weight, Yv, dtype)
        val = (Xv, Yv, normalize_sample_weight(wv, Xv.shape[0], dtype))
    return X, Y, weights, val


def prepare(net, X: Any, Y: Any, s: dict[str, Any]) -> _Run:
    """Check everything, split, build the optimizer; restore a checkpoint if resuming."""
    loss = _losses.get(s["loss"])
    X2, _ = prepare_inputs(net, X, finite=False)  # see below and train()
    n = X2.shape[0]
    Y2 = prepare_targets(net, Y, n, False, loss)
    check_loss_outputs(net, loss)
    cfg = check_settings(net, s)
    sw = s["sample_weight"]
    if sw is not None:
        normalize_sample_weight(sw, n, net.dtype)  # shape and sign checks
        sw = np.asarray(sw, dtype=net.dtype)
    val_data = None
    if s["validation_data"] is not None:
        val_data = validation_arrays(net, loss, s["validation_data"])
    if s["class_weight"] is not None:
        compute_class_weight(s["class_weight"], Y2)  # checked on all targets first
    rng = check_random_state(s["random_state"])
    val_idx = split_validation(rng, n, s["validation_data"], s["validation_fraction"],
                               cfg["early_stopping"])
    n_train = n - (0 if val_idx is None else len(val_idx))
    batch_size = _batch_size(s["batch_size"], n_train)
    bounds = batch_bounds(n_train, batch_size, uses_batch_norm(net))
    opt = resolve_optimizer(s["optimizer"], s["lr"], s["momentum"], s["lr_schedule"],
                            cfg["epochs"], len(bounds), n_train, batch_size >= n_train)
    metric = resolve_metric(s["metric"], net, loss, Y2)
    # hashing the data and the arcs is a pass over both: only checkpoints need it
    fp = {} if cfg["checkpoint"] is None else fingerprint(
        net, s, cfg, opt, (X2, Y2, sw), val_data, batch_size, metric[0], n_train)
    ckpt = _load_resume(cfg, fp)
    if ckpt is not None and val_idx is not None:
        val_idx = _saved_split(ckpt, val_idx, n)
    if val_idx is not None:
        check_finite("X", X2)  # else train() checks the training rows, or has them checked
    Xt, Yt, weights, val = _split(X2, Y2, sw, val_idx, val_data, s["class_weight"],
                                  net.dtype)
    zero_padding(net)
    run = _Run(net, Xt, Yt, weights, val, val_idx, bounds, loss, cfg, opt,
               opt.transform.init(net.params),
               opt.plateau.init() if opt.plateau is not None else None, rng, metric,
               CallbackList(s["callbacks"]), fp)
    run.hist.metric = metric[0]
    run.x_checked = val_idx is not None
    if cfg["diagnostics"]:
        run.diag_idx = sample_indices(Xt.shape[0])
    if ckpt is not None:
        _ckpt.restore_run(run, ckpt)
        zero_padding(net)
    return run


def zero_padding(net) -> None:
    """Set to 0, in place, the entries of ``net.params`` that are no arc (the padding of a
    masked block, a bias arc left out). The passes read a block as a dense matrix, so a
    value left there would act as an arc the network does not have."""
    mask = net.plan.grad_mask
    if mask is not None:
        net.params[mask == 0] = 0.0


def _load_resume(cfg: dict, fp: dict) -> _ckpt.Checkpoint | None:
    path = cfg["resume"]
    if path is None:
        return None
    if not path.is_file():
        if cfg["resume_required"]:
            fail("the checkpoint to resume from does not exist", str(path),
                 "check the path, or pass resume=True with checkpoint=... to start afresh "
                 "when there is none")
        return None
    ckpt = _ckpt.load_checkpoint(path)
    saved, current = dict(ckpt.fingerprint), json.loads(json.dumps(_ckpt.to_json(fp)))
    saved_limit = saved.pop("epochs", None)
    current.pop("epochs", None)
    _ckpt.check_fingerprint(saved, current, path)
    _check_epochs(ckpt, cfg["epochs"], saved_limit, current["lr_schedule"])
    return ckpt


def _check_epochs(ckpt: _ckpt.Checkpoint, epochs: int, saved_limit: Any,
                  schedule: Any) -> None:
    """The epoch limit may grow on a resume, except for a schedule made for the old limit;
    it may not fall below the epochs the checkpoint already has."""
    name = ckpt.path.name
    if saved_limit is not None and saved_limit != epochs:
        fail(f"lr_schedule={schedule!r} depends on the epoch limit, and checkpoint {name} is "
             f"of a {saved_limit}-epoch run, not epochs={epochs}", epochs,
             f"resume with epochs={saved_limit}, or start afresh with resume=False")
    if ckpt.epoch > epochs:
        fail(f"checkpoint {name} already has {ckpt.epoch} epochs, more than epochs={epochs}",
             epochs, f"pass epochs={ckpt.epoch} or more to go on from it, or start afresh "
             "with resume=False")


def _saved_split(ckpt: _ckpt.Checkpoint, val_idx: np.ndarray, n: int) -> np.ndarray:
    saved = ckpt.arrays.get("val_idx")
    if saved is None or saved.shape != val_idx.shape or saved.dtype.kind not in "iu" \
            or saved.min() < 0 or saved.max() >= n or len(np.unique(saved)) != len(saved):
        raise ModelFileError(f"{ckpt.path.name}: the saved validation split is invalid")
    return saved.astype(np.int64)


def fingerprint(net, s: dict, cfg: dict, opt, data: tuple, val_data: tuple | None,
                batch_size: int, metric: str, n_train: int) -> dict[str, Any]:
    """What must not change between a run and its resumption (JSON-able)."""
    X, Y, sw = data
    sched = s["lr_schedule"]
    fp = {
        "network": _ckpt.network_digest(net),
        "data": _ckpt.digest(X, Y, sw),
        "validation_data": None if val_data is None else _ckpt.digest(*val_data),
        "loss": _losses.get(s["loss"]).name,
        "batch_size": batch_size,
        "optimizer": opt.name,
        "lr": float(s["lr"]) if opt.name != "custom" else None,
        "momentum": float(s["momentum"]) if opt.name in ("momentum", "nesterov") else None,
        "lr_schedule": repr(sched) if opt.plateau is not None else opt.schedule_name,
        "validation_fraction": s["validation_fraction"],
        "class_weight": repr(s["class_weight"]),
        "metric": metric,
    }
    if opt.name == "custom":
        state = _ckpt.optimizers.state_to_dict(opt.transform.init(net.params))
        fp["optimizer_state"] = sorted(f"{k}{np.shape(v)}" for k, v in state.items())
        # what sgd(), adam(), rprop() and chains of the typed transforms were built with;
        # None for a transform of one's own
        fp["optimizer_settings"] = opt.transform.settings
    from . import kernels  # light: Numba loads only when an engine runs

    # the engines agree to rounding, not bit for bit: a resumed run must use the same one
    fp["engine"] = kernels.choose_engine(s["engine"], net, _losses.get(s["loss"]),
                                         opt.transform, batch_size, dropout=cfg["dropout"])
    if fp["engine"] == "numba":  # and which of its two loops (they too agree to rounding)
        fp["engine_loop"] = ("batches on BLAS" if kernels.blas_batches(
            batch_size, n_train, net.plan.n_params) else "example by example")
    if opt.schedule_name in ("step", "cosine"):
        fp["epochs"] = cfg["epochs"]  # these schedules depend on the length of the run
    skip = ("epochs", "verbose", "checkpoint", "checkpoint_every", "resume",
            "resume_required", "checkpoint_path")
    fp.update({k: v for k, v in cfg.items() if k not in skip})
    return fp
