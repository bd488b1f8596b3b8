"""The loss and BACKPROPAGATE written out (seed 002, Lectures 07-3a to 07-3c).

Output neurons (the base case) get ``Δ_j = ∂ℓ/∂a_j · g'(in_j)`` in the form of their
loss, e.g. ``Δ_j = −2(y − a_j) g'(in_j)`` for squared error; the fused pairs use their
closed forms, ``Δ_j = a_j − y`` (logistic + log loss, seed 004) and ``Δ_j = a_j − y_j``
(softmax + cross-entropy, seed 001). Hidden neurons get the recursive case
``Δ_j = g'(in_j) Σ_{j'} w_{j,j'} Δ_{j'}``, from the highest neuron number down.
"""

from __future__ import annotations

from ..losses import NAMES as LOSS_NAMES
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
)
from .model import Line

E = Sym("e")
ONE, TWO = Const(1.0), Const(2.0)


# ---------------------------------------------------------------------- the loss
def loss_expr(ctx: StepContext) -> Expr:
    """``ℓ(y, h(x))`` summed over the output neurons, as an expression of ``y`` and ``a``."""
    outs, name = ctx.net.outputs, ctx.loss.name
    if name in ("squared_error", "half_squared_error"):
        total = add(*(Pow(Sub(ctx.y(k), ctx.a(k)), TWO) for k in outs))
        return mul(Frac(ONE, TWO), total) if name == "half_squared_error" else total
    if name == "log_loss":
        return add(*(Neg(Call("", (Add((mul(ctx.y(k), Call("log", (ctx.a(k),))),
                                        mul(Sub(ONE, ctx.y(k)),
                                            Call("log", (Sub(ONE, ctx.a(k)),))))),), "[]"))
                     for k in outs))
    if name == "cross_entropy":
        return Neg(add(*(mul(ctx.y(k), Call("log", (ctx.a(k),))) for k in outs)))
    if name != "perceptron":  # your own loss: ℓ = Σ_k f(y_k, a_k)
        return add(*(Call("f", (ctx.y(k), ctx.a(k))) for k in outs))
    # perceptron: ℓπ = max{0, (1 − 2y) in_j}
    return add(*(Call("max", (Const(0.0), mul(Sub(ONE, mul(TWO, ctx.y(k))), ctx.in_(k))), "{}")
                 for k in outs))


def _loss_note(loss) -> str:
    if loss.name in LOSS_NAMES:
        return loss.name.replace("_", " ")
    return f"{loss.name}: {loss.formula}"


def loss_lines(ctx: StepContext, symbols: bool = True) -> list[Line]:
    """``ℓ = …`` and, with weight decay, ``J = ℓ + λ Σ w²``."""
    sup = "new" if ctx.new else None
    suffix = "_new" if ctx.new else ""
    expr = loss_expr(ctx)
    lines = [Line(Sym("ell", None, sup), expr if symbols else None, expr, ctx.loss_value(),
                  (f"loss{suffix}",), note=_loss_note(ctx.loss))]
    if ctx.l2:
        formula = add(Sym("ell"), mul(Sym("lambda"), SumOver(
            r"(i,j) \in A", "i,j", Pow(Sym("w", "i,j"), TWO))))
        numbers = add(Num(ctx.loss_value(), (f"loss{suffix}",)),
                      mul(ctx.lam(), Num(ctx.sum_of_squares(), (f"sumsq{suffix}",))))
        bias = "bias arcs included" if ctx.decay_bias else "bias arcs are not decayed"
        lines.append(Line(Sym("J", None, sup), formula if symbols else None, numbers,
                          float(ctx.trace.loss), (f"J{suffix}",), note=f"weight decay; {bias}"))
    return lines


# ---------------------------------------------------------------------- g'(in_j)
def gp_line(ctx: StepContext, j: int) -> Line:
    """``g'(in_j)`` for the activation of neuron ``j``, written from ``a_j`` where it can."""
    name = ctx.activation(j).name
    a, in_ = ctx.a(j), ctx.in_(j)
    lhs = Call("g'", (Sym("in", j),))
    value = ctx.gp_value(j)
    forms: dict[str, Expr] = {
        "logistic": mul(a, Sub(ONE, a)),
        "tanh": Sub(ONE, Pow(a, TWO)),
        "relu": Call("", (Op(">", in_, Const(0.0)),), "[]"),
        "softplus": Frac(ONE, Add((ONE, Pow(E, Neg(in_))))),
        "exp": Pow(E, in_),
    }
    notes = {"relu": "1 if in > 0, else 0", "softplus": "σ(in)", "identity": "identity",
             "leaky_relu": "1 if in > 0, else 0.01", "elu": "1 if in > 0, else a + 1",
             "exp": "exp is its own derivative: g′(in) = a",
             "threshold": "the threshold function has derivative 0 where it is defined"}
    expr = forms.get(name)
    note = notes.get(name, "" if name in _OWN_FORM else f"the derivative of {name}")
    return Line(lhs, expr, expr, value, ("gp", j), note=note)


_OWN_FORM = ("logistic", "tanh", "softmax")


# ---------------------------------------------------------------------- Δ_j
def backward_lines(ctx: StepContext) -> list[Line]:
    """Every ``Δ_j``, output neurons from the loss and hidden ones from downstream."""
    lines: list[Line] = []
    done: set[int] = set()  # softmax groups whose ∂ℓ/∂a lines are written
    for j in reversed(ctx.processing()):
        if j in ctx.net.outputs:
            lines += _output_lines(ctx, j, done)
        else:
            lines += _hidden_lines(ctx, j)
    return lines


def _downstream_sum(ctx: StepContext, j: int) -> Expr:
    terms = [mul(ctx.w(j, k), ctx.delta(k)) for k in ctx.net.downstream(j)]
    return terms[0] if len(terms) == 1 else Add(tuple(terms))


def _hidden_lines(ctx: StepContext, j: int) -> list[Line]:
    delta = ctx.trace.delta[j]
    if not ctx.net.downstream(j):
        return [Line(Sym("Delta", j), None, None, delta, ("delta", j),
                     note="feeds no neuron and is not an output")]
    expr = mul(ctx.gp(j), _downstream_sum(ctx, j))
    return [gp_line(ctx, j), Line(Sym("Delta", j), expr, expr, delta, ("delta", j))]


def _dl_expr(ctx: StepContext, j: int) -> Expr:
    """``∂ℓ/∂a_j`` as an expression of ``y`` and ``a_j``."""
    y, a, name = ctx.y(j), ctx.a(j), ctx.loss.name
    if name == "squared_error":
        return Neg(mul(TWO, Sub(y, a)))
    if name == "half_squared_error":
        return Sub(a, y)
    if name == "log_loss":
        return Add((Neg(Frac(y, a)), Frac(Sub(ONE, y), Sub(ONE, a))))
    if name == "cross_entropy":
        return Neg(Frac(y, a))
    return Call("f'", (y, a))  # your own loss: its ∂f/∂a


def _dl_line(ctx: StepContext, j: int, expr: Expr | None = None) -> Line:
    expr = _dl_expr(ctx, j) if expr is None else expr
    return Line(Deriv(Sym("ell"), Sym("a", j)), expr, expr, ctx.dl_value(j), ("dl", j))


def _output_lines(ctx: StepContext, j: int, done: set[int]) -> list[Line]:
    act, loss = ctx.activation(j), ctx.loss
    lines: list[Line] = []
    note = "output neuron"
    if loss.name == "perceptron":
        part, note = _perceptron_part(ctx, j)
    elif not act.elementwise:  # softmax: Δ_j = a_j (∂ℓ/∂a_j − Σ_k a_k ∂ℓ/∂a_k)
        part, extra = _softmax_part(ctx, j, done)
        lines += extra
        note = "softmax output"
    elif loss.is_fused(act):  # logistic + log loss: ∂ℓ/∂a_j · a_j(1 − a_j) = a_j − y
        lines.append(_dl_line(ctx, j))
        part = Sub(ctx.a(j), ctx.y(j))
        note = "∂ℓ/∂a · g′(in) = a − y for a logistic output"
    else:
        lines.append(gp_line(ctx, j))
        part = mul(_dl_expr(ctx, j), ctx.gp(j))
    if ctx.net.downstream(j):
        if not any(line.ref == ("gp", j) for line in lines):
            lines.append(gp_line(ctx, j))
        recursive = mul(ctx.gp(j), _downstream_sum(ctx, j))
        part = recursive if part is None else add(part, recursive)
    delta = ctx.trace.delta[j]
    lines.append(Line(Sym("Delta", j), part, part, delta, ("delta", j), note=note))
    return lines


def _perceptron_part(ctx: StepContext, j: int) -> tuple[Expr | None, str]:
    # Rosenblatt's rule: the unit predicts 1 iff in_j >= 0; only a mistake has a slope.
    predicted = ctx.trace.in_[j] >= 0
    if predicted == (ctx.y_value(j) > 0.5):
        return None, "classified correctly: ℓπ = 0 and Δ = 0"
    return Sub(ONE, mul(TWO, ctx.y(j))), "misclassified: Δ = 1 − 2y"


def _softmax_part(ctx: StepContext, j: int, done: set[int]) -> tuple[Expr, list[Line]]:
    group = ctx.group_of(j)
    if ctx.loss.is_fused(ctx.activation(j)):  # cross-entropy: Δ_j = p_j Σ_k y_k − y_j
        total = sum(ctx.y_value(k) for k in group)
        if abs(total - 1.0) <= 1e-12:
            return Sub(ctx.a(j), ctx.y(j)), []
        return Sub(mul(ctx.a(j), Call("", (Add(tuple(ctx.y(k) for k in group)),))),
                   ctx.y(j)), []
    extra = []
    if group[0] not in done:
        done.add(group[0])
        extra = [_dl_line(ctx, k) for k in group]
    weighted = Add(tuple(mul(ctx.a(k), ctx.dl(k)) for k in group))
    return mul(ctx.a(j), Sub(ctx.dl(j), weighted)), extra

