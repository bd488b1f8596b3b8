"""The preprocessing of a table model as ONNX nodes, so the graph takes the raw columns.

What :class:`deltanet.data.TablePreprocessor` does in ``transform``, step for step:

- one graph input per column, named as the column: numbers as float64 ``[n]`` (NaN =
  missing), categories as text ``[n]`` (``""`` = missing);
- imputation with the training statistic (``Where(IsNaN(x), fill, x)``; ``""`` → the most
  frequent category);
- min-max scaling ``lo + (x/2 − min/2) / ((max − min)/2) · (hi − lo)`` (a constant column
  maps to ``(lo + hi)/2``) or standardisation ``(x − mean) / std``, in float64;
- one-hot coding with ONNX-ML's ``OneHotEncoder`` (``zeros=1``: a category not seen in
  training is a row of zeros, "none of the known categories");
- the columns in the model's order, cast to the network's dtype.

And what ``deltanet predict`` does with the outputs: class probabilities (one logistic
output ``p`` gives ``(1 − p, p)``), the label as the class name of their argmax (ONNX-ML's
``LabelEncoder``), or for regression the number in the target's units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._graph import ML, Graph, elem

F64 = np.dtype(np.float64)


def raw_inputs(g: Graph, pre: Any) -> str:
    """Graph inputs for the raw columns and the nodes coding them; returns ``X`` (n, p),
    float64."""
    parts, numeric_k = [], 0
    for column in pre.columns_:
        if column.kind == "numeric":
            x = g.add_input(column.name, F64, ["n"])
            parts.append(_numeric(g, pre, column, x, numeric_k))
            numeric_k += 1
        else:
            x = g.add_input(column.name, str, ["n"])
            parts.append(_categorical(g, column, x))
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1, hint="X")


def _numeric(g: Graph, pre: Any, column: Any, x: str, k: int) -> str:
    # on the column (n,) first, then made (n, 1): onnxruntime's optimizer would fold a Mul
    # or Div by one constant right before a MatMul into it, at float32 precision
    column_2d = g.const(np.array([1], np.int64), "axis")
    return g.op("Unsqueeze", _scaled(g, pre, column, x, k), column_2d, hint=column.name)


def _scaled(g: Graph, pre: Any, column: Any, x: str, k: int) -> str:
    if column.fill is not None:
        x = g.op("Where", g.op("IsNaN", x), g.const(np.array(column.fill, F64), "fill"), x)
    scaler = pre.scaler_
    if scaler is None:
        return x
    if hasattr(scaler, "data_min_"):  # MinMaxScaler.transform, operation for operation
        lo, hi = scaler.feature_range
        half_min, half_span = scaler._halves()
        if half_span[k] == 0:  # a constant column maps to the middle of the range
            mid = g.const(np.array((lo + hi) / 2, F64), "mid")
            return g.op("Add", g.op("Mul", x, g.const(np.array(0.0), "zero")), mid)
        t = g.op("Sub", g.op("Div", x, g.const(np.array(2.0), "two")),
                 g.const(np.array(half_min[k]), "half_min"))
        t = g.op("Mul", g.op("Div", t, g.const(np.array(half_span[k]), "half_span")),
                 g.const(np.array(hi - lo, F64), "width"))
        return g.op("Add", g.const(np.array(lo, F64), "lo"), t, hint="scaled")
    return g.op("Div", g.op("Sub", x, g.const(np.array(scaler.mean_[k]), "mean")),
                g.const(np.array(scaler.scale_[k]), "std"), hint="scaled")


def _categorical(g: Graph, column: Any, x: str) -> str:
    if column.fill is not None:
        missing = g.op("Equal", x, g.const(np.array(""), "empty"))
        x = g.op("Where", missing, g.const(np.array(column.fill), "fill"), x)
    x = g.op("Unsqueeze", x, g.const(np.array([1], np.int64), "axis"))
    hot = g.op("OneHotEncoder", x, domain=ML, cats_strings=list(column.categories), zeros=1,
               hint="one_hot")  # (n, 1, C) float32 of 0 and 1
    flat = g.op("Reshape", hot, g.const(np.array([-1, len(column.categories)], np.int64),
                                        "shape"))
    return g.op("Cast", flat, to=elem(F64), hint=column.name)


def add_outputs(g: Graph, pre: Any, h: str, n_outputs: int, names: dict[str, str]) -> None:
    """The outputs of ``deltanet predict``: label and probabilities, or the prediction."""
    h = g.op("Cast", h, to=elem(F64), hint="h64")
    if pre.task_ == "regression":
        y = g.op("Squeeze", h, g.const(np.array([1], np.int64), "axis"))
        if pre.target_scaler_ is not None:  # StandardScaler.inverse_transform
            y = g.op("Add", g.op("Mul", y, g.const(np.array(pre.target_scaler_.scale_[0]),
                                                   "scale")),
                     g.const(np.array(pre.target_scaler_.mean_[0]), "mean"))
        g.add_output(y, names["prediction"], F64, ["n"])
        return
    proba = probabilities(g, h, F64, n_outputs)
    index = g.op("ArgMax", proba, axis=1, keepdims=0, select_last_index=0)
    label = g.op("LabelEncoder", index, domain=ML, keys_int64s=list(range(len(pre.classes_))),
                 values_strings=list(pre.classes_), default_string="")
    g.add_output(label, names["label"], str, ["n"])
    g.add_output(proba, names["probabilities"], F64, ["n", len(pre.classes_)])


def probabilities(g: Graph, h: str, dtype: np.dtype, n_outputs: int) -> str:
    """Class probabilities from the outputs ``h``: softmax rows as they are; one logistic
    output ``p`` gives ``(1 − p, p)``."""
    if n_outputs > 1:
        return h
    one = g.const(np.ones((1, 1), dtype), "one")
    return g.op("Concat", g.op("Sub", one, h), h, axis=1, hint="probabilities")
