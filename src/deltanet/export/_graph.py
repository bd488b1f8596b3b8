"""A small builder of ONNX graphs over the ``onnx`` package's own helpers.

Every node is made with ``onnx.helper.make_node`` and every constant with
``onnx.numpy_helper.from_array``; the builder only hands out fresh names (never one of the
graph's input or output names) and collects nodes, constants, inputs and outputs.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np

from .._validation import fail

#: operator sets: ai.onnx 19 (Equal and Where on strings), ai.onnx.ml 3
OPSET, ML_OPSET, IR_VERSION = 19, 3, 9
ML = "ai.onnx.ml"


def require_onnx() -> Any:
    """The ``onnx`` module, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package, which is not installed; "
                          "install it with: pip install 'deltanet[onnx]' (onnx and "
                          "onnxruntime)") from None
    return onnx


class Graph:
    """Nodes, constants, inputs and outputs of one ONNX graph under construction."""

    def __init__(self, reserved: set[str] = frozenset()) -> None:
        self.onnx = require_onnx()
        self.nodes: list = []
        self.constants: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._reserved = set(reserved)
        self._count = 0

    def name(self, hint: str) -> str:
        """A name used nowhere else in the graph, e.g. ``in_1__7``."""
        while True:
            self._count += 1
            name = f"{hint}__{self._count}"
            if name not in self._reserved:
                self._reserved.add(name)
                return name

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        """A constant tensor (an initializer); returns its name."""
        arr = np.asarray(value, dtype=dtype)
        if arr.dtype.kind in "UO":  # text constants are stored as UTF-8 strings
            arr = arr.astype(object)
        name = self.name(hint)
        self.constants.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, domain: str = "",
           **attrs: Any) -> str:
        """Add one node with one output; returns the output's name."""
        out = self.name(hint or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out],
                                                     domain=domain, **attrs))
        return out

    def add_input(self, name: str, dtype: Any, shape: list) -> str:
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, elem(dtype), shape))
        return name

    def add_output(self, source: str, name: str, dtype: Any, shape: list) -> None:
        """Expose ``source`` as the graph output ``name`` (through an Identity node)."""
        self.nodes.append(self.onnx.helper.make_node("Identity", [source], [name]))
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, elem(dtype), shape))

    def model(self, graph_name: str, doc: str = "", metadata: dict[str, str] | None = None):
        """The checked ``ModelProto`` (``onnx.checker.check_model`` with full checks)."""
        onnx = self.onnx
        graph = onnx.helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs,
                                       initializer=self.constants)
        imports = [onnx.helper.make_opsetid("", OPSET), onnx.helper.make_opsetid(ML, ML_OPSET)]
        model = onnx.helper.make_model(graph, opset_imports=imports, producer_name="deltanet",
                                       doc_string=doc)
        model.ir_version = IR_VERSION
        model.producer_version = version("deltanet")
        onnx.helper.set_model_props(model, dict(metadata or {}))
        onnx.checker.check_model(model, full_check=True)
        return model


def elem(dtype: Any) -> int:
    """The ONNX element type of a NumPy dtype (or ``str`` for text)."""
    from onnx import TensorProto

    if dtype is str:
        return TensorProto.STRING
    kinds = {np.dtype(np.float64): TensorProto.DOUBLE, np.dtype(np.float32): TensorProto.FLOAT,
             np.dtype(np.int64): TensorProto.INT64, np.dtype(np.bool_): TensorProto.BOOL}
    dt = np.dtype(dtype)
    if dt.kind in "UO":
        return TensorProto.STRING
    if dt not in kinds:
        fail("this type has no ONNX export", str(dt), "use float32, float64, int64, bool or "
             "text")
    return kinds[dt]

