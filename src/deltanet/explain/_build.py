"""Build a :class:`Derivation` from real training steps (``net.backprop`` + ``net.step``).

For every step: FORWARDPROPAGATE (``in_j = Σ_i w_ij a_i``, ``a_j = g(in_j)``), the loss,
BACKPROPAGATE (``Δ_j``), the gradients ``∂J/∂w_ij = Δ_j a_i``, the updates
``w_ij ← w_ij − α Δ_j a_i`` (seed 002, Lecture 07-3b) and their effect on the example
(Lecture 07-2a, "Evaluating the change in weights"). Every number is read from the
trace of the real step; nothing is recomputed here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backward import E, backward_lines, loss_expr, loss_lines
from ._context import StepContext
from ._expr import (
    Add,
    Call,
    Const,
    Deriv,
    Expr,
    Frac,
    Neg,
    Num,
    Op,
    Pow,
    Sub,
    SumOver,
    Sym,
    add,
    mul,
    symbols_only,
)
from ._finite import check_step_finite
from .model import Derivation, Line, Para, Section, Step

ONE = Const(1.0)
TITLES = {"forward": "1. Forward propagation", "loss": "2. Loss",
          "backward": "3. Backward propagation", "gradients": "4. Gradients",
          "updates": "5. Weight updates", "effect": "6. Effect of the update"}


# ---------------------------------------------------------------------- forward
def activation_line(ctx: StepContext, j: int, symbols: bool = True) -> Line:
    """``a_j = g(in_j)`` with the activation's own formula."""
    name = ctx.activation(j).name
    in_, in_sym = ctx.in_(j), ctx.in_sym(j)
    exprs: dict[str, tuple[Expr | None, Expr | None]] = {
        "logistic": (Call("sigma", (in_sym,)), Frac(ONE, Add((ONE, Pow(E, Neg(in_)))))),
        "identity": (in_sym, None),
        "tanh": (Call("tanh", (in_,)),) * 2,
        "relu": (Call("max", (Const(0.0), in_), "{}"),) * 2,
        "softplus": (Call("log", (Add((ONE, Pow(E, in_))),)),) * 2,
        "exp": (Pow(E, in_sym), Pow(E, in_)),
        "threshold": (Call("", (Op(">=", in_, Const(0.0)),), "[]"),) * 2,
    }
    note = {"threshold": "1 if in ≥ 0, else 0"}.get(name, name)
    if name == "softmax":
        form = Frac(Pow(E, in_), add(*(Pow(E, ctx.in_(k)) for k in ctx.group_of(j))))
        symbolic, substituted = form, form
    elif name in exprs:
        symbolic, substituted = exprs[name]
    else:  # leaky ReLU, ELU, GELU, your own: g by name, its formula in the note
        symbolic, substituted = Call("g", (in_sym,)), Call("g", (in_,))
        note = f"{name}: {ctx.activation(j).formula}"
    a = ctx.a(j)
    return Line(a.sym, symbolic if symbols else None, substituted, a.value, a.ref, note=note)


def forward_lines(ctx: StepContext, symbols: bool = True) -> list[Line]:
    """``a_0 = 1``, ``a_i = x_i``, then ``in_j`` and ``a_j`` for each processing neuron."""
    lines = []
    if symbols:
        lines.append(Line(Sym("a", 0), None, None, 1.0, ("a", 0), note="bias unit"))
        for i in range(1, ctx.net.n_inputs + 1):
            lines.append(Line(Sym("a", i), Sym("x", i), None, ctx.trace.a[i], ("a", i)))
    for j in ctx.processing():
        expr = add(*(mul(ctx.w(i, j), ctx.a(i)) for i in ctx.net.incoming(j)))
        in_ = ctx.in_(j)
        lines.append(Line(in_.sym, expr if symbols else None, expr, in_.value, in_.ref))
        lines.append(activation_line(ctx, j, symbols))
    return lines


# ---------------------------------------------------------------------- gradients, updates
def gradient_lines(ctx: StepContext) -> list[Line]:
    """``∂J/∂w_ij = Δ_j a_i`` (``+ 2λ w_ij`` with weight decay) for every arc."""
    lines = []
    for i, j in ctx.net.arcs:
        expr = mul(ctx.delta(j), ctx.a(i))
        if ctx.decayed(i, j):
            expr = add(expr, mul(Const(2.0), ctx.lam(), ctx.w(i, j)))
        lines.append(Line(Deriv(Sym("J"), Sym("w", (i, j))), expr, expr,
                          ctx.trace.grad[i, j], ("grad", i, j)))
    return lines


def update_lines(ctx: StepContext, after: Any) -> list[Line]:
    """``w_ij ← w_ij − α Δ_j a_i`` (``− 2αλ w_ij`` with weight decay); values from ``after``."""
    lines = []
    for i, j in ctx.net.arcs:
        w = ctx.w(i, j)
        expr: Expr = Sub(w, mul(ctx.alpha(), ctx.delta(j), ctx.a(i)))
        if ctx.decayed(i, j):
            expr = Sub(expr, mul(Const(2.0), ctx.alpha(), ctx.lam(), w))
        lines.append(Line(w.sym, expr, expr, after.weights[i, j], ("w_new", i, j),
                          relation="<-"))
    return lines


def effect_section(ctx: StepContext, new: StepContext) -> Section:
    """The example again with the new weights: outputs and loss before and after."""
    lines = forward_lines(new, symbols=False) + loss_lines(new, symbols=False)
    summary = [Line(Sym("a", j), None, Op("->", Num(ctx.trace.a[j], ("a", j)),
                                          Num(new.trace.a[j], ("a_new", j))), relation=":")
               for j in ctx.net.outputs]
    before, now = ctx.loss_value(), new.loss_value()
    summary.append(Line(Sym("ell"), None, Op("->", Num(before, ("loss",)),
                                             Num(now, ("loss_new",))), relation=":"))
    verb = "lowered" if now < before else "raised" if now > before else "did not change"
    note = Para(("The update ", verb, " the loss on this example: ", Num(before, ("loss",)),
                 " before, ", Num(now, ("loss_new",)), " after."))
    return Section("effect", TITLES["effect"], tuple((line,) for line in lines + summary),
                   (note,))


# ---------------------------------------------------------------------- a step
def build_step(index: int, example: int, before: Any, after: Any, trace: Any,
               trace_after: Any, x: np.ndarray, y: np.ndarray, loss: Any, lr: float,
               l2: float, decay_bias: bool = False) -> Step:
    """The six sections of one SGD step on example ``(x, y)``."""
    ctx = StepContext(before, trace, loss, y, lr, l2, decay_bias)
    new = StepContext(after, trace_after, loss, y, lr, l2, decay_bias, new=True)
    parts = {"forward": forward_lines(ctx), "loss": loss_lines(ctx),
             "backward": backward_lines(ctx), "gradients": gradient_lines(ctx),
             "updates": update_lines(ctx, after)}
    sections = [Section(key, TITLES[key], tuple((line,) for line in lines))
                for key, lines in parts.items()]
    sections.append(effect_section(ctx, new))
    return Step(index, example, x.copy(), y.copy(), tuple(sections), trace=trace)


# ---------------------------------------------------------------------- the setup
def _vector(values: np.ndarray) -> Expr:
    nums = tuple(Num(float(v)) for v in values)
    return nums[0] if len(nums) == 1 else Call("", nums, "()")


def _network_para(net: Any) -> Para:
    names = []
    outputs = set(net.outputs)
    for j in range(net.n_inputs + 1, net.n_neurons):
        role = ", output" if j in outputs else ""
        names.append(f"{j} ({net.activation_of(j)}{role})")
    p = net.n_inputs
    inputs = "neuron 1 is the input" if p == 1 else f"neurons 1–{p} are the inputs"
    return Para(("Network: neuron 0 is the bias unit (", Op("=", Sym("a", 0), ONE), "), ",
                 inputs, "; the processing neurons are ", ", ".join(names), "."))


def setup_paras(ctx: StepContext, X: np.ndarray, Y: np.ndarray, steps: int) -> tuple:
    """Network, loss, learning rate (and weight decay), the examples and the step count."""
    paras = [_network_para(ctx.net),
             Para(("Loss: ", ctx.loss.name.replace("_", " "), ", ",
                   Op("=", Sym("ell"), symbols_only(loss_expr(ctx))), "."))]
    paras.append(Para(("Learning rate: ", Op("=", Sym("alpha"), Num(ctx.lr, ("lr",))), ".")))
    if ctx.l2:
        paras.append(Para(("Weight decay: ", Op("=", Sym("lambda"), Num(ctx.l2, ("l2",))),
                           ", so ", Op("=", Sym("J"), add(Sym("ell"), mul(Sym("lambda"), SumOver(
                               r"(i,j) \in A", "i,j", Pow(Sym("w", "i,j"), Const(2.0)))))),
                           " over all arcs, bias arcs included." if ctx.decay_bias
                           else " over the arcs that are not bias arcs.")))
    for e in range(X.shape[0]):
        label = "Example" if X.shape[0] == 1 else f"Example {e + 1}"
        paras.append(Para((f"{label}: ", Op("=", Sym("x"), _vector(X[e])), ", ",
                           Op("=", Sym("y"), _vector(Y[e])), ".")))
    if steps > 1:
        how = "the examples in order" if X.shape[0] > 1 else "the same example each time"
        if steps > X.shape[0] > 1:
            how += ", starting again from the first"
        paras.append(Para((f"Steps: {steps} SGD updates, one example each ({how}).",)))
    return tuple(paras)


def weights_section(net: Any) -> Section:
    """The initial weights, one row per destination neuron."""
    rows: dict[int, list[Line]] = {}
    for (i, j), w in net.weights.items():
        rows.setdefault(j, []).append(Line(Sym("w", (i, j)), None, None, w, ("w0", i, j)))
    return Section("weights", "Initial weights", tuple(tuple(r) for r in rows.values()))


def build_derivation(net: Any, X: np.ndarray, Y: np.ndarray, *, loss: Any, lr: float,
                     l2: float, steps: int, title: str, source: str = "",
                     description: tuple[str, ...] = (), digits: int = 4,
                     decay_bias: bool = False):
    """Run ``steps`` SGD updates on a copy of ``net``; returns (Derivation, final net).

    A step whose numbers overflow is refused with a ValueError (``check_step_finite``)
    before anything is written.
    """
    work = net.copy()
    reg = {"loss": loss, "l2": l2, "decay_bias": decay_bias}
    first = StepContext(work, _backprop(work, X[0], Y[0], reg), loss, Y[0], lr, l2, decay_bias)
    setup = setup_paras(first, X, Y, steps)
    weights = weights_section(work)
    out = []
    for k in range(steps):
        e = k % X.shape[0]
        before = work.copy()
        with _no_overflow_warnings():
            trace = work.step(X[e], Y[e], lr=lr, **reg)
        trace_after = _backprop(work, X[e], Y[e], reg)
        check_step_finite(k + 1, before, trace, work, trace_after, lr)
        out.append(build_step(k + 1, e, before, work, trace, trace_after, X[e], Y[e], loss,
                              lr, l2, decay_bias))
    derivation = Derivation(title, source, tuple(description), setup, weights, tuple(out),
                            digits=digits)
    return derivation, work


def _no_overflow_warnings():
    """NumPy's overflow warnings off: ``check_step_finite`` reports a diverged step."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _backprop(net: Any, x: np.ndarray, y: np.ndarray, reg: dict) -> Any:
    with _no_overflow_warnings():
        return net.backprop(x, y, **reg)
