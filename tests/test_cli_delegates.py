"""``deltanet explain``, ``search`` and ``playground`` run their modules through the command,
under the same one-line error policy."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from deltanet.cli import _delegate


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltanet.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_explain_runs_through_the_command():
    done = run_cli("explain", "--list")
    assert done.returncode == 0, done.stderr
    assert "seed002-forward" in done.stdout


def test_explain_bad_input_is_one_line():
    done = run_cli("explain", "--example", "no-such-example")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("deltanet: error: unknown example (got 'no-such-example')")


@pytest.mark.parametrize(("name", "argv"), [("explain", []), ("search", ["iris"]),
                                            ("playground", [])])
def test_delegated_usage_error_is_one_line(name, argv):
    done = run_cli(name, *argv, "--no-such-option")
    assert done.returncode == 2
    assert done.stderr == (f"deltanet: error: unrecognized arguments: --no-such-option; see "
                           f"'deltanet {name} --help'\n")


def test_search_bad_data_is_one_line(tmp_path):
    done = run_cli("search", "nothere.csv", "--target", "y", "--trials", "1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == ("deltanet: error: file 'nothere.csv' does not exist; check the "
                           "path and the working directory\n")


def test_playground_serves_the_page():
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.cli", "playground", "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("deltanet playground running at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert b"<html" in response.read().lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _page(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read()


def test_playground_json_prints_the_url_as_one_document():
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.cli", "playground", "--port", "0",
                             "--no-browser", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        url = json.loads(proc.stdout.readline())["url"]
        assert url.startswith("http://127.0.0.1:")
        assert b"<html" in _page(url).lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


def test_playground_quiet_prints_nothing():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.playground", "--port", str(port),
                             "--no-browser", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert b"<html" in _page(f"http://127.0.0.1:{port}/").lower()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert out == "" and err == ""


def test_a_missing_module_is_one_line(monkeypatch, capsys):
    broken = _delegate.Delegate("explain", "deltanet.no_such_module", "add_arguments", "run",
                                "h", "d")
    monkeypatch.setitem(_delegate.DELEGATES, "explain", broken)
    assert _delegate.run("explain", []) == 2
    err = capsys.readouterr().err
    assert err == ("deltanet: error: 'deltanet explain' is not available: this installation "
                   "has no deltanet.no_such_module; reinstall deltanet\n")


def test_search_json_option_is_offered():
    parser, _ = _delegate.build_parser("search")
    args = parser.parse_args(["iris", "--json", "--quiet"])
    assert args.json and args.quiet
    assert json.dumps(vars(args), default=str)
