"""The model the page downloads: the session's network as a deltanet model file.

When the network's inputs are the raw coordinates (features ``x1`` and/or ``x2``), the file
is a table model like those ``deltanet train`` writes: it carries the table preprocessing
(for an uploaded CSV, its column names and the scaling onto ``[-6, 6]``; for a generated
set, columns ``x1, x2`` as they are and a ``label`` target), so ``deltanet predict`` and
``deltanet evaluate`` work on a CSV with those columns. Features such as ``x1^2`` or
``sin(x1)`` are no table preprocessing; with them the file holds the network alone, with
the features listed in its metadata.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .. import io as model_io
from ..data.tables import FORMAT_VERSION, TablePreprocessor
from .sessions import Session

RAW = ("x1", "x2")


def model_bytes(session: Session) -> bytes:
    """The session's network as the bytes of a model file (see the module docstring)."""
    from ..cli import model_file

    metadata = {"source": "deltanet playground", "epoch": session.epoch,
                "features": list(session.config.features), "loss": session.loss_name,
                "config": session.config.to_json()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.deltanet"
        pre = preprocessing(session)
        if pre is None:
            metadata["inputs"] = "features of (x1, x2) in [-6, 6], in the order of 'features'"
            model_io.save(session.net, path, metadata)
        else:
            model_file.write(path, session.net, pre, {"source": "deltanet playground",
                                                      "playground": metadata})
        return path.read_bytes()


def preprocessing(session: Session) -> TablePreprocessor | None:
    """The table preprocessing of the session's inputs, or None for derived features."""
    features = session.config.features
    if not set(features) <= set(RAW):
        return None
    keep = [RAW.index(name) for name in features]
    if session.upload is not None and session.config.dataset == "upload":
        record = session.upload.preprocessing.to_dict()
        record["columns"] = [record["columns"][k] for k in keep]
        scaler = record["scaler"]
        for key in ("data_min", "data_max"):
            scaler[key] = [scaler[key][k] for k in keep]
        return TablePreprocessor.from_dict(record)
    return TablePreprocessor.from_dict(_generated(session, [RAW[k] for k in keep]))


def _generated(session: Session, columns: list[str]) -> dict[str, Any]:
    """A generated set's preprocessing: coordinates as they are, labels 0..K-1 or values."""
    task = session.config.task
    classes = ([str(k) for k in range(max(session.config.n_classes, 2))]
               if task == "classification" else None)
    return {"type": "TablePreprocessor", "version": FORMAT_VERSION,
            "target": "label", "task": task,
            "scale": "none", "impute": None, "feature_range": [-1.0, 1.0], "max_classes": 8,
            "scale_target": False,
            "columns": [{"name": c, "kind": "numeric", "categories": None, "fill": None}
                        for c in columns],
            "scaler": None, "classes": classes, "target_scaler": None}
