"""``Settings``: every keyword argument of ``train()``, checked once, in one frozen object.

What can be checked without the data is checked here (flags, counts, rates, paths, the
loss, dropout, the engine's name); what needs the data (the batch size against the number
of examples, the validation split, the optimizer's schedule, the metric) is settled when
the run is built (:mod:`deltanet.training.run`), from these settings.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import losses as _losses
from .._archive import cannot_create_in
from .._validation import PLAIN_TYPES, check_choice, check_number, fail
from ..kernels import ENGINES
from ..losses import Loss
from ..regularization import resolve_dropout
from .checkpoints import Windows, parse_every

#: ``train()``'s keyword arguments and their defaults, in the order its signature shows them
#: (``train(net, X, Y=None, **keywords)``: the keywords a caller gives are all a warm call
#: looks at, see ``Settings.build``)
KEYWORDS: dict[str, Any] = {
    "loss": "squared_error",
    "lr": 0.1,
    "batch_size": 1,
    "epochs": 100,
    "optimizer": None,
    "random_state": None,
    "shuffle": True,
    "tol": None,
    "error_tol": None,
    "l2": 0.0,
    "l1": 0.0,
    "decay_bias": False,
    "dropout": None,
    "sample_weight": None,
    "class_weight": None,
    "momentum": 0.9,
    "lr_schedule": None,
    "validation_data": None,
    "validation_fraction": None,
    "early_stopping": False,
    "patience": 10,
    "min_delta": 0.0,
    "restore_best": True,
    "metric": "auto",
    "train_metric": False,
    "callbacks": None,
    "verbose": False,
    "checkpoint": None,
    "checkpoint_every": 1,
    "resume": False,
    "diagnostics": False,
    "engine": "auto",
}
FLAGS = ("shuffle", "decay_bias", "early_stopping", "restore_best", "train_metric",
         "verbose", "diagnostics")


@dataclass(frozen=True)
class Settings:
    """The settings of one ``train()`` call (see its docstring for each), validated.

    ``checkpoint`` is where checkpoints go (``resume`` given as a path fills it in);
    ``resume`` the checkpoint to continue from, and ``resume_required`` whether it must
    exist (a path given as ``resume``) or may be missing (``resume=True``).
    """

    loss: Loss
    lr: Any
    batch_size: int | None
    epochs: int
    optimizer: Any
    random_state: Any
    shuffle: bool
    tol: float | None
    error_tol: float | None
    l2: float
    l1: float
    decay_bias: bool
    dropout: dict | None
    sample_weight: Any
    class_weight: Any
    momentum: Any
    lr_schedule: Any
    validation_data: Any
    validation_fraction: Any
    early_stopping: bool
    patience: int
    min_delta: float
    restore_best: bool
    metric: Any
    train_metric: bool
    callbacks: Any
    verbose: bool
    checkpoint: Path | None
    checkpoint_every: int | Windows
    resume: Path | None
    resume_required: bool
    diagnostics: bool
    engine: str
    #: built from plain values only (numbers, names, flags, None; no checkpoint or dropout),
    #: so shared by every call that gives them: a network's last run may keep it (``run``)
    plain: bool = False

    @classmethod
    def build(cls, net, given: dict[str, Any]) -> Settings:
        """Check the keyword arguments ``given`` to ``train()`` (the others take their
        defaults, ``KEYWORDS``) for ``net``; raise on the first bad one with what to do.

        Settings of plain values (numbers, names, flags, None) that touch neither the
        network nor a file are checked once: the same keywords again give the same frozen
        object back (a warm ``train()`` call does not check them again). Keywords that are
        the very objects of a call before (a loop calling ``train`` with the same literals)
        find its settings by their identities alone: the same objects are of the same
        types and bits (the entry holds them, so no other object takes their ``id``)."""
        names, values = tuple(given), tuple(given.values())
        ids = tuple(map(id, values))
        same = _SAME.get(ids)
        if same is not None and same[0] == names:
            return same[2]
        unknown = [name for name in names if name not in KEYWORDS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], KEYWORDS, n=1)
            fail(f"train() got an unexpected keyword argument {unknown[0]!r}", unknown[0],
                 (f"did you mean {close[0]!r}? " if close else "")
                 + "help(deltanet.train) lists the keywords", TypeError)
        kw = {**KEYWORDS, **given}
        key = _cache_key(kw)
        built = _BUILT.get(key) if key is not None else None
        if built is None:
            built = cls._check(net, kw, plain=key is not None)
            if key is not None:
                if len(_BUILT) >= _BUILT_MAX:
                    _BUILT.clear()
                _BUILT[key] = built
        if key is not None:
            if len(_SAME) >= _BUILT_MAX:
                _SAME.clear()
            _SAME[ids] = (names, values, built)
        return built

    @classmethod
    def _check(cls, net, kw: dict[str, Any], plain: bool = False) -> Settings:
        """``build`` without the cache."""
        loss = _losses.get(kw["loss"])
        flags = {k: _check_flag(k, kw[k]) for k in FLAGS}
        checkpoint, resume, required = _checkpoint_paths(kw["checkpoint"], kw["resume"])
        return cls(
            **flags, loss=loss, lr=kw["lr"], batch_size=_batch_size(kw["batch_size"]),
            epochs=int(check_number("epochs", kw["epochs"], low=1, integer=True)),
            optimizer=kw["optimizer"], random_state=kw["random_state"],
            tol=None if kw["tol"] is None else check_number("tol", kw["tol"], low=0.0),
            error_tol=None if kw["error_tol"] is None else check_number(
                "error_tol", kw["error_tol"], low=0.0, low_open=True),
            l2=check_number("l2", kw["l2"], low=0.0), l1=check_number("l1", kw["l1"], low=0.0),
            dropout=resolve_dropout(net, kw["dropout"]), sample_weight=kw["sample_weight"],
            class_weight=kw["class_weight"], momentum=kw["momentum"],
            lr_schedule=kw["lr_schedule"], validation_data=kw["validation_data"],
            validation_fraction=kw["validation_fraction"],
            patience=int(check_number("patience", kw["patience"], low=1, integer=True)),
            min_delta=check_number("min_delta", kw["min_delta"], low=0.0),
            metric=kw["metric"], callbacks=kw["callbacks"], checkpoint=checkpoint,
            checkpoint_every=parse_every(kw["checkpoint_every"]),
            resume=resume, resume_required=required,
            engine=check_choice("engine", kw["engine"], ENGINES), plain=plain)


_BUILT: dict[tuple, Settings] = {}  # Settings of plain keywords, by their key
#: the same by the identities of the keywords given: ``(names, values, settings)``
_SAME: dict[tuple, tuple] = {}
_BUILT_MAX = 64


def _cache_key(kw: dict[str, Any]) -> tuple | None:
    """A key telling ``kw`` apart from any other keywords that could check differently, or
    None when the settings must be checked afresh: a value that is not a plain number,
    name, flag or None (an array, a callable, a list: it may change between calls), or
    settings that depend on the network (dropout) or on the file system (checkpoints).
    Types are part of the key (``True`` is not ``1``), floats by their bits as well
    (``-0.0`` is not ``0.0``)."""
    if kw["checkpoint"] is not None or kw["resume"] is not False or (
            kw["dropout"] is not None and kw["dropout"] is not False):
        return None
    values = tuple(kw.values())
    types = tuple(map(type, values))
    if not PLAIN_TYPES.issuperset(types):
        return None
    return tuple(kw), values, types, tuple([v.hex() for v in values if type(v) is float])


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(f"{name} must be True or False", value, f"pass {name}=True or {name}=False",
             TypeError)
    return bool(value)


def _batch_size(value: Any) -> int | None:
    """``None`` (full batch) or a count of at least 1 (capped at the examples later)."""
    return None if value is None else int(check_number("batch_size", value, low=1,
                                                       integer=True))


def _checkpoint_paths(checkpoint: Any, resume: Any) -> tuple[Path | None, Path | None, bool]:
    """``(checkpoint, resume, resume_required)`` from the two arguments."""
    checkpoint = _check_path("checkpoint", checkpoint)
    if isinstance(resume, (bool, np.bool_)):
        if resume and checkpoint is None:
            fail("resume=True needs the checkpoint file", resume,
                 "pass checkpoint='run.ckpt' (or resume='run.ckpt')")
        resume_path, required = (checkpoint if resume else None), False
    else:
        resume_path, required = _check_path("resume", resume), True
        checkpoint = checkpoint if checkpoint is not None else resume_path
    if checkpoint is not None:
        _check_writable(checkpoint)
    return checkpoint, resume_path, required


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
