"""explain(): every number it prints is the value of a real training step.

The walk: replay the steps with ``net.backprop`` / ``net.step`` here, render the
derivation as Markdown, read every number back out of each line's math (in reading
order) and compare it with the replayed value at the precision shown.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import deltanet as dn
from deltanet.explain import SECTION_KEYS, explain
from deltanet.explain._expr import walk_numbers

from conftest import random_dag

TITLES = {"forward": "### 1. Forward propagation", "loss": "### 2. Loss",
          "backward": "### 3. Backward propagation", "gradients": "### 4. Gradients",
          "updates": "### 5. Weight updates", "effect": "### 6. Effect of the update"}
SCRIPTS = re.compile(r"_\{[^{}]*\}|\^\{\\text\{[a-z]+\}\}|\^\{\([^{}]*\)\}")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?")


# ---------------------------------------------------------------------- the replay
def _gp(name: str, in_: float, a: float) -> float:
    """g'(in) from the lecture's formulas (seed 002, 07-1b)."""
    return {"logistic": a * (1 - a), "tanh": 1 - a * a, "identity": 1.0,
            "relu": float(in_ > 0), "softplus": 1 / (1 + np.exp(-in_)), "threshold": 0.0,
            "softmax": a * (1 - a)}[name]


def _dl(loss: str, y: float, a: float) -> float:
    """∂ℓ/∂a for one output neuron."""
    return {"squared_error": -2 * (y - a), "half_squared_error": a - y,
            "log_loss": -y / a + (1 - y) / (1 - a), "cross_entropy": -y / a}[loss]


def replay(net, X, Y, loss, lr, l2, steps):
    """Per step, a function ref -> true value, from our own backprop/step calls."""
    net = net.copy()
    X = np.atleast_2d(np.asarray(X, float))
    Y = np.asarray(Y, float).reshape(len(X), -1)
    w0 = dict(net.weights.items())
    truths = []
    for k in range(steps):
        x, y = X[k % len(X)], Y[k % len(X)]
        before = dict(net.weights.items())
        t = net.backprop(x, y, loss=loss, l2=l2)
        net.step(x, y, lr=lr, loss=loss, l2=l2)
        t2 = net.backprop(x, y, loss=loss, l2=l2)
        after = dict(net.weights.items())
        truths.append(_truth(net, t, t2, before, after, w0, y, loss, lr, l2))
    return truths


def _truth(net, t, t2, before, after, w0, y, loss, lr, l2):
    ys = dict(zip(net.outputs, y, strict=True))

    def sumsq(w):
        return sum(v * v for (i, _), v in w.items() if i != 0)

    table = {
        "a": lambda i: t.a[i], "in": lambda j: t.in_[j], "delta": lambda j: t.delta[j],
        "gp": lambda j: _gp(net.activation_of(j), t.in_[j], t.a[j]),
        "dl": lambda j: _dl(loss, ys[j], t.a[j]), "y": lambda j: ys[j],
        "w": lambda i, j: before[i, j], "w_new": lambda i, j: after[i, j],
        "w0": lambda i, j: w0[i, j], "grad": lambda i, j: t.grad[i, j],
        "in_new": lambda j: t2.in_[j], "a_new": lambda i: t2.a[i],
        "lr": lambda: lr, "l2": lambda: l2, "loss": lambda: t.losses[0],
        "loss_new": lambda: t2.losses[0], "J": lambda: t.loss, "J_new": lambda: t2.loss,
        "sumsq": lambda: sumsq(before), "sumsq_new": lambda: sumsq(after),
    }
    return lambda ref: float(table[ref[0]](*ref[1:]))


# ---------------------------------------------------------------------- the walk
def parse_number(token: str) -> float:
    if "times" in token:
        mantissa, exponent = re.match(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}", token).groups()
        return float(mantissa) * 10.0 ** int(exponent)
    return float(token)


def close(shown: str, true: float, digits: int) -> bool:
    """The shown number is ``true`` at the shown precision."""
    value = parse_number(shown)
    if "times" in shown:  # significant digits
        return abs(value - true) <= 0.51 * 10.0 ** (np.floor(np.log10(abs(true))) - digits + 1)
    return abs(value - true) <= 0.5 * 10.0 ** -digits + 1e-12


def expected_numbers(line):
    """(true-value reference or constant) for every number a line shows, in order."""
    consts = [(v, None) for _, v, _ in walk_numbers(line.symbolic, numbers=False)]
    return consts + [(v, ref) for v, ref, _ in line.numbers()]


def section_bullets(markdown: str, step_index: int, key: str) -> list[str]:
    """The list items of one section of one step, in order."""
    step = markdown.split(f"## Step {step_index}:")[1].split("\n## ")[0]
    body = step.split(TITLES[key] + "\n")[1].split("\n###")[0].lstrip("\n")
    bullets = []
    for ln in body.splitlines():  # the first list; the notes come after a blank line
        if not ln.startswith("- "):
            break
        bullets.append(ln)
    return bullets


def _walk_rows(rows, bullets, truth, digits) -> int:
    assert len(bullets) == len(rows)
    count = 0
    for row, bullet in zip(rows, bullets, strict=True):
        maths = re.findall(r"\$([^$]+)\$", bullet)
        assert len(maths) == len(row)
        for line, math in zip(row, maths, strict=True):
            shown = NUMBER.findall(SCRIPTS.sub("", math))
            expected = expected_numbers(line)
            assert len(shown) == len(expected), (math, expected)
            for token, (const, ref) in zip(shown, expected, strict=True):
                true = const if ref is None else truth(ref)
                assert close(token, true, digits), (math, token, ref, true)
                count += 1
    return count


def walk(ex, truths) -> int:
    """Check every number of every line against the replay; returns how many."""
    md, digits = ex.to_markdown(), ex.digits
    setup = md.split("### Initial weights\n\n")[1].split("\n\n")[0].splitlines()
    count = _walk_rows(ex.derivation.weights.rows, setup, truths[0], digits)
    for step, truth in zip(ex.steps, truths, strict=True):
        for section in step.sections:
            bullets = section_bullets(md, step.index, section.key)
            count += _walk_rows(section.rows, bullets, truth, digits)
    return count


def check(net, x, y, loss="squared_error", lr=0.1, l2=0.0, steps=None, digits=4):
    ex = explain(net, x, y, loss=loss, lr=lr, l2=l2, steps=steps, digits=digits)
    n = len(np.atleast_2d(np.asarray(x, float)))
    truths = replay(net, x, y, loss, lr, l2, steps or n)
    assert walk(ex, truths) > 20
    return ex


# ---------------------------------------------------------------------- tests
def test_seed002_step_numbers_are_the_trace(seed002_net):
    ex = check(seed002_net, [3.0, 4.0], 1.0, lr=0.5)
    assert [s.key for s in ex.steps[0].sections] == list(SECTION_KEYS)


def test_walk_catches_a_wrong_number(seed002_net):
    ex = explain(seed002_net, [3.0, 4.0], 1.0, lr=0.5)
    truths = replay(seed002_net, [3.0, 4.0], 1.0, "squared_error", 0.5, 0.0, 1)
    wrong = [lambda ref: truths[0](ref) + (0.01 if ref == ("delta", 4) else 0.0)]
    with pytest.raises(AssertionError):
        walk(ex, wrong)


def test_explain_does_not_modify_the_network(seed002_net):
    before = seed002_net.params.copy()
    ex = explain(seed002_net, [3.0, 4.0], 1.0, lr=0.5, steps=3)
    assert np.array_equal(seed002_net.params, before)
    expected = seed002_net.copy()
    for _ in range(3):
        expected.step([3.0, 4.0], [1.0], lr=0.5)
    assert np.array_equal(ex.network.params, expected.params)


def test_several_steps_use_the_examples_in_order():
    net = dn.Network.layered([2, 2, 1], init=dn.init.constant(0.5, bias=-0.25))
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([1.0, 1.0, 0.0])
    ex = check(net, X, y, lr=0.5, steps=4)
    assert [s.example for s in ex.steps] == [0, 1, 2, 0]
    assert np.array_equal(ex.steps[3].x, X[0])
    manual = net.copy()
    for k in (0, 1, 2, 0):
        manual.step(X[k], y[k:k + 1], lr=0.5)
    assert np.array_equal(ex.network.params, manual.params)
    # each step starts from the weights the previous one produced
    first_update = {ln.ref: ln.value for ln in ex.steps[0].section("updates").lines}
    second_forward = ex.steps[1].section("forward").lines
    in_3 = next(ln for ln in second_forward if ln.ref == ("in", 3))
    assert in_3.substituted.terms[0].factors[0].value == first_update[("w_new", 0, 3)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_dags_with_skip_arcs_and_several_outputs(seed):
    rng = np.random.default_rng(seed)
    arcs = random_dag(rng, 3, 3, 2)
    acts = {j: str(rng.choice(["logistic", "tanh", "relu", "softplus"])) for j in range(4, 9)}
    net = dn.Network(3, arcs, acts, init=dn.init.rand(1.0), random_state=rng)
    check(net, rng.uniform(-1, 1, 3), rng.uniform(0, 1, 2), lr=0.3)


def test_skip_arcs_mixed_activations_two_outputs():
    # 1 -> 4 and 2 -> 5 and 1 -> 6 skip the first hidden neuron 3
    arcs = [(1, 3), (2, 3), (1, 4), (3, 4), (2, 5), (3, 5), (4, 5), (1, 6), (4, 6)]
    acts = {3: "relu", 4: "tanh", 5: "logistic", 6: "identity"}
    net = dn.Network(2, arcs, acts, init=dn.init.rand(1.0), random_state=8)
    ex = check(net, [0.7, -0.2], [1.0, -0.5], lr=0.25, steps=2)
    hidden_4 = next(ln for ln in ex.steps[0].section("backward").lines if ln.ref == ("delta", 4))
    assert len(hidden_4.symbolic.factors[1].terms) == 2  # Δ_4 from Δ_5 and Δ_6


@pytest.mark.parametrize("loss, output, y", [
    ("squared_error", "logistic", [1.0, 0.0]),
    ("half_squared_error", "identity", [0.5, -1.5]),
    ("log_loss", "logistic", [1.0, 0.0]),
    ("log_loss", "softmax", [1.0, 0.0]),
    ("cross_entropy", "softmax", [0.0, 1.0]),
    ("cross_entropy", "softmax", [0.25, 0.5]),
    ("cross_entropy", "logistic", [0.0, 1.0]),
    ("squared_error", "softmax", [0.0, 1.0]),
    ("perceptron", "threshold", [1.0, 0.0]),
])
def test_every_loss(loss, output, y):
    net = dn.Network.layered([2, 3, 2], hidden="tanh", output=output,
                             init=dn.init.rand(1.0), random_state=4)
    ex = check(net, [0.3, -0.8], y, loss=loss, lr=0.5)
    out = net.outputs[0]
    delta = next(ln for ln in ex.steps[0].section("backward").lines if ln.ref == ("delta", out))
    assert delta.value == pytest.approx(net.backprop([0.3, -0.8], y, loss=loss).delta[out])


def test_perceptron_correct_example_has_zero_delta():
    net = dn.Network(2, [(1, 3), (2, 3)], "threshold", init=dn.init.constant(1.0))
    ex = check(net, [1.0, 1.0], 1.0, loss="perceptron", lr=1.0)
    delta = ex.steps[0].section("backward").lines[-1]
    assert delta.value == 0.0 and "correctly" in delta.note


def test_output_neuron_that_feeds_another_output():
    net = dn.Network(2, [(1, 3), (2, 3), (3, 4), (1, 4)], "logistic", outputs=(3, 4),
                     init=dn.init.rand(1.0), random_state=5)
    check(net, [0.5, -0.5], [1.0, 0.0], lr=0.5)


def test_weight_decay_in_gradients_and_updates(seed002_net):
    ex = check(seed002_net, [3.0, 4.0], 1.0, lr=0.5, l2=0.05)
    grads = {ln.ref: ln for ln in ex.steps[0].section("gradients").lines}
    assert "lambda" in ex.to_markdown() and len(grads) == 9
    # bias arcs are not decayed: their gradient is Δ_j a_0 only
    assert grads[("grad", 0, 5)].value == pytest.approx(ex.steps[0].trace.delta[5])
    assert grads[("grad", 3, 5)].value == pytest.approx(
        ex.steps[0].trace.delta[5] * ex.steps[0].trace.a[3] + 2 * 0.05 * 4.0)


@pytest.mark.parametrize("digits", [2, 6])
def test_digits(seed002_net, digits):
    ex = check(seed002_net, [3.0, 4.0], 1.0, lr=0.5, digits=digits)
    assert ex.digits == digits


def test_tiny_numbers_are_never_shown_as_zero():
    net = dn.Network(1, [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)], "logistic",
                     init=dn.init.constant(0.2, bias=0.0))
    ex = check(net, [0.5], 1.0, lr=0.5, digits=2)
    assert r"\times 10^{" in ex.to_markdown()


def test_float32_network():
    net = dn.Network.layered([2, 2, 1], init=dn.init.rand(1.0), random_state=1,
                             dtype=np.float32)
    check(net, [0.25, 0.75], 1.0, lr=0.5)


@pytest.mark.reliability(
    area="library input",
    fault="bad explain arguments: lr, steps, digits, format, loss",
    how="deltanet.explain",
    result="ValueError")
@pytest.mark.parametrize("bad, message", [
    ({"lr": 0}, "lr must be > 0"),
    ({"steps": 0}, "steps must be >= 1"),
    ({"digits": 0}, "digits must be >= 1"),
    ({"format": "html"}, "unknown format"),
    ({"loss": "nope"}, "unknown loss"),
])
def test_bad_arguments(seed002_net, bad, message):
    with pytest.raises(ValueError, match=message):
        explain(seed002_net, [3.0, 4.0], 1.0, **bad)


@pytest.mark.reliability(
    area="library input",
    fault="explain on a wrong-size input, a non-network, a batch-norm network",
    how="deltanet.explain",
    result="ValueError / TypeError")
def test_bad_inputs(seed002_net):
    with pytest.raises(ValueError, match="2 values"):
        explain(seed002_net, [3.0, 4.0, 5.0], 1.0)
    with pytest.raises(TypeError, match="Network"):
        explain("net", [3.0, 4.0], 1.0)
    bn = dn.Network.layered([2, 2, 1], batch_norm=True, random_state=0)
    with pytest.raises(ValueError, match="batch normalisation"):
        explain(bn, [3.0, 4.0], 1.0)
