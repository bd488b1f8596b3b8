"""Datasets by name, the generated 2-D sets, scaling, one-hot coding and splitting."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import deltanet as dn
from deltanet.data import (
    DataError,
    MinMaxScaler,
    OneHotEncoder,
    StandardScaler,
    list_datasets,
    load_dataset,
    one_hot,
    scaler_from_dict,
    split,
)
from deltanet.data import generators as gen

BUNDLED_SHAPES = {"iris": (150, 4), "wine": (178, 13), "breast_cancer": (569, 30),
                  "digits": (1797, 64), "diabetes": (442, 10)}
BUNDLED_CLASSES = {"iris": 3, "wine": 3, "breast_cancer": 2, "digits": 10, "diabetes": None}
GENERATED = {"xor": 2, "circles": 2, "gaussians": 2, "spirals": 2, "moons": 2, "blobs3": 3,
             "spirals3": 3, "plane": None, "gaussian_regression": None}


def _json_round_trip(obj):
    return json.loads(json.dumps(obj.to_dict(), allow_nan=False))


# --- bundled tables -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BUNDLED_SHAPES))
def test_bundled_dataset_loads_with_its_shape(name):
    ds = load_dataset(name)
    assert ds.X.shape == BUNDLED_SHAPES[name]
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert ds.y.shape == (BUNDLED_SHAPES[name][0],)
    assert len(ds.feature_names) == ds.n_features
    assert ds.n_classes == BUNDLED_CLASSES[name]
    if ds.task == "classification":
        assert ds.y.dtype == np.int64
        assert sorted(set(ds.y.tolist())) == list(range(ds.n_classes))
    else:
        assert ds.y.dtype == np.float64 and ds.class_names is None


def test_bundled_details():
    iris = load_dataset("iris")
    assert iris.class_names == ("setosa", "versicolor", "virginica")
    assert iris.target_name == "species"
    assert iris.X[0].tolist() == [5.1, 3.5, 1.4, 0.2]
    cancer = load_dataset("breast_cancer")
    assert cancer.class_names == ("malignant", "benign")
    diabetes = load_dataset("diabetes")
    # raw (unscaled) values: the first patient is 59 years old, sex coded 2, target 151
    assert diabetes.X[0, :2].tolist() == [59.0, 2.0] and diabetes.y[0] == 151.0
    assert load_dataset("digits").X.max() == 16.0


def test_as_frame_has_the_target_column():
    iris = load_dataset("iris")
    frame = iris.as_frame()
    assert list(frame.columns) == [*iris.feature_names, "species"]
    assert frame.shape == (150, 5)
    assert frame["species"].tolist() == iris.y.tolist()
    named = iris.as_frame(class_names=True)
    assert named["species"].iloc[0] == "setosa" and named["species"].iloc[-1] == "virginica"
    np.testing.assert_array_equal(named[list(iris.feature_names)].to_numpy(), iris.X)


def test_list_datasets_describes_every_dataset():
    infos = {info.name: info for info in list_datasets()}
    assert set(infos) == set(BUNDLED_SHAPES) | set(GENERATED)
    for name, shape in BUNDLED_SHAPES.items():
        assert infos[name].shape == shape and infos[name].source == "scikit-learn"
        assert infos[name].n_classes == BUNDLED_CLASSES[name]
    for name, k in GENERATED.items():
        info = infos[name]
        assert info.shape == (500, 2) and info.source == "generated" and info.n_classes == k
        assert info.task == ("regression" if k is None else "classification")
        assert info.description


@pytest.mark.reliability(
    area="library input",
    fault="unknown dataset name",
    how="load_dataset",
    result="ValueError with 'did you mean' and every name")
def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match="unknown dataset") as err:
        load_dataset("irs")
    message = str(err.value)
    assert "did you mean 'iris'?" in message
    for name in [*BUNDLED_SHAPES, *GENERATED]:
        assert name in message
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset(3)


def test_aliases_and_spelling_variants():
    assert load_dataset("circle", random_state=0).name == "circles"
    assert load_dataset("Spiral", random_state=0).name == "spirals"
    assert load_dataset("two gaussians", random_state=0).name == "gaussians"
    assert load_dataset("multi-gaussian", random_state=0).name == "gaussian_regression"
    assert load_dataset("breast-cancer").name == "breast_cancer"


@pytest.mark.reliability(
    area="library input",
    fault="options a dataset does not take",
    how="load_dataset",
    result="ValueError listing its options")
def test_options_are_checked():
    with pytest.raises(ValueError, match=r"dataset 'iris' does not take option.* noise"):
        load_dataset("iris", noise=0.1)
    with pytest.raises(ValueError, match=r"its options are: n_samples, noise, random_state$"):
        load_dataset("xor", n_classes=3)
    assert load_dataset("blobs3", n_classes=5, random_state=0).n_classes == 5


def test_import_of_data_is_light():
    code = ("import sys, deltanet.data; "
            "print('pandas' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_top_level_exports():
    assert dn.load_dataset is load_dataset and dn.MinMaxScaler is MinMaxScaler
    assert dn.list_datasets is list_datasets and dn.one_hot is one_hot
    assert dn.StandardScaler is StandardScaler


# --- generated sets -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_sets_are_reproducible_and_well_formed(name):
    a = load_dataset(name, n_samples=101, noise=0.2, random_state=7)
    b = load_dataset(name, n_samples=101, noise=0.2, random_state=np.random.default_rng(7))
    c = load_dataset(name, n_samples=101, noise=0.2, random_state=8)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (101, 2) and a.X.dtype == np.float64
    assert a.feature_names == ("x1", "x2")
    assert np.all(np.abs(a.X) < 12)
    if GENERATED[name] is None:
        assert a.task == "regression" and a.y.dtype == np.float64
        assert np.all(np.abs(a.y) <= 1.6)
    else:
        assert a.y.dtype == np.int64
        assert set(a.y.tolist()) == set(range(GENERATED[name]))


def test_a_generator_is_advanced_not_reseeded():
    rng = np.random.default_rng(0)
    first = load_dataset("xor", n_samples=20, random_state=rng)
    second = load_dataset("xor", n_samples=20, random_state=rng)
    assert not np.array_equal(first.X, second.X)


def test_xor_and_circles_labels_without_noise():
    X, y = gen.make_xor(400, random_state=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    assert np.all(np.abs(X) >= 0.3)  # pushed away from the axes
    X, y = gen.make_circles(400, random_state=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_array_equal(y, (r < 2.5).astype(int))
    assert np.all((r < 2.5) | ((r >= 3.5) & (r <= 5.0)))
    assert y.sum() == 200


def test_noise_flips_labels_near_the_boundary():
    X, y = gen.make_xor(2000, noise=0.5, random_state=0)
    flipped = y != (X[:, 0] * X[:, 1] >= 0)
    assert 0.05 < flipped.mean() < 0.5


def test_gaussians_spread_grows_with_noise():
    X, y = gen.make_gaussians(4000, noise=0.0, random_state=0)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.06)
    np.testing.assert_allclose(X[y == 0].std(axis=0), np.sqrt(0.5), rtol=0.05)
    X, y = gen.make_gaussians(4000, noise=0.5, random_state=0)
    np.testing.assert_allclose(X[y == 0].std(axis=0), 2.0, rtol=0.05)  # σ² = 0.5 + 7·0.5


def test_spirals_and_moons_geometry_without_noise():
    X, y = gen.make_spirals(300, random_state=0, n_classes=3)
    assert np.bincount(y).tolist() == [100, 100, 100]
    assert np.hypot(X[:, 0], X[:, 1]).max() < 5.0
    X, y = gen.make_moons(200, random_state=0)
    top = X[y == 0] / 3 + [0.5, 0.25]
    np.testing.assert_allclose(np.hypot(top[:, 0], top[:, 1]), 1.0)
    assert np.all(top[:, 1] >= 0)


def test_regression_sets_without_noise():
    X, y = gen.make_plane(300, random_state=0)
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 10)
    X, y = gen.make_gaussian_regression(3000, random_state=0)
    near_positive = np.hypot(X[:, 0] + 4, X[:, 1] - 2.5) < 0.4  # bump (−4, 2.5, +1)
    near_negative = np.hypot(X[:, 0], X[:, 1] - 2.5) < 0.4  # bump (0, 2.5, −1)
    assert np.all(y[near_positive] >= 0.8) and np.all(y[near_negative] <= -0.8)
    far = np.min([np.hypot(X[:, 0] - cx, X[:, 1] - cy) for cx, cy, _ in gen._BUMPS], axis=0)
    assert np.all(y[far >= 2] == 0)


def test_blob_counts_and_centres():
    X, y = gen.make_blobs(7, random_state=0, n_classes=3)
    assert np.bincount(y).tolist() == [3, 2, 2]
    X, y = gen.make_blobs(3000, random_state=0, n_classes=4)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [0, 3], atol=0.1)


@pytest.mark.reliability(
    area="library input",
    fault="bad generator arguments: random_state, noise, n_samples",
    how="make_xor, make_blobs, make_moons",
    result="ValueError / TypeError")
def test_generator_arguments_are_checked():
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        gen.make_xor(10, random_state=np.random.RandomState(0))
    with pytest.raises(ValueError, match="random_state must be >= 0"):
        gen.make_xor(10, random_state=-1)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        gen.make_xor(10, noise=-0.1)
    with pytest.raises(ValueError, match="n_samples must be >= 3"):
        gen.make_blobs(2, n_classes=3)
    with pytest.raises(ValueError, match="n_samples must be a whole number"):
        gen.make_moons(10.5)


# --- scaling ------------------------------------------------------------------------------------

X_TRAIN = [[1.0, 10.0, 5.0], [3.0, 20.0, 5.0], [2.0, 40.0, 5.0]]


def test_min_max_scaler_exact_numbers():
    scaler = MinMaxScaler().fit(X_TRAIN)
    # column 0: min 1, max 3 -> x' = −1 + 2 (x − 1) / 2; column 1: min 10, span 30 ->
    # x' = −1 + 2 (x − 10) / 30 (20 -> −1/3); column 2 is constant -> the middle, 0
    np.testing.assert_allclose(scaler.transform(X_TRAIN),
                               [[-1, -1, 0], [1, -1 / 3, 0], [0, 1, 0]], rtol=0, atol=1e-15)
    # new data: 4 -> −1 + 2·3/2 = 2 (outside the range), 25 -> −1 + 2·15/30 = 0
    np.testing.assert_allclose(scaler.transform([[4.0, 25.0, 7.0]]), [[2, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(scaler.inverse_transform([[0.0, 0.0, 0.5]]), [[2, 25, 5]])
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X_TRAIN)), X_TRAIN)


def test_min_max_scaler_range_and_one_column():
    scaler = MinMaxScaler(feature_range=(0, 1))
    assert scaler.fit_transform([1.0, 3.0, 2.0]).tolist() == [0.0, 1.0, 0.5]
    assert MinMaxScaler((0, 1)).fit_transform([[4.0], [4.0]]).tolist() == [[0.5], [0.5]]
    assert np.all(np.isfinite(MinMaxScaler().fit_transform(np.ones((3, 2)))))


def test_standard_scaler_exact_numbers():
    scaler = StandardScaler().fit([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    # column 0: mean 3, std √(8/3) -> (1 − 3)/√(8/3) = −√(3/2); column 1 constant -> 0
    assert scaler.mean_.tolist() == [3.0, 2.0]
    np.testing.assert_allclose(scaler.scale_, [np.sqrt(8 / 3), 1.0])
    s = np.sqrt(1.5)
    np.testing.assert_allclose(scaler.transform([[1.0, 2.0], [3.0, 2.0], [5.0, 9.0]]),
                               [[-s, 0], [0, 0], [s, 7]])
    np.testing.assert_allclose(scaler.inverse_transform([[-s, 0.0]]), [[1.0, 2.0]])


@pytest.mark.parametrize("make", [MinMaxScaler, lambda: MinMaxScaler((0, 2)), StandardScaler])
def test_scaler_round_trip_through_json(make):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4)) * [1, 10, 100, 0]
    scaler = make().fit(X)
    copy = scaler_from_dict(_json_round_trip(scaler))
    assert type(copy) is type(scaler)
    X_new = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(copy.transform(X_new), scaler.transform(X_new))
    np.testing.assert_array_equal(copy.inverse_transform(X_new), scaler.inverse_transform(X_new))
    assert type(scaler).from_dict(scaler.to_dict()).to_dict() == scaler.to_dict()


@pytest.mark.reliability(
    area="library input",
    fault="unfitted scalers, wrong column count, NaN, saved state of another type",
    how="MinMaxScaler, StandardScaler",
    result="ValueError")
def test_scaler_errors():
    with pytest.raises(ValueError, match="MinMaxScaler is not fitted yet"):
        MinMaxScaler().transform([[1.0]])
    with pytest.raises(ValueError, match="StandardScaler is not fitted yet"):
        StandardScaler().to_dict()
    with pytest.raises(ValueError, match="X has 2 columns but MinMaxScaler was fitted on 3"):
        MinMaxScaler().fit(X_TRAIN).transform([[1.0, 2.0]])
    with pytest.raises(ValueError, match="feature_range must have lo < hi"):
        MinMaxScaler((1, -1))
    with pytest.raises(ValueError, match="X contains NaN"):
        StandardScaler().fit([[1.0], [np.nan]])
    with pytest.raises(ValueError, match="not a saved MinMaxScaler"):
        MinMaxScaler.from_dict(StandardScaler().fit([[1.0]]).to_dict())
    with pytest.raises(ValueError, match="not a saved scaler"):
        scaler_from_dict({"type": "Pickle"})
    assert repr(MinMaxScaler().fit([[1.0]])) == "MinMaxScaler(feature_range=(-1.0, 1.0), fitted)"


def test_scalers_do_not_change_their_input():
    X = np.array(X_TRAIN)
    before = X.copy()
    MinMaxScaler().fit_transform(X)
    StandardScaler().fit_transform(X)
    np.testing.assert_array_equal(X, before)


# --- one-hot ------------------------------------------------------------------------------------

def test_one_hot_exact():
    Y, classes = one_hot([2, 0, 1, 2])
    assert classes.tolist() == [0, 1, 2]
    assert Y.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert Y.dtype == np.float64
    Y, classes = one_hot(["cat", "dog"], classes=["dog", "cat", "bird"])
    assert Y.tolist() == [[0, 1, 0], [1, 0, 0]] and classes.tolist() == ["dog", "cat", "bird"]


def test_one_hot_encoder_round_trip():
    encoder = OneHotEncoder().fit(["b", "a", "c"])
    scores = [[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]]
    assert encoder.inverse_transform(scores).tolist() == ["b", "a"]
    copy = OneHotEncoder.from_dict(_json_round_trip(encoder))
    np.testing.assert_array_equal(copy.transform(["c", "a"]), encoder.transform(["c", "a"]))
    assert copy.inverse_transform(encoder.transform(["c", "a"])).tolist() == ["c", "a"]


@pytest.mark.reliability(
    area="library input",
    fault="unknown labels, duplicate classes, wrong shapes",
    how="one_hot, OneHotEncoder",
    result="ValueError")
def test_one_hot_errors():
    with pytest.raises(ValueError, match="label 'z' is not one of the classes"):
        one_hot(["a", "z"], classes=["a", "b"])
    with pytest.raises(ValueError, match="classes must be distinct"):
        OneHotEncoder(["a", "a"])
    with pytest.raises(ValueError, match="labels must be a non-empty 1-D"):
        one_hot([[0, 1]])
    with pytest.raises(ValueError, match="Y has 2 columns but there are 3 classes"):
        OneHotEncoder().fit([0, 1, 2]).inverse_transform([[0.0, 1.0]])
    with pytest.raises(ValueError, match="OneHotEncoder is not fitted"):
        OneHotEncoder().transform([0])


# --- splitting ----------------------------------------------------------------------------------

def test_split_sizes_and_stratification():
    X = np.arange(200.0).reshape(100, 2)
    y = np.repeat([0, 1], [80, 20])
    parts = split(X, y, test_size=0.2, val_size=0.1, random_state=0)
    assert [len(parts.X_train), len(parts.X_val), len(parts.X_test)] == [70, 10, 20]
    assert np.bincount(parts.y_test).tolist() == [16, 4]  # stratified: 80 % / 20 %
    assert np.bincount(parts.y_val).tolist() == [8, 2]
    rows = np.concatenate([parts.X_train, parts.X_val, parts.X_test])[:, 0]
    assert sorted(rows.tolist()) == X[:, 0].tolist()  # every row exactly once
    again = split(X, y, test_size=0.2, val_size=0.1, random_state=0)
    np.testing.assert_array_equal(again.X_test, parts.X_test)


def test_split_without_validation_and_for_regression():
    X = np.arange(10.0).reshape(10, 1)
    parts = split(X, X[:, 0] * 0.5, test_size=0.3, random_state=np.random.default_rng(1))
    assert parts.X_val.shape == (0, 1) and parts.y_val.shape == (0,)
    assert len(parts.X_test) == 3 and len(parts.y_train) == 7


@pytest.mark.reliability(
    area="library input",
    fault="impossible splits: sizes over 1, lengths differ, too few per class",
    how="split",
    result="DataError")
def test_split_errors():
    X, y = np.zeros((10, 1)), np.array([0] * 9 + [1])
    with pytest.raises(DataError, match=r"test_size \+ val_size must be below 1"):
        split(X, y, test_size=0.6, val_size=0.4)
    with pytest.raises(DataError, match="X has 10 rows but y has 9"):
        split(X, y[:9])
    with pytest.raises(DataError, match=r"cannot split 10 rows .* \(stratified\): .*least"):
        split(X, y, test_size=0.2, random_state=0)
    assert len(split(X, y, test_size=0.2, stratify=False, random_state=0).X_test) == 2


def test_a_constant_column_that_rounds_is_still_constant_as_in_scikit_learn():
    # ten times 0.1 has a computed std of 1.4e-17, not 0: dividing by it made a new value
    # of 0.2 come out near 7e15
    from sklearn.preprocessing import StandardScaler as SkStandardScaler

    X = np.c_[np.full(10, 0.1), np.arange(10.0)]
    ours, theirs = StandardScaler().fit(X), SkStandardScaler().fit(X)
    assert ours.scale_[0] == 1.0 and theirs.scale_[0] == 1.0
    new = np.array([[0.2, 3.0]])
    np.testing.assert_allclose(ours.transform(new), theirs.transform(new), rtol=1e-12)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-12, atol=1e-15)


def test_min_max_scaling_of_ranges_near_the_float_limit():
    X = np.array([[-1e308, 1.0], [1e308, 1.0], [0.0, 1.0]])
    scaler = MinMaxScaler().fit(X)
    out = scaler.transform(X)
    np.testing.assert_array_equal(out, [[-1, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(scaler.inverse_transform(out)[:, 0], X[:, 0])


@pytest.mark.parametrize("saved, message", [
    ({"type": "StandardScaler", "mean": [0.0], "scale": [0.0]}, "scale must be positive"),
    ({"type": "StandardScaler", "mean": [float("nan")], "scale": [1.0]}, "finite numbers"),
    ({"type": "MinMaxScaler", "feature_range": [-1, 1], "data_min": [2.0],
      "data_max": [1.0]}, "data_min must not exceed data_max"),
])
def test_saved_scalers_with_impossible_statistics_are_refused(saved, message):
    with pytest.raises(ValueError, match=message):
        scaler_from_dict(saved)
