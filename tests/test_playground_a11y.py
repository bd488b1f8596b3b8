"""Accessibility of the playground: axe-core finds no serious or critical violation in any
of the page's states, and the page works from the keyboard alone: train XOR, pick a point,
read a neuron's derivation. axe-core is vendored in tests/vendor (never fetched).
"""

from __future__ import annotations

import pytest

import playground_pages as pages
from playground_pages import open_backward, steps, wait_until

pytestmark = pages.marks(__name__)


def serious_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(pages.AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter((v) => ["serious", "critical"].includes(v.impact))
            .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target).join(" | ")}`);
    }""")
    return found


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (400, 800)])
def test_axe_finds_no_serious_violation_in_any_state(browser, server_url, width, height):
    # the CSP allows only the page's own scripts: the test context lets axe in
    with pages.page_at(browser, server_url, width=width, height=height,
                       bypass_csp=True) as page:
        assert serious_violations(page) == []
        steps(page, 2)
        open_backward(page, 5)
        page.click("#value-tables summary")
        assert serious_violations(page) == []
        page.click("#step-through")
        page.click("#line-next")
        assert serious_violations(page) == []
        page.click("#quiz-toggle")
        page.fill("#quiz-answer", "1")
        page.press("#quiz-answer", "Enter")
        page.click("#lesson summary")
        page.click("#copy-lesson")
        assert serious_violations(page) == []
        page.click("[data-testid=edge-1-3] .hit", force=True)
        page.wait_for_selector("#weight-editor:not([hidden])")
        assert serious_violations(page) == []


def focused(page) -> str:
    return page.evaluate("""() => {
        const e = document.activeElement;
        return e ? (e.id || e.getAttribute("data-testid") || e.tagName) : "";
    }""")


def tab_to(page, target: str, key: str = "Tab", limit: int = 400) -> None:
    for _ in range(limit):
        if focused(page) == target:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} cannot be reached with {key}")


def test_keyboard_alone_trains_xor_picks_a_point_and_reads_a_derivation(browser, server_url):
    with pages.page_at(browser, server_url) as page:
        tab_to(page, "dataset-xor")
        page.keyboard.press("Enter")
        wait_until(page, lambda: "dataset=xor" in page.url, what="xor")
        tab_to(page, "play", "Shift+Tab")
        page.keyboard.press("Enter")

        def test_loss() -> float:
            value = page.get_attribute("#test-loss", "data-value")
            return float(value) if value else float("inf")

        wait_until(page, lambda: test_loss() < 0.2 and int(page.inner_text("#epoch")) > 10,
                   timeout=240, what="training")
        page.keyboard.press("Enter")  # the focus is still on Run / pause
        page.wait_for_selector("#play[aria-pressed=false]")
        wait_until(page, lambda: page.inner_text("#status").startswith("Epoch "),
                   what="the epoch announced")
        tab_to(page, "backward-toggle")
        page.keyboard.press("Enter")
        page.wait_for_selector("#derivation li")
        tab_to(page, "point-index")
        page.keyboard.type("7")
        page.keyboard.press("Tab")
        wait_until(page, lambda: page.input_value("#point-index") == "7", what="point 7")
        picked = page.evaluate("window.playground.backward.point")
        assert picked == page.evaluate("window.playground.points.train[6]")
        tab_to(page, "neuron-5", "Shift+Tab")
        page.keyboard.press("Enter")
        wait_until(page, lambda: page.inner_text("#derivation-title") == "Neuron 5",
                   what="neuron 5's derivation")
        assert "Δ5 = g'(in5)" in page.inner_text("#derivation")
        point = page.evaluate("window.playground.backward.result.x")
        assert point == picked[:2]
        # arcs and bias squares are reached the same way, and edited from the keyboard
        tab_to(page, "bias-5")
        page.keyboard.press("Enter")
        page.keyboard.type("0.75")
        page.keyboard.press("Enter")
        wait_until(page, lambda: page.get_attribute("[data-testid=bias-5]", "data-weight")
                   == "0.75", what="the bias set from the keyboard")
        tab_to(page, "edge-1-3")
        page.keyboard.press("Enter")
        page.wait_for_selector("#weight-editor:not([hidden])")
        page.keyboard.press("Escape")
        assert focused(page) == "edge-1-3"


def test_the_page_names_its_parts_and_shows_focus_apart_from_selection(browser, server_url):
    with pages.page_at(browser, server_url) as page:
        assert page.inner_text("h1") == "deltanet playground"
        for c in (1, 2):
            label = page.get_attribute(f"[data-testid=layer-activation-{c}]", "aria-label")
            assert label == f"Activation of hidden layer {c}"
        reachable = page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid^=neuron-], [data-testid^=feature-], [data-testid^=bias-],'
            + ' [data-testid^=edge-]')].every((n) => n.tabIndex === 0)""")
        assert reachable
        tab_to(page, "dataset-circle")  # selected and focused
        focus = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        page.keyboard.press("Tab")  # circle stays selected, without the focus
        rest = page.evaluate("getComputedStyle(document.querySelector('#dataset-circle'))"
                             ".outlineStyle")
        assert focus != "none" and rest == "none"
        hint = page.evaluate("getComputedStyle(document.querySelector('.hint')).color")
        assert hint != "rgb(136, 136, 136)"
