"""Fuzzing the two readers of files from elsewhere: the model loader and the table reader.

Mutated files (bit flips, byte overwrites, truncations, insertions, duplicated spans) must be
answered with deltanet's own error (``ModelFileError`` / ``DataError``) or read correctly,
never another exception and never a hang. The budget per reader is ``--fuzz-budget``
(default 10,000 files; run ``pytest tests/test_fuzz.py --fuzz-budget 200000`` now and then).
"""

from __future__ import annotations

import io
import json
import time
import warnings
import zipfile

import numpy as np
import pytest

import deltanet as dn
from deltanet.data import DataError, TablePreprocessor, read_table

pytestmark = pytest.mark.slow


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        kind = int(rng.integers(0, 6))
        pos = int(rng.integers(0, max(len(buf), 1)))
        if kind == 0 and buf:  # flip one bit
            buf[pos % len(buf)] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and buf:  # overwrite a few bytes with random ones
            k = int(rng.integers(1, 9))
            buf[pos:pos + k] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        elif kind == 2:  # truncate
            del buf[pos:]
        elif kind == 3:  # insert random bytes
            buf[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 17)), np.uint8).tobytes()
        elif kind == 4 and buf:  # duplicate a span
            k = int(rng.integers(1, 64))
            buf[pos:pos] = buf[pos:pos + k]
        else:  # interesting values
            value = rng.choice([b"\x00", b"\xff", b"\x7f", b"-1", b"1e309", b"nan", b'"'])
            buf[pos:pos] = bytes(value)
    return bytes(buf)


def _run_fuzz(seed_files, read, allowed, budget, tmp_path, name):
    rng = np.random.default_rng(12345)
    path = tmp_path / name
    outcomes = {"rejected": 0, "accepted": 0}
    slowest = 0.0
    for k in range(budget):
        path.write_bytes(_mutate(seed_files[k % len(seed_files)], rng))
        start = time.perf_counter()
        try:
            read(path)
            outcomes["accepted"] += 1
        except allowed:
            outcomes["rejected"] += 1
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 5.0, f"one file took {slowest:.1f} s: a hang"
    return outcomes


def _model_seeds(tmp_path) -> list[bytes]:
    nets = [dn.Network.layered([3, 4, 2], hidden="relu", output="softmax", random_state=0),
            dn.Network.layered([2, 3, 3, 1], batch_norm=True, random_state=1),
            dn.Network(2, [(1, 3), (2, 3), (1, 4), (3, 4)], "tanh", random_state=2)]
    out = []
    for k, net in enumerate(nets):
        path = dn.save(net, tmp_path / f"seed{k}.deltanet", metadata={"k": k})
        out.append(path.read_bytes())
    return out


def _load_and_use(path):
    net = dn.load(path)
    with np.errstate(all="ignore"):
        net.forward(np.zeros((1, net.n_inputs)))  # a loaded network must be usable


@pytest.mark.reliability(area="model files", fault="mutated model files (bit flips, "
                          "overwrites, truncation, insertion)", how="10,000 mutants of 3 "
                          "valid files loaded and used", result="ModelFileError or a valid "
                          "network; none over 5 s")
def test_fuzz_model_loader(tmp_path, fuzz_budget):
    outcomes = _run_fuzz(_model_seeds(tmp_path), _load_and_use, dn.ModelFileError,
                         fuzz_budget, tmp_path, "fuzz.deltanet")
    assert outcomes["rejected"] > fuzz_budget // 2
    assert sum(outcomes.values()) == fuzz_budget


CSV_SEEDS = [
    b"a,b,color,y\n1,2.5,red,yes\n3,4.5,blue,no\n5,,red,yes\n7,8.5,green,no\n",
    b"x1,x2,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,0\n0.7,0.8,1\n",
    b"\xef\xbb\xbfname;value;y\n\"a,b\";1;2.5\n\"c\";2;3.5\n\"d\";3;1.0\n",
]


def _read_and_prepare(path):
    with warnings.catch_warnings():
        # pandas warns about mixed column types in garbled CSVs; the reader handles them
        warnings.simplefilter("ignore")
        frame = read_table(path)
        target = frame.columns[-1]
        pre = TablePreprocessor(str(target), impute="most_frequent")
        pre.fit_transform(frame)


@pytest.mark.reliability(area="data files", fault="mutated CSV files", how="10,000 mutants "
                          "of 3 CSV files read and preprocessed", result="DataError or a "
                          "valid table; none over 5 s")
def test_fuzz_table_reader(tmp_path, fuzz_budget):
    outcomes = _run_fuzz(CSV_SEEDS, _read_and_prepare, DataError, fuzz_budget, tmp_path,
                         "fuzz.csv")
    assert sum(outcomes.values()) == fuzz_budget
    assert outcomes["rejected"] > 0 and outcomes["accepted"] > 0


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


GOOD_SPEC = {"n_inputs": 2, "activations": {"3": "logistic"}, "outputs": [3],
             "batch_norm": [], "dtype": "float64"}


@pytest.mark.parametrize("members,match", [
    ({"deltanet.json": json.dumps({"format": "deltanet-model", "version": 1,
                                   "network": GOOD_SPEC}).encode(),
      "arcs.npy": _npy(np.array([[0, 3], [1, 3], [2, 3]])),
      "params.npy": _npy(np.array([object(), 1, 2], dtype=object))},
     "not a numeric array"),  # a pickled object array is never unpickled
    ({"deltanet.json": json.dumps({"format": "deltanet-model", "version": 1,
                                   "network": GOOD_SPEC}).encode(),
      "arcs.npy": _npy(np.array([[0, 3], [1, 3], [2, 3]])),
      "params.npy": _npy(np.array([1.0, 2.0]))}, "parameters stored"),
    ({"deltanet.json": json.dumps({"format": "deltanet-model", "version": 1,
                                   "network": GOOD_SPEC}).encode(),
      "arcs.npy": _npy(np.array([[0, 3], [1, 3], [2, 3]])),
      "params.npy": _npy(np.array([1.0, np.nan, 0.0]))}, "finite"),
    ({"deltanet.json": json.dumps({"format": "deltanet-model", "version": 1,
                                   "network": GOOD_SPEC}).encode(),
      "arcs.npy": _npy(np.array([[0, 3], [1, 3], [2, 99_999_999]])),
      "params.npy": _npy(np.zeros(3))}, "99,999,999 neurons .* over the limit"),
    ({"deltanet.json": json.dumps({"format": "deltanet-model", "version": 1,
                                   "network": {**GOOD_SPEC, "activations": {"3": "eval"}}
                                   }).encode(),
      "arcs.npy": _npy(np.array([[0, 3], [1, 3], [2, 3]])),
      "params.npy": _npy(np.zeros(3))}, "unknown activation"),
    ({"deltanet.json": b"[1, 2, 3]"}, "not a deltanet-model file"),
    ({"other.txt": b"hello"}, "no deltanet.json"),
])
@pytest.mark.reliability(area="model files", fault="crafted files: pickled object array, "
                          "wrong parameter count, NaN weights, huge neuron numbers, unknown "
                          "activation, wrong JSON, missing header", how="deltanet.load",
                          result="ModelFileError naming the problem; nothing unpickled")
def test_crafted_files_are_rejected(tmp_path, members, match):
    path = tmp_path / "crafted.deltanet"
    path.write_bytes(_zip(members))
    with pytest.raises(dn.ModelFileError, match=match):
        dn.load(path)


@pytest.mark.reliability(area="model files", fault="zip bomb (member claims > 1 GiB)",
                          how="deltanet.load", result="ModelFileError before inflating")
def test_zip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.deltanet"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("deltanet.json", b"{}")
        zf.writestr("params.npy", b"\x00" * (dn.io.MAX_MEMBER_BYTES + 1))
    with pytest.raises(dn.ModelFileError, match="too large"):
        dn.load(path)
