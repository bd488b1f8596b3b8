"""What the page draws, computed from a session: the network, heatmaps, points and losses.

Neurons and arcs are named by lecture numbers (neuron 0 = the bias unit, ``1..p`` the
input features, then the processing neurons layer by layer). Heatmaps sample the square
``[-6, 6]²`` on a grid of cell centres, first row at the top (``x2 = 6``); each is sent as
bytes ``0..255`` over its range ``[lo, hi]`` (base64), which keeps a whole state small.
"""

from __future__ import annotations

import base64

import numpy as np

from ..propagation import forward
from .datasets import DOMAIN
from .sessions import Session

NEURON_GRID = 24
OUTPUT_GRID = 60
MAX_HISTORY_POINTS = 400


def grid(size: int) -> np.ndarray:
    """Cell centres of a ``size x size`` grid over ``[-6, 6]²``, row-major from the top."""
    centres = (np.arange(size) + 0.5) / size * 2 * DOMAIN - DOMAIN
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def encode(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> dict:
    """Quantise values to bytes over ``[lo, hi]`` (their own range unless given)."""
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=1e300,
                           neginf=-1e300)
    lo = float(values.min()) if lo is None else lo
    hi = float(values.max()) if hi is None else hi
    span = hi - lo if hi > lo else 1.0
    q = np.clip(np.rint((values - lo) / span * 255.0), 0, 255).astype(np.uint8)
    return {"lo": lo, "hi": hi, "data": base64.b64encode(q.tobytes()).decode("ascii")}


def layout(session: Session) -> list[list[dict]]:
    """Columns of neurons: the input features, each hidden layer, the output layer."""
    net = session.net
    columns = [[{"id": k + 1, "label": name, "kind": "input"}
                for k, name in enumerate(session.config.features)]]
    for g in net.plan.groups:
        kind = "output" if g.is_output else "hidden"
        columns.append([{"id": int(j), "label": str(int(j)), "kind": kind,
                         "activation": g.activation.name} for j in g.neurons])
    return columns


def _forward(session: Session, size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    # Inference mode: batch normalisation uses its running statistics, no dropout.
    net = session.net
    X = session.inputs(grid(size))
    cache = forward(net.plan, net.params, X, training=False, bn_state=net.bn_state)
    return X, cache.a


def neuron_maps(session: Session, size: int) -> dict[str, dict]:
    """Heatmaps of every neuron's output ``a_j`` (inputs: their feature) on a grid."""
    X, a = _forward(session, size)
    maps = {str(k + 1): encode(X[:, k]) for k in range(session.net.n_inputs)}
    for g in session.net.plan.groups:
        fixed = (0.0, 1.0) if g.activation.name in ("logistic", "softmax") else (None, None)
        for pos, j in enumerate(g.neurons):
            maps[str(int(j))] = encode(a[g.layer][:, pos], *fixed)
    return maps


def output_maps(session: Session, size: int) -> list[dict]:
    """Heatmaps of the network outputs, in output order (probabilities for classification)."""
    _, a = _forward(session, size)
    fixed = (0.0, 1.0) if session.config.task == "classification" else (None, None)
    out = []
    for g in session.net.plan.groups:
        if g.is_output:
            out.extend(encode(a[g.layer][:, pos], *fixed) for pos in range(g.size))
    return out


def history(session: Session) -> list[list[float | None]]:
    """``[epoch, train loss, test loss]`` rows, thinned to at most a few hundred."""
    rows = session.history
    if len(rows) > MAX_HISTORY_POINTS:
        pick = np.unique(np.linspace(0, len(rows) - 1, MAX_HISTORY_POINTS).astype(int))
        rows = [rows[k] for k in pick]
    return [[e, _finite(tr), _finite(te)] for e, tr, te in rows]


def points(session: Session) -> dict[str, list]:
    """Training and test points as ``[x1, x2, label]`` rows."""
    def rows(X: np.ndarray, y: np.ndarray) -> list:
        labels = y.astype(int).tolist() if session.config.task == "classification" else \
            np.round(y, 4).tolist()
        return [[round(float(a), 4), round(float(b), 4), lab]
                for (a, b), lab in zip(X, labels, strict=True)]
    return {"train": rows(session.X_train, session.y_train),
            "test": rows(session.X_test, session.y_test)}


def state(session: Session, data_version: int | None = None) -> dict:
    """Everything the page shows; the points only when the page's ``data_version`` is old."""
    net = session.net
    last = session.history[-1]
    out = {
        "session": session.id,
        "epoch": session.epoch,
        "config": session.config.to_json(),
        "loss_name": session.loss_name,
        "loss": {"train": _finite(last[1]), "test": _finite(last[2])},
        "history": history(session),
        "network": {"columns": layout(session),
                    "edges": [[i, j, w] for (i, j), w in net.weights.items()],
                    "batch_norm": session.config.batch_norm},
        "heatmaps": {"size": NEURON_GRID, "neurons": neuron_maps(session, NEURON_GRID)},
        "output": {"size": OUTPUT_GRID, "maps": output_maps(session, OUTPUT_GRID)},
        "data_version": session.data_version,
        "classes": class_names(session),
    }
    if data_version != session.data_version:
        out["points"] = points(session)
    return out


def class_names(session: Session) -> list[str] | None:
    """The names of an uploaded CSV's classes (its labels, as text), else None."""
    if session.config.dataset != "upload" or session.upload is None:
        return None
    return session.upload.preprocessing.classes_


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
