"""A ``Network`` as ONNX nodes: FORWARDPROPAGATE over the compiled groups, in inference mode.

Per group ``g`` (DESIGN.md, the compiled view)::

    in_g = b_g + Σ_blocks out_src @ (W ⊙ M)      MatMul, Add
    a_g  = g(in_g)                                the activation's ONNX form (ACTIVATIONS)
    out_g = γ (a_g − μ) / √(σ² + ε) + β           batch norm, running statistics: an
                                                  affine map folded into the next weights

Dropout is off at prediction, so it adds nothing. The outputs ``h(x)`` are the output
groups' ``a_g`` put in the order of ``net.outputs``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._validation import fail
from ..activations import LEAK
from ..propagation import BN_EPS
from ._graph import Graph, elem


def _threshold(g: Graph, in_: str, dtype: np.dtype) -> str:
    # g(in) = 1 if in >= 0 else 0
    zero = g.const(np.zeros((), dtype), "zero")
    return g.op("Cast", g.op("GreaterOrEqual", in_, zero), to=elem(dtype), hint="a")


def _softplus(g: Graph, in_: str, dtype: np.dtype) -> str:
    # log(1 + e^{in}) = max(in, 0) + log(1 + e^{−|in|}): stable for large |in|, and made of
    # operators that onnxruntime runs in float64 too (its Softplus is float32 only)
    one = g.const(np.ones((), dtype), "one")
    tail = g.op("Log", g.op("Add", one, g.op("Exp", g.op("Neg", g.op("Abs", in_)))))
    return g.op("Add", g.op("Relu", in_), tail, hint="a")


def _leaky_relu(g: Graph, in_: str, dtype: np.dtype) -> str:
    # in if in > 0 else 0.01 in (onnxruntime's LeakyRelu is float32 only)
    zero, leak = g.const(np.zeros((), dtype), "zero"), g.const(np.array(LEAK, dtype), "leak")
    return g.op("Where", g.op("Greater", in_, zero), in_, g.op("Mul", in_, leak), hint="a")


def _elu(g: Graph, in_: str, dtype: np.dtype) -> str:
    # in if in > 0 else e^{in} − 1 (α = 1; onnxruntime's Elu is float32 only)
    zero, one = g.const(np.zeros((), dtype), "zero"), g.const(np.ones((), dtype), "one")
    tail = g.op("Sub", g.op("Exp", g.op("Min", in_, zero)), one)
    return g.op("Where", g.op("Greater", in_, zero), in_, tail, hint="a")


#: terms of erf's series below: enough for |z| <= 6, beyond which erf(z) = ±1 in float64
ERF_TERMS = 150


def _erf64(g: Graph, z: str, dtype: np.dtype) -> str:
    # onnxruntime's Erf is float32 only. In float64, the series with positive terms
    #   erf(z) = 2/√π e^{−z²} Σ_n 2^n z^{2n+1} / (2n+1)!!
    # (|z| clipped at 6), its terms as exp(n log(2z²) − log (2n+1)!!), summed over a last
    # axis of ERF_TERMS terms: within 2e-14 of scipy.special.erf
    n = np.arange(ERF_TERMS)
    log_dfact = np.array([math.lgamma(2 * k + 2) - k * math.log(2) - math.lgamma(k + 1)
                          for k in n.tolist()])
    c = {k: g.const(np.array(v, dtype), k) for k, v in
         (("six", 6.0), ("tiny", 1e-300), ("log2", math.log(2)), ("two_sqrt_pi",
          2 / math.sqrt(math.pi)))}
    az = g.op("Min", g.op("Abs", z), c["six"])
    z2 = g.op("Mul", az, az)
    log_t = g.op("Add", g.op("Log", g.op("Max", z2, c["tiny"])), c["log2"])
    last = g.const(np.array([-1], np.int64), "last")
    terms = g.op("Exp", g.op("Sub", g.op("Mul", g.op("Unsqueeze", log_t, last),
                                         g.const(n.astype(dtype), "n")),
                             g.const(log_dfact.astype(dtype), "log_dfact")))
    series = g.op("ReduceSum", terms, last, keepdims=0)
    scale = g.op("Mul", g.op("Mul", c["two_sqrt_pi"], g.op("Exp", g.op("Neg", z2))), az)
    return g.op("Mul", g.op("Sign", z), g.op("Mul", scale, series))


def _gelu(g: Graph, in_: str, dtype: np.dtype) -> str:
    # in Φ(in) = ½ in (1 + erf(in/√2)), the exact form
    z = g.op("Mul", in_, g.const(np.array(1 / math.sqrt(2), dtype), "inv_sqrt2"))
    erf = g.op("Erf", z) if dtype == np.float32 else _erf64(g, z, dtype)
    one, half = g.const(np.ones((), dtype), "one"), g.const(np.array(0.5, dtype), "half")
    return g.op("Mul", g.op("Mul", half, in_), g.op("Add", one, erf), hint="a")


def _unary(op_type: str, **attrs) -> Callable[[Graph, str, np.dtype], str]:
    def build(g: Graph, in_: str, dtype: np.dtype) -> str:
        return g.op(op_type, in_, hint="a", **attrs)

    return build


#: activation name -> ONNX form of ``a = g(in)``; one line per activation of activations.py
ACTIVATIONS: dict[str, Callable[[Graph, str, np.dtype], str]] = {
    "threshold": _threshold,
    "identity": _unary("Identity"),
    "logistic": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "relu": _unary("Relu"),
    "softplus": _softplus,
    "exp": _unary("Exp"),
    "softmax": _unary("Softmax", axis=-1),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "gelu": _gelu,
}


def activation(g: Graph, name: str, in_: str, dtype: np.dtype) -> str:
    """``a = g(in)`` for the activation ``name``; an activation without an ONNX form is a
    ValueError naming those that have one."""
    build = ACTIVATIONS.get(name)
    if build is None:
        fail(f"activation {name!r} has no ONNX form", name,
             f"use one of {', '.join(ACTIVATIONS)} in a network to export")
    return build(g, in_, dtype)


def network_nodes(g: Graph, net, x: str) -> str:
    """Nodes computing the outputs ``h(x)`` (n, K) of ``net`` from ``x`` (n, p) in the
    network's dtype; returns the name of the outputs."""
    plan, params, dtype = net.plan, net.params, np.dtype(net.dtype)
    a_of = {0: x}
    affine = {}  # layer -> (s, t): batch norm's out = a · s + t
    finals: list[tuple[str, np.ndarray]] = []
    for grp, cols in zip(plan.groups, _out_cols(plan), strict=True):
        bias = plan.bias(params, grp).copy()
        products = []
        for blk in plan.blocks_in[grp.layer - 1]:
            W = plan.W(params, blk)
            W = W * blk.mask if blk.mask is not None else W.copy()
            if blk.src in affine:  # (a s + t) @ W = a @ (s W) + t @ W
                s, t = affine[blk.src]
                bias = bias + t @ W
                W = s[:, None] * W
            w = g.const(W.astype(dtype), f"W_{blk.src}_{blk.dst}")
            products.append(g.op("MatMul", a_of[blk.src], w))
        in_ = g.const(bias.astype(dtype), f"b_{grp.layer}")
        for product in products:
            in_ = g.op("Add", in_, product, hint=f"in_{grp.layer}")
        a_of[grp.layer] = activation(g, grp.activation.name, in_, dtype)
        if grp.batch_norm:
            affine[grp.layer] = _batch_norm(net, grp)
        if cols is not None:
            finals.append((a_of[grp.layer], cols))
    return _in_output_order(g, finals, len(plan.outputs))


def _out_cols(plan) -> list:
    cols = iter(plan.out_cols)
    return [next(cols) if grp.is_output else None for grp in plan.groups]


def _batch_norm(net, grp) -> tuple[np.ndarray, np.ndarray]:
    """Batch norm with the running μ, σ², ``â = γ (a − μ) / √(σ² + ε) + β``, as one affine
    map ``a s + t`` (``s = γ / √(σ² + ε)``, ``t = β − μ s``), folded into the weights of the
    blocks it feeds: onnxruntime's optimizer would fold a constant Mul of one neuron into
    the next MatMul as a float32 factor."""
    gamma, beta = net.plan.gamma_beta(net.params, grp)
    mu, var = net.bn_state[grp.layer]
    s = gamma / np.sqrt(var + BN_EPS)
    return s, beta - mu * s


def _in_output_order(g: Graph, finals: list[tuple[str, np.ndarray]], n_out: int) -> str:
    """Concatenate the output groups and reorder the columns as ``net.outputs``."""
    if len(finals) == 1 and np.array_equal(finals[0][1], np.arange(n_out)):
        return finals[0][0]
    joined = g.op("Concat", *(a for a, _ in finals), axis=1, hint="outputs")
    where = np.concatenate([cols for _, cols in finals])  # column of the joined -> output k
    order = np.empty(n_out, dtype=np.int64)
    order[where] = np.arange(n_out)
    return g.op("Gather", joined, g.const(order, "order"), axis=1, hint="h")
