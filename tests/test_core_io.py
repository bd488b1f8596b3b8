"""Save/load: a safe format (JSON + arrays, no pickle), exact round trips."""

from __future__ import annotations

import json
import os
import pickle
import time
import zipfile

import numpy as np
import pytest

import deltanet as dn
from deltanet import io as dn_io
from deltanet.io import STALE_SECONDS

from conftest import random_dag

NETWORKS = [
    lambda: dn.Network.layered([3, 5, 2], hidden="relu", output="softmax", random_state=0),
    lambda: dn.Network.layered([3, 4, 4, 1], hidden=["tanh", "relu"], batch_norm=True,
                               random_state=1, dtype=np.float32),
    lambda: dn.Network(3, random_dag(np.random.default_rng(4), 3, 5, 2),
                       "softplus", random_state=2),
]


@pytest.mark.parametrize("make", NETWORKS)
def test_round_trip_is_exact(tmp_path, make):
    net = make()
    for layer in net.bn_state:
        net.bn_state[layer] = (np.full_like(net.bn_state[layer][0], 0.25),
                               np.full_like(net.bn_state[layer][1], 2.0))
    path = dn.save(net, tmp_path / "m.deltanet", metadata={"note": "hello"})
    back, meta = dn.io.read_model(path)
    assert meta == {"note": "hello"}
    assert back.params.dtype == net.params.dtype
    assert np.array_equal(back.params, net.params)
    assert back.arcs == net.arcs and back.outputs == net.outputs
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(net.dtype)
    assert np.array_equal(back.forward(X), net.forward(X))


@pytest.mark.parametrize("make", NETWORKS)
def test_networks_pickle_for_joblib_and_multiprocessing(make):
    # Built-in activations and losses pickle by name (their functions are lambdas).
    net = make()
    back = pickle.loads(pickle.dumps(net))
    assert np.array_equal(back.params, net.params) and back.arcs == net.arcs
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(net.dtype)
    assert np.array_equal(back.forward(X), net.forward(X))
    for g, h in zip(back.plan.groups, net.plan.groups, strict=True):
        assert g.activation is h.activation is dn.activations.get(h.activation.name)
    assert pickle.loads(pickle.dumps(dn.losses.get("log_loss"))) is dn.losses.get("log_loss")


def test_file_holds_json_and_npy_only(tmp_path):
    path = dn.save(dn.Network.layered([2, 2, 1], random_state=0), tmp_path / "m.deltanet")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        header = json.loads(zf.read("deltanet.json"))
    assert set(names) == {"deltanet.json", "arcs.npy", "params.npy"}
    assert header["format"] == "deltanet-model" and header["version"] == 1


@pytest.mark.reliability(area="model files", fault="not a zip, missing, truncated, future "
                          "format version", how="deltanet.load", result="ModelFileError")
def test_bad_files_are_rejected_with_a_clear_error(tmp_path):
    bad = tmp_path / "bad.deltanet"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(dn.ModelFileError, match="not a readable deltanet file"):
        dn.load(bad)
    with pytest.raises(dn.ModelFileError, match="does not exist"):
        dn.load(tmp_path / "missing.deltanet")
    good = dn.save(dn.Network.layered([2, 2, 1], random_state=0), tmp_path / "g.deltanet")
    data = good.read_bytes()
    (tmp_path / "trunc.deltanet").write_bytes(data[: len(data) // 2])
    with pytest.raises(dn.ModelFileError):
        dn.load(tmp_path / "trunc.deltanet")
    with zipfile.ZipFile(tmp_path / "v.deltanet", "w") as zf:
        zf.writestr("deltanet.json", json.dumps({"format": "deltanet-model", "version": 99}))
    with pytest.raises(dn.ModelFileError, match=r"version 99.*upgrade deltanet"):
        dn.load(tmp_path / "v.deltanet")


@pytest.mark.reliability(area="model files", fault="overwriting a model file",
                          how="dn.save twice", result="atomic replace, no temporary files")
def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    net = dn.Network.layered([2, 2, 1], random_state=0)
    dn.save(net, tmp_path / "m.deltanet")
    net.params += 1
    dn.save(net, tmp_path / "m.deltanet")
    assert [p.name for p in tmp_path.iterdir()] == ["m.deltanet"]
    assert (tmp_path / "m.deltanet").stat().st_mode & 0o777 == 0o666 & ~dn.io._umask()
    assert np.array_equal(dn.load(tmp_path / "m.deltanet").params, net.params)


def test_a_save_removes_temporaries_a_killed_save_left(tmp_path):
    # A process killed between writing and renaming leaves ".NAME.xxxx.tmp"; the next save
    # of NAME removes such files once they are old, never a recent one (a write in progress).
    net = dn.Network.layered([2, 2, 1], random_state=0)
    old, recent = tmp_path / ".m.deltanet.ab12cd_9.tmp", tmp_path / ".m.deltanet.ef34gh_9.tmp"
    other = tmp_path / ".n.deltanet.ab12cd_9.tmp"  # another file's
    users = tmp_path / ".m.deltanet.notes.tmp"  # not a name mkstemp makes
    for path in (old, recent, other, users):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 2 * STALE_SECONDS
    for path in (old, other, users):
        os.utime(path, (hours_ago, hours_ago))
    dn.save(net, tmp_path / "m.deltanet")
    assert not old.exists() and recent.exists() and other.exists() and users.exists()
    assert np.array_equal(dn.load(tmp_path / "m.deltanet").params, net.params)



@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_named_pipe_is_written_in_place_not_replaced(tmp_path):
    # renaming a temporary file over a pipe (or /dev/null) would replace it with a file
    import stat
    import threading

    pipe = tmp_path / "out.deltanet"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    dn_io.atomic_write(pipe, b"whole document")
    reader.join(10)
    assert got == [b"whole document"] and stat.S_ISFIFO(pipe.stat().st_mode)
