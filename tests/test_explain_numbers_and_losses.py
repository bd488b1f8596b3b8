"""explain: probability losses on the wrong outputs, powers of numbers in m·10^k form,
diverged steps, "=" for rounded tiny numbers, very large numbers, decay_bias."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import deltanet as dn
from deltanet.explain._numbers import format_number, is_exact
from deltanet.losses import get as get_loss
from deltanet.training.data import check_loss_outputs
from test_explain import _truth, walk
from test_explain_render import check_latex, check_markdown

CLI = [sys.executable, "-m", "deltanet.explain"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("deltanet: error: "), done.stderr
    return lines[0]


def chain_net(w12: float, w23: float = 1.0, hidden: str = "tanh") -> dn.Network:
    """1 → 2 → 3 with zero bias weights."""
    net = dn.Network(1, [(1, 2), (2, 3)], hidden)
    net.weights[0, 2], net.weights[1, 2] = 0.0, w12
    net.weights[0, 3], net.weights[2, 3] = 0.0, w23
    return net


# ---------------------------------------------------------------------- 1. loss vs outputs
@pytest.mark.parametrize("loss", ["log_loss", "cross_entropy"])
def test_probability_loss_needs_probability_outputs(loss):
    net = dn.Network.layered([2, 1], output="identity", init=dn.init.constant(1.0))
    with pytest.raises(ValueError) as train_err:
        check_loss_outputs(net, get_loss(loss))
    with pytest.raises(ValueError) as explain_err:
        dn.explain(net, [1.0, 1.0], 0.0, loss=loss)
    assert str(explain_err.value) == str(train_err.value)
    assert "probabilities" in str(explain_err.value)


def test_probability_losses_on_probability_outputs_still_work():
    net = dn.Network.layered([2, 1], output="logistic", init=dn.init.constant(0.5))
    assert dn.explain(net, [1.0, 1.0], 0.0, loss="log_loss").steps
    softmax = dn.Network.layered([2, 2], output="softmax", init=dn.init.constant(0.5))
    assert dn.explain(softmax, [1.0, 1.0], [0.0, 1.0], loss="cross_entropy").steps


def test_cli_refuses_log_loss_on_identity_output():
    line = one_line_error(run_cli("--sizes", "2,1", "--output", "identity", "--weights", "1",
                                  "--input", "1,1", "--target", "0", "--loss", "log_loss"))
    assert "probabilities" in line and "log(1 − 3)" not in line


# ---------------------------------------------------------------------- 2. (m·10^k)^2
def test_scientific_number_as_base_of_a_power_is_parenthesised():
    ex = dn.explain(chain_net(1e-6), [1.0], [1.0])
    latex, markdown, text = ex.to_latex(), ex.to_markdown(), ex.to_text()
    check_latex(latex)
    check_markdown(markdown)
    for doc in (latex, markdown):
        assert r"10^{-6}^" not in doc
        assert r"1 - (1 \times 10^{-6})^{2}" in doc
    assert "1e-6²" not in text and "1 − (1e-6)²" in text


def test_scientific_numbers_elsewhere_stay_bare():
    # a product or a sum needs no parentheses around 1e-6 (nor does a negative one change)
    text = dn.explain(chain_net(1e-6), [1.0], [1.0]).to_text()
    assert "0·1 + 1e-6·1 = 1e-6" in text


# ---------------------------------------------------------------------- 3. divergence
def exp_net(w: float) -> dn.Network:
    net = dn.Network.layered([1, 1], output="exp", init=dn.init.constant(0.0))
    net.weights[1, 2] = w
    return net


def test_diverged_forward_pass_is_refused():
    net = exp_net(800.0)
    with pytest.raises(ValueError, match=r"step 1 diverged in the forward pass: a₂ = inf") as err:
        dn.explain(net, [1.0], [1.0])
    assert "smaller weights or inputs" in str(err.value)
    assert net.weights[1, 2] == 800.0  # the caller's network is untouched


def test_divergence_in_a_later_step_names_the_step_and_the_learning_rate():
    # Δ₂ ≈ 43756: with α = 1e305 the update itself overflows
    with pytest.raises(ValueError, match=r"step 1 diverged in the weight update: w₀,₂ⁿᵉʷ = "
                                         r"-inf .*smaller learning rate than lr=1e\+305"):
        dn.explain(exp_net(5.0), [1.0], [1.0], lr=1e305)
    net = dn.Network.layered([1, 1], output="identity", init=dn.init.constant(1.0))
    with pytest.raises(ValueError, match=r"step \d+ diverged .*lr=10"):
        dn.explain(net, [1e3], [0.0], lr=10.0, steps=200)


def test_cli_shows_divergence_as_one_line():
    line = one_line_error(run_cli("--sizes", "1,1", "--output", "exp", "--weights", "800",
                                  "--input", "1", "--target", "1"))
    assert "step 1 diverged" in line and "a₂ = inf" in line


# ---------------------------------------------------------------------- 4. is_exact
def test_rounded_tiny_numbers_are_not_exact():
    assert not is_exact(1.23456e-13, 4)
    assert not is_exact(-1.23456e-13, 4)
    assert is_exact(1e-13, 4) and is_exact(0.0, 4) and is_exact(0.1 + 0.2, 4)
    assert is_exact(0.5, 2) and not is_exact(1 / 3, 4)


def test_rounded_tiny_sum_is_shown_with_approx():
    net = dn.Network.layered([1, 1], output="identity", init=dn.init.constant(0.0))
    net.weights[1, 2] = 1.23456e-13
    text = dn.explain(net, [1.0], [1.0]).to_text()
    assert "in₂ = w₀,₂ a₀ + w₁,₂ a₁ = 0·1 + 1.235e-13·1 ≈ 1.235e-13" in text
    assert "= 1.235e-13\n" not in text


# ---------------------------------------------------------------------- 5. large numbers
def test_large_numbers_in_scientific_notation():
    assert format_number(1e300, 4) == "1e300"
    assert format_number(1e20, 4) == "1e20"
    assert format_number(-1.23456e17, 4) == "-1.235e17"
    assert format_number(1e16, 2) == "1e16"
    assert format_number(2.0**53, 4) == "9007199254740992"  # below 1e16: every digit real
    assert format_number(1234.56789, 2) == "1234.57"
    assert not is_exact(1.23456e20, 4) and is_exact(1e20, 4)


def test_large_numbers_in_every_format():
    net = dn.Network.layered([1, 1], output="identity", init=dn.init.constant(0.0))
    net.weights[1, 2] = 1e10
    ex = dn.explain(net, [1e10], [0.0], lr=1e-30, loss="half_squared_error")
    latex, markdown, text = ex.to_latex(), ex.to_markdown(), ex.to_text()
    check_latex(latex)
    check_markdown(markdown)
    assert "100000000000000000000" not in latex + markdown + text
    assert r"= 1 \times 10^{20}" in markdown and r"1 \times 10^{20}" in latex
    assert "in₂ = w₀,₂ a₀ + w₁,₂ a₁ = 0·1 + 10000000000·10000000000 = 1e20" in text
    assert "ℓ = (1/2) (y − a₂)² = (1/2)·(0 − 1e20)² = 5e39" in text
    assert max(len(line) for line in text.splitlines()) <= 100


# ---------------------------------------------------------------------- 7. decay_bias
def replay_decay_bias(net, x, y, lr, l2):
    """The truths of one step with every arc decayed, from backprop/step themselves."""
    net = net.copy()
    w0 = dict(net.weights.items())
    t = net.backprop(x, y, l2=l2, decay_bias=True)
    net.step(x, y, lr=lr, l2=l2, decay_bias=True)
    t2 = net.backprop(x, y, l2=l2, decay_bias=True)
    after = dict(net.weights.items())
    base = _truth(net, t, t2, w0, after, w0, np.atleast_1d(y), "squared_error", lr, l2)
    sums = {"sumsq": sum(v * v for v in w0.values()),
            "sumsq_new": sum(v * v for v in after.values())}
    return [lambda ref: sums[ref[0]] if ref[0] in sums else base(ref)], net


def test_decay_bias_numbers_are_net_step_numbers(seed002_net):
    x, y, lr, l2 = np.array([3.0, 4.0]), 1.0, 0.5, 0.05
    ex = dn.explain(seed002_net, x, y, lr=lr, l2=l2, decay_bias=True)
    truths, stepped = replay_decay_bias(seed002_net, x, y, lr, l2)
    assert walk(ex, truths) > 20
    assert dict(ex.network.weights.items()) == dict(stepped.weights.items())
    grads = {ln.ref: ln for ln in ex.steps[0].section("gradients").lines}
    trace = ex.steps[0].trace
    w05 = seed002_net.weights[0, 5]
    assert grads[("grad", 0, 5)].value == pytest.approx(trace.delta[5] + 2 * l2 * w05)
    assert ("l2",) in [ref for _, ref, _ in grads[("grad", 0, 5)].numbers()]
    md = ex.to_markdown()
    assert "bias arcs included" in md and "not decayed" not in md
    default = dn.explain(seed002_net, x, y, lr=lr, l2=l2).to_markdown()
    assert "bias arcs are not decayed" in default and default != md


def test_decay_bias_must_be_a_bool(seed002_net):
    with pytest.raises(TypeError, match="decay_bias must be True or False"):
        dn.explain(seed002_net, [3.0, 4.0], 1.0, l2=0.1, decay_bias="yes")


def test_cli_decay_bias():
    args = ["--sizes", "1,1", "--output", "identity", "--weights", "0.5", "--input", "1",
            "--target", "1", "--l2", "0.1"]
    done = run_cli(*args, "--decay-bias")
    assert done.returncode == 0, done.stderr
    assert "∂J/∂w₀,₂ = Δ₂ a₀ + 2 λ w₀,₂ = 0·1 + 2·0.1·0.5 = 0.1" in done.stdout
    assert "w₀,₂ ← w₀,₂ − α Δ₂ a₀ − 2 α λ w₀,₂" in done.stdout
    plain = run_cli(*args)
    assert plain.returncode == 0, plain.stderr
    assert "∂J/∂w₀,₂ = Δ₂ a₀ = 0·1 = 0" in plain.stdout
    line = one_line_error(run_cli("--example", "seed002-forward", "--decay-bias"))
    assert "--decay-bias" in line
