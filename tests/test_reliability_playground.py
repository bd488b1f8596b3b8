"""The playground server under load and abuse, on a real uvicorn server on 127.0.0.1.

Twenty sessions, each configured differently, train at once while four other clients throw
1,000 malformed, oversized or hostile requests at the same server (many of them at those
very sessions). Every bad request must get a 4xx answer with a JSON message; afterwards no
session may be lost or mixed up: each has its own settings, the epochs it asked for, and
bit for bit the weights ``deltanet.train`` gives for its settings.
"""

from __future__ import annotations

import inspect
import io
import json
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

import deltanet as dn
from deltanet.playground import LOCAL_HOSTS, create_app, serve
from deltanet.playground._prng import DATA, EPOCHS, WEIGHTS, Prng
from deltanet.playground.datasets import features, generate, split
from test_playground_api import AUTH, TOKEN, start_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("playground-load")]

N_SESSIONS, N_ABUSERS, N_BAD = 20, 4, 1000
DATASETS = ["circle", "xor", "gauss", "spiral", "plane", "reg-gauss"]
FEATURE_SETS = [["x1", "x2"], ["x1", "x2", "x1*x2"], ["x1^2", "x2^2"],
                ["x1", "x2", "sin(x1)", "sin(x2)"]]
LAYERS = [[3], [4, 2], [2, 2, 2], [], [5]]
ACTIVATIONS = ["tanh", "relu", "logistic", "softplus"]


def session_settings(k: int) -> dict:
    """The settings of session ``k``: every session differs from every other."""
    dataset = DATASETS[k % len(DATASETS)]
    regression = dataset in ("plane", "reg-gauss")
    layers = LAYERS[k % len(LAYERS)]
    settings = {
        "dataset": dataset, "task": "regression" if regression else "classification",
        "seed": 100 + k, "n_samples": 80 + 10 * k, "noise": (5 * k) % 50,
        "ratio": 40 + (k % 4) * 10, "batch_size": [5, 10, 16, 25][k % 4],
        "features": FEATURE_SETS[k % len(FEATURE_SETS)], "layers": layers,
        "activations": [ACTIVATIONS[(k + i) % len(ACTIVATIONS)] for i in range(len(layers))],
        # Regression steps stay at 0.02 or less, and 0.001 with x1*x2 (it reaches 36: the
        # identity output then starts near 36, and a step of 0.01 can blow up).
        "lr": (0.001 if "x1*x2" in FEATURE_SETS[k % len(FEATURE_SETS)] else 0.01 * (1 + k % 2))
        if regression else [0.03, 0.1, 0.01, 0.3][k % 4],
        "regularization": ["none", "l2", "l1"][k % 3], "reg_rate": 0.001 * (k % 3),
        "dropout": 0.2 if k % 7 == 2 and layers else 0.0,
        "batch_norm": k % 5 == 1 and bool(layers),
    }
    if not regression:
        settings["n_classes"] = 3 if k % 4 == 3 else 2
        settings["loss"] = "cross_entropy" if k % 2 else "squared_error"
    return settings


def steps_of(k: int) -> list[int]:
    return [1, 2, 3, 1 + k % 3]


def library_params(c: dict, epochs: int) -> np.ndarray:
    """The weights ``deltanet.train`` gives for settings ``c`` after ``epochs`` epochs, on the
    data the playground generates for them (one call per epoch, on the epoch's stream)."""
    rng = Prng(c["seed"], DATA)
    X, y = generate(c["dataset"], c["n_samples"], c["noise"] / 100.0, c["n_classes"], rng)
    X_train, y_train, _, _ = split(X, y, c["ratio"] / 100.0, rng)
    regression = c["task"] == "regression"
    K = c["n_classes"] if not regression and c["n_classes"] > 2 else 1
    output = "identity" if regression else ("softmax" if K > 1 else "logistic")
    net = dn.Network.layered([len(c["features"]), *c["layers"], K], hidden=c["activations"],
                             output=output, random_state=Prng(c["seed"], WEIGHTS),
                             batch_norm=c["batch_norm"])
    loss = "squared_error" if c["loss"] == "squared_error" else \
        ("cross_entropy" if K > 1 else "log_loss")
    X_in = features(X_train, c["features"])
    Y = np.eye(K)[y_train.astype(int)] if K > 1 else y_train.astype(float).reshape(-1, 1)
    if c["batch_norm"] and len(X_in) % c["batch_size"] == 1:
        X_in, Y = X_in[:-1], Y[:-1]
    reg = {} if c["regularization"] == "none" else {c["regularization"]: c["reg_rate"]}
    for epoch in range(epochs):
        dn.train(net, X_in, Y, loss=loss, lr=c["lr"], batch_size=c["batch_size"], epochs=1,
                 random_state=Prng(c["seed"], EPOCHS + epoch), dropout=c["dropout"] or None, **reg)
    return net.params


# ------------------------------------------------------------------ the bad requests
@dataclass(frozen=True)
class Bad:
    """One bad request: ``path`` may hold ``{sid}`` (a live session's id); ``raw`` sends
    ``path`` as the literal request target on a socket, byte for byte."""

    method: str
    path: str
    body: bytes | None = None
    status: int = 422
    raw: bool = False
    headers: tuple = ()
    json_answer: bool = True  # False: refused before the app (uvicorn, host check)


def _j(value) -> bytes:
    return json.dumps(value).encode()


S = "/api/session/{sid}"
BIG_CSV = b"x1,x2,label\n" + b"1.5,2.5,0\n" * 120_000  # 1.2 MB, over the 1 MB limit
BAD_REQUESTS = [
    # not JSON, or JSON that is not an object
    *(Bad("POST", S + "/config", b, 400) for b in [
        b"{not json", b'{"lr": NaN}', b'{"lr": Infinity}', b'{"lr": -Infinity}', b"\xff\xfe\x00",
        b'{"lr": 0.1', b"{'lr': 0.1}", b'{"a":' * 5000 + b"1" + b"}" * 5000]),
    *(Bad("POST", S + "/config", b) for b in [b"[1, 2]", b'"text"', b"null", b"123", b"true"]),
    # wrong types and values out of bounds
    *(Bad("POST", S + "/config", _j(v)) for v in [
        {"layers": "4,2"}, {"layers": [4.5]}, {"layers": [True]}, {"layers": [0]},
        {"layers": [9]}, {"layers": [1] * 7}, {"layers": [1] * 10_000}, {"seed": -1},
        {"seed": 2**63}, {"seed": 10**400}, {"n_samples": "500"}, {"n_samples": 10**9},
        {"batch_norm": 1}, {"dataset": None}, {"dataset": ["xor"]}, {"dataset": "../etc"},
        {"noise": 1e308}, {"lr": 1e308}, {"lr": 0}, {"lr": -0.1}, {"dropout": 0.95},
        {"features": [1, 2]}, {"features": []}, {"features": ["x1", "x1"]},
        {"features": ["x1"] * 5000}, {"activations": ["softmax"]},
        {"task": "regression", "dataset": "circle"}, {"dataset": "plane", "task": "classification"},
        {"dataset": "upload"}, {"n_classes": 9}, {"ratio": 95},
        {"batch_size": 0}, {"batch_norm": True, "batch_size": 1, "layers": [2]},
        {"task": "regression", "dataset": "plane", "loss": "cross_entropy"},
        {"speed": 3}, {"__proto__": {}}, {"extra": {}}, {"": 1}]),
    *(Bad("POST", S + "/step", _j(v)) for v in [
        {"epochs": 0}, {"epochs": -1}, {"epochs": 1.5}, {"epochs": "1"}, {"epochs": None},
        {"epochs": [1]}, {"epochs": 10**20}, {"epochs": True}, {"epochs": 101},
        {"epochs": 1, "lr": 1}, {"steps": 1}]),
    Bad("POST", S + "/step", b'{"epochs": NaN}', 400),
    *(Bad("POST", S + "/weight", _j(v)) for v in [
        {"i": 1, "j": 3, "value": "1"}, {"i": 1, "j": 3, "value": 1e308}, {"i": 1, "j": 3},
        {"i": 0.5, "j": 3, "value": 1}, {"i": 999, "j": 998, "value": 1}, {"i": -1, "j": 3,
                                                                            "value": 1},
        {"i": 1, "j": 3, "value": True}, {"i": 1, "j": 3, "value": 1, "k": 2}]),
    *(Bad("POST", S + "/backward", _j(v)) for v in [
        {"x": [1e300, 0], "y": 0}, {"x": "ab", "y": 0}, {"x": [1, 2, 3], "y": 0},
        {"x": [1, 2], "y": None}, {"x": [1, 2], "y": "a"}, {"x": [1, 2], "y": 1e7}, {},
        {"x": [None, 1], "y": 0},
        {"x": [1, 2], "y": 0, "z": 1}]),
    *(Bad("POST", S + "/reset", b) for b in [_j({"now": True}), b"[]"]),
    Bad("POST", "/api/session", _j({"config": {}})),
    # uploads: malformed CSV, not UTF-8, non-finite values, too many rows, over the limit
    *(Bad("POST", S + "/upload", b) for b in [
        b"x1,x2,label\n1,2\n3,4,5\n", b"a,b,c\n", b"", b"1,2,0\n3,4,1\nnan,1,0\n5,6,0\n",
        b"1,2,0\n3,4,1\ninf,1,0\n5,6,0\n", b"1,2,0,9\n3,4,1,9\n5,6,0,9\n7,8,1,9\n",
        b"\xff\xfe1,2,0\n", b"1,2,0\n" * 6000, b"x,y,label\n1,a,0\n3,b,1\n5,c,0\n7,d,1\n"]),
    Bad("POST", S + "/upload", BIG_CSV, 413),
    Bad("POST", S + "/config", b'{"a": "' + b"x" * 70_000 + b'"}', 413),
    # bad query parameters
    *(Bad("GET", S + "/state?data_version=" + v) for v in ["abc", "-5", "99999999999999",
                                                            "1e3", ""]),
    # unknown or missing session ids, unknown paths, wrong methods
    *(Bad("POST", p, _j({"epochs": 1}), 404) for p in [
        "/api/session/nope/step", "/api/session//step", "/api/session/%00/step",
        "/api/session/" + "a" * 500 + "/step", "/api/session/{sid}x/step"]),
    *(Bad("GET", p, None, 404) for p in ["/api/session/nope/state", "/api/nothing",
                                         "/api/session/nope/model"]),
    *(Bad(m, p, None, 405) for m, p in [
        ("PUT", S + "/step"), ("GET", S + "/step"), ("DELETE", S + "/config"),
        ("PATCH", "/api/session"), ("GET", "/api/session"), ("POST", S + "/state"),
        ("POST", S + "/model"), ("PUT", "/")]),
    # path traversal on the static files, sent byte for byte
    *(Bad("GET", p, None, 404, raw=True) for p in [
        "/static/../server.py", "/static/..%2fserver.py", "/static/%2e%2e%2f%2e%2e%2fio.py",
        "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/static/..\\..\\server.py",
        "/static/app.js%00", "/static/app.js%00.html", "/static/%c0%ae%c0%ae/server.py",
        "/static/....//server.py", "/static/%252e%252e%252fserver.py", "/../../etc/passwd",
        "/static/__init__.py", "/static/../../../../../../etc/passwd", "/static/",
        "//etc/passwd", "/static/" + "a" * 20_000]),
    # refused before the app: broken HTTP, a foreign Host header (DNS rebinding)
    *(Bad("GET", p, None, 400, raw=True, json_answer=False) for p in [
        "/static/app.js\x00", "/static/app js"]),
    Bad("GET", "/", None, 400, headers=(("Host", "evil.example"),), json_answer=False),
    Bad("POST", S + "/step", b"{}", 400, raw=True, json_answer=False,
        headers=(("Content-Length", "abc"),)),
]


def json_type(bad: Bad) -> dict[str, str]:
    """The request's headers; a body for a JSON endpoint is declared as JSON, as the page
    sends it (without, it is refused with 415 before its content is looked at)."""
    headers = dict(bad.headers)
    if bad.body is not None and "/upload" not in bad.path \
            and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return headers


def raw_request(port: int, bad: Bad, sid: str) -> tuple[int, bytes]:
    """Send a request with its target exactly as written; read the answer to the end."""
    target = bad.path.format(sid=sid).encode("latin-1")
    headers = json_type(bad)
    head = [f"{bad.method} ".encode() + target + b" HTTP/1.1", b"Host: 127.0.0.1",
            b"Connection: close", f"X-Deltanet-Token: {TOKEN}".encode()]
    body = bad.body or b""
    if "Content-Length" not in headers and bad.body is not None:
        headers["Content-Length"] = str(len(body))
    head += [f"{k}: {v}".encode() for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def send(client: httpx.Client, port: int, bad: Bad, sid: str) -> str | None:
    """Send one bad request; None if it got the 4xx it should, else what went wrong."""
    if bad.raw:
        status, body = raw_request(port, bad, sid)
    else:
        r = client.request(bad.method, bad.path.format(sid=sid), content=bad.body,
                           headers=json_type(bad))
        status, body = r.status_code, r.content
    what = f"{bad.method} {bad.path[:60]} {(bad.body or b'')[:40]!r}"
    if status != bad.status:
        return f"{what}: status {status}, expected {bad.status}: {body[:200]!r}"
    if bad.json_answer:
        try:
            message = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            return f"{what}: the answer is not a JSON error: {body[:200]!r}"
        if not isinstance(message, str) or len(message) < 10:
            return f"{what}: no message in {body[:200]!r}"
    return None


# ------------------------------------------------------------------ the test
@pytest.fixture
def server():
    url, uv, thread = start_server(create_app(max_sessions=40, allowed_hosts=LOCAL_HOSTS,
                                              token=TOKEN))
    app = uv.config.app
    yield url, app
    uv.should_exit = True
    thread.join(10)


def train_session(url: str, sid: str, k: int, own: dict) -> list[str]:
    """Session ``k``'s steps; every answer must be its own state. Returns the problems."""
    problems, done = [], 0
    with httpx.Client(base_url=url, timeout=120, headers=AUTH) as client:
        for n, epochs in enumerate(steps_of(k)):
            r = client.post(f"/api/session/{sid}/step", json={"epochs": epochs})
            if r.status_code != 200:
                problems.append(f"session {k}: step {n}: {r.status_code} {r.text[:200]}")
                continue
            done += epochs
            state = r.json()
            if state["epoch"] != done or state["config"] != own:
                problems.append(f"session {k}: step {n} answered epoch {state['epoch']} "
                                f"(expected {done}) with config {state['config']}")
            if n == 1:  # a read between the steps sees the same session
                seen = client.get(f"/api/session/{sid}/state").json()
                if seen["epoch"] != done or seen["config"] != own:
                    problems.append(f"session {k}: state read mixed up")
    return problems


def abuse(url: str, port: int, sids: list[str], worker: int) -> list[str]:
    """A share of the 1,000 bad requests, each aimed at a live session picked at random."""
    rng = np.random.default_rng(worker)
    problems = []
    with httpx.Client(base_url=url, timeout=120, headers=AUTH) as client:
        for n in range(worker, N_BAD, N_ABUSERS):
            bad = BAD_REQUESTS[n % len(BAD_REQUESTS)]
            problem = send(client, port, bad, sids[int(rng.integers(len(sids)))])
            if problem:
                problems.append(problem)
    return problems


@pytest.mark.reliability(
    area="playground", fault="20 differently configured sessions training at once while "
    "4 clients send 1,000 malformed requests: bad JSON, NaN/Infinity, wrong types, values "
    "out of bounds, huge arrays, deep nesting, unknown fields, missing or unknown session "
    "ids, wrong methods, bad query values, oversized bodies, a CSV upload over 1 MB, path "
    "traversal on /static (dot segments, %2e%2e%2f, double encoding, absolute paths, null "
    "bytes, backslashes), broken HTTP, a foreign Host header",
    how="real uvicorn server on 127.0.0.1, threads with httpx and raw sockets",
    result="every bad request a 4xx (a JSON message from the app; plain 400 from uvicorn "
    "or the host check); no session lost or mixed up: own settings, own epoch count, "
    "weights bit for bit those of deltanet.train; the server keeps serving")
def test_twenty_sessions_train_while_a_thousand_bad_requests_arrive(server):
    url, app = server
    port = int(url.rsplit(":", 1)[1])
    assert len(BAD_REQUESTS) >= 100
    own, sids = {}, []
    with httpx.Client(base_url=url, timeout=60, headers=AUTH) as client:
        for k in range(N_SESSIONS):
            r = client.post("/api/session")
            assert r.status_code == 201, r.text
            sid = r.json()["session"]
            r = client.post(f"/api/session/{sid}/config", json=session_settings(k))
            assert r.status_code == 200, r.text
            own[sid] = r.json()["config"]
            sids.append(sid)
    assert len({json.dumps(c, sort_keys=True) for c in own.values()}) == N_SESSIONS
    with ThreadPoolExecutor(max_workers=N_SESSIONS + N_ABUSERS) as pool:
        trainers = [pool.submit(train_session, url, sid, k, own[sid])
                    for k, sid in enumerate(sids)]
        abusers = [pool.submit(abuse, url, port, sids, w) for w in range(N_ABUSERS)]
        bad_answers = [p for f in abusers for p in f.result()]
        mixed_up = [p for f in trainers for p in f.result()]
    assert not bad_answers, f"{len(bad_answers)} bad answers, e.g. {bad_answers[:5]}"
    assert not mixed_up, mixed_up[:5]
    assert len(app.state.playground.store) == N_SESSIONS  # none lost, none added
    with httpx.Client(base_url=url, timeout=60, headers=AUTH) as client:
        for k, sid in enumerate(sids):
            state = client.get(f"/api/session/{sid}/state").json()
            epochs = sum(steps_of(k))
            assert state["config"] == own[sid] and state["epoch"] == epochs
            assert len(state["history"]) == epochs + 1
            model = client.get(f"/api/session/{sid}/model")
            assert model.status_code == 200
            expected = library_params(own[sid], epochs)
            got = _load_bytes(model.content)
            assert got.tobytes() == expected.tobytes(), f"session {k} weights differ"
        assert client.get("/").status_code == 200
        assert client.post("/api/session").status_code == 201


def _load_bytes(content: bytes) -> np.ndarray:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.deltanet"
        path.write_bytes(content)
        return dn.load(path).params


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                if len(address) == 8:
                    found.append(socket.inet_ntop(socket.AF_INET,
                                                  bytes.fromhex(address)[::-1]))
                else:
                    words = bytes.fromhex(address)
                    raw = b"".join(words[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, raw))
    return found


@pytest.mark.reliability(
    area="playground", fault="reachable from other machines by default",
    how="`deltanet playground --port 0` in a subprocess; the kernel's table of listening "
    "sockets; defaults of serve() and of --host",
    result="listens on 127.0.0.1 only")
def test_the_playground_listens_on_localhost_only_by_default():
    from deltanet.cli._delegate import build_parser

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    parser, _ = build_parser("playground")
    assert parser.parse_args([]).host == "127.0.0.1"
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.cli", "playground", "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        port = int(match.group(1))
        assert httpx.get(match.group(0), timeout=30).status_code == 200
        if Path("/proc/net/tcp").exists():
            assert _listening_addresses(port) == ["127.0.0.1"]
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


@pytest.mark.reliability(
    area="playground", fault="a CSV upload over the size limit, declared and streamed "
    "(chunked, no Content-Length)", how="real server with a 64 KB upload limit",
    result="413 with a JSON message; the session keeps its data and keeps training")
def test_oversized_uploads_are_refused_while_streaming():
    url, uv, thread = start_server(create_app(max_upload=64 * 1024, token=TOKEN))
    try:
        with httpx.Client(base_url=url, timeout=60, headers=AUTH) as client:
            created = client.post("/api/session").json()
            sid, before = created["session"], created["state"]
            chunks = (b"1.5,2.5,0\n" * 1000 for _ in range(20))  # 200 KB, chunked
            r = client.post(f"/api/session/{sid}/upload", content=chunks)
            assert r.status_code == 413 and "limit of 65536 bytes" in r.json()["error"]
            r = client.post(f"/api/session/{sid}/upload", content=io.BytesIO(b"1,2,0\n" * 20_000))
            assert r.status_code == 413 and "limit is 65536 bytes" in r.json()["error"]
            state = client.post(f"/api/session/{sid}/step", json={"epochs": 1}).json()
            assert state["config"] == before["config"] and state["epoch"] == 1
            assert state["data_version"] == before["data_version"]
    finally:
        uv.should_exit = True
        thread.join(10)
