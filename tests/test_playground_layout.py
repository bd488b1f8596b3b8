"""The playground fits the screens it is used on: projectors and phones.

At 1,280 x 720 and 1,024 x 768 (projectors), at 1,400 px and at 800 x 600, with the
backward view open, the page has no horizontal scroll and everything lies within it; the
arc labels never overlap. Below 480 px the page is one stacked column in which every
control works by touch. The tests write the README's screenshots with ``--update-docs``.
"""

from __future__ import annotations

import pytest

import playground_pages as pages
from playground_pages import choose, open_backward, steps, wait_until

pytestmark = pages.marks(__name__)

SCREENS = [(1400, 900), (1280, 720), (1024, 768), (800, 600), (400, 800)]


def overflow(page) -> dict:
    """How far the page and its parts reach past the viewport's width."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const out = {page: document.documentElement.scrollWidth - width};
        for (const sel of ["#backward-panel", "#grad-table", "#derivation", ".output",
                           "#heatmap", "#network"]) {
            const node = document.querySelector(sel);
            if (node && node.offsetParent !== null) {
                out[sel] = Math.round(node.getBoundingClientRect().right - width);
            }
        }
        return out;
    }""")


def layer_size(page, layer: int) -> int:
    """The number of neurons of hidden layer ``layer`` (from 1) in the page's address."""
    layers = page.url.split("layers=", 1)[1].split("&", 1)[0].split(",")
    return int(layers[layer - 1])


def boxes_overlap(boxes) -> bool:
    for k, a in enumerate(boxes):
        for b in boxes[k + 1:]:
            if a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] \
                    and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]:
                return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_the_page_fits_with_the_backward_view_open(browser, server_url, width, height):
    with pages.page_at(browser, server_url, width=width, height=height) as page:
        for _ in range(3):  # 3 hidden layers of 8 neurons
            page.click("#add-layer")
        wait_until(page, lambda: "layers=4,2,2,2" in page.url, what="four layers")
        for c in range(1, 5):  # a neuron a click, each waited for, up to the eighth
            for n in range(layer_size(page, c) + 1, 9):
                page.click(f"[data-testid=add-neuron-{c}]")
                wait_until(page, lambda c=c, n=n: layer_size(page, c) == n,
                           what=f"{n} neurons in layer {c}")
            page.wait_for_selector(f"[data-testid=add-neuron-{c}]:disabled")
        wait_until(page, lambda: "layers=8,8,8,8" in page.url, what="4 x 8 neurons")
        open_backward(page, 35)
        page.click("#value-tables summary")
        reach = overflow(page)
        assert all(v <= 0 for v in reach.values()), reach
        # only the arcs into the chosen neuron carry labels, and they stay apart
        labels = [t.bounding_box() for t in page.query_selector_all(".grad-label")]
        assert len(labels) == 8 and not boxes_overlap(labels)
        # one neuron's derivation, not the whole step's
        assert len(page.inner_text("#derivation")) < 3000
        # the output square is on the screen beside or below the network
        box = page.query_selector("#heatmap").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width


def test_projector_screenshot_with_the_backward_view(browser, server_url, request, tmp_path):
    with pages.page_at(browser, server_url, width=1280, height=720) as page:
        choose(page, "xor")
        steps(page, 40)
        open_backward(page, 9)
        page.click("#step-through")
        for _ in range(4):
            page.click("#line-next")
        assert overflow(page)["page"] <= 0
        shot = tmp_path / "projector.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 20_000
        if request.config.getoption("--update-docs"):
            (pages.DOCS / "playground-projector.png").write_bytes(shot.read_bytes())


def test_on_a_phone_every_control_works_by_touch(browser, server_url, request, tmp_path):
    with pages.page_at(browser, server_url, width=400, height=800, has_touch=True,
                       is_mobile=True) as page:
        assert overflow(page)["page"] <= 0
        page.tap("#dataset-xor")
        wait_until(page, lambda: "dataset=xor" in page.url, what="xor by touch")
        page.tap("[data-testid=feature-x1\\*x2]")
        page.wait_for_selector("[data-testid=neuron-3][data-feature='x1*x2']")
        page.tap("[data-testid=add-neuron-1]")
        wait_until(page, lambda: "layers=5,2" in page.url, what="a neuron by touch")
        page.tap("#step")
        wait_until(page, lambda: page.inner_text("#epoch") == "1", what="a step by touch")
        page.tap("#play")
        wait_until(page, lambda: int(page.inner_text("#epoch")) >= 5, what="running")
        page.tap("#play")
        page.wait_for_selector("#play[aria-pressed=false]")
        page.tap("#backward-toggle")
        page.wait_for_selector("#backward-panel:not([hidden]) #derivation li")
        page.tap("[data-testid=neuron-5]")
        wait_until(page, lambda: page.inner_text("#derivation-title") == "Neuron 5",
                   what="neuron 5 by touch")
        page.tap("#point-next")
        wait_until(page, lambda: page.input_value("#point-index") == "2", what="next point")
        page.tap("[data-testid=bias-5]")
        page.wait_for_selector("#weight-editor:not([hidden])")
        page.fill("#weight-input", "0.5")
        page.tap("#weight-apply")
        wait_until(page, lambda: page.get_attribute("[data-testid=bias-5]", "data-weight")
                   == "0.5", what="the bias set by touch")
        page.tap("#quiz-toggle")
        page.wait_for_selector("#quiz-body:not([hidden])")
        assert overflow(page)["page"] <= 0
        page.evaluate("window.scrollTo(0, document.querySelector('.net').offsetTop - 8)")
        shot = tmp_path / "phone.png"
        page.screenshot(path=str(shot))
        if request.config.getoption("--update-docs"):
            (pages.DOCS / "playground-phone.png").write_bytes(shot.read_bytes())
