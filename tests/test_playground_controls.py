"""The playground's controls in Chromium: what the page shows is the server's network.

Pause keeps the answer of the last step; an error message goes with the next success and
never moves the page; K-class data sets have K classes; the model downloaded after a CSV
upload predicts with ``deltanet predict``; the smaller controls behave as in TensorFlow
Playground (the neuron "+" stops at 8, output neurons in class colours, a loss chart with
axes and a legend, a hovered neuron's map shown large, messages written as sentences).
"""

from __future__ import annotations

import numpy as np
import pytest

import playground_pages as pages
from playground_pages import choose, server_state, steps, wait_until

pytestmark = pages.marks(__name__)


def shown_weights(page) -> dict[str, float]:
    return {e.get_attribute("data-testid"): float(e.get_attribute("data-weight"))
            for e in page.query_selector_all("#edges [data-testid^=edge-]")}


def test_after_pause_the_page_shows_the_network_the_server_holds(page):
    choose(page, "xor")
    page.select_option("#speed", "20")
    for _ in range(3):  # pause at different moments of a step in flight
        page.click("#play")
        wait_until(page, lambda: int(page.inner_text("#epoch")) >= 20, what="training")
        page.wait_for_timeout(150)
        page.click("#play")
        page.wait_for_timeout(1500)  # the step sent before Pause has been answered
        state = server_state(page)
        assert int(page.inner_text("#epoch")) == state["epoch"]
        assert shown_weights(page) == {f"edge-{i}-{j}": w for i, j, w in
                                       state["network"]["edges"] if i > 0}
        assert float(page.get_attribute("#train-loss", "data-value")) == state["loss"]["train"]
    epoch = int(page.inner_text("#epoch"))
    steps(page, 1)
    assert server_state(page)["epoch"] == epoch + 1


def test_a_good_upload_clears_the_error_of_a_bad_one_without_moving_the_page(page, tmp_path):
    top = page.query_selector("main").bounding_box()["y"]
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2\n")
    page.set_input_files("#upload-csv", str(bad))
    page.wait_for_selector("#message:not([hidden])")
    text = page.inner_text("#message .text")
    assert text[0].isupper() and text.endswith(".") and "{" not in text
    assert page.query_selector("main").bounding_box()["y"] == top
    good = tmp_path / "good.csv"
    rng = np.random.default_rng(0)
    good.write_text("\n".join(f"{a},{b},{int(a > b)}" for a, b in rng.normal(size=(40, 2))))
    page.set_input_files("#upload-csv", str(good))
    page.wait_for_selector("#dataset-upload.selected")
    page.wait_for_selector("#message", state="hidden")


@pytest.mark.parametrize("dataset", ["xor", "circle", "gauss", "spiral"])
def test_k_class_sets_have_k_classes_of_equal_share(page, dataset):
    choose(page, dataset)
    for k in (3, 5):
        page.select_option("#classes", str(k))
        wait_until(page, lambda k=k: f"n_classes={k}" in page.url
                   and len(page.query_selector_all("#legend > span")) == k, what=f"{k} classes")
        points = page.evaluate("window.playground.points")
        labels = [p[2] for p in points["train"] + points["test"]]
        counts = np.bincount(labels, minlength=k)
        assert len(counts) == k and counts.min() >= 0.6 * len(labels) / k, counts


def test_the_model_downloaded_after_an_upload_predicts_with_the_cli(page, tmp_path, capsys):
    from deltanet.cli import main

    rng = np.random.default_rng(4)
    raw = rng.uniform([1000, 0.1], [2000, 0.2], size=(80, 2))
    rows = [f"{a!r},{b!r},{'yes' if a > 1500 else 'no'}" for a, b in raw.tolist()]
    csv = tmp_path / "houses.csv"
    csv.write_text("area,ratio,sold\n" + "\n".join(
        r.replace("yes", "1").replace("no", "0") for r in rows))
    page.set_input_files("#upload-csv", str(csv))
    page.wait_for_selector("#dataset-upload.selected")
    steps(page, 3)
    with page.expect_download() as download:
        page.click("#download-model")
    model = tmp_path / "upload.deltanet"
    download.value.save_as(model)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(csv), "--out", str(out)]) == 0
    capsys.readouterr()
    predicted = np.genfromtxt(out, delimiter=",", names=True)["sold"]
    outputs = page.evaluate("""async (rows) => {
        const r = [];
        for (const [x1, x2] of rows) r.push((await window.playground.api.backward([x1, x2], 0))
            .outputs[0]);
        return r;
    }""", [[(a - raw[:, 0].min()) / np.ptp(raw[:, 0]) * 12 - 6,
            (b - raw[:, 1].min()) / np.ptp(raw[:, 1]) * 12 - 6] for a, b in raw[:10].tolist()])
    np.testing.assert_array_equal(predicted[:10], (np.array(outputs) > 0.5).astype(int))


def test_the_neuron_plus_stops_at_eight(page):
    for size in range(5, 9):
        page.click("[data-testid=add-neuron-1]")
        wait_until(page, lambda size=size: f"layers={size},2" in page.url, what=f"{size} neurons")
    assert page.is_disabled("[data-testid=add-neuron-1]")
    assert not page.is_disabled("[data-testid=remove-neuron-1]")


def pixel(page, selector: str, x: float, y: float) -> list[int]:
    return page.evaluate("""([sel, x, y]) => {
        const c = document.querySelector(sel);
        return [...c.getContext("2d").getImageData(x * c.width, y * c.height, 1, 1).data];
    }""", [selector, x, y])


def test_multiclass_output_neurons_are_painted_in_their_class_colours(page):
    choose(page, "gauss")
    page.select_option("#classes", "3")
    page.select_option("#loss", "cross_entropy")
    page.wait_for_selector("[data-testid=neuron-11]")
    steps(page, 30)
    colours = page.evaluate("""() => [9, 10, 11].map((j) => {
        const c = document.querySelector(`canvas[data-map="${j}"]`);
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let best = [0, 0, 0], strength = -1;
        for (let k = 0; k < d.length; k += 4) {
            const s = Math.max(d[k], d[k + 1], d[k + 2]) - Math.min(d[k], d[k + 1], d[k + 2]);
            if (s > strength) { strength = s; best = [d[k], d[k + 1], d[k + 2]]; }
        }
        return best;
    })""")
    classes = np.array([[0xf5, 0x93, 0x22], [0x08, 0x77, 0xbd], [0x2c, 0xa0, 0x2c]])
    for k, rgb in enumerate(colours):  # the most saturated pixel leans to class k's colour
        direction = classes[k] - np.array([232, 234, 235])
        assert np.dot(np.array(rgb) - [232, 234, 235], direction) > 0, (k, rgb)
        others = [c for c in range(3) if c != k]
        assert all(np.linalg.norm(np.array(rgb) - classes[k])
                   < np.linalg.norm(np.array(rgb) - classes[c]) for c in others), (k, rgb)


def test_the_loss_chart_has_axes_and_a_legend(page):
    steps(page, 3)
    axis = pixel(page, "#loss-chart", 34 / 300, 0.5)  # the y axis at x = 34 px
    assert axis[3] > 0 and max(axis[:3]) < 120
    assert "training" in page.inner_text(".chart-legend")
    assert "test" in page.inner_text(".chart-legend")


def test_hovering_a_neuron_shows_its_map_in_the_large_square(page):
    before = page.evaluate("document.querySelector('#heatmap').toDataURL()")
    page.hover("[data-testid=neuron-3]")
    wait_until(page, lambda: page.inner_text("#output-caption") == "Showing neuron 3",
               what="the caption")
    during = page.evaluate("document.querySelector('#heatmap').toDataURL()")
    page.mouse.move(5, 5)
    wait_until(page, lambda: page.inner_text("#output-caption") == "", what="no caption")
    after = page.evaluate("document.querySelector('#heatmap').toDataURL()")
    assert during != before and after == before
