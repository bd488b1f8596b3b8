"""The backward view: BACKPROPAGATE on one point, in lecture notation.

For a point ``x`` with label ``y`` the page shows ``Δ_j`` on every processing neuron and
``∂J/∂w_ij = Δ_j a_i`` on every arc, straight from ``net.backprop`` (inference mode: batch
normalisation uses its running statistics, no dropout), and the update of that step with
the session's weight decay or L1 term (bias arcs are not decayed, as in training), made by
``Network.step`` on a copy. The page writes the derivation, one line per neuron or arc,
from these numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..propagation import BN_EPS, Trace
from .sessions import Session, SessionError


def backward_view(session: Session, x: list[float], y: float) -> dict[str, Any]:
    """Every number of one training step on the point ``x`` with label ``y``.

    Per neuron ``j``: ``in_j``, ``a_j``, ``Δ_j``, ``g'(in_j)``, the activation, and with
    batch normalisation the scale ``s_j`` and the value ``â_j`` passed on. Per arc
    ``(i, j)``: ``w_ij``, ``a_i``, ``Δ_j``, ``Δ_j a_i``, the regularisation term and the
    updated weight ``w_ij − α ∂J/∂w_ij``. Also ``J`` before and after that update. The page
    writes the derivation from these numbers (``static/derivation.js``).
    """
    inputs = session.inputs(np.array([x], dtype=float))[0]
    target = session.targets(np.array([y]))[0]
    net, lr = session.net, session.config.lr
    trace = net.backprop(inputs, target, loss=session.loss_name)
    after = net.copy()
    penalised = after.step(inputs, target, lr=lr, loss=session.loss_name, training=False,
                           **session.penalty)
    neurons = {str(j): {"a": trace.a[j]} for j in range(1, net.n_inputs + 1)}
    for g in net.plan.groups:
        scale = _bn_scale(net, g)
        for pos, j in enumerate(g.neurons.tolist()):
            neurons[str(j)] = {"in": trace.in_[j], "a": trace.a[j], "delta": trace.delta[j],
                               "g_prime": _g_prime(net, j, trace),
                               "activation": g.activation.name, "out": _source(trace, j),
                               "bn_scale": None if scale is None else float(scale[pos])}
    edges = [{"i": i, "j": j, "w": w, "a_i": _source(trace, i), "delta_j": trace.delta[j],
              "grad": trace.grad[i, j], "reg": penalised.grad[i, j] - trace.grad[i, j],
              "new_w": after.weights[i, j]} for (i, j), w in net.weights.items()]
    name, lam = next(iter(session.penalty.items()), (None, 0.0))
    return {"x": list(map(float, x)), "y": y, "inputs": inputs.tolist(),
            "target": target.tolist(), "outputs": np.atleast_1d(trace.outputs).tolist(),
            "output_ids": [int(j) for j in net.outputs],
            "loss": trace.loss, "loss_name": session.loss_name,
            "loss_after": after.backprop(inputs, target, loss=session.loss_name).loss,
            "lr": lr, "penalty": {"name": name, "lambda": lam},
            "features": list(session.config.features), "neurons": neurons, "edges": edges}


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
