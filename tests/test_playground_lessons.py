"""Lesson links: a URL that fixes the data set, the network, its weights and the hidden
controls, opened in a fresh browser (another session) reproduces all of them exactly. A
bad value in a link costs only that setting; an edited URL applies at once; a data set too
large for a link travels as a lesson file.
"""

from __future__ import annotations

import numpy as np

import playground_pages as pages
from playground_pages import steps, wait_until

pytestmark = pages.marks(__name__)


def snapshot(page) -> dict:
    state = page.evaluate("window.playground.api.state()")
    return {"points": page.evaluate("window.playground.points"),
            "edges": state["network"]["edges"], "config": state["config"],
            "hidden": sorted(n.get_attribute("data-hide")
                             for n in page.query_selector_all(".lesson-hidden"))}


def csv_file(tmp_path, rows: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 2)) * [3.0, 40.0]
    lines = [f"{a!r},{b!r},{int(a * b > 0) + int(a > 2)}" for a, b in X.tolist()]
    path = tmp_path / f"data{rows}.csv"
    path.write_text("width,height,kind\n" + "\n".join(lines) + "\n")
    return path


def make_lesson(page, tmp_path, rows: int) -> None:
    page.set_input_files("#upload-csv", str(csv_file(tmp_path, rows, rows)))
    page.wait_for_selector("#dataset-upload.selected")
    page.click("[data-testid=add-neuron-1]")
    wait_until(page, lambda: "layers=5,2" in page.url, what="5 neurons")
    page.select_option("[data-testid=layer-activation-2]", "relu")
    wait_until(page, lambda: "activations=tanh,relu" in page.url, what="relu")
    steps(page, 4)
    page.click("[data-testid=edge-1-3] .hit", force=True)
    page.fill("#weight-input", "-1.25")
    page.press("#weight-input", "Enter")
    wait_until(page, lambda: page.get_attribute("[data-testid=edge-1-3]", "data-weight")
               == "-1.25", what="the new weight")
    page.click("#lesson summary")
    for name in ("lr", "upload", "quiz", "regularization"):
        page.check(f"[data-testid=hide-{name}]")


def test_a_lesson_link_reproduces_data_network_weights_and_hidden_controls(
        page, browser, tmp_path):
    make_lesson(page, tmp_path, 60)
    page.click("#copy-lesson")
    link = page.input_value("#lesson-link")
    assert "&data=" in link and "&w=" in link and "hide=lr,regularization,upload,quiz" in link
    mine = snapshot(page)
    with pages.page_at(browser, link) as student:
        wait_until(student, lambda: student.query_selector("[data-testid=neuron-8]"),
                   what="the lesson's network")
        theirs = snapshot(student)
        assert theirs["config"] == mine["config"] and theirs["config"]["dataset"] == "upload"
        assert theirs["points"] == mine["points"]
        assert theirs["edges"] == mine["edges"]  # exactly: float64 weights in the link
        assert theirs["hidden"] == ["lr", "quiz", "regularization", "upload"]
        assert student.is_hidden("#lr") and student.is_hidden("#upload-csv")
        assert student.is_visible("#step") and student.is_visible("#reset")
        sid = [p.evaluate("sessionStorage.getItem('deltanet-session')") for p in (page, student)]
        assert sid[0] != sid[1]


def test_a_large_data_set_travels_in_a_lesson_file(page, browser, tmp_path):
    make_lesson(page, tmp_path, 3000)
    page.click("#copy-lesson")
    wait_until(page, lambda: "too large for a link" in page.inner_text("#lesson-note"),
               what="the note on the data's size")
    assert "&data=" not in page.input_value("#lesson-link")
    with page.expect_download() as download:
        page.click("#save-lesson")
    lesson = tmp_path / "lesson.json"
    download.value.save_as(lesson)
    mine = snapshot(page)
    with pages.page_at(browser, pages_url(page)) as student:
        student.click("#lesson summary")
        student.set_input_files("#open-lesson", str(lesson))
        wait_until(student, lambda: student.query_selector("[data-testid=neuron-8]")
                   and snapshot(student)["edges"] == mine["edges"], what="the lesson")
        theirs = snapshot(student)
        assert theirs["points"] == mine["points"] and theirs["config"] == mine["config"]
        assert theirs["hidden"] == ["lr", "quiz", "regularization", "upload"]


def pages_url(page) -> str:
    return page.url.split("#")[0]


def test_a_bad_value_in_a_link_costs_only_that_setting(browser, server_url):
    link = (f"{server_url}#dataset=xor&n_classes=99&layers=3,3&lr=abc&activations=relu,relu"
            "&noise=10&colour=red")
    with pages.page_at(browser, link) as page:
        wait_until(page, lambda: page.query_selector("#dataset-xor.selected"), what="xor")
        state = page.evaluate("window.playground.api.state()")
        config = state["config"]
        assert config["layers"] == [3, 3] and config["activations"] == ["relu", "relu"]
        assert config["noise"] == 10 and config["dataset"] == "xor"
        assert config["lr"] == 0.03 and config["n_classes"] == 2
        message = page.inner_text("#message")
        for name in ("n_classes=99", "lr=abc", "colour=red"):
            assert name in message
        assert "noise" not in message and "layers" not in message


def test_an_edited_url_applies_without_a_reload(page):
    before = page.evaluate("performance.getEntriesByType('navigation').length")
    page.evaluate("location.hash = location.hash.replace('layers=4,2', 'layers=6,3,2')"
                  ".replace('activations=tanh,tanh', 'activations=tanh,tanh,tanh')"
                  ".replace('dataset=circle', 'dataset=spiral')")
    wait_until(page, lambda: page.query_selector("#dataset-spiral.selected")
               and page.query_selector("[data-testid=neuron-14]"), what="the edited URL")
    assert page.evaluate("window.playground.state.config.layers") == [6, 3, 2]
    assert page.evaluate("performance.getEntriesByType('navigation').length") == before
    assert page.inner_text("#epoch") == "0"
