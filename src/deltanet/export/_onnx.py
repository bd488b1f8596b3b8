"""``to_onnx``: a network, a fitted estimator or a table model as one checked ONNX model.

The graph is built with the ``onnx`` package's helpers (ONNX and ONNX-ML operators) and
checked with ``onnx.checker``; onnxruntime runs it. What each kind of object becomes:

========================  ==========================================  =======================
object                    inputs                                      outputs
========================  ==========================================  =======================
``Network``               ``X`` (n, p), the network's dtype           ``Y`` (n, K): ``h(x)``
fitted ``MLPClassifier``  ``X`` (n, p)                                ``label``, ``probabilities``
fitted ``MLPRegressor``   ``X`` (n, p)                                ``prediction``
table model (``deltanet   one input per column, named as it:          ``label`` and
train``)                  numbers float64 (NaN missing), categories   ``probabilities``, or
                          text (``""`` missing)                       ``prediction``
========================  ==========================================  =======================

``label`` and ``probabilities`` are what ``predict`` and ``predict_proba`` (command line:
``deltanet predict`` and ``--proba``) give; :func:`onnx_inputs` turns a table's raw rows
into the inputs of a table model's graph.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import fail
from ..network import Network
from . import _table
from ._graph import Graph, elem
from ._network import network_nodes

OUTPUTS = ("label", "probabilities", "prediction")


def to_onnx(obj: Any, path: str | Path | None = None, *, preprocessing: Any = None):
    """Export ``obj`` to ONNX; return the ``onnx.ModelProto`` (and write it to ``path``).

    Parameters
    ----------
    obj : Network, fitted deltanet MLPClassifier / MLPRegressor, or a model file path
        A model file written by ``deltanet train`` carries its preprocessing, which goes
        into the graph, so the graph takes the raw columns.
    path : str or Path, optional
        Write the model there (atomically).
    preprocessing : deltanet.data.TablePreprocessor, optional
        The fitted preprocessing of a ``Network`` trained on a table.

    Examples
    --------
    >>> import deltanet as dn
    >>> net = dn.Network.layered([2, 3, 1], random_state=0)
    >>> model = dn.to_onnx(net)                          # doctest: +SKIP
    >>> import onnxruntime as ort                        # doctest: +SKIP
    >>> ort.InferenceSession(model.SerializeToString()).run(None, {"X": X})  # doctest: +SKIP
    """
    if isinstance(obj, (str, Path)):
        obj, preprocessing = _read_model_file(obj)
    if isinstance(obj, Network):
        model = _table_model(obj, preprocessing) if preprocessing is not None else \
            _network_model(obj)
    elif isinstance(getattr(obj, "__dict__", {}).get("network_"), Network):
        model = _estimator_model(obj)
    else:
        fail("to_onnx exports a Network, a fitted deltanet MLPClassifier or MLPRegressor, or "
             "a model file", type(obj).__name__,
             "pass one of those (a scikit-learn or PyTorch model: convert it first with "
             "dn.from_sklearn or dn.from_torch)", TypeError)
    if path is not None:
        from ..io import atomic_write

        atomic_write(Path(path), model.SerializeToString())
    return model


def _read_model_file(path: str | Path) -> tuple[Network, Any]:
    from ..data.tables import TablePreprocessor
    from ..io import read_model

    net, metadata = read_model(path)
    cli = metadata.get("cli")
    record = cli.get("preprocessing") if isinstance(cli, dict) else None
    return net, None if record is None else TablePreprocessor.from_dict(record)


def _network_model(net: Network):
    g = Graph({"X", "Y"})
    x = g.add_input("X", net.dtype, ["n", net.n_inputs])
    g.add_output(network_nodes(g, net, x), "Y", net.dtype, ["n", net.n_outputs])
    return g.model("deltanet_network", "deltanet Network: Y = h(X)",
                   {"outputs": json.dumps(list(net.outputs))})


def _estimator_model(est: Any):
    net = est.network_
    g = Graph({"X", *OUTPUTS})
    h = network_nodes(g, net, g.add_input("X", net.dtype, ["n", net.n_inputs]))
    kind = type(est).__name__
    if not hasattr(est, "classes_"):  # a regressor: predict's shape
        if net.n_outputs == 1:
            h = g.op("Squeeze", h, g.const(np.array([1], np.int64), "axis"))
        g.add_output(h, "prediction", net.dtype, ["n"] if net.n_outputs == 1 else
                     ["n", net.n_outputs])
        return g.model(f"deltanet_{kind}", f"deltanet {kind}")
    classes = np.asarray(est.classes_)
    multilabel = getattr(getattr(est, "_label_binarizer", None), "y_type_", "").startswith(
        "multilabel")
    if multilabel:  # one logistic output per label: a label is on where p > 1/2
        on = g.op("Greater", h, g.const(np.array(0.5, net.dtype), "half"))
        g.add_output(g.op("Cast", on, to=elem(np.int64)), "label", np.int64,
                     ["n", net.n_outputs])
        g.add_output(h, "probabilities", net.dtype, ["n", net.n_outputs])
        return g.model(f"deltanet_{kind}", f"deltanet {kind} (multilabel)")
    proba = _table.probabilities(g, h, np.dtype(net.dtype), net.n_outputs)
    if len(classes) <= 2:  # predict: class 1 where P(class 1) > 1/2
        p1 = g.op("Gather", proba, g.const(np.array(1, np.int64), "one"), axis=1)
        index = g.op("Cast", g.op("Greater", p1, g.const(np.array(0.5, net.dtype), "half")),
                     to=elem(np.int64))
    else:
        index = g.op("ArgMax", proba, axis=1, keepdims=0, select_last_index=0)
    values = classes.astype(str) if classes.dtype.kind in "UOS" else classes
    label = g.op("Gather", g.const(values, "classes"), index)
    g.add_output(label, "label", values.dtype, ["n"])
    g.add_output(proba, "probabilities", net.dtype, ["n", len(classes)])
    return g.model(f"deltanet_{kind}", f"deltanet {kind}")


def _table_model(net: Network, pre: Any):
    pre._check_fitted()
    columns = [c.name for c in pre.columns_]
    if len(pre.feature_names_out) != net.n_inputs:
        fail(f"the preprocessing gives {len(pre.feature_names_out)} inputs but the network "
             f"has {net.n_inputs}", pre, "pass the preprocessing the network was trained with")
    names = {}
    for name in OUTPUTS:  # an output is named after its role, unless a column has that name
        names[name] = name
        while names[name] in columns:
            names[name] = "output_" + names[name]
    g = Graph({*columns, *names.values()})
    x = _table.raw_inputs(g, pre)
    if np.dtype(net.dtype) != np.float64:
        x = g.op("Cast", x, to=elem(net.dtype), hint="X")
    h = network_nodes(g, net, x)
    _table.add_outputs(g, pre, h, net.n_outputs, names)
    inputs = {c.name: ("number" if c.kind == "numeric" else "text") for c in pre.columns_}
    return g.model("deltanet_table_model",
                   f"deltanet table model: {pre.task_} of {pre.target!r} from raw columns",
                   {"target": pre.target, "task": pre.task_, "inputs": json.dumps(inputs),
                    "classes": json.dumps(pre.classes_)})


def onnx_inputs(frame: Any, model: Any) -> dict[str, np.ndarray]:
    """The inputs of a table model's graph for the raw rows of ``frame`` (a DataFrame).

    ``model`` is the ``onnx.ModelProto`` or an onnxruntime ``InferenceSession``. Numeric
    columns become float64 (NaN where missing), categorical columns text as deltanet reads
    categories (``3`` for 3.0, ``True``), with ``""`` where missing.
    """
    from ..data.columns import label_of, parse_numbers

    kinds = _input_kinds(model)
    absent = [name for name in kinds if name not in frame.columns]
    if absent:
        fail(f"column(s) {', '.join(map(repr, absent))} missing from the table", list(
            frame.columns)[:20], f"pass a table with the columns {', '.join(kinds)}")
    feed = {}
    for name, is_text in kinds.items():
        series = frame[name]
        if is_text:
            gone = series.isna().to_numpy()
            feed[name] = np.array(["" if m else label_of(v)
                                   for v, m in zip(series.astype(object), gone, strict=True)],
                                  dtype=object)
        else:
            feed[name] = parse_numbers(series)
    return feed


def _input_kinds(model: Any) -> dict[str, bool]:
    """Graph input name -> whether it takes text."""
    if hasattr(model, "get_inputs"):  # an onnxruntime session
        return {i.name: i.type == "tensor(string)" for i in model.get_inputs()}
    from onnx import TensorProto

    return {i.name: i.type.tensor_type.elem_type == TensorProto.STRING
            for i in model.graph.input}
