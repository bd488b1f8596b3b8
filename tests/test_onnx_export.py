"""ONNX export: onnxruntime on the exported graph gives what deltanet gives.

Networks (random DAGs with masked and skip arcs, several outputs, every activation, batch
norm with running statistics), fitted estimators and table models written by ``deltanet
train`` (raw numeric, categorical and missing values, categories unseen in training) are
exported with ``dn.to_onnx`` and run by onnxruntime.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import deltanet as dn
from deltanet.activations import NAMES
from deltanet.cli import main
from deltanet.export import onnx_inputs
from deltanet.export._network import ACTIVATIONS as ONNX_ACTIVATIONS

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ELEMENTWISE = [a for a in NAMES if a != "softmax"]
#: tolerances on probabilities and outputs, by the network's dtype
TOL = {np.float64: 1e-9, np.float32: 1e-6}


def run(model, feed: dict) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString())
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feed), strict=True))


def test_every_activation_has_an_onnx_form():
    assert set(NAMES) <= set(ONNX_ACTIVATIONS)


def dag_network(seed: int, dtype) -> dn.Network:
    """A random DAG: skip arcs, missing arcs (masked blocks), 2-3 outputs, a random
    activation per neuron (every activation over the seeds; softmax outputs on some),
    batch norm on some, with running statistics drawn at random."""
    rng = np.random.default_rng(seed)
    p, n_hidden, k = int(rng.integers(2, 5)), int(rng.integers(3, 8)), int(rng.integers(2, 4))
    arcs, n = set(), p + n_hidden + 1
    for j in range(p + 1, n):
        earlier = np.arange(1, j)
        pick = earlier[rng.random(j - 1) < 0.5]
        arcs.update((int(i), j) for i in (pick if pick.size else rng.choice(earlier, 1)))
    depth = {i: 0 for i in range(1, p + 1)}
    for j in range(p + 1, n):
        depth[j] = 1 + max(depth[i] for i, d in arcs if d == j)
    deepest = max(range(p + 1, n), key=lambda j: depth[j])
    outputs = list(range(n, n + k))
    for j in outputs:  # every output hangs on the deepest hidden neuron: equal depths
        arcs.add((deepest, j))
        arcs.update((int(i), j) for i in range(1, n) if rng.random() < 0.3)
    for i in range(p + 1, n):
        if not any(a == i for a, _ in arcs):
            arcs.add((i, int(rng.choice(outputs))))
    act = {j: ELEMENTWISE[(seed + j) % len(ELEMENTWISE)] for j in range(p + 1, n)}
    softmax = seed % 3 == 0
    act.update({j: "softmax" if softmax else str(rng.choice(ELEMENTWISE)) for j in outputs})
    net = dn.Network(p, sorted(arcs), act, outputs=outputs[::-1], batch_norm=seed % 2 == 0,
                     random_state=seed, dtype=dtype)
    for mean, var in net.bn_state.values():
        mean[:] = rng.normal(size=mean.shape)
        var[:] = rng.uniform(0.2, 3.0, size=var.shape)
    return net


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_dags_give_the_network_outputs(dtype):
    masked = skip = 0
    used = set()
    for seed in range(20):
        net = dag_network(seed, dtype)
        assert net.n_outputs >= 2
        masked += any(b.mask is not None for b in net.plan.blocks)
        skip += any(b.dst - b.src > 1 for b in net.plan.blocks)
        used.update(g.activation.name for g in net.plan.groups)
        X = np.random.default_rng(100 + seed).normal(size=(10_000, net.n_inputs)).astype(dtype)
        Y = run(dn.to_onnx(net), {"X": X})["Y"]
        assert Y.dtype == dtype and Y.shape == (10_000, net.n_outputs)
        np.testing.assert_allclose(Y, net.forward(X), rtol=TOL[dtype], atol=TOL[dtype])
    assert masked >= 10 and skip >= 10
    assert used == set(NAMES)


def test_batch_norm_uses_running_statistics_and_dropout_is_off():
    X = np.random.default_rng(0).normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(int)
    net = dn.Network.layered([3, 8, 6, 1], hidden="tanh", batch_norm=True, random_state=0)
    dn.train(net, X, y, loss="log_loss", epochs=5, batch_size=32, dropout=0.5,
             random_state=0)
    assert any(np.abs(m).max() > 0 for m, _ in net.bn_state.values())
    Y = run(dn.to_onnx(net), {"X": X[:7]})["Y"]
    np.testing.assert_allclose(Y, net.forward(X[:7]), rtol=1e-12, atol=1e-12)


def _fit(kind, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return kind(hidden_layer_sizes=(6, 5), max_iter=20, random_state=0, **kw).fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("classes", [["no", "yes"], [3, 5, 7, 9], [False, True]])
def test_fitted_classifier_gives_predict_and_predict_proba(dtype, classes):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4)).astype(dtype)
    y = np.asarray(classes, dtype=object if isinstance(classes[0], str) else None)[
        rng.integers(0, len(classes), 500)]
    est = _fit(dn.MLPClassifier, X, y, activation="tanh", dtype=dtype)
    out = run(dn.to_onnx(est), {"X": X})
    assert (out["label"] == est.predict(X)).all()
    np.testing.assert_allclose(out["probabilities"], est.predict_proba(X), atol=TOL[dtype])


def test_multilabel_classifier_and_regressor():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    Y = (rng.random((400, 3)) < 0.5).astype(int)
    est = _fit(dn.MLPClassifier, X, Y)
    out = run(dn.to_onnx(est), {"X": X})
    assert (out["label"] == est.predict(X)).all()
    np.testing.assert_allclose(out["probabilities"], est.predict_proba(X), atol=1e-12)
    for targets in (X @ [1.0, -2.0, 0.5], np.column_stack([X[:, 0], X[:, 1] ** 2])):
        reg = _fit(dn.MLPRegressor, X, targets, activation="relu")
        np.testing.assert_allclose(run(dn.to_onnx(reg), {"X": X})["prediction"],
                                   reg.predict(X), rtol=1e-12, atol=1e-12)


# --- table models: raw columns in, deltanet predict's answers out -----------------------------

def raw_table(n: int, seed: int, task: str, unseen: bool = False) -> pd.DataFrame:
    """Numbers, texts, booleans and numbers-as-categories, with missing values; ``unseen``
    adds categories the training rows never had."""
    rng = np.random.default_rng(seed)
    cities = ["Lyon", "Oslo", "Porto", "Riga"] + (["Quito", "Oulu"] if unseen else [])
    stars = [1.0, 2.0, 3.0] + ([9.0] if unseen else [])
    frame = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(10, 1, n),
        "constant": np.full(n, 7.0),
        "city": pd.Series(rng.choice(cities, n), dtype=object),
        "member": pd.Series(rng.random(n) < 0.4, dtype=object),
        "stars": pd.Categorical(rng.choice(stars, n)),
    })
    for column in ("age", "income", "city", "member"):
        frame.loc[rng.random(n) < 0.1, column] = None
    score = (np.nan_to_num(frame["age"].to_numpy(float), nan=40.0) / 10
             + 2.0 * (frame["city"] == "Oslo").to_numpy()
             + rng.normal(0, 0.5, n))
    if task == "binary":
        frame["y"] = np.where(score > 5, "buy", "skip")
    elif task == "multiclass":
        frame["y"] = np.array(["a", "b", "c", "d"])[np.digitize(score, [3.5, 4.5, 5.5])]
    else:
        frame["y"] = 30.0 * score + 100.0
    return frame


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("task,scale", [("binary", "minmax"), ("multiclass", "standard"),
                                        ("regression", "minmax")])
def test_table_model_on_raw_rows_gives_deltanet_predict(tmp_path, task, scale, dtype, capsys):
    train, new = raw_table(600, 0, task), raw_table(10_000, 1, task, unseen=True)
    train.to_parquet(tmp_path / "train.parquet")
    new.drop(columns="y").to_parquet(tmp_path / "new.parquet")
    model = tmp_path / "m.deltanet"
    assert main(["train", str(tmp_path / "train.parquet"), "--target", "y", "--impute",
                 "median", "--scale", scale, "--hidden", "8,4", "--epochs", "3", "--dtype",
                 dtype, "--out", str(model), "--quiet"]) == 0
    assert main(["export", str(model), "--format", "onnx", "--out",
                 str(tmp_path / "m.onnx"), "--quiet"]) == 0
    onnx_model = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(onnx_model, full_check=True)
    assert [i.name for i in onnx_model.graph.input] == list(train.columns[:-1])
    assert "ai.onnx.ml" in {n.domain for n in onnx_model.graph.node}
    frame = pd.read_parquet(tmp_path / "new.parquet")
    got = run(onnx_model, onnx_inputs(frame, onnx_model))
    capsys.readouterr()
    assert main(["predict", str(model), str(tmp_path / "new.parquet"), "--out",
                 str(tmp_path / "labels.parquet")]) == 0
    expected = pd.read_parquet(tmp_path / "labels.parquet")["y"].to_numpy()
    tol = TOL[np.dtype(dtype).type]
    if task == "regression":
        np.testing.assert_allclose(got["prediction"], expected, rtol=tol)
        return
    assert (got["label"] == expected).all()
    assert main(["predict", str(model), str(tmp_path / "new.parquet"), "--proba", "--out",
                 str(tmp_path / "proba.parquet")]) == 0
    proba = pd.read_parquet(tmp_path / "proba.parquet").to_numpy()
    np.testing.assert_allclose(got["probabilities"], proba, rtol=0, atol=tol)


def test_an_output_named_like_a_column_is_renamed(tmp_path):
    frame = pd.DataFrame({"label": np.arange(40.0), "y": ["a", "b"] * 20})
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "1",
                 "--hidden", "2", "--out", str(tmp_path / "t.deltanet"), "--quiet"]) == 0
    model = dn.to_onnx(tmp_path / "t.deltanet")
    assert [o.name for o in model.graph.output] == ["output_label", "probabilities"]


def test_missing_onnx_package_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'deltanet\[onnx\]'"):
        dn.to_onnx(dn.Network.layered([2, 2, 1], random_state=0))
    dn.save(dn.Network.layered([2, 2, 1], random_state=0), tmp_path / "n.deltanet")
    assert main(["export", str(tmp_path / "n.deltanet"), "--out", str(tmp_path / "n.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltanet: error: ONNX export needs the onnx package")
    assert err.count("\n") == 1


def test_other_objects_are_refused_with_what_to_do():
    from sklearn.neural_network import MLPClassifier

    with pytest.raises(TypeError, match=r"dn\.from_sklearn"):
        dn.to_onnx(MLPClassifier())


@pytest.mark.parametrize("scale", ["standard", "minmax", "none"])
def test_one_numeric_column_keeps_float64_precision(tmp_path, scale):
    # onnxruntime folds a constant factor right before a MatMul into it in float32; the
    # graph must not offer it one
    x = np.random.default_rng(3).normal(3, 7, 300)
    frame = pd.DataFrame({"x": x, "y": np.where(x > 3, "a", "b")})
    frame.to_csv(tmp_path / "one.csv", index=False)
    assert main(["train", str(tmp_path / "one.csv"), "--target", "y", "--scale", scale,
                 "--epochs", "2", "--hidden", "3", "--out", str(tmp_path / "one.deltanet"),
                 "--quiet"]) == 0
    from deltanet.cli import model_file

    model = model_file.read(tmp_path / "one.deltanet")
    onnx_model = dn.to_onnx(tmp_path / "one.deltanet")
    got = run(onnx_model, onnx_inputs(frame, onnx_model))["probabilities"]
    expected = model_file.predictions(model, frame, proba=True).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_export_command_on_a_bare_network_file(tmp_path, capsys):
    net = dn.Network.layered([3, 4, 2], hidden="tanh", output="softmax", random_state=0)
    dn.save(net, tmp_path / "n.deltanet")
    capsys.readouterr()
    assert main(["export", str(tmp_path / "n.deltanet"), "--out", str(tmp_path / "n.onnx"),
                 "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"] == ["X"] and doc["outputs"] == ["Y"]
    X = np.random.default_rng(0).normal(size=(50, 3))
    Y = run(onnx.load(tmp_path / "n.onnx"), {"X": X})["Y"]
    np.testing.assert_allclose(Y, net.forward(X), rtol=1e-12, atol=1e-12)
    assert main(["export", str(tmp_path / "n.deltanet"), "--out", str(tmp_path / "n.deltanet")
                 ]) == 2  # never over the model itself
