"""The backward view: BACKPROPAGATE on one point, in lecture notation.

For a point ``x`` with label ``y`` the page shows ``Δ_j`` on every processing neuron and
``∂J/∂w_ij = Δ_j a_i`` on every arc, straight from ``net.backprop`` (inference mode: batch
normalisation uses its running statistics, no dropout), and the derivation of that step as
Markdown: from ``deltanet.explain`` when it covers the network and its settings, else
written out here from the trace. Both include the session's weight decay or L1 term in the
update (bias arcs are not decayed, as in training).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..propagation import BN_EPS, Trace
from .sessions import Session, SessionError

log = logging.getLogger("deltanet.playground")


def backward_view(session: Session, x: list[float], y: float) -> dict[str, Any]:
    """Every ``in_j``, ``a_j``, ``Δ_j`` and ``Δ_j a_i`` for the point ``x`` with label ``y``."""
    inputs = session.inputs(np.array([x], dtype=float))[0]
    target = session.targets(np.array([y]))[0]
    net = session.net
    trace = net.backprop(inputs, target, loss=session.loss_name)
    neurons = {str(j): {"a": trace.a[j]} for j in range(1, net.n_inputs + 1)}
    for g in net.plan.groups:
        for j in g.neurons.tolist():
            neurons[str(j)] = {"in": trace.in_[j], "a": trace.a[j], "delta": trace.delta[j]}
    edges = [{"i": i, "j": j, "w": w, "a_i": _source(trace, i), "delta_j": trace.delta[j],
              "grad": trace.grad[i, j]} for (i, j), w in net.weights.items()]
    return {"x": list(map(float, x)), "y": y, "inputs": inputs.tolist(),
            "target": target.tolist(), "outputs": np.atleast_1d(trace.outputs).tolist(),
            "loss": trace.loss, "loss_name": session.loss_name, "neurons": neurons,
            "edges": edges, "markdown": explain_markdown(session, inputs, target, trace)}


def check_point(session: Session, body: dict) -> tuple[list[float], float]:
    """Validate ``{"x": [x1, x2], "y": label}`` for the backward view."""
    x, y = body.get("x"), body.get("y")
    if (not isinstance(x, list) or len(x) != 2
            or not all(_is_number(v) and abs(v) <= 100 for v in x)):
        raise SessionError(422, f"x must be a list of two numbers in [-100, 100] (got {x!r:.60});"
                                " send the point's coordinates, e.g. [1.5, -2]")
    if session.config.task == "classification":
        k = max(session.config.n_classes, 2)
        if not _is_number(y) or int(y) != y or not 0 <= y < k:
            raise SessionError(422, f"y must be a class index 0..{k - 1} (got {y!r:.40}); "
                                    "send the point's label")
        return [float(v) for v in x], int(y)
    if not _is_number(y) or abs(y) > 1e6:
        raise SessionError(422, f"y must be a number in [-1e6, 1e6] (got {y!r:.40}); "
                                "send the point's target value")
    return [float(v) for v in x], float(y)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def explain_markdown(session: Session, inputs: np.ndarray, target: np.ndarray,
                     trace: Trace) -> str:
    """The derivation of this step: ``deltanet.explain`` if it covers it, else from the trace."""
    from ..explain import explain

    penalty = session.penalty
    if "l1" not in penalty:  # explain writes out weight decay, not L1
        try:
            # On a copy: the explanation may carry out the update it describes.
            return str(explain(session.net.copy(), inputs, target, loss=session.loss_name,
                               lr=session.config.lr, format="markdown", **penalty))
        except (ValueError, TypeError) as err:
            # A network explain does not cover (e.g. batch normalisation): derive it here.
            log.info("deltanet.explain declined this network (%s); deriving from the trace", err)
    return derivation(session, inputs, target, trace)


def _n(v: float) -> str:
    return f"{v:.4g}"


def derivation(session: Session, inputs: np.ndarray, target: np.ndarray,
               trace: Trace) -> str:
    """FORWARDPROPAGATE, the loss, BACKPROPAGATE and the update, with this point's numbers."""
    net = session.net
    lines = ["### Forward pass", ""]
    for k, name in enumerate(session.config.features, start=1):
        lines.append(f"- $a_{{{k}}} = {name} = {_n(inputs[k - 1])}$")
    for g in net.plan.groups:
        for j in g.neurons.tolist():
            terms = " + ".join(f"w_{{{i},{j}}} {_a_name(net, i)}" if i else f"w_{{0,{j}}}"
                               for i in net.incoming(j))
            nums = " + ".join(f"({_n(net.weights[i, j])})({_n(_source(trace, i))})" if i else
                              f"({_n(net.weights[0, j])})" for i in net.incoming(j))
            lines.append(f"- $in_{{{j}}} = {terms} = {nums} = {_n(trace.in_[j])}$, "
                         f"$a_{{{j}}} = {g.activation.name}(in_{{{j}}}) = {_n(trace.a[j])}$")
    ys = ", ".join(_n(v) for v in target)
    lines += ["", f"Loss ({session.loss_name}) with $y = ({ys})$: $J = {_n(trace.loss)}$", "",
              "### Backward pass", ""]
    lines += _output_deltas(session, target, trace)
    lines += _hidden_deltas(session, trace)
    lr = session.config.lr
    name, lam = next(iter(session.penalty.items()), ("", 0.0))
    term, decay = {"l2": ("2 \\lambda w_{ij}", lambda w: 2 * lam * w),
                   "l1": ("\\lambda \\operatorname{sign}(w_{ij})",
                          lambda w: lam * float(np.sign(w)))}.get(name, ("", None))
    rule = f"\\Delta_j a_i + {term}" if term else "\\Delta_j a_i"
    lines += ["", "### Gradients and update", "",
              f"$\\partial J / \\partial w_{{ij}} = {rule}$"
              + (f" with $\\lambda = {_n(lam)}$ ({name}; bias arcs $w_{{0j}}$ are not "
                 "decayed)" if term else "")
              + f", and with $\\alpha = {_n(lr)}$: "
              "$w_{ij} \\leftarrow w_{ij} - \\alpha \\, \\partial J / \\partial w_{ij}$", ""]
    for (i, j), w in net.weights.items():
        grad = trace.grad[i, j]
        extra = decay(w) if decay is not None and i != 0 else 0.0
        total = f" + {_n(extra)} = {_n(grad + extra)}" if extra else ""
        lines.append(f"- $w_{{{i},{j}}}$: $\\Delta_{{{j}}} {_a_name(net, i)} = "
                     f"({_n(trace.delta[j])})"
                     f"({_n(_source(trace, i))}) = {_n(grad)}{total}$, "
                     f"${_n(w)} \\to {_n(w - lr * (grad + extra))}$")
    return "\n".join(lines) + "\n"


def _output_deltas(session: Session, target: np.ndarray, trace: Trace) -> list[str]:
    net, loss = session.net, session.loss_name
    lines = []
    for k, j in enumerate(net.outputs):
        act = net.activation_of(j)
        d, a, y = trace.delta[j], trace.a[j], target[k]
        if loss in ("log_loss", "cross_entropy"):
            rule = f"\\Delta_{{{j}}} = a_{{{j}}} - y_{{{k + 1}}} = {_n(a)} - {_n(y)}"
        elif act == "softmax":
            rule = (f"\\Delta_{{{j}}} = a_{{{j}}} (\\partial \\ell / \\partial a_{{{j}}} - "
                    f"\\sum_k a_k \\partial \\ell / \\partial a_k)$ with "
                    f"$\\partial \\ell / \\partial a_k = -2(y_k - a_k)")
        else:
            g_prime = _g_prime(net, j, trace)
            rule = (f"\\Delta_{{{j}}} = -2(y - a_{{{j}}}) g'(in_{{{j}}}) = "
                    f"-2({_n(y)} - {_n(a)})({_n(g_prime)})")
        lines.append(f"- output ${rule} = {_n(d)}$")
    return lines


def _hidden_deltas(session: Session, trace: Trace) -> list[str]:
    net = session.net
    lines = []
    for g in reversed(net.plan.groups):
        if g.is_output:
            continue
        scale = _bn_scale(net, g)
        for pos, j in enumerate(g.neurons.tolist()):
            down = net.downstream(j)
            total = sum(net.weights[j, k] * trace.delta[k] for k in down)
            terms = " + ".join(f"({_n(net.weights[j, k])})({_n(trace.delta[k])})" for k in down)
            bn = "" if scale is None else f" \\cdot {_n(scale[pos])}"
            s_j = f" s_{{{j}}}" if bn else ""
            g_prime = _n(_g_prime(net, j, trace))
            lines.append(f"- $\\Delta_{{{j}}} = g'(in_{{{j}}}){s_j} \\sum_{{j'}} w_{{{j},j'}} "
                         f"\\Delta_{{j'}} = ({g_prime}){bn} ({terms}) = ({g_prime}){bn}"
                         f"({_n(total)}) = {_n(trace.delta[j])}$")
    if any(g.batch_norm for g in net.plan.groups):
        lines.append("- $s_j = \\gamma_j / \\sqrt{\\sigma_j^2 + \\epsilon}$: batch normalisation "
                     "with its running statistics scales what neuron $j$ passes on")
    return lines


def _a_name(net, i: int) -> str:
    # Batch-normalised hidden neurons pass on â_i instead of a_i.
    layer = int(net.plan.layer_of[i])
    normalised = layer >= 1 and net.plan.groups[layer - 1].batch_norm
    return f"\\hat{{a}}_{{{i}}}" if normalised else f"a_{{{i}}}"


def _source(trace: Trace, i: int) -> float:
    # What neuron i feeds downstream: a_i (after batch normalisation for hidden neurons).
    return trace.a[i] if int(trace.plan.layer_of[i]) < 1 else trace.out[i]


def _g_prime(net, j: int, trace: Trace) -> float:
    from ..activations import get

    act = get(net.activation_of(j))
    return float(act.derivative(np.array([trace.in_[j]]), np.array([trace.a[j]]))[0])


def _bn_scale(net, g) -> np.ndarray | None:
    if not g.batch_norm:
        return None
    gamma, _ = net.plan.gamma_beta(net.params, g)
    return gamma / np.sqrt(net.bn_state[g.layer][1] + BN_EPS)
