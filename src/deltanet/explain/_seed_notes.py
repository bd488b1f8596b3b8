"""Remarks of the built-in examples, computed from their steps.

Where the lecture notes round an intermediate result and go on computing with the
rounded number, the remark repeats the notes' arithmetic with the rounded numbers (and
says so), next to the exact values of the derivation. Nothing here is typed in: every
number comes from the step, rounded the way the notes round it.
"""

from __future__ import annotations

from fractions import Fraction

from ._expr import Call, Const, Deriv, Expr, Frac, Neg, Num, Op, Sub, Sym, add, mul
from .explanation import Explanation
from .model import Line, Para, Step

ONE = Const(1.0)


def values(step: Step) -> dict:
    """Every referenced number of a step: ``{("delta", 5): -0.05, ...}``."""
    out = {}
    for s in step.sections:
        for line in s.lines:
            for v, ref, _ in line.numbers():
                if ref is not None:
                    out[ref] = v
    return out


def calc(lhs: Expr, expr: Expr, value: float, digits: int) -> Line:
    """A hand calculation ``lhs = expr = value``, with ``≈`` when the value is rounded."""
    exact = abs(round(value, digits) - value) <= 1e-12 * max(1.0, abs(value))
    return Line(lhs, None, Op("=" if exact else "approx", expr, Num(value, None, digits)))


def _w(i: int, j: int, sup: str | None = None) -> Sym:
    return Sym("w", (i, j), sup)


def _join(items: list, sep: str = ", ") -> list:
    out: list = []
    for k, item in enumerate(items):
        out += [sep, item] if k else [item]
    return out


# ---------------------------------------------------------------------- seed 002
def sgd_step(ex: Explanation, setup) -> Explanation:
    """Lecture 07-2a rounds y − g(in_3) and g'(in_3) to four decimals before updating."""
    v = values(ex.steps[0])
    y, a = float(ex.steps[0].y[0]), v[("a", 3)]
    err, gp, two_alpha = round(y - a, 4), round(a * (1 - a), 4), 2 * setup.lr
    lines, new_w = [], {}
    for i in (0, 1, 2):
        x_i = v[("a", i)]
        factors = ([Num(two_alpha)] if two_alpha != 1 else []) + [Num(err, None, 4),
                                                                 Num(gp, None, 4)]
        factors += [Num(x_i)] if i else []
        value = v[("w", i, 3)] + two_alpha * err * gp * x_i
        new_w[i] = round(value, 4)
        lines.append(calc(_w(i, 3, "(t+1)"), add(Num(v[("w", i, 3)]), mul(*factors)), value, 4))
    in_new = new_w[0] + new_w[1] * v[("a", 1)] + new_w[2] * v[("a", 2)]
    lines.append(calc(Sym("in", 3, "(t+1)"), add(Num(new_w[0], None, 4), *(
        mul(Num(new_w[i], None, 4), Num(v[("a", i)])) for i in (1, 2))), in_new, 5))
    rounding = Para((
        "The lecture rounds its intermediate results to four decimals, ",
        Op("=", Sub(Sym("y"), Call("g", (Sym("in", 3),))), Num(err, None, 4)), " and ",
        Op("=", Call("g'", (Sym("in", 3),)), Num(gp, None, 4)),
        ", and computes the new weights and the new net input from the rounded numbers"
        + (" (2α = 1):" if two_alpha == 1 else ":")), tuple(lines))
    exact = v[("w_new", 0, 3)]
    honest = Para(("Unrounded, the new bias weight is ", Op("=", _w(0, 3), Num(exact, None, 6)),
                   ", shown as ", Num(exact), " above; the lecture's ", Num(new_w[0], None, 4),
                   " comes from its rounded intermediates."))
    return ex.with_notes({1: [rounding, honest]})


def forward(ex: Explanation, setup) -> Explanation:
    """Lecture 07-2c: the prediction h(x) is the output neuron's a_5."""
    step = ex.steps[0]
    j = setup.net.outputs[0]
    note = Para(("The prediction of the network for this example is ",
                 Op("=", Call("h", (Sym("x"),)), Op("=", Sym("a", j),
                                                      Num(values(step)[("a", j)]))), "."))
    return ex.with_notes({1: [note]})


def equal_weights(ex: Explanation, setup) -> Explanation:
    """Lecture 07-4a: equal weights into 3 and 4 (and out of them) stay equal."""
    pairs = [((0, 3), (0, 4)), ((1, 3), (1, 4)), ((2, 3), (2, 4)), ((3, 5), (4, 5))]
    step_notes = {}
    for step in ex.steps:
        v = values(step)
        same = all(v[("w_new", *p)] == v[("w_new", *q)] for p, q in pairs)
        same_delta = v[("delta", 3)] == v[("delta", 4)]
        eqs = [Op("=", _w(*p), Op("=", _w(*q), Num(v[("w_new", *p)]))) for p, q in pairs]
        verdict = (": neurons 3 and 4 still compute the same function." if same and same_delta
                   else ": the two hidden neurons now differ.")
        delta = Op("=", Sym("Delta", 3), Op("=", Sym("Delta", 4), Num(v[("delta", 3)])))
        parts = ("In this step ", delta if same_delta else "Δ₃ ≠ Δ₄", ", and after it ",
                 *(_join(eqs) if same else ["the weights are no longer equal in pairs"]),
                 verdict)
        step_notes[step.index] = [Para(parts)]
    return ex.with_notes(step_notes)


def vanishing_chain(ex: Explanation, setup) -> Explanation:
    """Lecture 07-3d: every step back multiplies Δ by g'(in_j) w_j,j+1 ≤ 1/4 here."""
    v = values(ex.steps[0])
    last = setup.net.outputs[0]
    ratios = []
    for j in range(last - 1, setup.net.n_inputs, -1):
        r = abs(v[("delta", j)] / v[("delta", j + 1)])
        ratios.append((j, r))
    small = all(r <= 0.25 for _, r in ratios)
    eqs = [Op("=", Call("", (Frac(Sym("Delta", j), Sym("Delta", j + 1)),), "||"), Num(r))
           for j, r in ratios]
    first = setup.net.n_inputs + 1
    total = abs(v[("delta", first)] / v[("delta", last)])
    parts = ("Each step back multiplies the delta by g′(inⱼ) wⱼ,ⱼ₊₁: ", *_join(eqs),
             " — each at most 1/4." if small else " — not all of them below 1/4.",
             f" Over the whole chain |Δ{_sub(first)}| is ", Num(total),
             f" times |Δ{_sub(last)}|, so ",
             Op("=", Deriv(Sym("J"), _w(1, first)), Num(v[("grad", 1, first)])),
             " moves the first weight the least.")
    return ex.with_notes({1: [Para(parts)]})


def _sub(n: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(c)] for c in str(n))


# ---------------------------------------------------------------------- seed 003
def seed003(ex: Explanation, setup) -> Explanation:
    """Lecture 22 multiplies numbers rounded to two decimals."""
    v = values(ex.steps[0])
    d6, a3, d3 = (round(v[r], 2) for r in (("delta", 6), ("a", 3), ("delta", 3)))
    x1, w03 = v[("a", 1)], v[("w", 0, 3)]
    eta = Fraction(setup.lr).limit_denominator(100)
    lines = (calc(Deriv(Sym("J"), _w(3, 6)), mul(Num(d6, None, 2), Num(a3, None, 2)), d6 * a3, 2),
             calc(Deriv(Sym("J"), _w(1, 3)), mul(Num(d3, None, 2), Num(x1)), d3 * x1, 3),
             calc(_w(0, 3, "new"), Sub(Num(w03), mul(Frac(Const(eta.numerator),
                                                          Const(eta.denominator)),
                                                     Num(d3, None, 2))),
                  w03 - float(eta) * d3, 2))
    rounding = Para(("The lecture rounds to two decimals and multiplies the rounded numbers, ",
                     *_join([Op("=", Sym("Delta", 6), Num(d6, None, 2)),
                             Op("=", Sym("a", 3), Num(a3, None, 2)),
                             Op("=", Sym("Delta", 3), Num(d3, None, 2))]), ":"), lines)
    g36, g13 = v[("grad", 3, 6)], v[("grad", 1, 3)]
    honest = Para(("Unrounded, ", Op("=", Deriv(Sym("J"), _w(3, 6)), Num(g36, None, 4)),
                   " (shown as ", Num(g36), " above) and ",
                   Op("=", Deriv(Sym("J"), _w(1, 3)), Num(g13, None, 5)),
                   " (shown as ", Num(g13), " above)."))
    notation = Para(("In the lecture's notation the hidden units z₁, z₂, z₃ are a₃, a₄, a₅ "
                     "here and their net inputs a⁽¹⁾ⱼ are in₃, in₄, in₅; the output y₁ is a₆ "
                     "and the target t is y; δ₁⁽²⁾ is Δ₆ and δⱼ⁽¹⁾ are Δ₃, Δ₄, Δ₅; "
                     "w⁽¹⁾₀₁ is w₀,₃, and η is α.",))
    return ex.with_notes({1: [rounding, honest]}, [notation])


def seed003_test(ex: Explanation, setup) -> Explanation:
    """The test slide uses the weights after seed003-backprop's update."""
    w = setup.net.weights
    note = Para(("These weights are the result of the update in seed003-backprop, e.g. ",
                 *_join([Op("=", _w(0, 3), Num(w[0, 3])), Op("=", _w(1, 3), Num(w[1, 3])),
                         Op("=", _w(3, 6), Num(w[3, 6]))]), "."))
    return ex.with_notes(notes=[note])


# ---------------------------------------------------------------------- seed 000
def seed000(ex: Explanation, setup) -> Explanation:
    """The review's example notes: zeros as inputs, SGD effects, vanishing gradients."""
    net = setup.net
    out = net.outputs[0]
    hidden = [j for j in range(net.n_inputs + 1, net.n_neurons) if j not in net.outputs]
    step_notes: dict[int, list[Para]] = {}
    for step in ex.steps:
        v = values(step)
        zero = [i for i in range(1, net.n_inputs + 1) if v[("a", i)] == 0]
        if zero:
            arcs = [(i, j) for i, j in net.arcs if i in zero]
            still = all(v[("w_new", *arc)] == v[("w", *arc)] for arc in arcs)
            step_notes.setdefault(step.index, []).append(Para((
                "Zeros as inputs: ", *_join([Op("=", Sym("a", i), Num(0.0)) for i in zero]),
                ", so the gradient Δⱼ aᵢ of every arc leaving them is 0 and ",
                *_join([_w(*arc) for arc in arcs]),
                " stay unchanged on this example." if still else " still change (decay).")))
        shrink = all(abs(v[("delta", j)]) < abs(v[("delta", out)]) for j in hidden)
        step_notes.setdefault(step.index, []).append(Para((
            "Vanishing gradients: ", *_join([Op("=", Sym("Delta", j), Num(v[("delta", j)]))
                                             for j in [*hidden, out]]),
            " — the hidden deltas are smaller than the output's, each multiplied by g′ ≤ 1/4."
            if shrink else " — here the hidden deltas are not smaller than the output's.")))
    if len(ex.steps) > 1:
        v1 = values(ex.steps[0])
        step_notes.setdefault(2, []).insert(0, Para((
            "SGD effects: this step starts from the weights step 1 produced, e.g. ",
            Op("=", _w(3, out), Num(v1[("w_new", 3, out)])), ", not from the initial ones.")))
    return ex.with_notes(step_notes)


# ---------------------------------------------------------------------- seeds 001, 004
def softmax_ce(ex: Explanation, setup) -> Explanation:
    """Seed 001: ∂L/∂b_j = p_j − y_j for softmax outputs with cross-entropy."""
    v = values(ex.steps[0])
    outs = setup.net.outputs
    total = sum(v[("a", j)] for j in outs)
    grads = [Op("=", Deriv(Sym("J"), _w(0, j)), Num(v[("grad", 0, j)])) for j in outs]
    note = Para(("The outputs are probabilities: ",
                 Op("=", add(*(Sym("a", j) for j in outs)), Num(total)),
                 ". Each bias arc has a₀ = 1, so its gradient is the output's delta pⱼ − yⱼ: ",
                 *_join(grads), " — the lecture's ∂L/∂bⱼ = pⱼ − yⱼ."))
    return ex.with_notes({1: [note]})


def log_loss(ex: Explanation, setup) -> Explanation:
    """Seed 004: ∂e/∂h = −y/h + (1 − y)/(1 − h), times σ'(s) = h(1 − h), is h − y."""
    v = values(ex.steps[0])
    j = setup.net.outputs[0]
    h, y = v[("a", j)], float(ex.steps[0].y[0])
    de_dh = -y / h + (1 - y) / (1 - h)
    sp = h * (1 - h)
    H, Y = Sym("h"), Sym("y")
    formula = add(Neg(Frac(Y, H)), Frac(Sub(ONE, Y), Sub(ONE, H)))
    numbers = add(Neg(Frac(Num(y), Num(h))), Frac(Sub(ONE, Num(y)), Sub(ONE, Num(h))))
    lines = (Line(Deriv(Sym("e"), H), formula, numbers, de_dh),
             Line(Call("sigma'", (Sym("s"),)), mul(H, Sub(ONE, H)),
                  mul(Num(h), Sub(ONE, Num(h))), sp),
             Line(Sym("Delta", j), mul(Deriv(Sym("e"), H), Call("sigma'", (Sym("s"),))),
                  mul(Num(de_dh), Num(sp)), de_dh * sp),
             Line(Sub(H, Y), None, Sub(Num(h), Num(y)), h - y))
    note = Para((f"In the assignment's notation h = a{_sub(j)} and s = in{_sub(j)}. The base "
                 "case of log loss, carried through the logistic output, gives the same "
                 "delta as the backward pass above:",), lines)
    return ex.with_notes({1: [note]})
