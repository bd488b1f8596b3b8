"""The MLP estimators on a deltanet.data.Stream: ``fit(stream)`` gives bit for bit the
weights of ``fit(X, y)`` when one window holds the table, trains window by window when it
does not, stops by scikit-learn's rules on a hash-split validation part, and ``predict``,
``predict_proba`` and ``score`` read a stream chunk by chunk, in bounded memory."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from deltanet.data import Stream
from deltanet.estimators import MLPClassifier, MLPRegressor


def _table(seed: int, n: int, p: int, n_classes: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    score = X[:, 0] + X[:, 1] * X[:, -1]
    if n_classes == 0:  # a regression target
        return X, score + 0.1 * rng.normal(size=n)
    cuts = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    return X, np.searchsorted(cuts, score).astype(float)


def _fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


CASES = [  # generated: solver, schedule, batch size, engine, dropout, classes, outputs
    dict(zip(("solver", "learning_rate", "batch_size", "engine", "dropout", "classes"), c,
             strict=True))
    for c in [("adam", "constant", "auto", "auto", 0.0, 2),
              ("sgd", "invscaling", 16, "auto", 0.0, 3),
              ("sgd", "adaptive", 7, "numpy", 0.0, 2),
              ("adam", "constant", 32, "numpy", 0.25, 4),
              ("sgd", "constant", 1, "auto", 0.0, 0),
              ("adam", "constant", "auto", "numpy", 0.0, 0)]]


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['solver']}-{c['classes']}")
def test_fit_on_a_stream_in_one_window_gives_the_weights_of_fit_on_arrays(seed, case):
    rng = np.random.default_rng(seed)
    case = dict(case)
    n_classes = case.pop("classes")
    X, y = _table(seed, int(rng.integers(150, 400)), int(rng.integers(2, 6)), n_classes)
    kind = MLPRegressor if n_classes == 0 else MLPClassifier
    params = dict(hidden_layer_sizes=(int(rng.integers(3, 9)),), max_iter=6,
                  random_state=seed, shuffle=bool(seed == 0 or case["solver"] == "adam"),
                  **case)
    mem, streamed = kind(**params), kind(**params)
    _fit(mem, X, y)
    _fit(streamed, Stream.from_arrays(X, y, chunk_rows=int(rng.integers(10, 120))))
    assert np.array_equal(mem.network_.params, streamed.network_.params)
    assert mem.loss_curve_ == streamed.loss_curve_ and mem.t_ == streamed.t_
    assert mem.engine_ == streamed.engine_
    if n_classes:
        assert np.array_equal(mem.classes_, streamed.classes_)


@pytest.mark.parametrize("weights", ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}, {1: 2.0}])
def test_class_weights_on_a_stream_in_one_window_weigh_rows_as_in_memory(weights):
    rng = np.random.default_rng(len(str(weights)))
    X, y = _table(9, 420, 3, 3)
    y[rng.random(420) < 0.5] = 0.0  # unbalanced classes
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=1, class_weight=weights)
    mem = _fit(MLPClassifier(**params), X, y)
    streamed = _fit(MLPClassifier(**params), Stream.from_arrays(X, y, chunk_rows=70))
    assert np.array_equal(mem.network_.params, streamed.network_.params)
    # validation data given are scored without class weights, as in memory
    train, val, _ = Stream.from_arrays(X, y, chunk_rows=70).split(validation=0.3,
                                                                  random_state=2)
    est = _fit(MLPClassifier(**params, early_stopping=True, n_iter_no_change=2), train,
               validation_data=val)
    assert est.best_validation_score_ == est.score(val)


def test_fit_on_a_parquet_file_gives_the_weights_of_fit_on_its_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = _table(6, 900, 3, 3)
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": y}),
                   tmp_path / "t.parquet", row_group_size=128)
    stream = Stream.from_parquet(tmp_path / "t.parquet", target="label")
    params = dict(hidden_layer_sizes=(6,), max_iter=4, random_state=2)
    mem = _fit(MLPClassifier(**params), X, y)
    streamed = _fit(MLPClassifier(**params), stream)
    assert len(stream.pieces) == 8
    assert np.array_equal(mem.network_.params, streamed.network_.params)
    assert np.array_equal(streamed.predict(stream), mem.predict(X))


def test_fit_with_a_small_buffer_trains_window_by_window_and_learns(monkeypatch):
    from deltanet.estimators import _streamed

    X, y = _table(5, 3000, 4, 3)
    stream = Stream.from_arrays(X, y, chunk_rows=100, shuffle_buffer=450)
    seen = []

    class Spy(_streamed.SklearnEpochs):  # notes the rows of every window it trains on
        def __init__(self, est, X, *rest):
            seen.append(X.shape[0])
            super().__init__(est, X, *rest)

    monkeypatch.setattr(_streamed, "SklearnEpochs", Spy)
    est = _fit(MLPClassifier((16,), max_iter=25, random_state=0, learning_rate_init=0.01),
               stream)
    assert max(seen) == 450 and sum(seen) == 3000 * est.n_iter_  # every row, every epoch
    assert est.t_ == 3000 * est.n_iter_
    assert est.score(stream) > 0.8  # three classes: chance is 1/3


def test_classes_are_found_in_a_pass_or_taken_as_given():
    X, y = _table(1, 300, 3, 3)
    y = np.where(y == 2, 7.0, y)  # labels 0, 1, 7
    reads = [0]
    stream = Stream.from_arrays(X, y, chunk_rows=50)
    counted = dataclasses.replace(stream, pieces=tuple(_counting(p, reads)
                                                       for p in stream.pieces))
    est = _fit(MLPClassifier((4,), max_iter=2, random_state=0), counted)
    assert est.classes_.tolist() == [0.0, 1.0, 7.0]
    found = reads[0]
    reads[0] = 0
    given = _fit(MLPClassifier((4,), max_iter=2, random_state=0), counted,
                 classes=[0, 1, 7])
    assert reads[0] == found - len(stream.pieces)  # no pass to find the labels
    assert np.array_equal(given.network_.params, est.network_.params)
    assert set(given.predict(stream).tolist()) <= {0, 1, 7}


def _counting(piece, reads):
    def read():
        reads[0] += 1
        return piece()
    return read


def test_early_stopping_holds_out_the_streams_hash_split_and_restores_the_best_epoch():
    X, y = _table(2, 2000, 4, 2)
    stream = Stream.from_arrays(X, y, chunk_rows=128, shuffle_buffer=600)
    est = _fit(MLPClassifier((8,), max_iter=60, random_state=3, early_stopping=True,
                             n_iter_no_change=3, learning_rate_init=0.05), stream)
    n_train = est.t_ // est.n_iter_
    assert est.t_ == n_train * est.n_iter_ and 0.85 * 2000 < n_train < 0.95 * 2000
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert len(est.validation_loss_curve_) == est.n_iter_
    assert est.n_iter_ < 60  # stopped by the rule


def test_a_validation_stream_is_scored_chunk_by_chunk_and_its_best_weights_kept():
    X, y = _table(3, 1500, 3, 2)
    train, val, _ = Stream.from_arrays(X, y, chunk_rows=100).split(validation=0.3,
                                                                   random_state=4)
    est = _fit(MLPClassifier((6,), max_iter=40, random_state=0, early_stopping=True,
                             n_iter_no_change=4, learning_rate_init=0.05),
               train, validation_data=val)
    assert est.score(val) == est.best_validation_score_
    Xv = np.concatenate([x for x, _ in val.chunks()])
    yv = np.concatenate([t for _, t in val.chunks()])[:, 0]
    assert est.score(val) == est.score(Xv, yv)


@pytest.mark.parametrize("seed", range(3))
def test_predict_predict_proba_and_score_of_a_stream_match_the_arrays(seed):
    rng = np.random.default_rng(seed)
    X, y = _table(seed, 700, 3, 3)
    est = _fit(MLPClassifier((5,), max_iter=5, random_state=seed), X, y)
    stream = Stream.from_arrays(X, y, chunk_rows=int(rng.integers(20, 300)))
    assert np.array_equal(est.predict(stream), est.predict(X))
    assert np.array_equal(est.predict_proba(stream), est.predict_proba(X))
    assert est.score(stream) == est.score(X, y)
    Y = np.column_stack([X[:, 0] * 1000 + 5e6, X[:, 1]])  # a large mean: a stable R² sum
    reg = _fit(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=seed), X, Y)
    pred = reg.predict(Stream.from_arrays(X, Y, chunk_rows=int(rng.integers(20, 300))))
    assert np.array_equal(pred, reg.predict(X))
    got = reg.score(Stream.from_arrays(X, Y, chunk_rows=int(rng.integers(20, 300))))
    assert got == pytest.approx(r2_score(Y, pred), rel=1e-9, abs=1e-12)


def test_a_multilabel_stream_fits_one_logistic_output_per_label():
    X, _ = _table(4, 400, 3, 2)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0.5, X[:, 2] < 0]).astype(float)
    mem = _fit(MLPClassifier((6,), max_iter=4, random_state=0), X, Y.astype(int))
    streamed = _fit(MLPClassifier((6,), max_iter=4, random_state=0),
                    Stream.from_arrays(X, Y, chunk_rows=64))
    assert np.array_equal(mem.network_.params, streamed.network_.params)
    assert streamed.predict(Stream.from_arrays(X, Y)).shape == (400, 3)


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: MLPClassifier(solver="lbfgs").fit(s), "cannot fit a stream"),
    (lambda s: MLPClassifier().fit(s, np.zeros(60)), "y and sample_weight must be left out"),
    (lambda s: MLPClassifier().fit(s, sample_weight=np.ones(60)), "must be left out"),
    (lambda s: MLPClassifier().fit(s, classes=[0]), "not among the classes"),
    (lambda s: MLPClassifier().fit(np.zeros((60, 2)), np.zeros(60), classes=[0, 1]),
     "classes= is for fitting on a stream"),
    (lambda s: MLPClassifier().fit(Stream.from_arrays(np.zeros((9, 2)), np.full(9, 0.5))),
     "needs class labels"),
    (lambda s: MLPRegressor().score(s, np.zeros(60)), "must be left out"),
])
def test_what_a_stream_cannot_do_is_refused_with_what_to_do(call, message):
    X, y = _table(0, 60, 2, 2)
    with pytest.raises(ValueError, match=message):
        call(Stream.from_arrays(X, y, chunk_rows=16))


# the child: kernels compiled and the peak reset (clear_refs 5) before the measured fit
MEMORY_CHILD = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    from deltanet.data import Stream
    from deltanet.estimators import MLPClassifier

    def peak_and_now():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return (int(fields["VmHWM"].split()[0]) * 1024, int(fields["VmRSS"].split()[0]) * 1024)

    warnings.simplefilter("ignore")
    warm = np.random.default_rng(0).normal(size=(400, 3))
    MLPClassifier((8,), max_iter=2).fit(Stream.from_arrays(warm, warm[:, 0] > 0))
    stream = Stream.from_parquet(sys.argv[1], target="y", memory="20MB")
    open("/proc/self/clear_refs", "w").write("5")
    base = peak_and_now()[1]
    est = MLPClassifier((8,), max_iter=1, early_stopping=True, random_state=0).fit(stream)
    score = est.score(stream)
    print(json.dumps({"growth": peak_and_now()[0] - base, "t": est.t_, "score": score}))
""")


@pytest.mark.slow
def test_fit_and_score_of_a_parquet_stream_stay_in_bounded_memory(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    path = tmp_path / "big.parquet"
    with pq.ParquetWriter(path, pa.schema([(c, pa.float64()) for c in "abcy"]),
                          compression="none", use_dictionary=False) as writer:
        for _ in range(32):  # 32 row groups of 250,000 rows x 4 columns: 256 MB
            X = rng.normal(size=(250_000, 3))
            y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(float)
            writer.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}))
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path)], capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    print(got)  # shown with -s: the measured growth
    assert got["growth"] < 200e6, got  # the table is 256 MB; the windows 2 MB each
    assert 0.85 * 8e6 < got["t"] < 0.95 * 8e6  # one epoch of the training part
    assert got["score"] > 0.6
