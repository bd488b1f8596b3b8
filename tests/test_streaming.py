"""Training from a deltanet.data.Stream: sources, the hash split, the two-level shuffle,
statistics fitted in a pass, and the in-memory weights bit for bit when one window holds
the whole table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import deltanet as dn
from deltanet.data import MinMaxScaler, StandardScaler, Stream


def _data(seed: int, n: int = 240, p: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] + X[:, 1] * X[:, -1] > 0).astype(float)
    return X, y


def _rows(stream: Stream):
    parts = list(stream.chunks())
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def _net(p: int = 3):
    return dn.Network.layered([p, 5, 1], output="logistic", random_state=1)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kw", [
    {"batch_size": 1},
    {"batch_size": 16},
    {"batch_size": 8, "optimizer": "adam", "lr": 0.01},
    {"batch_size": 8, "optimizer": "adam", "lr": 0.01, "engine": "numpy"},
])
def test_one_window_gives_the_in_memory_weights_bit_for_bit(seed, kw):
    X, y = _data(seed)
    a, b = _net(), _net()
    ha = dn.train(a, X, y, loss="log_loss", epochs=3, random_state=seed, **kw)
    stream = Stream.from_arrays(X, y, chunk_rows=17 + seed * 11, memory="1GB")
    hb = dn.train(b, stream, loss="log_loss", epochs=3, random_state=seed, **kw)
    assert np.array_equal(a.params, b.params)
    assert ha.cost == hb.cost and ha.updates == hb.updates


def test_small_buffer_trains_on_every_row_each_epoch_and_learns():
    X, y = _data(5, n=600)
    seen = []
    stream = Stream.from_arrays(X, y, chunk_rows=50, shuffle_buffer=120)
    net = _net()
    hist = dn.train(net, stream, loss="log_loss", batch_size=4, epochs=8, lr=0.3,
                    random_state=0, callbacks=[lambda e, logs: seen.append(logs["updates"])])
    assert seen[0] == 600 // 4  # windows of 120 rows: 30 batches of 4 each
    assert hist.cost[-1] < hist.cost[0]


def test_windows_hold_at_most_the_buffer_and_the_piece_order_is_drawn():
    X, y = _data(2, n=500)
    stream = Stream.from_arrays(X, y, chunk_rows=40, shuffle_buffer=90)
    wins = [(w.copy(), v.copy()) for w, v, _ in stream.windows(np.random.default_rng(0))]
    assert all(w.shape[0] <= 90 for w, _ in wins)
    got = np.concatenate([w for w, _ in wins])
    assert got.shape == X.shape and not np.array_equal(got, X)
    assert np.array_equal(np.sort(got, axis=0), np.sort(X, axis=0))
    in_order = [w.copy() for w, _, _ in stream.windows(None, False)]
    assert np.array_equal(np.concatenate(in_order), X)


def test_parquet_csv_and_dask_sources_read_the_same_rows(tmp_path):
    X, y = _data(3, n=1000)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})
    (tmp_path / "dir").mkdir()
    for i, (a, b) in enumerate([(0, 600), (600, 1000)]):  # a directory of two files
        pq.write_table(pa.Table.from_pandas(frame.iloc[a:b], preserve_index=False),
                       tmp_path / "dir" / f"part{i}.parquet", row_group_size=128)
    frame.to_csv(tmp_path / "t.csv", index=False)
    dd = pytest.importorskip("dask.dataframe")
    streams = [Stream.from_parquet(tmp_path / "dir", target="y"),
               Stream.from_csv(tmp_path / "t.csv", target="y", chunk_rows=97),
               Stream.from_dask(dd.from_pandas(frame, npartitions=7), target="y")]
    assert len(streams[0].pieces) == 5 + 4 and len(streams[1].pieces) == 11
    for stream in streams:
        assert sum(stream.rows) == 1000 and stream.n_rows == 1000
        halves = stream.split(validation=0.5, random_state=3)
        assert halves[0].n_rows + halves[1].n_rows == 1000
        Xs, ys = _rows(stream)
        assert np.array_equal(Xs, X) and np.array_equal(ys[:, 0], y)
        part = np.random.default_rng(0).permutation(len(stream.pieces))
        Xp = np.concatenate([x for x, _ in stream.chunks(part)])
        assert np.array_equal(np.sort(Xp, axis=0), np.sort(X, axis=0))


def test_hash_split_is_deterministic_disjoint_and_near_its_fractions():
    X = np.arange(20000.0).reshape(-1, 1)
    stream = Stream.from_arrays(X, np.zeros(20000), chunk_rows=999)
    parts = stream.split(validation=0.2, test=0.1, random_state=7)
    rows = [_rows(s)[0][:, 0] for s in parts]
    assert sum(len(r) for r in rows) == 20000
    assert len(np.intersect1d(rows[0], rows[1])) == 0 == len(np.intersect1d(rows[1], rows[2]))
    assert abs(len(rows[1]) / 20000 - 0.2) < 0.02 and abs(len(rows[2]) / 20000 - 0.1) < 0.02
    again = stream.split(validation=0.2, test=0.1, random_state=7)[1]
    assert np.array_equal(_rows(again)[0][:, 0], rows[1])
    other = stream.split(validation=0.2, test=0.1, random_state=8)[1]
    assert not np.array_equal(_rows(other)[0][:, 0], rows[1])
    # the split depends on the row number only, not on how the table is cut into pieces
    recut = Stream.from_arrays(X, np.zeros(20000), chunk_rows=123)
    assert np.array_equal(_rows(recut.split(validation=0.2, test=0.1,
                                            random_state=7)[1])[0][:, 0], rows[1])


def test_stratified_split_of_a_stream_is_refused_with_the_way_out():
    stream = Stream.from_arrays(np.zeros((10, 1)), np.zeros(10))
    with pytest.raises(ValueError, match="cannot be split by strata"):
        stream.split(validation=0.2, stratify="y")


@pytest.mark.parametrize("seed", range(4))
def test_scalers_fitted_in_a_pass_match_the_in_memory_fit(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=rng.normal(size=4) * 100, scale=rng.uniform(0.1, 10, 4), size=(777, 4))
    stream = Stream.from_arrays(X, np.zeros(777), chunk_rows=int(rng.integers(5, 200)))
    mm = MinMaxScaler()
    scaled = stream.fit(mm)
    ref = MinMaxScaler().fit(X)
    assert np.array_equal(mm.data_min_, ref.data_min_)
    assert np.array_equal(mm.data_max_, ref.data_max_)
    assert np.array_equal(_rows(scaled)[0], ref.transform(X))
    ss, ref_s = StandardScaler(), StandardScaler().fit(X)
    stream.fit(ss)
    np.testing.assert_allclose(ss.mean_, ref_s.mean_, rtol=1e-13)
    np.testing.assert_allclose(ss.scale_, ref_s.scale_, rtol=1e-12)


def test_validation_stream_feeds_early_stopping():
    X, y = _data(4, n=800)
    train, val, _ = Stream.from_arrays(X, y, chunk_rows=100).split(validation=0.2,
                                                                   random_state=1)
    hist = dn.train(_net(), train, loss="log_loss", epochs=5, validation_data=val,
                    early_stopping=True, random_state=0)
    assert len(hist.val_cost) == hist.epochs


@pytest.mark.parametrize("setting", [{"sample_weight": np.ones(10)},
                                     {"validation_fraction": 0.2},
                                     {"class_weight": "balanced"}])
def test_settings_that_need_every_row_in_memory_are_refused(setting):
    stream = Stream.from_arrays(np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(ValueError, match="not available when training from a stream"):
        dn.train(_net(), stream, loss="log_loss", **setting)


def test_a_reader_error_reaches_the_training_call(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "y": [0.0, 1.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    stream = Stream.from_csv(tmp_path / "t.csv", target="y")
    (tmp_path / "t.csv").unlink()
    with pytest.raises(FileNotFoundError):
        dn.train(dn.Network.layered([1, 1], random_state=0), stream, epochs=1)


def test_memory_sizes_and_bad_targets_give_clear_errors():
    from deltanet.data.stream_sources import parse_bytes

    assert parse_bytes("2GB") == 2 * 10**9 and parse_bytes("1.5MiB") == 3 * 2**19
    with pytest.raises(ValueError, match="memory must be a size"):
        parse_bytes("lots")
    with pytest.raises(ValueError, match="target column is not in the table"):
        Stream.from_dask(pd.DataFrame({"a": [1.0]}), target="y")
