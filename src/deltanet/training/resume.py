"""Resuming a run: the fingerprint of what must not change, and the checkpoint to go on from.

A checkpoint records the fingerprint of its run (the network, the data, every setting that
shapes the updates, the engine); ``train(..., resume=...)`` refuses one whose fingerprint
differs, and one whose epoch limit does not fit.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._archive import ModelFileError
from .._validation import fail
from . import checkpoints as _ckpt
from .settings import Settings

# the settings a resumed run must share with its checkpoint, beside those listed below
SHARED = ("shuffle", "decay_bias", "early_stopping", "restore_best", "train_metric",
          "diagnostics", "tol", "error_tol", "l2", "l1", "dropout", "patience", "min_delta")


def fingerprint(net, s: Settings, opt, data: tuple, val_data: tuple | None,
                batch_size: int, metric: str, engine: str, engine_loop: str | None
                ) -> dict[str, Any]:
    """What must not change between a run and its resumption (JSON-able)."""
    X, Y, sw = data
    fp = {
        "network": _ckpt.network_digest(net),
        "data": _ckpt.digest(X, Y, sw),
        "validation_data": None if val_data is None else _ckpt.digest(*val_data),
        "loss": s.loss.name,
        "batch_size": batch_size,
        "optimizer": opt.name,
        "lr": float(s.lr) if opt.name != "custom" else None,
        "momentum": float(s.momentum) if opt.name in ("momentum", "nesterov") else None,
        "lr_schedule": repr(s.lr_schedule) if opt.plateau is not None else opt.schedule_name,
        "validation_fraction": s.validation_fraction,
        "class_weight": repr(s.class_weight),
        "metric": metric,
    }
    if opt.name == "custom":
        state = _ckpt.optimizers.state_to_dict(opt.transform.init(net.params))
        fp["optimizer_state"] = sorted(f"{k}{np.shape(v)}" for k, v in state.items())
        # what sgd(), adam(), rprop() and chains of the typed transforms were built with;
        # None for a transform of one's own
        fp["optimizer_settings"] = opt.transform.settings
    # the engines agree to rounding, not bit for bit: a resumed run must use the same one
    # ('shaped' is the compiled engine's arithmetic bit for bit: either may resume it)
    fp["engine"] = "numba" if engine == "shaped" else engine
    if engine_loop is not None:  # and which loop of the compiled engine (also to rounding)
        fp["engine_loop"] = engine_loop
    if opt.schedule_name in ("step", "cosine"):
        fp["epochs"] = s.epochs  # these schedules depend on the length of the run
    fp.update({k: getattr(s, k) for k in SHARED})
    return fp


def load_resume(s: Settings, fp: dict) -> _ckpt.Checkpoint | None:
    """The checkpoint to resume from (fingerprint and epoch limit checked), or None."""
    path = s.resume
    if path is None:
        return None
    if not path.is_file():
        if s.resume_required:
            fail("the checkpoint to resume from does not exist", str(path),
                 "check the path, or pass resume=True with checkpoint=... to start afresh "
                 "when there is none")
        return None
    ckpt = _ckpt.load_checkpoint(path)
    saved, current = dict(ckpt.fingerprint), json.loads(json.dumps(_ckpt.to_json(fp)))
    saved_limit = saved.pop("epochs", None)
    current.pop("epochs", None)
    _ckpt.check_fingerprint(saved, current, path)
    _check_epochs(ckpt, s.epochs, saved_limit, current["lr_schedule"])
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


def saved_split(ckpt: _ckpt.Checkpoint, val_idx: np.ndarray, n: int) -> np.ndarray:
    """The validation split the checkpoint's run drew (checked against ``n`` examples)."""
    saved = ckpt.arrays.get("val_idx")
    if saved is None or saved.shape != val_idx.shape or saved.dtype.kind not in "iu" \
            or saved.min() < 0 or saved.max() >= n or len(np.unique(saved)) != len(saved):
        raise ModelFileError(f"{ckpt.path.name}: the saved validation split is invalid")
    return saved.astype(np.int64)
