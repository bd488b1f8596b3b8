"""Only the page the playground served can drive it; other web sites change nothing.

Requests as another web site would make a browser send them (``Origin`` of another site or
``null``, ``Sec-Fetch-Site: cross-site``, no token or a guessed one, ``text/plain`` and
form bodies) are generated and sent to a real server; then a page on a second local server
(another port, so another origin) is opened in the same headless Chromium as the
playground's own page and tries to drive it with ``fetch`` and form posts. Nothing
changes: no session is created, trained, reset, reconfigured, uploaded to or deleted.
Every bad upload gets a 4xx, and a client that goes away mid-upload is no logged error.
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from deltanet.playground import create_app
from test_playground_api import AUTH, TOKEN, start_server

pytestmark = pytest.mark.xdist_group("playground-own-page")

ENDPOINTS = [("POST", "/api/session", b"{}"), ("POST", "/api/session/{sid}/step",
             b'{"epochs": 5}'), ("POST", "/api/session/{sid}/config", b'{"lr": 3}'),
             ("POST", "/api/session/{sid}/reset", b"{}"),
             ("POST", "/api/session/{sid}/weight", b'{"i": 0, "j": 3, "value": 9}'),
             ("POST", "/api/session/{sid}/upload", b"x1,x2,label\n1,2,0\n3,4,1\n"),
             ("DELETE", "/api/session/{sid}", None), ("GET", "/api/session/{sid}/state", None),
             ("GET", "/api/session/{sid}/model", None)]
FOREIGN = [{"Origin": "http://evil.example"}, {"Origin": "null"},
           {"Origin": "http://127.0.0.1:1"}, {"Origin": "http://localhost.evil.example"},
           {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
           {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}]
TOKENS = [None, "", "guess", TOKEN[:-1], TOKEN + "x", TOKEN.upper()]
SIMPLE_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; "
                "boundary=x", None]


@pytest.fixture(scope="module")
def playground():
    app = create_app(max_sessions=8, token=TOKEN)
    url, server, thread = start_server(app)
    with httpx.Client(base_url=url, timeout=60, headers=AUTH) as client:
        yield url, app, client
    server.should_exit = True
    thread.join(10)


def snapshot(app, client, sid: str) -> tuple:
    """What a foreign request must not change: the sessions and the user's state."""
    state = client.get(f"/api/session/{sid}/state").json()
    return (len(app.state.playground.store), state["epoch"], state["config"],
            state["network"]["edges"], state["data_version"])


def foreign_request(rng: np.random.Generator) -> tuple[str, str, bytes | None, dict]:
    """A request as another site could make a browser send it (one of three kinds)."""
    method, path, body = ENDPOINTS[int(rng.integers(len(ENDPOINTS)))]
    kind = int(rng.integers(3))
    headers: dict[str, str] = {}
    if kind == 0:  # the right token, but the browser says it comes from another site
        headers = {**AUTH, **FOREIGN[int(rng.integers(len(FOREIGN)))]}
    elif kind == 1:  # no token or a guessed one, from anywhere
        token = TOKENS[int(rng.integers(len(TOKENS)))]
        if token is not None:
            headers["X-Deltanet-Token"] = token
        if rng.random() < 0.5:
            headers.update(FOREIGN[int(rng.integers(len(FOREIGN)))])
    else:  # a form or text/plain post (what a page can send without a preflight)
        headers = {**AUTH, **FOREIGN[int(rng.integers(len(FOREIGN)))]} if rng.random() < 0.5 \
            else {}
        media = SIMPLE_TYPES[int(rng.integers(len(SIMPLE_TYPES)))]
        if media and body is not None:
            headers["Content-Type"] = media
    return method, path, body, headers


@pytest.mark.reliability(
    area="playground", fault="requests as other web sites make a browser send them: a "
    "foreign or null Origin, Sec-Fetch-Site cross-site or same-site, no token or a guessed "
    "one, text/plain, form and multipart bodies, to every endpoint",
    how="real server; a trained session's state compared before and after",
    result="403 (or 415) for each; no session created, changed or deleted")
def test_requests_from_other_sites_change_nothing(playground, family_cases):
    url, app, client = playground
    r = client.post("/api/session", json={})
    sid = r.json()["session"]
    client.post(f"/api/session/{sid}/step", json={"epochs": 3})
    before = snapshot(app, client, sid)
    rng = np.random.default_rng(5)
    wrong = []
    with httpx.Client(base_url=url, timeout=60) as bare:
        for _ in range(300):
            method, path, body, headers = foreign_request(rng)
            answer = bare.request(method, path.format(sid=sid), content=body, headers=headers)
            if answer.status_code not in (403, 415) or "error" not in answer.json():
                wrong.append(f"{method} {path} {headers}: {answer.status_code}")
    assert not wrong, wrong[:5]
    assert snapshot(app, client, sid) == before
    family_cases(300)


def test_the_page_carries_the_token_and_json_must_be_json(playground):
    url, _app, client = playground
    page = httpx.get(url + "/", timeout=30)
    assert f'<meta name="deltanet-token" content="{TOKEN}">' in page.text
    assert page.headers["cache-control"] == "no-store"
    r = client.post("/api/session", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    own = {"Origin": url, "Sec-Fetch-Site": "same-origin"}  # the page itself, in a browser
    r = client.post("/api/session", json={}, headers=own)
    assert r.status_code == 201
    client.delete(f"/api/session/{r.json()['session']}", headers=own)


def bad_upload(rng: np.random.Generator) -> bytes:
    """A CSV body that is no table of points (within the 1 MB upload limit)."""
    kind = int(rng.integers(8))
    if kind == 0:  # one field over the csv module's limit of 131,072 characters
        return b"x1,x2,label\n" + b"1" * int(rng.integers(131_073, 400_000)) + b",2,0\n"
    if kind == 1:  # an unterminated quote running to the end
        return b'x1,x2,label\n"1,2,0\n' + b"3,4,1\n" * int(rng.integers(1, 500))
    if kind == 2:
        return bytes(rng.integers(0, 256, int(rng.integers(1, 5000)), dtype=np.uint8))
    if kind == 3:  # many columns
        return (",".join(["1"] * int(rng.integers(3, 20_000))) + "\n").encode() * 3
    if kind == 4:  # NUL bytes in fields
        return b"x1,x2,label\n1\x00,2,0\n"
    if kind == 5:  # numbers that are not finite or not numbers
        return rng.choice([b"1,nan,0\n", b"inf,1,1\n", b"1e999,2,0\n", b"a,b,c\n"]) * 3
    if kind == 6:  # more rows than allowed
        return b"1,2,0\n3,4,1\n" * int(rng.integers(3000, 40_000))
    return b"\xef\xbb\xbf" + b"\r" * int(rng.integers(1, 1000))  # only line ends


@pytest.mark.reliability(
    area="playground", fault="bad CSV uploads: a field over 131,072 characters, an "
    "unterminated quote, random bytes, thousands of columns, NUL bytes, NaN and text, too "
    "many rows, only line ends", how="real server",
    result="a 4xx with a JSON message for each (was a 500 with a traceback); the session "
    "keeps its data")
def test_every_bad_upload_gets_a_4xx(playground, family_cases, caplog):
    _url, app, client = playground
    sid = client.post("/api/session", json={}).json()["session"]
    before = snapshot(app, client, sid)
    rng = np.random.default_rng(6)
    wrong = []
    with caplog.at_level(logging.ERROR, logger="deltanet.playground"):
        for _ in range(80):
            body = bad_upload(rng)
            r = client.post(f"/api/session/{sid}/upload", content=body,
                            headers={"Content-Type": "text/csv"})
            if not 400 <= r.status_code < 500 or "error" not in r.json():
                wrong.append(f"{body[:40]!r}: {r.status_code} {r.text[:100]}")
    assert not wrong, wrong[:5]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert snapshot(app, client, sid) == before
    family_cases(80)


def test_a_client_leaving_mid_upload_is_no_logged_error(playground, caplog):
    url, _app, client = playground
    sid = client.post("/api/session", json={}).json()["session"]
    port = int(url.rsplit(":", 1)[1])
    with caplog.at_level(logging.INFO, logger="deltanet.playground"):
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(f"POST /api/session/{sid}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             f"X-Deltanet-Token: {TOKEN}\r\nContent-Type: text/csv\r\n"
                             "Content-Length: 100000\r\n\r\n".encode() + b"1,2,0\n" * 100)
                time.sleep(0.2)
        time.sleep(0.5)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert client.get(f"/api/session/{sid}/state").status_code == 200


# ------------------------------------------------------------------ in a real browser
EVIL_PAGE = """<!doctype html><html><body><iframe name="sink"></iframe><script>
const base = "BASE", sid = "SID";
const outcome = {read: false, created: 0};
async function attempt(url, init) {
  try {
    const r = await fetch(base + url, init);
    if (init.mode !== "no-cors" && r.ok) outcome.created += 1;
  } catch (e) { /* refused by the browser: what must happen */ }
}
async function main() {
  try { const r = await fetch(base + "/"); await r.text(); outcome.read = true; } catch (e) {}
  for (let k = 0; k < 70; k++) {
    await attempt("/api/session", {method: "POST", mode: "no-cors", body: "{}",
                                   headers: {"Content-Type": "text/plain"}});
  }
  await attempt("/api/session", {method: "POST", body: "{}",
                                 headers: {"Content-Type": "application/json"}});
  await attempt("/api/session", {method: "POST", body: "{}",
                                 headers: {"X-Deltanet-Token": "guess"}});
  const bodies = {step: '{"epochs": 100}', config: '{"lr": 3}', reset: "{}",
                  weight: '{"i": 0, "j": 3, "value": 9}', upload: "x1,x2,label\\n1,2,0\\n"};
  for (const [path, body] of Object.entries(bodies)) {
    await attempt(`/api/session/${sid}/${path}`, {method: "POST", mode: "no-cors", body,
                                                  headers: {"Content-Type": "text/plain"}});
  }
  await attempt(`/api/session/${sid}`, {method: "DELETE", mode: "no-cors"});
  for (const [path, enctype] of [["step", "text/plain"], ["config", "text/plain"],
      ["reset", "application/x-www-form-urlencoded"], ["upload", "multipart/form-data"]]) {
    const form = document.createElement("form");
    form.method = "POST"; form.action = `${base}/api/session/${sid}/${path}`;
    form.enctype = enctype; form.target = "sink";
    const input = document.createElement("input");
    input.name = '{"epochs": 100, "lr": 3, "x": "'; input.value = '"}';
    form.append(input); document.body.append(form); form.submit();
    await new Promise((done) => setTimeout(done, 300));
  }
  document.title = "done " + JSON.stringify(outcome);
}
main();
</script></body></html>"""


@pytest.mark.browser
@pytest.mark.reliability(
    area="playground", fault="a page of another origin (a second local server) in the same "
    "browser as the playground: 70 session creations and posts to step, config, reset, "
    "weight, upload and delete by fetch (no-cors, JSON, a guessed token) and form posts; "
    "reading the page for its token", how="headless Chromium (Playwright), both pages open",
    result="nothing changes: no session created or touched, the page cannot be read, the "
    "playground page keeps working")
def test_a_page_of_another_site_cannot_drive_the_playground(playground, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from playground_pages import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (make test installs it)")
    url, app, client = playground
    sid = client.post("/api/session", json={}).json()["session"]
    client.post(f"/api/session/{sid}/step", json={"epochs": 2})
    (tmp_path / "evil.html").write_text(EVIL_PAGE.replace("BASE", url).replace("SID", sid))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args) -> None:
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            own = browser.new_page()
            own.goto(url + "/")
            own.wait_for_selector("body[data-ready=true]", timeout=60_000)
            before = snapshot(app, client, sid)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{evil.server_address[1]}/evil.html")
            page.wait_for_function("document.title.startsWith('done')", timeout=120_000)
            outcome = page.title()
            time.sleep(1.0)
            assert outcome == 'done {"read":false,"created":0}'
            assert snapshot(app, client, sid) == before
            mine = own.evaluate("sessionStorage.getItem('deltanet-session')")
            assert client.get(f"/api/session/{mine}/state").status_code == 200
            browser.close()
    finally:
        evil.shutdown()
        evil.server_close()
