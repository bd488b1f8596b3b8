"""The derivation in the backward view: one neuron at a time, or the whole step line by line.

Clicking a neuron shows only its lines, in lecture order; "Step through" walks the whole
step one line per click and lights the neurons and arcs each line uses. Numbers keep the
digits that tell a saturated value from a whole number, and each loss has one name.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import playground_pages as pages
from playground_pages import choose, open_backward, steps, wait_until

pytestmark = pages.marks(__name__)


def result(page) -> dict:
    return page.evaluate("window.playground.backward.result")


def attributes(page, selector: str, attribute: str = "data-testid") -> list[str]:
    """``attribute`` of every element ``selector`` matches, read in one call to the page."""
    return page.eval_on_selector_all(
        selector, "(all, name) => all.map((e) => e.getAttribute(name))", attribute)


def kinds(page) -> list[str]:
    return attributes(page, "#derivation li", "data-kind")


def lit(page) -> tuple[set[int], set[tuple[int, int]]]:
    neurons = {int(n[7:]) for n in attributes(page, ".node.lit[data-testid^=neuron-]")}
    arcs = {tuple(map(int, e[5:].split("-"))) for e in attributes(page, ".edge.lit")}
    arcs |= {(0, int(b[5:])) for b in attributes(page, ".bias.lit")}
    return neurons, arcs


def test_a_clicked_neuron_shows_only_its_derivation_in_lecture_order(page):
    steps(page, 2)
    open_backward(page, 4)
    wait_until(page, lambda: page.inner_text("#derivation-title") == "Neuron 4", what="neuron 4")
    assert kinds(page) == ["forward", "hidden-delta"] + ["gradient"] * 3 + ["update"] * 3
    text = page.inner_text("#derivation")
    for name in ("in4 = w0,4 + w1,4 a1 + w2,4 a2", "Δ4 = g'(in4) Σj' w4,j' Δj'",
                 "∂ J / ∂ w1,4 = Δ4 a1", "w2,4 ← w2,4"):
        assert name in text, name
    assert not re.search(r"in[3,5-9] =|Δ[35-9] =", text)
    r = result(page)
    shown = text.split("\n")[1].rsplit("= ", 1)[1]
    assert float(shown.replace("−", "-")) == pytest.approx(r["neurons"]["4"]["delta"], rel=1e-3)
    page.click("[data-testid=neuron-9]")
    wait_until(page, lambda: page.inner_text("#derivation-title") == "Neuron 9", what="neuron 9")
    assert kinds(page) == ["forward", "loss", "output-delta"] + ["gradient"] * 3 + ["update"] * 3
    assert lit(page) == ({9}, {(0, 9), (7, 9), (8, 9)})


@pytest.mark.slow
def test_step_through_walks_the_step_one_line_per_click_lighting_what_it_uses(page):
    choose(page, "xor")
    steps(page, 3)
    open_backward(page)
    page.click("#step-through")
    r = result(page)
    edges = r["edges"]
    ids = sorted(map(int, r["neurons"]))
    outputs = r["output_ids"]
    hidden = [j for j in ids if "delta" in r["neurons"][str(j)] and j not in outputs]
    incoming = {j: {(e["i"], j) for e in edges if e["j"] == j} for j in ids}
    outgoing = {j: {(j, e["j"]) for e in edges if e["i"] == j} for j in ids}
    order = sorted(edges, key=lambda e: (e["j"], e["i"]))
    expected = [("input" if j <= 2 else "forward", {j} | {i for i, _ in incoming[j] if i},
                 incoming[j]) for j in ids]
    expected += [("loss", set(outputs), set())]
    expected += [("output-delta", {j}, set()) for j in outputs]
    expected += [("hidden-delta", {j} | {k for _, k in outgoing[j]}, outgoing[j])
                 for j in reversed(hidden)]
    for kind in ("gradient", "update"):
        expected += [(kind, {e["i"], e["j"]} - {0}, {(e["i"], e["j"])}) for e in order]
    expected += [("after", set(outputs), set())]
    assert page.inner_text("#line-count") == f"line 1 of {len(expected)}"
    for k, (kind, neurons, arcs) in enumerate(expected, start=1):
        if k > 1:
            page.click("#line-next")
        wait_until(page, lambda k=k: len(kinds(page)) == k, what=f"line {k}")
        assert kinds(page)[-1] == kind, k
        assert lit(page) == (neurons, arcs), (k, kind)
    assert page.is_disabled("#line-next")
    page.click("#line-prev")
    assert len(kinds(page)) == len(expected) - 1


def test_saturated_values_keep_the_digits_that_set_them_apart(page):
    rng = np.random.default_rng(23)
    values = []
    for _ in range(200):
        whole = float(rng.choice([1, -1, 2, 10, 0.5]))
        gap = float(rng.uniform(1, 9.9) * 10.0 ** -rng.integers(4, 13))
        values.append(whole - gap * rng.choice([1, -1]))
    shown = page.evaluate("""async (values) => {
        const { fmt } = await import("/static/format.js");
        return values.map((v) => fmt(v));
    }""", values)
    for v, text in zip(values, shown, strict=True):
        number = float(text.replace("−", "-").replace("×10", "e").translate(
            str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        distance = abs(v - round(v)) if round(v) != 0 else abs(v)
        assert number != round(v) or distance == 0, (v, text)
        assert abs(number - v) <= 0.06 * max(distance, 1e-300) + 5e-5 * abs(v) * (
            distance > 1e-3 * abs(v)), (v, text)
    assert page.evaluate("""async () => (await import("/static/format.js"))
        .fmt(1 - 4.5e-7)""") == "0.99999955"


def test_a_saturated_output_is_written_with_its_distance_to_the_target(page):
    page.select_option("#lr", "10")
    wait_until(page, lambda: "lr=10" in page.url, what="learning rate 10")
    page.evaluate("window.playground.setWeights(window.playground.state.network.edges"
                  ".map(([i, j, w]) => [i, j, i === 0 && j === 9 ? 11 : w]))")
    wait_until(page, lambda: page.get_attribute("[data-testid=bias-9]", "data-weight") == "11",
               what="the bias of neuron 9")
    open_backward(page, 9)
    r = result(page)
    a9 = r["neurons"]["9"]["a"]
    assert 0.9999 < a9 < 1
    text = page.inner_text("#derivation")
    forward = text.split("\n")[0]
    a_shown = float(forward.rsplit("= ", 1)[1])
    assert a_shown != 1 and abs(a_shown - a9) < 0.06 * (1 - a9)
    assert "(0 - 1)" not in text and "(1 - 1)" not in text
    # the step's last line: J before and after the update, written so that they differ
    tex = page.evaluate("""async () => (await import("/static/derivation.js"))
        .afterLine(window.playground.backward.result).tex""")
    before, after = re.search(r"J: (.+) \\to (.+)$", tex).groups()
    assert r["loss"] != r["loss_after"] and before != after


@pytest.mark.parametrize("classes", [2, 3])
def test_each_loss_has_one_name_on_the_page(page, classes):
    choose(page, "gauss")
    page.select_option("#classes", str(classes))
    page.select_option("#loss", "cross_entropy")
    wait_until(page, lambda: "loss=cross_entropy" in page.url and f"n_classes={classes}"
               in page.url, what="cross-entropy")
    open_backward(page)
    page.click("#step-through")
    for _ in range(12):
        page.click("#line-next")
    text = page.inner_text("body").lower()
    assert "cross-entropy" in text
    for other in ("log_loss", "log loss", "cross_entropy", "cross entropy", "logloss"):
        assert other not in text, other
