"""Model files written by ``deltanet train``: the network plus everything needed to use it
on a raw table.

The file is an ordinary deltanet model file (:func:`deltanet.save`: JSON and NumPy arrays in
a ZIP, never pickle). Its JSON metadata holds, under ``"cli"``, the table preprocessing
(:meth:`deltanet.data.TablePreprocessor.to_dict`: columns, categories, fill values,
scalers, class names), the task, the training settings and history, the test metrics, and
what the model was trained on (``"data"``: a fingerprint of the table and a digest of each
part of the split, so that ``evaluate`` can tell the training table and score its held-out
rows; model files without it still load).
So ``deltanet predict`` on a raw CSV applies exactly the transformation the network was
trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import CommandError

KIND = "deltanet-table-model"
VERSION = 1


@dataclass
class Model:
    """A model file read back: network, preprocessing and metadata."""

    net: Any  # deltanet.Network
    pre: Any  # deltanet.data.TablePreprocessor, or None for a bare network file
    info: dict[str, Any]  # the "cli" metadata (empty for a bare network file)
    metadata: dict[str, Any]
    path: Path

    @property
    def task(self) -> str | None:
        return None if self.pre is None else self.pre.task_

    @property
    def classes(self) -> list[str] | None:
        return None if self.pre is None else self.pre.classes_

    def require_table(self) -> None:
        """Raise a one-line error if the file holds no table preprocessing."""
        if self.pre is None:
            raise CommandError(f"{self.path.name} holds a network without table preprocessing "
                               "(saved with deltanet.save); evaluate and predict need a model "
                               "file written by 'deltanet train DATA --out FILE'")


def write(path: str | Path, net: Any, pre: Any, info: dict[str, Any]) -> Path:
    """Save ``net`` with the preprocessing ``pre`` and the training ``info`` (atomically)."""
    import deltanet as dn
    from deltanet.cli._common import jsonable

    cli = {"kind": KIND, "version": VERSION, "deltanet_version": dn.__version__,
           "preprocessing": pre.to_dict(), **info}
    return dn.save(net, path, metadata={"cli": jsonable(cli)})


def add_limits(parser: Any) -> None:
    """``--max-blocks`` and ``--max-neurons``: the loading limits of :func:`deltanet.load`,
    raised for a large model file one trusts."""
    from deltanet.io import MAX_BLOCKS, MAX_NEURONS

    parser.add_argument("--max-blocks", metavar="N", type=int, default=MAX_BLOCKS,
                        help="load a model that compiles to up to N groups and weight blocks "
                             f"(default {MAX_BLOCKS:,}; raise it only for a file you trust)")
    parser.add_argument("--max-neurons", metavar="N", type=int, default=MAX_NEURONS,
                        help="load a model of up to N neurons, inputs included "
                             f"(default {MAX_NEURONS:,}; raise it only for a file you trust)")


def limits(args: Any) -> dict[str, int]:
    """The loading limits :func:`add_limits` parsed (the defaults for commands without)."""
    from deltanet.io import MAX_BLOCKS, MAX_NEURONS

    return {"max_blocks": getattr(args, "max_blocks", MAX_BLOCKS),
            "max_neurons": getattr(args, "max_neurons", MAX_NEURONS)}


def _over_limit(err: Any) -> CommandError:
    """A loading limit's error, naming the option that raises it."""
    keyword = err.limit
    flag = "--" + keyword.replace("_", "-")
    return CommandError(str(err).replace(f"deltanet.load(path, {keyword}=...)",
                                         f"{flag} N (deltanet.load(path, {keyword}=N))"))


def read(path: str | Path, *, max_blocks: int | None = None,
         max_neurons: int | None = None) -> Model:
    """Read a model file; any problem is one CommandError line naming the file."""
    from deltanet.data import TablePreprocessor
    from deltanet.io import ModelFileError, ModelTooLarge, read_model

    path = Path(path)
    if not path.exists():
        raise CommandError(f"model file {str(path)!r} does not exist; train one with "
                           f"'deltanet train DATA --out {path}'")
    if path.is_dir():
        raise CommandError(f"{str(path)!r} is a directory, not a model file")
    given = {k: v for k, v in (("max_blocks", max_blocks), ("max_neurons", max_neurons))
             if v is not None}
    try:
        net, metadata = read_model(path, **given)
    except ModelTooLarge as err:
        raise _over_limit(err) from None
    except ModelFileError as err:
        raise CommandError(f"{err}; pass a model file written by 'deltanet train ... --out "
                           "FILE'") from None
    except ValueError as err:  # a limit below its least value
        raise CommandError(str(err).replace("max_blocks", "--max-blocks")
                           .replace("max_neurons", "--max-neurons")) from None
    cli = metadata.get("cli")
    if not isinstance(cli, dict) or cli.get("kind") != KIND:
        return Model(net, None, {}, metadata, path)
    if cli.get("version") != VERSION:
        raise CommandError(f"{path.name} is a table model of format version "
                           f"{cli.get('version')!r}; this deltanet reads version {VERSION}")
    try:
        pre = TablePreprocessor.from_dict(cli["preprocessing"])
    except (KeyError, TypeError, ValueError) as err:
        raise CommandError(f"{path.name}: its preprocessing record is damaged "
                           f"({type(err).__name__}: {err}); train the model again") from None
    if pre.feature_names_out and len(pre.feature_names_out) != net.n_inputs:
        raise CommandError(f"{path.name}: the preprocessing gives {len(pre.feature_names_out)} "
                           f"inputs but the network has {net.n_inputs}; train the model again")
    return Model(net, pre, cli, metadata, path)


# --- using the model on a table ---------------------------------------------------------------

def outputs(model: Model, frame: Any) -> np.ndarray:
    """The network's outputs ``h(x)`` for the raw rows of ``frame``, shape ``(n, K)``."""
    model.require_table()
    _check_missing(model, frame)
    X = model.pre.transform(frame).astype(model.net.dtype, copy=False)
    warn_unseen(model, frame)
    return model.net.predict(X)


def warn_unseen(model: Model, frame: Any) -> None:
    """Warn about categories the model never saw in training: they are coded as none of the
    known categories (a row of zeros), so the predictions for those rows are guesses."""
    from deltanet.data.columns import labels_of, shown

    from ._common import warn

    for column in model.pre.columns_:
        if column.kind != "categorical" or column.name not in frame.columns:
            continue
        known = set(column.categories)
        labels = [v for v in labels_of(frame[column.name], column.fill) if v is not None]
        unseen = [v for v in labels if v not in known]
        if unseen:
            values = list(dict.fromkeys(unseen))
            listed = ", ".join(shown(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
            rows = f"{len(unseen)} row{'s' * (len(unseen) != 1)}"
            warn(f"column {column.name!r} has value(s) {listed} ({rows}) that {model.path.name} "
                 "did not see in training; they are coded as none of the known categories "
                 f"(known: {', '.join(column.categories[:10])}"
                 f"{', ...' if len(column.categories) > 10 else ''})")


def _check_missing(model: Model, frame: Any) -> None:
    """Missing inputs for a model trained without imputation: say how to fix it here (the
    model has no fill values, so ``--impute`` at prediction time could not help)."""
    if model.pre.impute is not None:
        return
    names = [c.name for c in model.pre.columns_ if c.name in frame.columns]
    counts = {n: int(frame[n].isna().sum()) for n in names}
    bad = [f"{n!r} ({c} row{'s' if c > 1 else ''})" for n, c in counts.items() if c]
    if bad:
        raise CommandError(f"missing values in column(s) {', '.join(bad)}; {model.path.name} "
                           "was trained without --impute, so fill in or remove those rows, "
                           "or train again with --impute median")


def probabilities(out: np.ndarray) -> np.ndarray:
    """Class probabilities from classifier outputs: softmax rows as they are, and for one
    logistic output ``p`` the pair ``(1 − p, p)``."""
    out = np.asarray(out, dtype=np.float64)
    if out.shape[1] == 1:
        return np.column_stack([1.0 - out[:, 0], out[:, 0]])
    return out


def predict_codes(model: Model, out: np.ndarray) -> np.ndarray:
    """Class indices (argmax of the probabilities), or regression values in target units.

    For one logistic output, argmax of ``(1 − p, p)`` is class 1 exactly when ``p > 0.5``
    (``1 − p`` is exact for ``p ≥ 0.5``), the rule of scikit-learn's MLPClassifier.
    """
    if model.task == "classification":
        return np.argmax(probabilities(out), axis=1)
    return model.pre.decode_target(out[:, 0])


def predictions(model: Model, frame: Any, proba: bool = False):
    """A DataFrame of predictions for ``frame``: one column named after the target, or
    (``proba``) one ``P(class)`` column per class."""
    import pandas as pd

    out = outputs(model, frame)
    target = model.pre.target
    if proba:
        if model.task != "classification":
            raise CommandError("--proba needs a classification model; this model does "
                               "regression (its predictions are numbers)")
        cols = [f"P({c})" for c in model.classes]
        return pd.DataFrame(probabilities(out), columns=cols, index=frame.index)
    codes = predict_codes(model, out)
    values = model.pre.decode_target(codes) if model.task == "classification" else codes
    return pd.DataFrame({target: values}, index=frame.index)


# --- one example of raw table values, for 'deltanet explain --model' --------------------------

def coded_example(model: Model, rows: list[list[str]], targets: list[str]
                  ) -> tuple[np.ndarray, np.ndarray, str]:
    """The network's inputs ``X`` and targets ``Y`` for raw table values, coded as the model
    codes a table, and the loss the model was trained with.

    ``rows`` hold one value per input column of the model, in its column order (numbers,
    or category texts); ``targets`` one class name or number per row.
    """
    import pandas as pd

    from ._fit import output_layer
    from ._fit import targets as network_targets

    model.require_table()
    pre = model.pre
    names = [c.name for c in pre.columns_]
    for k, row in enumerate(rows, start=1):
        if len(row) != len(names):
            which = "" if len(rows) == 1 else f" (example {k})"
            raise CommandError(f"--input has {len(row)} value{'s' * (len(row) != 1)}{which} but "
                               f"{model.path.name} takes the table columns {', '.join(names)}; "
                               "give one value for each, in that order (or pass --coded to "
                               "give the network's own inputs)")
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    X = pre.transform(frame)
    warn_unseen(model, frame)
    codes = pre.encode_target(pd.Series(targets, name=pre.target, dtype=object))
    n_classes = len(pre.classes_) if pre.classes_ else None
    _, _, loss = output_layer(pre.task_, n_classes)
    return X, network_targets(codes, pre.task_, n_classes), loss


# --- what the model was trained on: a fingerprint of the table and of the split ----------------

def fingerprint(frame: Any) -> str:
    """SHA-256 of a table's column names and cell values (row order included): the same
    file or dataset read again gives the same fingerprint, any changed cell another."""
    return Fingerprint(frame.columns).add(frame).text()


class Fingerprint:
    """:func:`fingerprint` of a table read in chunks (``add`` each, in order)."""

    def __init__(self, columns: Any) -> None:
        import hashlib
        import json

        self.digest = hashlib.sha256(json.dumps([str(c) for c in columns]).encode())

    def add(self, frame: Any) -> Fingerprint:
        """Hash each row of ``frame`` (one 64-bit value a row, the rows' bytes in order), the
        same however the table is cut into chunks: a piece of a column is typed by the
        values it happens to hold (whole numbers with a blank read as floats, a piece of
        blanks alone as floats), so numbers are hashed as float64 and a blank as a blank,
        whatever the piece's type."""
        rows = np.zeros(len(frame), dtype=np.uint64)
        for k in range(frame.shape[1]):
            rows = rows * np.uint64(_ROW_MULTIPLIER) ^ _column_hashes(frame.iloc[:, k])
        self.digest.update(rows.tobytes())
        return self

    def text(self) -> str:
        return "sha256:" + self.digest.hexdigest()


_ROW_MULTIPLIER = 0x100000001B3  # the FNV-1 prime: mixes the columns of a row in order
_BLANK = np.uint64(0x9E3779B97F4A7C15)  # the hash of a blank cell, of any column type


def _column_hashes(column: Any) -> np.ndarray:
    """One uint64 per cell of ``column`` (a pandas Series): numbers and flags by their
    float64 value (also inside a column of objects), other cells by pandas' hash of the
    object (their text for lists or records, which that cannot hash), blanks (None, NaN)
    as ``_BLANK``."""
    import pandas as pd

    values = column.to_numpy()
    blank = pd.isna(column).to_numpy()
    if values.dtype.kind in "biuf":
        hashed = pd.util.hash_array(values.astype(np.float64))
    else:
        cells = values.astype(object)
        try:
            hashed = pd.util.hash_array(cells)
        except TypeError:  # cells of lists or records (Parquet): hashed by their text
            hashed = pd.util.hash_array(np.array([str(v) for v in cells], dtype=object))
        if pd.api.types.infer_dtype(cells, skipna=True) not in _NO_NUMBERS:
            numbers = np.fromiter((isinstance(v, _NUMBERS) for v in cells), bool, len(cells))
            if numbers.any():  # flags or numbers among the blanks of an object column
                hashed[numbers] = pd.util.hash_array(cells[numbers].astype(np.float64))
    return np.where(blank, _BLANK, hashed).astype(np.uint64)


_NUMBERS = (int, float, np.number, np.bool_)  # bool is an int
_NO_NUMBERS = frozenset(("string", "bytes", "empty"))  # what pandas infers: no cell to look at


def rows_digest(rows: np.ndarray) -> str:
    """SHA-256 of row positions, to check that a split recomputed later is the same."""
    import hashlib

    return "sha256:" + hashlib.sha256(np.asarray(rows, dtype=np.int64).tobytes()).hexdigest()


def data_record(frame: Any, rows: dict[str, np.ndarray], split: dict[str, Any]) -> dict:
    """The ``"data"`` entry of a model file: the table's fingerprint and shape, and the
    split (its settings and a digest of each part's row positions)."""
    return {"fingerprint": fingerprint(frame), "n_rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "split": {**split, "digests": {k: rows_digest(v) for k, v in rows.items()}}}


def trained_on(model: Model, frame: Any) -> bool:
    """Whether ``frame`` is the table ``model`` was trained on (False for model files written
    before fingerprints were recorded)."""
    record = model.info.get("data")
    return isinstance(record, dict) and record.get("fingerprint") == fingerprint(frame)
