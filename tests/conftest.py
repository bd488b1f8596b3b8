"""Shared fixtures: small networks from the seeds, random DAGs, and the playground's server,
browser and page for its browser tests (tests/playground_pages.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltanet as dn

SEED002_ARCS = [(1, 3), (2, 3), (1, 4), (2, 4), (3, 5), (4, 5)]
SEED002_WEIGHTS = {(0, 3): 5, (1, 3): 1, (2, 3): -2, (0, 4): 3, (1, 4): -4, (2, 4): 2,
                   (0, 5): -1, (3, 5): 4, (4, 5): 2}


def pytest_addoption(parser):
    parser.addoption("--fuzz-budget", type=int, default=10_000,
                     help="mutated files per reader in tests/test_fuzz.py (default 10,000)")
    parser.addoption("--update-docs", action="store_true",
                     help="write the documents the tests produce (the playground screenshot) "
                          "into docs/")
    parser.addoption("--reliability-report", metavar="PATH", default=None,
                     help="write the table of faults tried (tests marked 'reliability') "
                          "as Markdown to PATH, e.g. docs/RELIABILITY.md")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reliability(area, fault, how): a fault or bad input this test tries; "
        "listed in docs/RELIABILITY.md")
    # pytest-xdist registers xdist_group itself; runs with -p no:xdist need it too
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one worker")
    config._reliability_rows = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Before any test, in the main process only (not in pytest-xdist's workers, which
    start after it): the compiled engine's kernels for both dtypes, in two processes at
    once (tests/warm_kernels.py), so that no test compiles them again."""
    if hasattr(session.config, "workerinput"):
        return
    script = Path(__file__).with_name("warm_kernels.py")
    runs = [subprocess.Popen([sys.executable, str(script), dtype])
            for dtype in ("float64", "float32")]
    failed = [run.args[-1] for run in runs if run.wait() != 0]
    if failed:
        raise pytest.UsageError(f"compiling the engine's kernels failed for {failed}")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Long tests (marked ``slow``) first, in their order. pytest-xdist hands the tests out
    in this order (after its groups): a long test handed out last keeps one worker busy
    while the others have nothing left to do. Then the xdist groups, see _keep_xdist_groups."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    _keep_xdist_groups(config, items)


def _keep_xdist_groups(config, items) -> None:
    """``--dist loadgroup`` sends the tests of one ``xdist_group`` to one worker by adding
    ``@group`` to their node ids; since pytest 9.2 stores node ids structured, pytest-xdist's
    change no longer takes and every group is silently spread over the workers
    (pytest-dev/pytest-xdist#1386). Add the suffix where it is missing, as pytest stores ids
    now (runs on the workers, after pytest-xdist's own hook)."""
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: pytest-xdist's own suffix takes
        return
    for item in items:
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                 for m in item.iter_markers("xdist_group")}
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            item._id = NodeId.parse(item.nodeid + suffix)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # one row per reliability test: passed only if setup, call and teardown all passed
    outcome = yield
    marks = [m.kwargs for m in item.iter_markers("reliability")]
    if marks:
        report = outcome.get_result()
        rows = item.config._reliability_rows
        ok = rows.get(item.nodeid, (marks, True, None))[1] and not report.failed
        generated = dict(item.user_properties).get("generated_cases")
        rows[item.nodeid] = (marks, ok and not report.skipped, generated)


def pytest_sessionfinish(session):
    from reliability_report import write_report

    path = session.config.getoption("--reliability-report")
    if path and not hasattr(session.config, "workerinput"):
        write_report(path, session.config._reliability_rows)


REPORT = Path(__file__).resolve().parents[1] / "docs" / "RELIABILITY.md"


@pytest.fixture
def family_cases(request):
    """``done(n)``: a reliability test tried ``n`` cases it generated, all as wanted. The
    count goes into docs/RELIABILITY.md, and the test fails when the committed report does
    not show this row as it is now (rewrite it with ``--reliability-report``)."""
    from reliability_report import row_lines

    def done(n: int) -> None:
        request.node.user_properties.append(("generated_cases", n))
        if request.config.getoption("--reliability-report"):
            return  # the report is being written by this run
        marks = [m.kwargs for m in request.node.iter_markers("reliability")]
        base = request.node.nodeid.split("@", 1)[0].split("[", 1)[0]  # no xdist group
        committed = REPORT.read_text(encoding="utf-8").splitlines()
        for line in row_lines(base, marks, 1, 1, n):
            assert line in committed, (
                f"docs/RELIABILITY.md is out of date: it lacks the row\n{line}\nrun "
                ".venv/bin/python -m pytest -m reliability -p no:xdist "
                f"--reliability-report=docs/RELIABILITY.md {base}")
    return done


@pytest.fixture
def fuzz_budget(request) -> int:
    return request.config.getoption("--fuzz-budget")


@pytest.fixture
def seed002_net() -> dn.Network:
    """Seed 002's 2-2-1 logistic network with the weights of its forward example."""
    net = dn.Network(2, SEED002_ARCS, "logistic")
    for (i, j), w in SEED002_WEIGHTS.items():
        net.weights[i, j] = w
    return net


def random_dag(rng: np.random.Generator, n_inputs: int, n_hidden: int, n_outputs: int,
               density: float = 0.6) -> list[tuple[int, int]]:
    """A random DAG: every processing neuron gets arcs from a random subset of earlier
    neurons (skip arcs included); every hidden neuron feeds a later neuron."""
    first_out = n_inputs + n_hidden + 1
    n = first_out + n_outputs
    arcs = set()
    for j in range(n_inputs + 1, n):
        earlier = np.arange(1, min(j, first_out))
        pick = earlier[rng.random(len(earlier)) < density]
        if pick.size == 0:
            pick = rng.choice(earlier, 1)
        arcs.update((int(i), j) for i in pick)
    for i in range(n_inputs + 1, first_out):
        if not any(a == i for a, _ in arcs):
            arcs.add((i, int(rng.integers(max(i + 1, first_out), n))))
    return sorted(arcs)


# The playground's browser tests: one server and one Debian Chromium per test module, a fresh
# page per test. playground_pages skips the test when Playwright is not installed.

@pytest.fixture(scope="module")
def server_url():
    """The URL of a playground server (``python -m deltanet.playground``) for this module."""
    import playground_pages as pages

    yield from pages.serve()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, for this module."""
    import playground_pages as pages

    yield from pages.launch()


@pytest.fixture
def page(browser, server_url):
    """A fresh, ready page of the server; the test fails on any page error."""
    import playground_pages as pages

    yield from pages.fresh_page(browser, server_url)
