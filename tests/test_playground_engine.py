"""The page's own engine (static/engine.js) gives deltanet's numbers: the same data, initial
weights and, after 100 epochs of training, the same weights to 1e-12, for generated lessons
over every data set, activation, loss and regulariser the page offers, dropout and batch norm,
with mini-batches and with per-example SGD.

Per-example SGD is held to 1e-12 where deltanet's own result is stable: some lessons (XOR
with tanh units and cross-entropy, for one) are chaotic, and a change of one unit in the last
place of one initial weight moves deltanet's own weights after 100 epochs by up to 0.1.
There the last-bit differences between V8's Math.tanh, Math.exp, Math.log1p and the C
library's (which themselves differ between CPUs with and without FMA) grow as large; the
README says what was measured.

The engine runs under Node here (the same file the exported page loads); the browser tests of
the exported site repeat the comparison in Chromium.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from deltanet.playground import datasets
from deltanet.playground._prng import Prng
from deltanet.playground.config import HIDDEN_ACTIVATIONS, parse_config
from deltanet.playground.sessions import Session
from playground_csvs import generated_csvs

NODE = shutil.which("node")
RUNNER = Path(__file__).resolve().parent / "playground_engine.mjs"
STATIC = Path(__file__).resolve().parents[1] / "src" / "deltanet" / "playground" / "static"
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js (Debian's nodejs)")


def run_js(runs: list[dict]) -> list[dict]:
    done = subprocess.run([NODE, str(RUNNER)], input=json.dumps(runs), capture_output=True,
                          text=True, check=True, timeout=600)
    return json.loads(done.stdout)


def node_module(script: str) -> object:
    """Run ``script`` as an ES module in Node; what it printed, read as JSON."""
    done = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True,
                          text=True, check=True, timeout=60)
    return json.loads(done.stdout)


def node_eval(code: str) -> object:
    return node_module(f'import * as m from "{STATIC.as_uri()}/prng.js";\n{code}')


def python_arcs(session: Session) -> np.ndarray:
    return np.array([[i, j, session.net.weights[i, j]] for i, j in session.net.arcs])


def lessons(count: int, seed: int) -> list[dict]:
    """Generated lessons: each data set with its class counts, activations, losses,
    regularisers, dropout and batch norm drawn from a seeded generator."""
    pick = random.Random(seed)
    out = []
    for k in range(count):
        dataset, classes = [("xor", 2), ("circle", 2), ("gauss", 3), ("spiral", 3),
                            ("xor", 3), ("circle", 4)][k % 6]
        layers = [pick.randint(1, 5) for _ in range(pick.randint(1, 3))]
        reg = ["none", "l1", "l2"][k % 3]
        out.append({
            "dataset": dataset, "n_classes": classes, "n_samples": 120, "seed": pick.randint(0, 99),
            "noise": pick.choice([0, 10, 35]), "layers": layers,
            "activations": [HIDDEN_ACTIVATIONS[(k + n) % 5] for n in range(len(layers))],
            "loss": ["cross_entropy", "squared_error"][(k // 3) % 2],
            "regularization": reg, "reg_rate": 0.0 if reg == "none" else 0.003,
            "dropout": [0.0, 0.0, 0.25][k % 3 - 1 if k % 4 else 2],
            "batch_norm": k % 5 == 4, "batch_size": pick.choice([10, 16, 25]),
            "features": pick.choice([["x1", "x2"], ["x1", "x2", "x1^2", "sin(x2)"],
                                     ["x1*x2", "x2^2"]]),
        })
    return out


def test_generator_draws_the_same_numbers_in_python_and_javascript():
    js = node_eval("const p = new m.Prng(2026, 7); const q = new m.Prng(0);"
                   "console.log(JSON.stringify([[0,1,2].map(() => p.uint32()),"
                   " [0,1,2,3].map(() => p.random()), p.permutation(9), p.normal(1, 2),"
                   " p.uniform(-5, 5), q.uint32()]))")
    p, q = Prng(2026, 7), Prng(0)
    py = [[p.uint32() for _ in range(3)], list(p.random(4)), p.permutation(9).tolist(),
          p.normal(1, 2), p.uniform(-5, 5), q.uint32()]
    assert js == py


def test_generator_refuses_draws_it_does_not_define():
    with pytest.raises(AttributeError, match="integers"):
        Prng(1).integers(3)


def test_weights_after_100_epochs_equal_deltanets_to_1e_12():
    configs = [parse_config(c) for c in lessons(12, seed=24)]
    js = run_js([{"config": c.to_json(), "epochs": 100} for c in configs])
    for config, got in zip(configs, js, strict=True):
        session = Session("engine", config)
        start = python_arcs(session)
        session.train(100)
        want, arcs = python_arcs(session), np.array(got["arcs"])
        assert arcs.shape == want.shape and (arcs[:, :2] == want[:, :2]).all(), config
        assert not np.allclose(start[:, 2], want[:, 2]), "training changed no weight"
        np.testing.assert_allclose(arcs[:, 2], want[:, 2], rtol=0, atol=1e-12,
                                   err_msg=str(config))
        np.testing.assert_allclose(got["history"], session.history[-1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("dataset, task, classes", [
    ("circle", "classification", 2), ("xor", "classification", 5),
    ("gauss", "classification", 3), ("spiral", "classification", 4),
    ("plane", "regression", 2), ("reg-gauss", "regression", 2)])
def test_data_and_initial_weights_equal_deltanets(dataset, task, classes):
    config = parse_config({"dataset": dataset, "task": task, "n_classes": classes,
                           "noise": 30, "seed": 11, "layers": [3, 2],
                           "loss": "squared_error"})
    session = Session("data", config)
    [got] = run_js([{"config": config.to_json(), "epochs": 0}])
    np.testing.assert_allclose(np.array(got["arcs"]), python_arcs(session), rtol=0, atol=0)
    np.testing.assert_allclose(got["history"], session.history[-1], rtol=0, atol=1e-12)


def test_csv_read_in_the_page_gives_the_servers_points_and_preprocessing():
    texts = [text for seed in range(4) for text in generated_csvs(seed)]
    script = (f'import {{ parseCsv }} from "{STATIC.as_uri()}/csv.js";\n'
              f"const texts = {json.dumps(texts)};"
              "console.log(JSON.stringify(texts.map((t) => { const u = parseCsv(t, 2000);"
              " return [u.X, u.y, u.task, u.names, u.preprocessing]; })));")
    tasks = set()
    for text, (X_js, y_js, task_js, names, pre) in zip(texts, node_module(script),
                                                       strict=True):
        upload = datasets.parse_csv(text, 2000)
        assert task_js == upload.task and names == upload.columns, text
        np.testing.assert_array_equal(X_js, upload.X)
        np.testing.assert_array_equal(y_js, upload.y)
        want = upload.preprocessing.to_dict()
        assert {**pre, "version": want["version"], "drop": [], "max_categories": 100} == want
        tasks.add((upload.task, upload.preprocessing.classes_ is not None and
                   not upload.preprocessing.classes_[0].lstrip("-").isdigit()))
    assert tasks == {("classification", False), ("regression", False), ("classification", True)}


def test_csv_refusals_in_the_page_are_the_servers():
    bad = ["1,2,0\n3,4,1\n", "a,b,c\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n",
           "1,2,0\n3,4,\n5,6,0\n7,8,1\n", "1,2,3\n3,4,3\n5,6,3\n7,8,3\n",
           "1,2,a\n3,4,a\n5,6,a\n7,8,a\n", "1,2,1e999\n3,4,1\n5,6,0\n7,8,1\n",
           "\n".join(f"{k},{k},c{k}" for k in range(9)), "1,2,0,4\n3,4,1\n5,6,0\n7,8,1\n"]
    script = (f'import {{ parseCsv }} from "{STATIC.as_uri()}/csv.js";\n'
              f"const texts = {json.dumps(bad)};"
              "console.log(JSON.stringify(texts.map((t) => {"
              " try { parseCsv(t, 2000); return null; } catch (e) { return e.message; } })));")
    for text, message in zip(bad, node_module(script), strict=True):
        with pytest.raises(ValueError) as refused:
            datasets.parse_csv(text, 2000)
        assert message is not None, text
        assert message.split(";")[0].replace("'", "") == str(refused.value).split(";")[0].replace(
            "'", ""), text


def test_exp_in_the_page_is_deltanets_compiled_exp_bit_for_bit(tmp_path):
    from deltanet.kernels._elementwise import TAYLOR, constants, exp_nonpositive

    numba = pytest.importorskip("numba")
    c = constants(np.float64)
    many = numba.njit(lambda x: np.array([exp_nonpositive(v, c) for v in x]))
    rng = np.random.default_rng(3)
    x = np.concatenate([-np.abs(rng.normal(0, 4, 20_000)), rng.uniform(-746, 0, 20_000),
                        [0.0, -0.0, c[7], np.nextafter(c[7], 0), -709.0, -5e-324, -np.inf]])
    script = (f'import {{ expNonpositive, EXP }} from "{STATIC.as_uri()}/formulas.js";\n'
              f"const x = {json.dumps(x.tolist()).replace('-Infinity', '-1e999')};"
              "console.log(JSON.stringify([x.map(expNonpositive), EXP.taylor,"
              " [EXP.low, EXP.invLn2, EXP.ln2Hi, EXP.ln2Lo, EXP.magic]]));")
    (tmp_path / "exp.mjs").write_text(script, encoding="utf-8")
    done = subprocess.run([NODE, str(tmp_path / "exp.mjs")], capture_output=True, text=True,
                          check=True, timeout=60)
    got, taylor, rest = json.loads(done.stdout)
    assert taylor == c[TAYLOR:].tolist() and rest == c[7:12].tolist()
    np.testing.assert_array_equal(np.array(got), many(x))


def one_ulp_sensitivity(config, epochs: int, weights: np.ndarray) -> float:
    """How far deltanet's own weights after ``epochs`` (``weights``, from the same lesson
    as given) move when one initial weight moves by one unit in the last place: large for a
    chaotic lesson."""
    session = Session("ulp", config)
    i, j = next((i, j) for i, j in session.net.arcs if i > 0)  # not a bias (0 at first)
    session.net.weights[i, j] = np.nextafter(session.net.weights[i, j], np.inf)
    session.train(epochs)
    return float(np.abs(python_arcs(session)[:, 2] - weights).max())


def test_a_lessons_own_run_is_reproducible_so_one_run_is_its_reference():
    [config] = [parse_config({**c, "batch_size": 1, "n_samples": 100})
                for c in lessons(1, seed=24)]
    runs = []
    for name in ("engine", "ulp"):
        session = Session(name, config)
        session.train(20)
        runs.append(python_arcs(session))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert one_ulp_sensitivity(config, 20, runs[0][:, 2]) > 0  # a nudge does move them


@pytest.mark.slow
def test_per_example_sgd_gives_deltanets_weights_where_deltanet_is_stable():
    """Every lesson's weights equal deltanet's to 1e-12, except where deltanet's own result
    is unstable (a one-ulp nudge moves it by 1e-13 or more; asked only for the lessons that
    differ); at least two thirds of the lessons are held to 1e-12."""
    configs = [parse_config({**c, "batch_size": 1, "n_samples": 100})
               for c in lessons(18, seed=24) if not c["batch_norm"]]
    js = run_js([{"config": c.to_json(), "epochs": 100} for c in configs])
    held = 0
    for config, got in zip(configs, js, strict=True):
        session = Session("engine", config)
        session.train(100)
        weights = python_arcs(session)[:, 2]
        gap = np.abs(np.array(got["arcs"])[:, 2] - weights).max()
        assert np.isfinite(gap), config
        if gap <= 1e-12:
            held += 1
        else:  # allowed only where deltanet's own run is chaotic
            assert one_ulp_sensitivity(config, 100, weights) >= 1e-13, (gap, config)
    assert held >= len(configs) * 2 // 3, f"only {held} of {len(configs)} lessons held to 1e-12"
