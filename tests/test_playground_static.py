"""The exported static playground (``deltanet playground --export DIR``) in Debian's Chromium:
opened from ``file://`` and served by ``python -m http.server``, with every request outside
the site blocked and recorded (none may be made). Lessons on XOR, circles and a 3-class set
with each activation, loss and regulariser the page offers (and dropout, batch norm, and
per-example SGD where deltanet's own result is stable under last-bit changes) train
100 epochs in the page; the weights equal those of deltanet's Python session on the same
lesson to 1e-12. A model downloaded from the page loads in ``deltanet info`` and predicts
what the page shows; after a CSV upload it carries the upload's table preprocessing, so
``deltanet predict`` on the CSV gives the page's outputs.
"""

from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest

import deltanet
import playground_pages as pages
from deltanet.playground.config import HIDDEN_ACTIVATIONS, LOSSES, REGULARIZATIONS, parse_config
from deltanet.playground.export import export
from deltanet.playground.sessions import Session
from playground_csvs import generated_csvs

pytestmark = pages.marks(__name__)
EPOCHS = 100


def lessons() -> list[dict]:
    """Each data set (XOR, circles, 3 gaussians) with every hidden activation; losses and
    regularisers cycle so each meets each data set; then dropout and batch norm."""
    out = []
    sets = [{"dataset": "xor"}, {"dataset": "circle"}, {"dataset": "gauss", "n_classes": 3}]
    for d, data in enumerate(sets):
        for a, act in enumerate(HIDDEN_ACTIVATIONS):
            reg = REGULARIZATIONS[(a + d) % 3]
            out.append({**data, "n_samples": 200, "activations": [act, act],
                        "loss": LOSSES[(a + d) % 2], "regularization": reg,
                        "reg_rate": 0 if reg == "none" else 0.003, "seed": 3 + a})
    out.append({"dataset": "xor", "n_samples": 200, "dropout": 0.2, "loss": "cross_entropy"})
    out.append({"dataset": "gauss", "n_classes": 3, "n_samples": 200, "batch_norm": True,
                "loss": "cross_entropy", "activations": ["relu", "softplus"]})
    # per-example SGD (deltanet's compiled per-example engine), in lessons where deltanet's
    # own weights are stable under last-bit changes (test_playground_engine.py)
    out.append({"dataset": "xor", "n_samples": 200, "batch_size": 1, "loss": "cross_entropy",
                "activations": ["relu", "logistic"], "regularization": "l1", "reg_rate": 0.003})
    out.append({"dataset": "circle", "n_samples": 200, "batch_size": 1, "activations":
                ["tanh", "tanh"], "regularization": "l2", "reg_rate": 0.003})
    return out


_PYTHON: dict[str, np.ndarray] = {}


def python_weights(lesson: dict) -> np.ndarray:
    key = str(sorted(lesson.items()))
    if key not in _PYTHON:
        session = Session("static", parse_config(lesson))
        session.train(EPOCHS)
        _PYTHON[key] = np.array([[i, j, session.net.weights[i, j]] for i, j in session.net.arcs])
    return _PYTHON[key]


def lesson_hash(lesson: dict) -> str:
    text = {k: ",".join(map(str, v)) if isinstance(v, list) else
            ("1" if v is True else "0" if v is False else str(v)) for k, v in lesson.items()}
    return "#" + urlencode(text).replace("%2C", ",")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return export(tmp_path_factory.mktemp("site")).parent


@pytest.fixture(scope="module")
def http_url(site):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def open_site(browser, base: str, **options):
    """The site's page with every request outside ``base`` blocked; ``page.outside`` lists
    those requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    page = context.new_page()
    page.outside, page.errors = [], []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("blob:"):
            r.continue_()
        else:
            page.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.goto(base + "index.html")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    return page


def train_in_page(page, lesson: dict) -> np.ndarray:
    page.evaluate("(h) => { location.hash = h; }", lesson_hash(lesson))
    page.wait_for_function(
        "(want) => Object.entries(want).every(([k, v]) => JSON.stringify("
        "window.playground.api.session.config[k]) === JSON.stringify(v))", arg=lesson)
    edges = page.evaluate("""async (epochs) => {
        const api = window.playground.api;
        await api.reset();
        let state = null;
        while (api.session.epoch < epochs) state = await api.step(epochs - api.session.epoch);
        return state.network.edges;
    }""", EPOCHS)
    return np.array(edges)


def check_lessons(page) -> None:
    for lesson in lessons():
        got, want = train_in_page(page, lesson), python_weights(lesson)
        assert got.shape == want.shape and (got[:, :2] == want[:, :2]).all(), lesson
        np.testing.assert_allclose(got[:, 2], want[:, 2], rtol=0, atol=1e-12, err_msg=str(lesson))
    assert page.outside == [] and page.errors == []


@pytest.mark.slow
def test_lessons_from_file_train_to_pythons_weights_with_no_outside_request(browser, site):
    page = open_site(browser, site.as_uri() + "/")
    check_lessons(page)


@pytest.mark.slow
def test_lessons_over_http_server_train_to_pythons_weights(browser, http_url):
    page = open_site(browser, http_url)
    check_lessons(page)


def test_site_is_html_css_js_under_500_kb_compressed_and_paints_within_1_s(browser, site):
    files = sorted(p.name for p in site.iterdir())
    assert {Path(f).suffix for f in files} <= {".html", ".css", ".js", ".svg"}, files
    packed = sum(len(gzip.compress(p.read_bytes())) for p in site.iterdir())
    assert packed < 500_000, packed
    page = open_site(browser, site.as_uri() + "/")
    paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
    assert paint < 1000, paint
    assert page.outside == [] and page.errors == []


def test_downloaded_model_loads_in_deltanet_and_predicts_what_the_page_shows(browser, site,
                                                                            tmp_path):
    page = open_site(browser, site.as_uri() + "/", accept_downloads=True)
    lesson = {"dataset": "gauss", "n_classes": 3, "n_samples": 200, "batch_norm": True,
              "loss": "cross_entropy", "features": ["x1", "x2", "sin(x1)"]}
    train_in_page(page, lesson)
    page.evaluate("async () => window.playground.render(await window.playground.api.state())")
    with page.expect_download() as download:
        page.click("#download-model")
    path = tmp_path / "model.deltanet"
    download.value.save_as(path)
    info = subprocess.run([sys.executable, "-m", "deltanet", "info", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    net = deltanet.load(path)
    points = [[1.5, -2.0], [-3.0, 0.25], [0.0, 4.0]]
    for x in points:
        shown = page.evaluate("async (x) => (await window.playground.api.backward(x, 0)).outputs",
                              x)
        inputs = np.array([[x[0], x[1], np.sin(x[0])]])
        np.testing.assert_allclose(net.forward(inputs)[0], shown, rtol=0, atol=1e-12)
    assert page.outside == [] and page.errors == []


def test_static_page_checks_settings_as_the_server_does(browser, site):
    page = open_site(browser, site.as_uri() + "/")
    page.evaluate("(h) => { location.hash = h; }", "#dataset=xor&layers=9,2&lr=0.1")
    page.wait_for_function("window.playground.api.session.config.dataset === 'xor'")
    config = page.evaluate("window.playground.api.session.config")
    assert config["layers"] == [4, 2] and config["lr"] == 0.1
    refused = page.evaluate("""async () => {
        try { await window.playground.api.configure({ batch_size: 0 }); return null; }
        catch (err) { return [err.status, err.message]; } }""")
    assert refused[0] == 422 and "batch_size" in refused[1]
    assert page.outside == [] and page.errors == []


def test_cli_exports_the_site_and_refuses_a_file_in_one_line(tmp_path):
    folder = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "deltanet", "playground", "--export",
                           str(folder)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["favicon.svg", "index.html",
                                                       "playground.js", "style.css"]
    script = (folder / "playground.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|export)\s", script, re.M)  # a classic script
    (tmp_path / "file").write_text("x")
    bad = subprocess.run([sys.executable, "-m", "deltanet", "playground", "--export",
                          str(tmp_path / "file")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is a file" in bad.stderr


def test_backward_view_in_the_page_gives_the_servers_numbers(browser, site):
    from deltanet.playground.backward import backward_view

    page = open_site(browser, site.as_uri() + "/")
    for lesson in ({"dataset": "gauss", "n_classes": 3, "n_samples": 100, "loss": "cross_entropy",
                    "regularization": "l2", "reg_rate": 0.01, "batch_norm": True},
                   {"dataset": "xor", "n_samples": 100, "activations": ["relu", "softplus"],
                    "regularization": "l1", "reg_rate": 0.003}):
        page.evaluate("(h) => { location.hash = h; }", lesson_hash(lesson))
        page.wait_for_function(
            "(want) => Object.entries(want).every(([k, v]) => JSON.stringify("
            "window.playground.api.session.config[k]) === JSON.stringify(v))", arg=lesson)
        got = page.evaluate("""async () => {
            const api = window.playground.api;
            await api.reset();
            while (api.session.epoch < 10) await api.step(10 - api.session.epoch);
            return api.backward([1.25, -2.5], 1);
        }""")
        session = Session("view", parse_config(lesson))
        session.train(10)
        want = backward_view(session, [1.25, -2.5], 1)
        for key in ("inputs", "target", "outputs", "loss", "loss_after"):
            np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-12, err_msg=key)
        assert got["output_ids"] == want["output_ids"] and got["penalty"] == want["penalty"]
        for j, neuron in want["neurons"].items():
            for key, value in neuron.items():
                if isinstance(value, float):
                    assert got["neurons"][j][key] == pytest.approx(value, abs=1e-12), (j, key)
                else:
                    assert got["neurons"][j][key] == value, (j, key)
        assert len(got["edges"]) == len(want["edges"])
        for g, w in zip(got["edges"], want["edges"], strict=True):
            for key, value in w.items():
                assert g[key] == pytest.approx(value, abs=1e-12), (w["i"], w["j"], key)
    assert page.outside == [] and page.errors == []


def test_model_of_raw_coordinates_predicts_a_csv_with_the_cli(browser, site, tmp_path):
    page = open_site(browser, site.as_uri() + "/", accept_downloads=True)
    lesson = {"dataset": "gauss", "n_classes": 3, "n_samples": 200, "loss": "cross_entropy"}
    train_in_page(page, lesson)
    page.evaluate("async () => window.playground.render(await window.playground.api.state())")
    with page.expect_download() as download:
        page.click("#download-model")
    path = tmp_path / "model.deltanet"
    download.value.save_as(path)
    points = [[1.5, -2.0], [-3.0, 0.25], [0.0, 4.0], [2.5, 2.5]]
    (tmp_path / "points.csv").write_text("x1,x2\n" + "\n".join(f"{a},{b}" for a, b in points))
    done = subprocess.run([sys.executable, "-m", "deltanet", "predict", "--proba", str(path),
                           str(tmp_path / "points.csv")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.strip().splitlines()[1:]]
    for x, row in zip(points, rows, strict=True):
        shown = page.evaluate("async (x) => (await window.playground.api.backward(x, 0)).outputs",
                              x)
        np.testing.assert_allclose([float(v) for v in row], shown, rtol=0, atol=1e-12)
    assert page.outside == [] and page.errors == []


def test_uploaded_csv_trains_in_the_page_to_pythons_weights(browser, site):
    from deltanet.playground.datasets import parse_csv

    rng = np.random.default_rng(8)
    X = rng.uniform(-20, 50, size=(60, 2))
    y = (X[:, 0] + X[:, 1] > 30).astype(int) + (X[:, 0] > 35)
    text = "u,v,kind\n" + "\n".join(f"{a!r},{b!r},{c}" for a, b, c in
                                   zip(X[:, 0].tolist(), X[:, 1].tolist(), y.tolist(),
                                       strict=True))
    page = open_site(browser, site.as_uri() + "/")
    page.set_input_files("#upload-csv", files=[{"name": "points.csv",
                                                     "mimeType": "text/csv",
                                                     "buffer": text.encode()}])
    page.wait_for_function("window.playground.api.session.config.dataset === 'upload'")
    config = page.evaluate("window.playground.api.session.config")
    assert config["n_classes"] == 3 and config["task"] == "classification"
    got = np.array(page.evaluate("""async () => {
        const api = window.playground.api;
        let state = null;
        while (api.session.epoch < 50) state = await api.step(50 - api.session.epoch);
        return state.network.edges;
    }"""))
    session = Session("upload", parse_config({k: v for k, v in config.items()
                                              if k != "dataset"}))
    session.set_upload(parse_csv(text, 2000))
    session.train(50)
    want = np.array([[i, j, session.net.weights[i, j]] for i, j in session.net.arcs])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert page.outside == [] and page.errors == []


def test_lesson_link_from_the_static_page_gives_the_same_network_elsewhere(browser, site):
    page = open_site(browser, site.as_uri() + "/")
    train_in_page(page, {"dataset": "spiral", "n_samples": 100, "activations": ["relu", "tanh"]})
    page.evaluate("async () => window.playground.render(await window.playground.api.state())")
    page.click("summary:has-text('Lesson link')")
    page.click("#copy-lesson")
    page.wait_for_function("document.getElementById('lesson-link').value.includes('w=')")
    link = page.input_value("#lesson-link")
    edges = page.evaluate("window.playground.api.session.net.arcs()")
    other = open_site(browser, site.as_uri() + "/")
    other.goto(link)
    other.wait_for_function("window.playground.api.session.config.dataset === 'spiral'")
    other.wait_for_function("(w) => JSON.stringify(window.playground.api.session.net.arcs())"
                            " === JSON.stringify(w)", arg=edges, timeout=10_000)
    assert page.outside == other.outside == [] and page.errors == other.errors == []


def page_outputs_on_upload(page) -> np.ndarray:
    """The page's network outputs on the uploaded points (the page's scaled coordinates)."""
    return np.array(page.evaluate("""async () => {
        const api = window.playground.api;
        const out = [];
        for (const x of api.session.upload.X) out.push((await api.backward(x, 0)).outputs);
        return out;
    }"""))


@pytest.mark.slow
def test_model_downloaded_after_an_upload_predicts_the_csv_as_the_page(browser, site, tmp_path):
    from deltanet.playground.datasets import parse_csv

    page = open_site(browser, site.as_uri() + "/", accept_downloads=True)
    for n, text in enumerate(t for seed in (11, 12, 13) for t in generated_csvs(seed)):
        page.set_input_files("#upload-csv", files=[{"name": "points.csv", "mimeType": "text/csv",
                                                    "buffer": text.encode()}])
        page.wait_for_function("(t) => window.playground.api.session.upload?.text === t",
                               arg=text)
        page.evaluate("""async () => { const api = window.playground.api;
            while (api.session.epoch < 5) await api.step(5 - api.session.epoch);
            window.playground.render(await api.state()); }""")
        with page.expect_download() as download:
            page.click("#download-model")
        model, table = tmp_path / f"model{n}.deltanet", tmp_path / f"upload{n}.csv"
        download.value.save_as(model)
        upload = parse_csv(text, 2000)
        names = upload.preprocessing.classes_ or []
        if names and not names[0].lstrip("-").isdigit():  # text labels: the legend names them
            assert page.inner_text("#legend").split() == " ".join(names).split(), names
        header = "" if text.startswith("u,") else ",".join(upload.columns) + "\n"
        table.write_text(header + text, encoding="utf-8")  # predict needs the column names
        pre = upload.preprocessing
        command = ["predict"] + (["--proba"] if upload.task == "classification" else [])
        done = subprocess.run([sys.executable, "-m", "deltanet", *command, str(model),
                               str(table)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        shown = page_outputs_on_upload(page)
        got = np.loadtxt(done.stdout.splitlines()[1:], delimiter=",", ndmin=2)
        if upload.task == "regression":
            shown = pre.target_scaler_.inverse_transform(shown)
        np.testing.assert_allclose(got, shown, rtol=1e-12, atol=1e-12, err_msg=text[:80])
    assert page.outside == [] and page.errors == []
