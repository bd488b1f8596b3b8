"""Shared parts of the playground's browser tests: the server, Debian's Chromium, pages.

Each test module gets one server (``python -m deltanet.playground`` on a free port) and one
browser; each test opens its pages in a fresh browser context. tests/conftest.py makes them
the fixtures ``server_url``, ``browser`` and ``page`` with ``yield from`` over ``serve``,
``launch`` and ``fresh_page``. Each module sets ``pytestmark = marks(__name__)``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[1] / "docs"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def marks(module: str) -> list:
    """The marks of the browser test module ``module`` (its ``__name__``): its own xdist
    group, so that its tests run one after another on one worker with the module's server
    and browser, while other modules run on the other workers."""
    return [
        pytest.mark.browser,
        pytest.mark.xdist_group(f"playground-browser-{module.rsplit('.', 1)[-1]}"),
        pytest.mark.skipif(not Path(CHROMIUM).exists(),
                           reason="needs Debian's chromium (make test installs it)"),
    ]


def serve():
    """Run the playground server; yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.playground", "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE, text=True)
    try:
        match = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline())
        assert match, "the server did not print its URL"
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def launch():
    """Start Debian's Chromium; yields the browser."""
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def open_page(browser, url: str, width: int = 1280, height: int = 800, **options):
    """A page in a fresh context, loaded and ready; ``page.errors`` collects page errors."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    return page


def fresh_page(browser, url: str, **options):
    """A ready page in a fresh context; yields it, then checks it had no page errors."""
    page = open_page(browser, url, **options)
    yield page
    errors = page.errors
    page.context.close()
    assert errors == []


@contextlib.contextmanager
def page_at(browser, url: str, **options):
    """``with page_at(browser, url, width=400, height=800) as page``: a fresh page."""
    yield from fresh_page(browser, url, **options)


def wait_until(page, condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def server_state(page) -> dict:
    """The session's state as the server holds it now (asked through the page's API)."""
    return page.evaluate("window.playground.api.state()")


def choose(page, dataset: str):
    page.click(f"#dataset-{dataset}")
    wait_until(page, lambda: f"dataset={dataset}" in page.url, what=f"the {dataset} data set")
    page.wait_for_selector(f"#dataset-{dataset}.selected")


def steps(page, n: int):
    before = int(page.inner_text("#epoch"))
    for _ in range(n):
        page.click("#step")
    wait_until(page, lambda: page.inner_text("#epoch") == str(before + n), what=f"{n} epochs")


def open_backward(page, neuron: int | None = None):
    """Open the backward view (on a neuron, when given) and wait for its numbers."""
    if neuron is None:
        page.click("#backward-toggle")
    else:
        page.click(f"[data-testid=neuron-{neuron}]")
    page.wait_for_selector("#derivation li")
