"""Checkpoints in the middle of a streamed epoch: ``checkpoint_every="N windows"`` saves
where the epoch stands (the piece order, the piece and row of the next window, the
generator), and a resumed run ends with bit for bit the weights of an uninterrupted one:
after an exception in a reader or a callback, and after SIGKILLs at random moments."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import deltanet as dn
from deltanet.data import Stream
from deltanet.training.checkpoints import load_checkpoint, write


class Crash(Exception):
    """The failure a test injects."""


def _data(seed: int, n: int = 700, p: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] - X[:, 1] * X[:, 2] > 0).astype(float)
    return X, y


def _net(p: int = 4, seed: int = 3):
    return dn.Network.layered([p, 6, 1], output="logistic", random_state=seed)


def _settings(seed: int, **extra):
    kw = {"loss": "log_loss", "epochs": 3, "random_state": seed, "engine": "numpy",
          "batch_size": 8, "optimizer": "adam", "lr": 0.01}
    return {**kw, **extra}


def _crashing(stream: Stream, after: int) -> Stream:
    """``stream`` whose reader fails at the ``after``-th piece read, once."""
    calls = [0]

    def wrap(piece):
        def read():
            calls[0] += 1
            if calls[0] == after:
                raise Crash(f"read {after}")
            return piece()
        return read
    return dataclasses.replace(stream, pieces=tuple(wrap(p) for p in stream.pieces))


@pytest.mark.parametrize("seed", range(4))
def test_a_run_resumed_after_a_failed_read_ends_with_the_uninterrupted_weights(tmp_path,
                                                                                seed):
    rng = np.random.default_rng(100 + seed)
    X, y = _data(seed)
    chunk, buffer = int(rng.integers(20, 60)), int(rng.integers(60, 120))
    stream = Stream.from_arrays(X, y, chunk_rows=chunk, shuffle_buffer=buffer)
    # odd seeds: dropout on the NumPy engine; even ones: the compiled engine
    extra = {"dropout": 0.2} if seed % 2 else {"engine": "auto"}
    ref = _net()
    dn.train(ref, stream, **_settings(seed, **extra))
    path = tmp_path / "run.ckpt"
    every = f"{int(rng.integers(1, 3))} windows"
    n_pieces = len(stream.pieces)
    # reads: one before training, then every piece each epoch; the crash comes in the last
    # quarter of epoch 3, after two windows or more (the reader runs a window ahead)
    crash_at = int(rng.integers(2 * n_pieces + 2 + 3 * n_pieces // 4, 3 * n_pieces + 1))
    net = _net()
    with pytest.raises(Crash):
        dn.train(net, _crashing(stream, crash_at), checkpoint=path, checkpoint_every=every,
                 **_settings(seed, **extra))
    saved = load_checkpoint(path)
    assert saved.header.get("position") is not None  # written in the middle of an epoch
    resumed = _net()
    hist = dn.train(resumed, stream, checkpoint=path, checkpoint_every=every, resume=True,
                    **_settings(seed, **extra))
    assert np.array_equal(resumed.params, ref.params)
    assert hist.epochs == 3 and load_checkpoint(path).finished


def test_per_update_callbacks_count_the_updates_of_a_resumed_epoch_once(tmp_path):
    X, y = _data(7)
    stream = Stream.from_arrays(X, y, chunk_rows=50, shuffle_buffer=120)
    ref = _net()
    ref_updates: list = []
    ref_hist = dn.train(ref, stream, callbacks=[_Updates(ref_updates)], **_settings(7))
    path = tmp_path / "run.ckpt"
    seen: list = []

    class Fail(_Updates):
        def on_batch_end(self, update, logs):
            super().on_batch_end(update, logs)
            if update == 150:  # in the second epoch (88 updates each)
                raise Crash("callback")

    with pytest.raises(Crash):
        dn.train(_net(), stream, checkpoint=path, checkpoint_every="1 window",
                 callbacks=[Fail(seen)], **_settings(7))
    assert load_checkpoint(path).header["position"]["updates"] > 0
    after: list = []
    net = _net()
    hist = dn.train(net, stream, checkpoint=path, resume=True, checkpoint_every="1 window",
                    callbacks=[_Updates(after)], **_settings(7))
    assert np.array_equal(net.params, ref.params)
    assert hist.updates == ref_hist.updates and hist.cost == ref_hist.cost
    assert after == ref_updates[-len(after):]  # the update numbers go on where they stood


class _Updates(dn.Callback):
    def __init__(self, into: list) -> None:
        self.into = into

    def on_batch_end(self, update, logs):
        self.into.append(update)


@pytest.mark.parametrize(("every", "message"), [
    ("3 weeks", "number of epochs or windows"), ("0 windows", "number of epochs or windows"),
    ("windows", "number of epochs or windows")])
def test_checkpoint_every_with_a_bad_unit_says_what_it_takes(tmp_path, every, message):
    X, y = _data(0, n=40)
    with pytest.raises(ValueError, match=message):
        dn.train(_net(), Stream.from_arrays(X, y), checkpoint=tmp_path / "c.ckpt",
                 checkpoint_every=every, **_settings(0))


def test_checkpoint_every_in_epochs_given_as_text_counts_epochs(tmp_path):
    X, y = _data(1, n=60)
    epochs: list = []
    path = tmp_path / "c.ckpt"

    def note(epoch, logs):
        epochs.append(load_checkpoint(path).epoch if path.exists() else None)

    dn.train(_net(), X, y, checkpoint=path, checkpoint_every="2 epochs",
             callbacks=[note], **_settings(1, epochs=5))
    assert epochs == [None, 2, 2, 4, 4]


def test_a_stream_with_another_shuffle_buffer_is_refused_on_resume(tmp_path):
    X, y = _data(2)
    path = tmp_path / "c.ckpt"
    dn.train(_net(), Stream.from_arrays(X, y, chunk_rows=50, shuffle_buffer=100),
             checkpoint=path, checkpoint_every="1 window", **_settings(2, epochs=1))
    with pytest.raises(ValueError, match="belongs to another training run"):
        dn.train(_net(), Stream.from_arrays(X, y, chunk_rows=50, shuffle_buffer=150),
                 checkpoint=path, resume=True, **_settings(2, epochs=2))


def test_a_damaged_position_in_the_epoch_is_refused_with_what_to_do(tmp_path):
    X, y = _data(3)
    stream = Stream.from_arrays(X, y, chunk_rows=50, shuffle_buffer=100)
    path = tmp_path / "c.ckpt"
    with pytest.raises(Crash):
        dn.train(_net(), _crashing(stream, 10), checkpoint=path,
                 checkpoint_every="1 window", **_settings(3))
    ckpt = load_checkpoint(path)
    header = {k: v for k, v in ckpt.header.items() if k not in ("format", "version")}
    header["position"] = {**header["position"], "piece": len(stream.pieces) + 4}
    write(path, header, ckpt.arrays)
    with pytest.raises(dn.ModelFileError, match="position in the epoch is invalid"):
        dn.train(_net(), stream, checkpoint=path, resume=True, **_settings(3))


# ---------------------------------------------------------------- SIGKILL at random moments
CHILD = textwrap.dedent("""
    import json, os, sys
    import numpy as np, deltanet as dn
    from deltanet.data import Stream
    from deltanet.training.checkpoints import load_checkpoint

    table, ckpt, out = sys.argv[1], sys.argv[2], sys.argv[3]
    stream = Stream.from_parquet(table, target="y", shuffle_buffer=3000)
    net = dn.Network.layered([6, 16, 1], output="logistic", random_state=0)
    where = None
    if ckpt != "-" and os.path.exists(ckpt):
        saved = load_checkpoint(ckpt)
        where = [saved.epoch, (saved.header.get("position") or {}).get("windows")]
    print(json.dumps({"started": where}), flush=True)
    kw = {} if ckpt == "-" else {"checkpoint": ckpt, "resume": True,
                                 "checkpoint_every": "1 window"}
    dn.train(net, stream, loss="log_loss", epochs=3, batch_size=16, optimizer="adam",
             lr=0.003, dropout=0.1, engine="numpy", random_state=5, **kw)
    np.save(out, net.params)
""")


def _table(path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    X = rng.normal(size=(48_000, 6))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(float)
    cols = {f"x{j}": X[:, j] for j in range(6)} | {"y": y}
    pq.write_table(pa.table(cols), path, row_group_size=1000)


def _child(tmp_path, ckpt: str, out: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "t.parquet"), ckpt,
                             str(tmp_path / out)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"})


@pytest.mark.slow
def test_a_streamed_run_killed_five_times_ends_with_the_uninterrupted_weights(tmp_path):
    _table(tmp_path / "t.parquet")
    ref = _child(tmp_path, "-", "ref.npy")
    ref.stdout.readline()
    started = time.monotonic()
    assert ref.wait(timeout=300) == 0
    took = time.monotonic() - started  # the training alone: 48 windows of 3000 rows
    # five kills that together leave most of the run to do (even if the load falls),
    # each after a window or more (48 windows in all)
    delays = np.random.default_rng(2026).uniform(0.03, 0.08, 5) * took
    ckpt, starts = str(tmp_path / "run.ckpt"), []
    for delay in delays:
        child = _child(tmp_path, ckpt, "killed.npy")
        starts.append(json.loads(child.stdout.readline())["started"])
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        assert child.returncode == -signal.SIGKILL, "the run ended before it was killed"
    final = _child(tmp_path, ckpt, "final.npy")
    starts.append(json.loads(final.stdout.readline())["started"])
    assert final.wait(timeout=300) == 0
    assert np.array_equal(np.load(tmp_path / "final.npy"), np.load(tmp_path / "ref.npy"))
    print(starts)  # shown with -s: [epoch, windows into the next epoch] of each start
    # the resumed runs started in the middle of epochs, further on each time
    mid = [s for s in starts if s is not None and s[1] is not None]
    assert len(mid) >= 3, starts
    assert starts == sorted(starts, key=lambda s: (-1, 0) if s is None else
                            (s[0], s[1] or 0)), starts
