"""Playground sessions under refused changes, busy locks and regularised backward views.

A refused upload or setting leaves the session exactly as it was; a busy session makes its
own requests wait (a bounded number of them) without holding up any other session; the
backward view's derivation shows the decay term that training applies.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import anyio
import httpx
import numpy as np
import pytest

from deltanet.playground import create_app, server
from deltanet.playground.backward import backward_view
from deltanet.playground.datasets import parse_csv
from deltanet.playground.sessions import Session, SessionStore
from test_playground_api import configure, new_session, start_server

pytestmark = pytest.mark.xdist_group("playground-api")


@pytest.fixture(scope="module")
def client():
    url, uv, thread = start_server(create_app(max_sessions=100))
    with httpx.Client(base_url=url, timeout=30) as c:
        yield c
    uv.should_exit = True
    thread.join(10)


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


def test_the_csv_scaling_maps_each_column_onto_the_domain():
    X, y, task = parse_csv("0,-1e308,0\n1,0,1\n2,1e308,0\n3,5,1\n", 100)
    assert task == "classification" and y.tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(X[:, 0], [-6, -2, 2, 6])
    np.testing.assert_allclose(X[:, 1], [-6, 0, 6, 0], atol=1e-12)


@pytest.mark.parametrize("label", ["1", "0.5"])
def test_an_upload_with_one_label_value_is_refused_and_changes_nothing(client, label):
    sid, before = new_session(client)
    r = upload(client, sid, [f"{k},{k},{label}" for k in range(6)])
    assert r.status_code == 422 and "give at least two classes" in r.json()["error"]
    after = client.get(f"/api/session/{sid}/state")
    assert after.status_code == 200
    assert after.json()["config"] == before["config"]
    assert after.json()["data_version"] == before["data_version"]


def test_a_refused_upload_leaves_the_session_as_it_was(monkeypatch):
    session = Session("s")
    session.apply(replace(session.config, batch_norm=True, ratio=10))
    net, config, version = session.net, session.config, session.data_version
    X = np.linspace(-6, 6, 8).reshape(4, 2)  # 10 % of 4 points: one training point
    with pytest.raises(Exception, match="batch normalisation needs at least 2 training"):
        session.set_upload(X, np.array([0, 1, 0, 1]), "classification")
    assert session.net is net and session.config == config
    assert session.data_version == version and session.upload is None
    assert len(session.history) == 1


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
    md = client.post(f"/api/session/{sid}/backward", json={"x": [1, 2], "y": 1}).json()
    assert "lambda" in md["markdown"] and "0.5" in md["markdown"]


def test_the_backward_view_writes_out_l1_terms_and_updates():
    session = Session("s")
    session.apply(replace(session.config, layers=(2,), activations=("tanh",),
                          regularization="l1", reg_rate=0.25))
    view = backward_view(session, [1.0, 2.0], 1)
    md = view["markdown"]
    assert "\\operatorname{sign}(w_{ij})" in md and "bias arcs" in md
    lr, net = session.config.lr, session.net
    trained = net.copy()
    trained.step(session.inputs(np.array([[1.0, 2.0]])), [[1.0]], lr=lr,
                 loss=session.loss_name, l1=0.25)
    for edge in view["edges"]:
        i, j = edge["i"], edge["j"]
        decay = 0.25 * np.sign(edge["w"]) if i else 0.0
        after = edge["w"] - lr * (edge["grad"] + decay)
        assert after == pytest.approx(trained.weights[i, j], rel=1e-12, abs=1e-15)
        assert f"\\to {after:.4g}$" in md


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


def test_a_waiting_request_gives_up_after_the_lock_timeout(monkeypatch):
    monkeypatch.setattr(server, "LOCK_TIMEOUT", 0.2)
    store = SessionStore()
    session = store.create()
    pg = server.Playground(store, max_body=1024, max_upload=1024)
    assert session.lock.acquire()

    async def main():
        with pytest.raises(server.ApiError, match="busy"):
            await pg.locked(session, lambda: None)

    anyio.run(main)
    assert session.waiting == 0
    session.lock.release()
    assert anyio.run(pg.locked, session, lambda: 42) == 42 and not session.lock.locked()


def test_a_step_stops_after_the_epoch_that_passes_its_time(monkeypatch):
    session = Session("s")
    ticks = iter(range(100))
    monkeypatch.setattr("deltanet.playground.sessions.time.monotonic", lambda: next(ticks))
    session.train(50, seconds=2.5)  # the clock advances 1 s per reading
    assert session.epoch == 3 and len(session.history) == 4
