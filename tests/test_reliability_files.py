"""Crafted files with valid ZIP structure: the contents are mutated, not the bytes.

``tests/test_fuzz.py`` mutates the bytes of model files, and most mutants die at the ZIP's
checksums. Here the archive is taken apart, one field of its JSON header (or one of its
arrays) is replaced by a hostile value (wrong type, NaN, infinity, huge numbers, negative
sizes, deep nesting, long strings, a missing key), and the archive is built again with
correct checksums, so every mutant reaches the checks on meaning. Three readers are fuzzed:
``deltanet.load`` (and the network it returns must work), the command line's model reader
with the table preprocessing (and its predictions on raw rows), and ``train(resume=...)``
on a checkpoint. Each must answer with its own error (``ModelFileError`` / ``ValueError``,
or the command line's one-line error) or work, never another exception.

The budget is a fifth of ``--fuzz-budget`` per reader (2,000 by default); ``pytest
tests/test_reliability_files.py --fuzz-budget 200000`` tries 40,000 each.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import deltanet as dn
from deltanet.cli import model_file
from deltanet.cli._common import CommandError
from deltanet.io import ModelFileError

pytestmark = pytest.mark.slow

HOSTILE = [None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 0.5, -0.0, 1e308,
           -1e308, float("nan"), float("inf"), float("-inf"), "", "x", "float64", "eval",
           "__import__('os')", "a" * 10_000, [], [0], [1, 2], [-1, -1], [[0, 3], [1, 3]],
           ["relu"], [None], list(range(1000)), {}, {"a": 1}, {"type": "MinMaxScaler"},
           {"__ndarray__": [1, 2], "dtype": "O"}, {"__ndarray__": "x", "dtype": "<f8"},
           {"__float__": "nan"}, {"__float__": "os.system"}]
ARRAYS = [np.zeros(0), np.zeros((0, 2), np.int64), np.array([np.nan]), np.full(3, np.inf),
          np.arange(5, dtype=np.int8), np.ones((2, 2, 2)), np.array([[0, 10**9]]),
          np.array([[-5, 3]]), np.zeros(10**5), np.array([True, False]), np.float32([1.5]),
          np.array([[3, 1], [1, 3]]), np.array([2**62], dtype=np.int64)]


def unpack(path: Path) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return json.loads(members.pop("deltanet.json")), members


def pack(header: dict, members: dict[str, bytes]) -> bytes:
    """A well-formed archive (correct checksums) around whatever ``header`` holds; NaN and
    infinities are written as JSON's NaN and Infinity, which Python's reader accepts, and
    ``"__deep_N__"`` as N nested lists."""
    text = re.sub(r'"__deep_(\d+)__"', lambda m: "[" * int(m[1]) + "]" * int(m[1]),
                  json.dumps(header, allow_nan=True))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("deltanet.json", text)
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def paths(value, prefix=()) -> list[tuple]:
    """Every place in a JSON value: key paths to each dict entry and list element."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for k, item in enumerate(value[:6]):
            out += paths(item, (*prefix, k))
    return out


def mutate(header: dict, members: dict[str, bytes], rng: np.random.Generator
           ) -> tuple[dict, dict[str, bytes], str]:
    """One to three hostile edits of the header or the arrays; returns their description."""
    header, members = copy.deepcopy(header), dict(members)
    done = []
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.2 and members:
            name = sorted(members)[int(rng.integers(len(members)))]
            if rng.random() < 0.25:
                del members[name]
                done.append(f"drop {name}")
            else:
                arr = ARRAYS[int(rng.integers(len(ARRAYS)))]
                members[name] = npy(arr)
                done.append(f"{name} = {arr.dtype}{arr.shape}")
            continue
        places = paths(header)[1:]
        place = places[int(rng.integers(len(places)))]
        parent = header
        for key in place[:-1]:
            parent = parent[key]
        roll = rng.random()
        if roll < 0.1 and isinstance(parent, dict):
            del parent[place[-1]]
            done.append(f"drop {place}")
        elif roll < 0.15:
            parent[place[-1]] = f"__deep_{int(rng.integers(10, 100_000))}__"  # nested lists
            done.append(f"deep {place}")
        else:
            value = copy.deepcopy(HOSTILE[int(rng.integers(len(HOSTILE)))])
            parent[place[-1]] = value
            done.append(f"{place} = {str(value)[:30]}")
    return header, members, "; ".join(done)


def fuzz(seed_path: Path, budget: int, tmp_path: Path, use: Callable[[Path], object],
         allowed: tuple[type[BaseException], ...]) -> dict[str, int]:
    """Feed ``budget`` mutants of ``seed_path`` to ``use``; any other exception fails."""
    header, members = unpack(seed_path)
    rng = np.random.default_rng(2718)
    path = tmp_path / f"mutant{seed_path.suffix}"
    counts = {"rejected": 0, "accepted": 0}
    failures, slowest = [], 0.0
    for _ in range(budget):
        mutant, arrays, what = mutate(header, members, rng)
        path.write_bytes(pack(mutant, arrays))
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                use(path)
            counts["accepted"] += 1
        except allowed:
            counts["rejected"] += 1
        except Exception as err:  # any other exception is the finding
            failures.append(f"{what}: {type(err).__name__}: {str(err)[:150]}")
        slowest = max(slowest, time.perf_counter() - start)
    assert not failures, f"{len(failures)} mutants raised other errors, e.g.\n" + \
        "\n".join(failures[:8])
    assert slowest < 5.0, f"one mutant took {slowest:.1f} s: a hang"
    assert counts["rejected"] > budget // 4 and sum(counts.values()) == budget
    return counts


@pytest.fixture
def budget(fuzz_budget) -> int:
    return max(200, fuzz_budget // 5)


def _load_and_use(path: Path) -> None:
    net = dn.load(path)
    out = net.forward(np.zeros((2, net.n_inputs), dtype=net.dtype))
    assert out.shape == (2, net.n_outputs)


@pytest.mark.reliability(
    area="model files", fault="crafted model files: each JSON field or array replaced by a "
    "hostile value (wrong type, NaN, ±inf, 2**63, negative, deep nesting, 10,000-character "
    "strings, tagged arrays of objects) or removed, with valid checksums",
    how="2,000 mutants of a batch-norm network loaded with deltanet.load and run",
    result="ModelFileError, or a network that runs")
def test_crafted_model_files(tmp_path, budget):
    net = dn.Network.layered([3, 4, 2], hidden="tanh", output="softmax", batch_norm=True,
                             random_state=0)
    seed = dn.save(net, tmp_path / "seed.deltanet", metadata={"note": "seed"})
    fuzz(seed, budget, tmp_path, _load_and_use, (ModelFileError,))


@pytest.fixture
def table_model(tmp_path):
    """A model file as ``deltanet train`` writes it (with its table preprocessing)."""
    import pandas as pd

    from deltanet.data import TablePreprocessor

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 40).astype(float),
                          "city": rng.choice(["Lyon", "Oslo"], 40),
                          "y": rng.choice(["no", "yes"], 40)})
    pre = TablePreprocessor("y", impute="median")
    X, _ = pre.fit_transform(frame)
    net = dn.Network.layered([X.shape[1], 3, 1], random_state=0)
    info = {"source": "shop", "task": "classification", "target": "y", "rows": {"train": 40}}
    return model_file.write(tmp_path / "shop.deltanet", net, pre, info), frame


@pytest.mark.reliability(
    area="model files", fault="crafted table models: the preprocessing record (columns, "
    "categories, scalers, classes, fill values) and the network mutated as above",
    how="2,000 mutants read by the command line's model reader, then predicting raw rows",
    result="the one-line error of the command line (CommandError or ValueError), or "
    "predictions")
def test_crafted_table_models_for_the_command_line(tmp_path, budget, table_model):
    seed, frame = table_model

    def read_and_predict(path: Path) -> None:
        model = model_file.read(path)
        if model.pre is not None:
            model_file.predictions(model, frame.drop(columns="y"), proba=True)

    fuzz(seed, budget, tmp_path, read_and_predict, (CommandError, ValueError))


@pytest.mark.reliability(
    area="checkpoints", fault="crafted checkpoints: counters, history, generator state, "
    "optimizer state, fingerprint and arrays mutated as above",
    how="2,000 mutants given to train(resume=...)",
    result="ValueError (ModelFileError or a refused fingerprint), or training that ends "
    "with finite weights")
def test_crafted_checkpoints(tmp_path, budget):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(24, 2)), rng.integers(0, 2, 24).astype(float)
    seed = tmp_path / "seed.ckpt"

    def run(resume):
        net = dn.Network.layered([2, 3, 1], random_state=0)
        dn.train(net, X, y, loss="log_loss", optimizer="adam", lr=0.01, batch_size=8,
                 epochs=3, random_state=0, dropout=0.1, validation_fraction=0.25,
                 early_stopping=True, patience=5, checkpoint=tmp_path / "out.ckpt",
                 resume=resume)
        assert np.all(np.isfinite(net.params))

    net = dn.Network.layered([2, 3, 1], random_state=0)
    dn.train(net, X, y, loss="log_loss", optimizer="adam", lr=0.01, batch_size=8, epochs=2,
             random_state=0, dropout=0.1, validation_fraction=0.25, early_stopping=True,
             patience=5, checkpoint=seed)
    fuzz(seed, budget, tmp_path, run, (ValueError,))
