"""The playground's JSON API against a real uvicorn server on 127.0.0.1.

Training must be the real engine (same weights as ``deltanet.train`` on the same data),
the backward view must equal ``net.backprop``, and every invalid request must get a 4xx
answer with a message while the server keeps serving.
"""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import uvicorn

import deltanet as dn
from deltanet.playground import create_app, server
from deltanet.playground._prng import DATA, EPOCHS, WEIGHTS, Prng
from deltanet.playground.datasets import features, generate, split
from deltanet.playground.sessions import Session

pytestmark = pytest.mark.xdist_group("playground-api")

TOKEN = "token-of-this-test-server"  # what the page sends in X-Deltanet-Token
AUTH = {"X-Deltanet-Token": TOKEN}


def start_server(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


@pytest.fixture(scope="module")
def client():
    url, server, thread = start_server(create_app(max_sessions=100, token=TOKEN))
    with httpx.Client(base_url=url, timeout=30, headers=AUTH) as c:
        yield c
    server.should_exit = True
    thread.join(10)


def new_session(client: httpx.Client) -> tuple[str, dict]:
    r = client.post("/api/session")
    assert r.status_code == 201, r.text
    return r.json()["session"], r.json()["state"]


def configure(client, sid: str, **settings) -> dict:
    r = client.post(f"/api/session/{sid}/config", json=settings)
    assert r.status_code == 200, r.text
    return r.json()


def test_new_session_has_tf_playground_defaults(client):
    _, state = new_session(client)
    columns = state["network"]["columns"]
    assert [[n["id"] for n in col] for col in columns] == [[1, 2], [3, 4, 5, 6], [7, 8], [9]]
    assert [n["label"] for n in columns[0]] == ["x1", "x2"]
    # 2·4 + 4·2 + 2·1 weights and 4 + 2 + 1 bias arcs (0, j)
    assert len(state["network"]["edges"]) == 25
    assert state["epoch"] == 0 and state["config"]["dataset"] == "circle"
    assert len(state["points"]["train"]) == 250 and len(state["points"]["test"]) == 250
    assert state["heatmaps"]["size"] == 24 and state["output"]["size"] == 60
    assert sorted(state["heatmaps"]["neurons"], key=int) == [str(j) for j in range(1, 10)]


def test_initial_weights_are_the_engines_from_the_seed(client):
    sid, _ = new_session(client)
    state = configure(client, sid, dataset="xor", layers=[3], activations=["relu"],
                      features=["x1", "x2", "x1*x2"], seed=7)
    net = dn.Network.layered([3, 3, 1], hidden=["relu"], output="logistic",
                             random_state=Prng(7, WEIGHTS))
    got = {(i, j): w for i, j, w in state["network"]["edges"]}
    assert got == net.weights.to_dict()
    assert [n["label"] for n in state["network"]["columns"][0]] == ["x1", "x2", "x1*x2"]


def test_step_trains_exactly_like_deltanet_train(client):
    settings = {"dataset": "gauss", "noise": 10, "seed": 3, "lr": 0.1, "batch_size": 7,
                "regularization": "l2", "reg_rate": 0.001}
    # a step stops after the epoch that passes STEP_SECONDS, and the first use of these
    # settings' kernels compiles them (longer, on a cold cache): one step to compile first
    warm, _ = new_session(client)
    configure(client, warm, **settings)
    assert client.post(f"/api/session/{warm}/step", json={"epochs": 1}).status_code == 200
    sid, _ = new_session(client)
    configure(client, sid, **settings)
    r = client.post(f"/api/session/{sid}/step", json={"epochs": 2})
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["epoch"] == 2 and len(state["history"]) == 3
    # The same data, network and calls through the library give the same weights.
    rng = Prng(3, DATA)
    X, y = generate("gauss", 500, 0.10, 2, rng)
    X_train, y_train, _, _ = split(X, y, 0.5, rng)
    net = dn.Network.layered([2, 4, 2, 1], hidden="tanh", output="logistic",
                             random_state=Prng(3, WEIGHTS))
    for epoch in range(2):
        dn.train(net, features(X_train, ["x1", "x2"]), y_train.astype(float),
                 loss="squared_error", lr=0.1, batch_size=7, epochs=1,
                 random_state=Prng(3, EPOCHS + epoch), l2=0.001)
    got = {(i, j): w for i, j, w in state["network"]["edges"]}
    assert got == pytest.approx(net.weights.to_dict(), rel=1e-12, abs=1e-15)
    assert state["loss"]["train"] == pytest.approx(
        net.backprop(features(X_train, ["x1", "x2"]), y_train.astype(float)).loss, rel=1e-12)


def test_training_lowers_the_loss_and_reset_restores_the_start(client):
    sid, _ = new_session(client)
    configure(client, sid, dataset="gauss", lr=0.1)
    first = client.get(f"/api/session/{sid}/state").json()
    state = client.post(f"/api/session/{sid}/step", json={"epochs": 30}).json()
    assert state["loss"]["test"] < 0.5 * first["loss"]["test"]
    reset = client.post(f"/api/session/{sid}/reset").json()
    assert reset["epoch"] == 0 and reset["network"]["edges"] == first["network"]["edges"]
    assert "points" not in client.get(f"/api/session/{sid}/state",
                                      params={"data_version": reset["data_version"]}).json()


def test_backward_view_equals_backprop_of_the_downloaded_model(client, tmp_path):
    sid, _ = new_session(client)
    configure(client, sid, dataset="spiral", n_classes=3, loss="cross_entropy",
              features=["x1", "x2", "sin(x1)"], layers=[5, 3], activations=["tanh", "relu"])
    client.post(f"/api/session/{sid}/step", json={"epochs": 3})
    r = client.post(f"/api/session/{sid}/backward", json={"x": [1.25, -2.5], "y": 2})
    assert r.status_code == 200, r.text
    view = r.json()
    model = client.get(f"/api/session/{sid}/model")
    assert model.status_code == 200 and "attachment" in model.headers["content-disposition"]
    path = tmp_path / "model.deltanet"
    path.write_bytes(model.content)
    net = dn.load(path)
    x = np.array([1.25, -2.5, np.sin(1.25)])
    trace = net.backprop(x, np.array([0.0, 0.0, 1.0]), loss="cross_entropy")
    for j in range(4, 4 + 5 + 3 + 3):
        assert view["neurons"][str(j)]["delta"] == trace.delta[j]
        assert view["neurons"][str(j)]["a"] == trace.a[j]
    assert len(view["edges"]) == len(net.arcs)
    for edge in view["edges"]:
        i, j = edge["i"], edge["j"]
        assert edge["grad"] == trace.grad[i, j]
        assert edge["grad"] == pytest.approx(edge["delta_j"] * edge["a_i"], rel=1e-12)
    assert view["loss"] == trace.loss
    for j in range(4, 9):  # tanh: g'(in_j) = 1 - a_j^2
        n = view["neurons"][str(j)]
        assert n["g_prime"] == pytest.approx(1 - n["a"] ** 2, rel=1e-12)
        assert n["activation"] == "tanh" and n["bn_scale"] is None
    stepped = net.copy()
    stepped.step(x, np.array([0.0, 0.0, 1.0]), lr=view["lr"], loss="cross_entropy")
    assert view["loss_after"] == stepped.backprop(x, np.array([0.0, 0.0, 1.0]),
                                                  loss="cross_entropy").loss
    for edge in view["edges"]:
        assert edge["new_w"] == stepped.weights[edge["i"], edge["j"]] and edge["reg"] == 0


def test_backward_view_with_batch_norm_and_dropout(client, tmp_path):
    sid, _ = new_session(client)
    configure(client, sid, batch_norm=True, dropout=0.2, layers=[3, 2],
              activations=["relu", "tanh"])
    assert client.post(f"/api/session/{sid}/step", json={"epochs": 2}).status_code == 200
    view = client.post(f"/api/session/{sid}/backward", json={"x": [-3, 0.5], "y": 0}).json()
    path = tmp_path / "bn.deltanet"
    path.write_bytes(client.get(f"/api/session/{sid}/model").content)
    net = dn.load(path)
    # inference mode: running statistics of batch normalisation, no dropout
    trace = net.backprop([-3.0, 0.5], [0.0])
    for j in range(3, 9):
        assert view["neurons"][str(j)]["delta"] == trace.delta[j]
    for j in range(3, 8):  # hidden neurons pass on â_j = s_j-scaled, shifted a_j
        n = view["neurons"][str(j)]
        assert n["bn_scale"] > 0 and n["out"] == trace.out[j]


def test_weight_edit_changes_exactly_that_arc(client):
    sid, state = new_session(client)
    r = client.post(f"/api/session/{sid}/weight", json={"i": 1, "j": 3, "value": -2.5})
    assert r.status_code == 200, r.text
    before = {(i, j): w for i, j, w in state["network"]["edges"]}
    after = {(i, j): w for i, j, w in r.json()["network"]["edges"]}
    assert after.pop((1, 3)) == -2.5
    before.pop((1, 3))
    assert after == before
    bad = client.post(f"/api/session/{sid}/weight", json={"i": 1, "j": 7, "value": 1})
    assert bad.status_code == 422 and "not an arc" in bad.json()["error"]


def test_csv_upload_makes_a_multiclass_set(client):
    sid, _ = new_session(client)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) * 10 + 50
    labels = (X[:, 0] > 50).astype(int) + (X[:, 1] > 50).astype(int)
    text = "a,b,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, labels, strict=True))
    r = client.post(f"/api/session/{sid}/upload", content=text.encode(),
                    headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["config"]["dataset"] == "upload" and state["config"]["n_classes"] == 3
    assert len(state["network"]["columns"][-1]) == 3  # softmax outputs
    coords = np.array([p[:2] for p in state["points"]["train"] + state["points"]["test"]])
    assert coords.min() == pytest.approx(-6) and coords.max() == pytest.approx(6)
    assert client.post(f"/api/session/{sid}/step", json={"epochs": 1}).status_code == 200


def test_csv_with_eight_classes_keeps_its_settings(client):
    sid, _ = new_session(client)
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(80, 2))
    text = "\n".join(f"{a},{b},{int(a * 8)}" for a, b in X)
    state = client.post(f"/api/session/{sid}/upload", content=text.encode()).json()
    assert state["config"]["n_classes"] == 8 and len(state["network"]["columns"][-1]) == 8
    # the page sends its whole settings back, e.g. after a change of learning rate
    again = configure(client, sid, **{**state["config"], "lr": 0.1})
    assert again["config"]["dataset"] == "upload" and again["config"]["n_classes"] == 8


INVALID = [
    ("config", {"layers": [4, 9]}, 422, "neurons in a layer must be <= 8"),
    ("config", {"layers": [1] * 7}, 422, "layers must have 0 to 6 entries"),
    ("config", {"lr": 0}, 422, "lr must be > 0"),
    ("config", {"lr": 11}, 422, "lr must be <= 10"),
    ("config", {"batch_size": 0}, 422, "batch_size must be >= 1"),
    ("config", {"noise": 51}, 422, "noise must be <= 50"),
    ("config", {"ratio": 5}, 422, "ratio must be >= 10"),
    ("config", {"features": ["x3"]}, 422, "unknown feature"),
    ("config", {"features": []}, 422, "features must have 1 to 7 entries"),
    ("config", {"dataset": "moons"}, 422, "unknown dataset"),
    ("config", {"dataset": "plane"}, 422, "regression set"),
    ("config", {"activations": ["softmax", "tanh"]}, 422, "unknown activation"),
    ("config", {"n_samples": 10**9}, 422, "n_samples must be <= 2000"),
    ("config", {"speed": 3}, 422, "unknown setting 'speed'"),
    ("config", {"dataset": "upload"}, 422, "no uploaded data"),
    ("config", {"batch_norm": "yes"}, 422, "batch_norm must be true or false"),
    ("step", {"epochs": 0}, 422, "epochs must be a whole number"),
    ("step", {"epochs": 101}, 422, "epochs must be a whole number"),
    ("step", {"epochs": "5"}, 422, "epochs must be a whole number"),
    ("step", {"epochs": True}, 422, "epochs must be a whole number"),
    ("step", {"epochs": 1, "lr": 1}, 422, "unknown field 'lr'"),
    ("weight", {"i": 1, "j": 3, "value": 1e9}, 422, "value must be a number in [-100, 100]"),
    ("weight", {"i": -1, "j": 3, "value": 1}, 422, "neuron numbers"),
    ("backward", {"x": [1], "y": 1}, 422, "x must be a list of two numbers"),
    ("backward", {"x": [1, 2], "y": 5}, 422, "y must be a class index 0..1"),
    ("backward", {"x": [1, "a"], "y": 0}, 422, "x must be a list of two numbers"),
]


@pytest.mark.reliability(
    area="playground",
    fault="invalid settings, steps, weights and points",
    how="POST to the session API",
    result="422 with a message; the session keeps serving")
@pytest.mark.parametrize(("endpoint", "body", "status", "message"), INVALID)
def test_invalid_parameters_get_a_4xx_with_a_message(client, endpoint, body, status, message):
    sid, _ = new_session(client)
    r = client.post(f"/api/session/{sid}/{endpoint}", json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    # the session and the server keep serving
    assert client.get(f"/api/session/{sid}/state").status_code == 200


@pytest.mark.reliability(
    area="playground",
    fault="a step asking for over 20,000 updates",
    how="POST /step",
    result="422 naming the count")
def test_one_step_is_bounded_in_work(client):
    sid, _ = new_session(client)
    configure(client, sid, batch_size=1)  # 250 training points: 250 updates an epoch
    r = client.post(f"/api/session/{sid}/step", json={"epochs": 81})
    assert r.status_code == 422 and "20250 updates" in r.json()["error"]
    assert client.post(f"/api/session/{sid}/step", json={"epochs": 80}).status_code == 200


@pytest.mark.reliability(
    area="playground",
    fault="malformed JSON, NaN, deep nesting, non-UTF-8, oversized body and upload, bad "
          "CSV, unknown session, wrong method",
    how="real server",
    result="400 / 404 / 405 / 413 / 422 with a JSON message")
def test_malformed_and_oversized_messages(client):
    sid, _ = new_session(client)
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (b'{"lr": NaN}', 400, "not valid JSON"),
        (b"[1, 2]", 422, "must be a JSON object"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b"[" * 50_000, 400, "not valid JSON"),
        (b'{"a": "' + b"x" * 70_000 + b'"}', 413, "limit is 65536 bytes"),
    ]
    for body, status, message in cases:
        r = client.post(f"/api/session/{sid}/config", content=body,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == status, (body[:20], r.text)
        assert message in r.json()["error"]
    big = io.BytesIO(b"1,2,0\n" * 200_000)  # 1.2 MB, over the 1 MB upload limit
    r = client.post(f"/api/session/{sid}/upload", content=big.read())
    assert r.status_code == 413 and "limit" in r.json()["error"]
    r = client.post(f"/api/session/{sid}/upload",
                    content=b"x1,x2,label\n1,2\n3,4,5\n5,6,7\n7,8,9\n")
    assert r.status_code == 422 and "x1, x2, label" in r.json()["error"]
    r = client.post("/api/session/nope/step", json={"epochs": 1})
    assert r.status_code == 404 and "POST /api/session" in r.json()["error"]
    r = client.put(f"/api/session/{sid}/step")
    assert r.status_code == 405 and "not allowed" in r.json()["error"]
    assert client.get(f"/api/session/{sid}/state").status_code == 200


@pytest.mark.reliability(
    area="playground",
    fault="path traversal on /static",
    how="real server",
    result="404; only the page's files are served")
def test_static_files_only_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "<title>deltanet playground</title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"https?://", page.text)  # nothing from the internet
    js = client.get("/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    for path in ["/static/../server.py", "/static/..%2fserver.py", "/static/%2e%2e/config.py",
                 "/static/../../../../etc/passwd", "/static/nothing.js", "/static/"]:
        r = client.get(path)
        assert r.status_code == 404, path
        assert "error" in r.json()


@pytest.mark.reliability(
    area="playground",
    fault="20 sessions training at once",
    how="threads on a real server",
    result="every session reaches its own epoch count")
def test_twenty_sessions_train_at_once(client):
    def run(k: int) -> int:
        sid, _ = new_session(client)
        configure(client, sid, dataset="xor", seed=k)
        for _ in range(3):
            r = client.post(f"/api/session/{sid}/step", json={"epochs": 2})
            assert r.status_code == 200, r.text
        return r.json()["epoch"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(run, range(20))) == [6] * 20


@pytest.mark.reliability(
    area="playground",
    fault="more sessions than allowed; a foreign Host header",
    how="real server",
    result="429 with a message; 400 for the host")
def test_session_cap_and_host_check():
    url, server, thread = start_server(create_app(max_sessions=2, allowed_hosts=["127.0.0.1"],
                                                  token=TOKEN))
    try:
        with httpx.Client(base_url=url, timeout=30, headers=AUTH) as c:
            ids = [c.post("/api/session").json()["session"] for _ in range(2)]
            r = c.post("/api/session")
            assert r.status_code == 429 and "2 sessions" in r.json()["error"]
            c.delete(f"/api/session/{ids[0]}")
            assert c.post("/api/session").status_code == 201
            assert c.get("/", headers={"Host": "evil.example"}).status_code == 400
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.reliability(
    area="playground",
    fault="a port out of range",
    how="python -m deltanet.playground",
    result="exit status 2 with a message; serves on 127.0.0.1")
def test_command_line_serves_on_localhost_and_rejects_bad_ports():
    proc = subprocess.Popen([sys.executable, "-m", "deltanet.playground", "--port", "0",
                             "--no-browser"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        r = httpx.get(match.group(0), timeout=10)
        assert r.status_code == 200 and "deltanet playground" in r.text
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    bad = subprocess.run([sys.executable, "-m", "deltanet.playground", "--port", "70000",
                          "--no-browser"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--port must be 0..65535" in bad.stderr


def upload(client, sid: str, rows: list[str]) -> httpx.Response:
    return client.post(f"/api/session/{sid}/upload", content="\n".join(rows).encode())


@pytest.mark.parametrize("rows", [
    ["x1,x2,label", "1e308,0,0", "-1e308,1,1", "0,2,0", "1,3,1", "2,4,0", "3,5,1"],
    ["0,0,1e308", "1,1,-1e308", "2,2,0.5", "3,3,0.25"],
])
def test_uploads_spanning_the_float_range_are_scaled_not_refused(client, rows):
    # hi − lo overflowed to inf, which made every scaled value NaN
    sid, _ = new_session(client)
    r = upload(client, sid, rows)
    assert r.status_code == 200, r.text
    points = np.array([p[:2] for p in r.json()["points"]["train"] + r.json()["points"]["test"]])
    assert np.all(np.isfinite(points)) and points.min() == -6 and points.max() == 6
    assert client.post(f"/api/session/{sid}/step", json={"epochs": 1}).status_code == 200


@pytest.mark.parametrize("label", ["1", "0.5"])
def test_an_upload_with_one_label_value_is_refused_and_changes_nothing(client, label):
    sid, before = new_session(client)
    r = upload(client, sid, [f"{k},{k},{label}" for k in range(6)])
    assert r.status_code == 422 and "give at least two classes" in r.json()["error"]
    after = client.get(f"/api/session/{sid}/state")
    assert after.status_code == 200
    assert after.json()["config"] == before["config"]
    assert after.json()["data_version"] == before["data_version"]


def test_batch_norm_with_one_training_point_is_refused_when_configured(client):
    sid, _ = new_session(client)
    assert upload(client, sid, [f"{k},{k % 3},{k % 2}" for k in range(4)]).status_code == 200
    r = client.post(f"/api/session/{sid}/config",
                    json={"ratio": 10, "batch_norm": True, "batch_size": 2})
    assert r.status_code == 422
    assert "batch normalisation needs at least 2 training points (got 1)" in r.json()["error"]
    state = client.get(f"/api/session/{sid}/state").json()
    assert state["config"]["batch_norm"] is False and state["config"]["ratio"] != 10
    assert client.post(f"/api/session/{sid}/step", json={"epochs": 1}).status_code == 200


@pytest.mark.parametrize("value", ["--5", "-", "5-", "+5"])
def test_a_malformed_data_version_gets_the_parameter_message(client, value):
    sid, _ = new_session(client)
    r = client.get(f"/api/session/{sid}/state", params={"data_version": value})
    assert r.status_code == 422
    assert r.json()["error"].startswith("data_version must be a whole number")


def test_the_backward_view_shows_the_weight_decay_training_applies(client):
    sid, _ = new_session(client)
    configure(client, sid, regularization="l2", reg_rate=0.5, lr=0.1, layers=[2])
    view = client.post(f"/api/session/{sid}/backward", json={"x": [1, 2], "y": 1}).json()
    assert view["penalty"] == {"name": "l2", "lambda": 0.5}
    for edge in view["edges"]:  # ∂J/∂w_ij = Δ_j a_i + 2λ w_ij, bias arcs not decayed
        decay = 2 * 0.5 * edge["w"] if edge["i"] else 0.0
        assert edge["reg"] == pytest.approx(decay, abs=1e-15)
        assert edge["new_w"] == pytest.approx(edge["w"] - 0.1 * (edge["grad"] + decay),
                                              rel=1e-12, abs=1e-15)


def test_a_busy_session_does_not_hold_up_the_others(client, monkeypatch):
    release = threading.Event()

    def slow_train(self, epochs, seconds=float("inf")):
        release.wait(10)

    busy, _ = new_session(client)
    other, _ = new_session(client)
    monkeypatch.setattr(Session, "train", slow_train)
    monkeypatch.setattr(server, "MAX_WAITING", 2)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(client.post, f"/api/session/{busy}/step", json={"epochs": 1})
        time.sleep(0.3)  # the first step now holds the busy session's lock
        waiting = [pool.submit(client.get, f"/api/session/{busy}/state") for _ in range(2)]
        time.sleep(0.3)
        start = time.monotonic()
        extra = client.get(f"/api/session/{busy}/state")
        assert extra.status_code == 409 and "2 requests already wait" in extra.json()["error"]
        for _ in range(20):  # 20 > the worker threads a blocking wait would have used up
            assert client.get(f"/api/session/{other}/state").status_code == 200
        assert time.monotonic() - start < 5
        release.set()
        assert first.result().status_code == 200
        assert [w.result().status_code for w in waiting] == [200, 200]


def test_the_weights_request_sets_every_weight_at_once(client):
    sid, state = new_session(client)
    rng = np.random.default_rng(5)
    edges = [[i, j, float(rng.normal())] for i, j, _ in state["network"]["edges"]]
    r = client.post(f"/api/session/{sid}/weights", json={"weights": edges})
    assert r.status_code == 200, r.text
    assert r.json()["network"]["edges"] == edges
    for bad in (edges[:-1], [*edges[:-1], [edges[-1][0], edges[-1][1], "x"]],
                [*edges[:-1], [0, 99, 1.0]]):
        r = client.post(f"/api/session/{sid}/weights", json={"weights": bad})
        assert r.status_code == 422 and "do not fit this network" in r.json()["error"]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_model_downloaded_after_an_upload_predicts_the_raw_csv(client, tmp_path, task,
                                                                  capsys):
    from deltanet.cli import main

    rng = np.random.default_rng(11)
    raw = rng.uniform([100, -0.01], [300, 0.05], size=(60, 2))  # far from [-6, 6]
    label = (raw[:, 0] > 200).astype(int) * 3 + 2 if task == "classification" \
        else raw[:, 0] * 0.5 + 0.25
    csv = "width,slope,kind\n" + "\n".join(f"{float(a)!r},{float(b)!r},{c.item()!r}"
                                           for (a, b), c in zip(raw, label, strict=True))
    sid, _ = new_session(client)
    state = client.post(f"/api/session/{sid}/upload", content=csv.encode()).json()
    assert state["config"]["task"] == task
    client.post(f"/api/session/{sid}/step", json={"epochs": 3})
    path = tmp_path / "upload.deltanet"
    path.write_bytes(client.get(f"/api/session/{sid}/model").content)
    data = tmp_path / "new.csv"
    data.write_text(csv)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(path), str(data), "--out", str(out)]) == 0
    capsys.readouterr()
    predicted = np.genfromtxt(out, delimiter=",", names=True)["kind"]
    # the page's own view of the same points: scaled coordinates into the same network
    net = dn.load(path)
    scaled = np.column_stack([(raw[:, k] - raw[:, k].min()) / np.ptp(raw[:, k]) * 12 - 6
                              for k in range(2)])
    outputs = net.predict(scaled)[:, 0]
    if task == "classification":
        np.testing.assert_array_equal(predicted, np.where(outputs > 0.5, 5, 2))
    else:
        low, high = label.min(), label.max()
        np.testing.assert_allclose(predicted, outputs * (high - low) / 2 + (high + low) / 2,
                                   rtol=1e-9)


def test_xor_with_k_classes_gives_every_class_its_share():
    for k in (3, 4, 5):
        _, y = generate("xor", 2000, 0.0, k, np.random.default_rng(k))
        counts = np.bincount(y, minlength=k)
        assert len(counts) == k and counts.min() > 0.8 * 2000 / k, (k, counts)


def test_a_model_of_a_generated_set_predicts_a_csv_of_x1_x2(client, tmp_path, capsys):
    from deltanet.cli import main

    sid, _ = new_session(client)
    configure(client, sid, dataset="gauss", n_classes=3, loss="cross_entropy",
              features=["x2"])
    client.post(f"/api/session/{sid}/step", json={"epochs": 2})
    path = tmp_path / "gauss.deltanet"
    path.write_bytes(client.get(f"/api/session/{sid}/model").content)
    X = np.random.default_rng(2).uniform(-6, 6, size=(20, 2))
    data = tmp_path / "points.csv"
    data.write_text("x1,x2\n" + "\n".join(f"{a!r},{b!r}" for a, b in X.tolist()))
    out = tmp_path / "pred.csv"
    assert main(["predict", str(path), str(data), "--out", str(out)]) == 0
    capsys.readouterr()
    predicted = np.genfromtxt(out, delimiter=",", names=True)["label"]
    expected = np.argmax(dn.load(path).predict(X[:, 1:]), axis=1)
    np.testing.assert_array_equal(predicted, expected)


def test_an_upload_of_text_labels_is_a_classification_set_with_its_class_names(client):
    sid, _ = new_session(client)
    rows = ["x,y,fruit"] + [f"{k},{k % 3},{['pear', 'Apple', 'plum'][k % 3]}" for k in range(9)]
    r = upload(client, sid, rows)
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["config"]["task"] == "classification" and state["config"]["n_classes"] == 3
    assert state["classes"] == ["Apple", "pear", "plum"]
    labels = {p[2] for p in state["points"]["train"] + state["points"]["test"]}
    assert labels == {0, 1, 2}
    generated = client.post(f"/api/session/{sid}/config", json={"dataset": "xor"}).json()
    assert generated["classes"] is None
