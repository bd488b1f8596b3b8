"""Playground sessions without a server: refused changes, busy locks, L1 in the backward view.

A refused upload leaves the session exactly as it was; a request waiting for a busy session
gives up after the lock timeout; a step stops after its time; the backward view writes out
the L1 term of every update (the tests through the server are in test_playground_api).
"""

from __future__ import annotations

from dataclasses import replace

import anyio
import numpy as np
import pytest

from deltanet.playground import server
from deltanet.playground.backward import backward_view
from deltanet.playground.datasets import parse_csv
from deltanet.playground.sessions import Session, SessionStore

pytestmark = pytest.mark.xdist_group("playground-api")


def test_the_csv_scaling_maps_each_column_onto_the_domain():
    upload = parse_csv("0,-1e308,0\n1,0,1\n2,1e308,0\n3,5,1\n", 100)
    assert upload.task == "classification" and upload.y.tolist() == [0, 1, 0, 1]
    assert upload.columns == ["x1", "x2", "label"]
    np.testing.assert_allclose(upload.X[:, 0], [-6, -2, 2, 6])
    np.testing.assert_allclose(upload.X[:, 1], [-6, 0, 6, 0], atol=1e-12)


def test_regression_labels_of_an_upload_are_scaled_onto_minus_one_one():
    upload = parse_csv("a,b,price\n0,1,0.5\n1,0,2.5\n2,1,1.5\n3,5,4.5\n", 100)
    assert upload.task == "regression" and upload.columns == ["a", "b", "price"]
    np.testing.assert_allclose(upload.y, [-1, 0, -0.5, 1])
    np.testing.assert_allclose(upload.preprocessing.decode_target(upload.y),
                               [0.5, 2.5, 1.5, 4.5])


def test_a_refused_upload_leaves_the_session_as_it_was(monkeypatch):
    session = Session("s")
    session.apply(replace(session.config, batch_norm=True, ratio=10))
    net, config, version = session.net, session.config, session.data_version
    upload = parse_csv("0,1,0\n1,2,1\n2,3,0\n3,4,1\n", 100)  # 10 %: one training point
    with pytest.raises(Exception, match="batch normalisation needs at least 2 training"):
        session.set_upload(upload)
    assert session.net is net and session.config == config
    assert session.data_version == version and session.upload is None
    assert len(session.history) == 1


def test_the_backward_view_writes_out_l1_terms_and_updates():
    session = Session("s")
    session.apply(replace(session.config, layers=(2,), activations=("tanh",),
                          regularization="l1", reg_rate=0.25))
    view = backward_view(session, [1.0, 2.0], 1)
    assert view["penalty"] == {"name": "l1", "lambda": 0.25}
    lr, net = session.config.lr, session.net
    trained = net.copy()
    trained.step(session.inputs(np.array([[1.0, 2.0]])), [[1.0]], lr=lr,
                 loss=session.loss_name, l1=0.25)
    for edge in view["edges"]:
        i, j = edge["i"], edge["j"]
        decay = 0.25 * np.sign(edge["w"]) if i else 0.0
        after = edge["w"] - lr * (edge["grad"] + decay)
        assert after == pytest.approx(trained.weights[i, j], rel=1e-12, abs=1e-15)
        assert edge["new_w"] == pytest.approx(after, rel=1e-12, abs=1e-15)
        assert edge["reg"] == pytest.approx(decay, abs=1e-15)


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
