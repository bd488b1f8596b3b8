"""Training checkpoints: everything needed to continue a run, written atomically.

A checkpoint is the same safe archive as a model file (``deltanet.json`` plus ``.npy``
arrays, no pickle; see :mod:`deltanet.io`) with the format name ``deltanet-checkpoint``.
It holds the parameters and batch-norm statistics of the last epoch, the optimizer state
(:func:`deltanet.optimizers.state_to_dict`), the full state of the training random
generator, the epoch and update counts, the history so far, the early-stopping and
plateau bookkeeping, the validation split, and a *fingerprint* of the configuration and
data. ``train(..., resume=True)`` refuses a checkpoint whose fingerprint differs. A
finished run's checkpoint says whether the run ended at its epoch limit; its weights are
still those of the last epoch (the best ones, which early stopping puts back, lie beside
them), so that resumed with a larger limit it goes on as an uninterrupted run would.

Because the generator is the only source of randomness in training (permutations and
dropout masks) and it is saved exactly, a resumed run consumes it exactly as an
uninterrupted run would, and ends with bit-for-bit the same weights.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import _archive as _io
from .. import optimizers
from .._validation import check_number, fail
from .history import History

FORMAT = "deltanet-checkpoint"
VERSION = 1
#: the arrays a checkpoint holds (no other member of the file is read)
ARRAYS = re.compile(r"(best/)?(params|bn\d{1,6}_(mean|var))|val_idx|opt/[\w./-]{1,200}"
                    r"|position/order")
#: ``checkpoint_every`` given with a unit: ``"3 epochs"``, ``"10 windows"``
EVERY = re.compile(r"\s*(\d{1,12})\s*(epochs?|windows?)\s*")


@dataclass(frozen=True)
class Windows:
    """``checkpoint_every="N windows"``: a checkpoint after every N-th window of an epoch
    read from a stream (counted from the epoch's start), and at the end of every epoch. An
    in-memory run is one window per epoch: a checkpoint at the end of every epoch."""

    count: int


def parse_every(value: Any) -> int | Windows:
    """``checkpoint_every``: a number of epochs, ``"N epochs"`` or ``"N windows"``."""
    if isinstance(value, str):
        found = EVERY.fullmatch(value)
        if found is None or int(found[1]) < 1:
            fail("checkpoint_every must be a number of epochs or windows", value,
                 "e.g. checkpoint_every=1, '2 epochs' or '10 windows' (windows of a stream)")
        n = int(found[1])
        return Windows(n) if found[2].startswith("window") else n
    return int(check_number("checkpoint_every", value, low=1, integer=True))


def epoch_due(every: int | Windows, epoch: int) -> bool:
    """Whether a checkpoint is due at the end of ``epoch``."""
    return isinstance(every, Windows) or epoch % every == 0


@dataclass
class Checkpoint:
    """A checkpoint read back: counters, the JSON header and the arrays."""

    path: Path
    epoch: int
    updates: int
    finished: bool
    header: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(repr=False)

    @property
    def fingerprint(self) -> dict[str, Any]:
        return self.header["fingerprint"]

    @property
    def params(self) -> np.ndarray:
        return self.arrays["params"]


# ------------------------------------------------------------------ JSON round trips
def to_json(value: Any) -> Any:
    """Make ``value`` JSON-able without losing a bit: arrays and non-finite floats tagged."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    return value


def from_json(value: Any) -> Any:
    """Inverse of :func:`to_json`."""
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return _io.json_array(value["__ndarray__"], value["dtype"], "checkpoint")
        if "__float__" in value:
            return float(value["__float__"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's complete bit-generator state as a JSON-able dict."""
    return to_json(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict[str, Any], name: str) -> None:
    saved = from_json(state)
    kind = type(rng.bit_generator).__name__
    if saved.get("bit_generator") != kind:
        raise ValueError(f"checkpoint {name} was written with a {saved.get('bit_generator')} "
                         f"generator but random_state gives a {kind} (got {kind!r}); pass a "
                         f"random_state of the same kind, e.g. an int seed")
    rng.bit_generator.state = saved


# ------------------------------------------------------------------ fingerprint
def digest(*arrays: np.ndarray | None) -> str:
    """sha256 over the shapes, dtypes and bytes of ``arrays`` (None counts as absent)."""
    h = hashlib.sha256()
    for arr in arrays:
        if arr is None:
            h.update(b"none;")
            continue
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape};".encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:32]


def network_digest(net) -> str:
    """Identifies the architecture (arcs, activations, outputs, batch norm, dtype)."""
    acts = ",".join(net.activation_of(j) for j in range(net.n_inputs + 1, net.n_neurons))
    bn = np.asarray(sorted(net.bn_state), dtype=np.int64)
    tag = f"{acts}|{net.outputs}|{np.dtype(net.dtype).name}".encode()
    return digest(np.asarray(net.arcs, dtype=np.int64), bn, np.frombuffer(tag, np.uint8))


#: fingerprint entries that are digests, and what differs when they do
DIGESTS = {"network": "the network's arcs, activations, batch norm or dtype",
           "data": "the training examples, targets or sample weights",
           "validation_data": "the validation examples"}


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], path: Path) -> None:
    """Refuse to resume when the configuration or the data differ. Only the entries both
    record are compared: a checkpoint of an earlier version lacks the newer ones."""
    keys = sorted(set(saved) & set(current))
    # an earlier version recorded no settings for chains (None): nothing to compare then
    diff = [k for k in keys if saved.get(k) != current.get(k)
            and not (k == "optimizer_settings" and saved.get(k) is None)]
    if diff:
        shown = "; ".join(f"{k}: {DIGESTS[k]} differ" if k in DIGESTS
                          else f"{k}: saved {saved.get(k)!r}, now {current.get(k)!r}"
                          for k in diff[:4])
        advice = ("resume with the same network, data and settings, or start afresh with "
                  "resume=False")
        if diff == ["engine"]:  # e.g. 'auto' now picks an engine it did not when this was saved
            advice = f"pass engine={saved['engine']!r} to resume it, or start afresh with " \
                     "resume=False"
        elif diff == ["engine_loop"]:  # a version that dispatches these batches otherwise
            advice = "this version of deltanet runs these settings on the other loop; start " \
                     "afresh with resume=False"
        raise ValueError(f"checkpoint {path.name} belongs to another training run ({shown}) "
                         f"(got {len(diff)} differing settings); {advice}")


# ------------------------------------------------------------------ write and read
def write(path: str | os.PathLike, header: dict[str, Any],
          arrays: dict[str, np.ndarray]) -> Path:
    """Write a checkpoint atomically (temporary file, fsync, rename)."""
    header = {"format": FORMAT, "version": VERSION, **to_json(header)}
    _io.atomic_write(path, _io.pack(header, arrays))
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint file; raises ``ModelFileError`` if it is not one."""
    header, arrays = _io.unpack(path, FORMAT, lambda _, present: filter(ARRAYS.fullmatch,
                                                                        present))
    for key in ("epoch", "updates", "fingerprint", "history", "rng"):
        if key not in header:
            raise _io.ModelFileError(f"{Path(path).name}: checkpoint has no {key!r}")
    if "params" not in arrays:
        raise _io.ModelFileError(f"{Path(path).name}: checkpoint has no parameters")
    counts = [header["epoch"], header["updates"]]
    if not all(isinstance(header[k], dict) for k in ("fingerprint", "history", "rng")) or \
            not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
        raise _io.ModelFileError(f"{Path(path).name}: the checkpoint's header is malformed")
    return Checkpoint(Path(path), int(header["epoch"]), int(header["updates"]),
                      bool(header.get("finished", False)), header, arrays)


def state_parts(prefix: str, state: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """An optimizer (or plateau) state split into JSON scalars and arrays (both exact)."""
    scalars, arrays = {}, {}
    for k, v in optimizers.state_to_dict(state).items():
        if isinstance(v, np.ndarray):
            arrays[prefix + k] = v
        else:
            scalars[k] = v
    return scalars, arrays


def state_from_parts(prefix: str, scalars: dict[str, Any], arrays: dict[str, np.ndarray],
                     opt: Any) -> Any:
    """Rebuild a state saved by :func:`state_parts` for the same optimizer ``opt``."""
    d = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    d.update(from_json(scalars))
    return optimizers.state_from_dict(opt, d)


# ------------------------------------------------------------------ a training run
def _bn_arrays(prefix: str, bn_state: dict) -> dict[str, np.ndarray]:
    out = {}
    for layer, (mean, var) in bn_state.items():
        out[f"{prefix}bn{layer}_mean"], out[f"{prefix}bn{layer}_var"] = mean, var
    return out


def save_run(run, finished: bool = False, position: dict | None = None) -> Path:
    """Write the state of a ``train()`` run after its epoch ``run.epoch``, or, with
    ``position``, in the epoch after it: where in that epoch (JSON-able entries, and the
    epoch's piece order as ``position["order"]``; see :mod:`.streaming`)."""
    net, best = run.net, run.best
    opt_scalars, opt_arrays = state_parts("opt/", run.state)
    arrays = {"params": net.params, **_bn_arrays("", net.bn_state), **opt_arrays}
    plateau = None
    if run.plateau_state is not None:
        plateau = state_parts("plateau/", run.plateau_state)[0]
    if run.val_idx is not None:
        arrays["val_idx"] = run.val_idx
    if best.params is not None:
        arrays["best/params"] = best.params
        arrays.update(_bn_arrays("best/", best.bn))
    header = {"epoch": run.epoch, "updates": run.hist.updates, "finished": finished,
              "reached_limit": finished and not run.stop,
              "fingerprint": run.fingerprint, "rng": rng_state(run.rng),
              "history": run.hist.to_dict(), "optimizer_state": opt_scalars,
              "plateau_state": plateau,
              "best": {"value": best.value, "epoch": best.epoch, "wait": best.wait}}
    if position is not None:
        header["position"] = {k: v for k, v in position.items() if k != "order"}
        arrays["position/order"] = position["order"]
    return write(run.settings.checkpoint, header, arrays)


def _take(arrays: dict, key: str, like: np.ndarray, name: str) -> np.ndarray:
    arr = arrays.get(key)
    if arr is None or arr.shape != like.shape:
        raise _io.ModelFileError(f"{name}: {key} is missing or has the wrong shape "
                                 f"(expected {like.shape})")
    return arr.astype(like.dtype, copy=False)


def restore_run(run, ckpt: Checkpoint) -> None:
    """Put a run back in the state ``save_run`` wrote (fingerprint checked by the caller);
    a damaged state raises ``ModelFileError``."""
    try:
        _restore(run, ckpt)
    except (TypeError, KeyError, AttributeError, IndexError, OverflowError,
            RecursionError, ZeroDivisionError) as err:
        raise _io.ModelFileError(f"{ckpt.path.name}: the saved training state is damaged "
                                 f"({type(err).__name__}: {str(err)[:80]}); delete the file "
                                 "to start afresh") from None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_history(hist) -> None:
    """Every field of a restored History has the type training writes (else TypeError)."""
    for key in ("cost", "val_cost", "val_metric", "train_metric"):
        values = getattr(hist, key)
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            raise TypeError(f"the history's {key} must be a list of numbers")
    if not isinstance(hist.lr, list) or not all(v is None or _is_number(v) for v in hist.lr):
        raise TypeError("the history's lr must be a list of numbers")
    if not isinstance(hist.diagnostics, list) or not all(
            isinstance(d, dict) for d in hist.diagnostics):
        raise TypeError("the history's diagnostics must be a list of records")
    for key in ("epochs", "updates"):
        value = getattr(hist, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError(f"the history's {key} must be a count")
    if hist.best_epoch is not None and (not isinstance(hist.best_epoch, int)
                                        or isinstance(hist.best_epoch, bool)
                                        or hist.best_epoch < 0):
        raise TypeError("the history's best_epoch must be an epoch number")
    if not isinstance(hist.stop_reason, str) or not isinstance(hist.metric, str):
        raise TypeError("the history's stop_reason and metric must be text")


def _check_scalars(scalars: Any) -> None:
    """Optimizer and plateau scalars must be numbers, not NaN; counts and scales finite >= 0."""
    if not isinstance(scalars, dict):
        raise TypeError("a saved optimizer state must be a record")
    for key, value in scalars.items():
        if isinstance(value, bool):
            continue
        # a plateau rule's best loss starts at +inf; no scalar may be NaN
        if not _is_number(value) or math.isnan(value) or (
                key.endswith(("count", "lr_scale")) and not 0 <= value < math.inf):
            raise TypeError(f"the optimizer state {key!r} is out of range")


def _restore(run, ckpt: Checkpoint) -> None:
    net, name, arrays = run.net, ckpt.path.name, ckpt.arrays
    params = _take(arrays, "params", net.params, name)
    bn = {layer: (_take(arrays, f"bn{layer}_mean", m, name),
                  _take(arrays, f"bn{layer}_var", v, name))
          for layer, (m, v) in net.bn_state.items()}
    _check_scalars(from_json(ckpt.header.get("optimizer_state") or {}))
    state = state_from_parts("opt/", ckpt.header.get("optimizer_state") or {}, arrays,
                             run.optimizer.transform)
    if run.plateau_state is not None:
        _check_scalars(from_json(ckpt.header.get("plateau_state") or {}))
        run.plateau_state = state_from_parts("", ckpt.header.get("plateau_state") or {}, {},
                                             run.optimizer.plateau)
    set_rng_state(run.rng, ckpt.header["rng"], name)
    net.params[:] = params
    for layer, (m, v) in bn.items():
        net.bn_state[layer][0][:] = m
        net.bn_state[layer][1][:] = v
    run.state = state
    run.hist = History.from_dict(from_json(ckpt.header["history"]))
    _check_history(run.hist)
    run.epoch = ckpt.epoch
    best = from_json(ckpt.header.get("best", {}))
    run.best.value = float(best.get("value", math.inf))
    run.best.epoch, run.best.wait = best.get("epoch"), int(best.get("wait", 0))
    if "best/params" in arrays:
        run.best.params = _take(arrays, "best/params", net.params, name).copy()
        run.best.bn = {layer: (_take(arrays, f"best/bn{layer}_mean", m, name).copy(),
                               _take(arrays, f"best/bn{layer}_var", v, name).copy())
                       for layer, (m, v) in net.bn_state.items()}
    # a run that ended at its epoch limit goes on when resumed with a larger one
    extend = ckpt.header.get("reached_limit") is True and run.settings.epochs > ckpt.epoch
    run.finished = ckpt.finished and not extend
