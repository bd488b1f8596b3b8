"""Reading tables from disk and preprocessing them: every DataError case, exact encodings,
and JSON round trips that give identical inputs for a raw table."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from deltanet.data import DataError, TablePreprocessor, detect_task, load_dataset, read_table

CSV = "age,city,member,label\n30,Paris,True,yes\n50,Rome,False,no\n40,Paris,True,yes\n"


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def _raises(match, func, *args, **kwargs):
    """Run ``func``; it must raise a one-line DataError matching ``match``."""
    with pytest.raises(DataError, match=match) as err:
        func(*args, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def _people():
    return pd.DataFrame({"age": [30.0, 50.0, 40.0], "city": ["Paris", "Rome", "Paris"],
                         "member": [True, False, True], "label": ["yes", "no", "yes"]})


# --- read_table ---------------------------------------------------------------------------------

def test_read_csv_csv_gz_and_parquet(tmp_path):
    frame = read_table(_write(tmp_path, "people.csv", CSV))
    assert frame.shape == (3, 4) and list(frame.columns) == ["age", "city", "member", "label"]
    assert frame["age"].tolist() == [30, 50, 40]
    gz = read_table(_write(tmp_path, "people.csv.gz", gzip.compress(CSV.encode())))
    pd.testing.assert_frame_equal(gz, frame)
    frame.to_parquet(tmp_path / "people.parquet")
    pd.testing.assert_frame_equal(read_table(str(tmp_path / "people.parquet")), frame)


def test_read_csv_with_bom_spaces_and_a_given_latin1_encoding(tmp_path):
    frame = read_table(_write(tmp_path, "bom.csv", b"\xef\xbb\xbfa, b\n1, x\n"))
    assert list(frame.columns) == ["a", "b"] and frame["b"].tolist() == ["x"]
    latin = _write(tmp_path, "latin.csv", "town,n\nK\xf6ln,1\n".encode("latin-1"))
    assert read_table(latin, encoding="latin-1")["town"].tolist() == ["Köln"]
    with pytest.raises(DataError, match=r"not UTF-8 text \(row 1 holds the byte 0xf6\)"):
        read_table(latin)  # never guessed: Latin-1 would misread every UTF-8 text


@pytest.mark.reliability(
    area="data files",
    fault="missing file, folder, unknown type, empty, blank, header only, binary, ragged, "
          "broken gzip and parquet",
    how="read_table",
    result="DataError saying what is wrong and what to do")
def test_read_table_errors(tmp_path):
    _raises(r"^file '.*nope\.csv' does not exist; check the path", read_table,
            tmp_path / "nope.csv")
    _raises(r"is a directory, not a data file", read_table, tmp_path)
    _raises(r"unknown file type; use a file ending in \.csv, \.csv\.gz, \.parquet, \.pq",
            read_table, _write(tmp_path, "data.xlsx", "a\n1\n"))
    _raises(r"^file '.*empty\.csv' is empty; it needs a header row and at least one row",
            read_table, _write(tmp_path, "empty.csv", ""))
    _raises(r"has no columns \(it is blank\)", read_table, _write(tmp_path, "blank.csv", "\n\n"))
    _raises(r"has a header but no rows of data; add at least one row", read_table,
            _write(tmp_path, "header.csv", "a,b\n"))
    _raises(r"is not a text CSV file \(it holds binary data\)", read_table,
            _write(tmp_path, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    _raises(r"is not a valid CSV table \(.*Expected 2 fields in line 3, saw 4.*\); every row",
            read_table, _write(tmp_path, "ragged.csv", "a,b\n1,2\n3,4,5,6\n"))
    _raises(r"is not a valid gzip file", read_table,
            _write(tmp_path, "bad.csv.gz", "a,b\n1,2\n"))
    _raises(r"is not a valid parquet file \(.*\); check that the file is complete", read_table,
            _write(tmp_path, "bad.parquet", "a,b\n1,2\n"))


# --- detecting columns and the task -------------------------------------------------------------

def test_detect_task():
    assert detect_task(pd.Series(["a", "b", "a"])) == "classification"
    assert detect_task(pd.Series([True, False])) == "classification"
    assert detect_task(pd.Series([0, 1, 1, 0])) == "classification"
    assert detect_task(pd.Series([1.0, 2.0, 3.0, np.nan])) == "classification"
    assert detect_task(pd.Series([0.5, 1.5, 2.5])) == "regression"
    assert detect_task(pd.Series(np.arange(21))) == "regression"  # too many distinct values
    assert detect_task(pd.Series(np.arange(21)), max_classes=30) == "classification"
    assert detect_task(pd.Series(["1", "2", "2"], dtype=object)) == "classification"
    assert detect_task(pd.Series(["1.5", "2.25"], dtype=object)) == "regression"


@pytest.mark.reliability(
    area="data files",
    fault="text in a numeric column",
    how="TablePreprocessor.fit",
    result="DataError naming column, row and value")
def test_numeric_text_mistake_names_column_row_and_value(tmp_path):
    ages = [str(20 + i) for i in range(20)]
    ages[16] = "abc"
    text = "age,label\n" + "".join(f"{a},{i % 2}\n" for i, a in enumerate(ages))
    frame = read_table(_write(tmp_path, "ages.csv", text))
    message = _raises("column", TablePreprocessor("label").fit, frame)
    assert message == ("column 'age' has non-numeric text 'abc' in row 17; fix the value or "
                       "drop the column")


def test_mostly_text_is_categorical_and_numeric_text_is_numeric():
    frame = pd.DataFrame({"code": ["1", "2", "x", "y"], "n": pd.Series(["1", "2", "3", "4"],
                                                                      dtype=object),
                          "t": [0, 1, 0, 1]})
    pre = TablePreprocessor("t").fit(frame)
    assert [c.kind for c in pre.columns_] == ["categorical", "numeric"]
    assert pre.feature_names_out == ["code=1", "code=2", "code=x", "code=y", "n"]


def test_dates_infinities_and_empty_feature_set():
    dates = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "t": [0, 1]})
    _raises(r"column 'when' holds dates or times", TablePreprocessor("t").fit, dates)
    inf = pd.DataFrame({"x": [1.0, np.inf], "t": [0, 1]})
    _raises(r"column 'x' has an infinite value in row 2", TablePreprocessor("t").fit, inf)
    _raises(r"no input columns besides the target 't'", TablePreprocessor("t").fit,
            pd.DataFrame({"t": [0, 1]}))
    _raises(r"the table has no rows", TablePreprocessor("t").fit, pd.DataFrame({"t": []}))


# --- encoding -----------------------------------------------------------------------------------

def test_fit_transform_exact_encoding():
    pre = TablePreprocessor("label")
    X, y = pre.fit_transform(_people())
    assert pre.task_ == "classification" and pre.classes_ == ["no", "yes"]
    assert pre.feature_names_out == ["age", "city=Paris", "city=Rome", "member=False",
                                     "member=True"]
    # age: min 30, max 50 -> 30 ↦ −1, 50 ↦ 1, 40 ↦ 0
    np.testing.assert_array_equal(X, [[-1, 1, 0, 0, 1], [1, 0, 1, 1, 0], [0, 1, 0, 0, 1]])
    assert y.tolist() == [1, 0, 1] and y.dtype == np.int64
    assert X.dtype == np.float64
    assert pre.decode_target([0, 1, 1]).tolist() == ["no", "yes", "yes"]


def test_unknown_category_becomes_zeros_and_extra_columns_are_ignored():
    pre = TablePreprocessor("label").fit(_people())
    new = pd.DataFrame({"member": [False], "city": ["Oslo"], "age": [60.0], "extra": ["z"]})
    # age 60 ↦ −1 + 2·30/20 = 2: outside the training range, not clipped
    np.testing.assert_array_equal(pre.transform(new), [[2, 0, 0, 1, 0]])


def test_standard_scaling_exact():
    frame = pd.DataFrame({"x": [1.0, 3.0, 5.0], "y": [0.5, 1.5, 2.0]})
    pre = TablePreprocessor("y", scale="standard")
    X, y = pre.fit_transform(frame)
    assert pre.task_ == "regression" and pre.classes_ is None
    s = np.sqrt(1.5)  # (1 − 3) / √(8/3) = −√(3/2)
    np.testing.assert_allclose(X[:, 0], [-s, 0, s])
    assert y.tolist() == [0.5, 1.5, 2.0]
    raw = TablePreprocessor("y", scale="none").fit_transform(frame)[0]
    assert raw[:, 0].tolist() == [1.0, 3.0, 5.0]


def test_scaled_regression_target_round_trip():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [10.5, 20.5, 30.5]})
    pre = TablePreprocessor("y", scale_target=True).fit(frame)
    y = pre.encode_target(frame)
    np.testing.assert_allclose(y, [-np.sqrt(1.5), 0, np.sqrt(1.5)])
    np.testing.assert_allclose(pre.decode_target(y), [10.5, 20.5, 30.5])


def test_classes_sorted_by_value_and_kept_as_text():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "grade": [10, 2, 10, 2]})
    pre = TablePreprocessor("grade").fit(frame)
    assert pre.classes_ == ["2", "10"]
    assert pre.encode_target(frame).tolist() == [1, 0, 1, 0]
    assert pre.encode_target(pd.Series([2.0, 10.0])).tolist() == [0, 1]  # 2.0 is class "2"
    assert pre.decode_target(np.array([1, 0])).tolist() == ["10", "2"]


def test_task_override():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "t": [1, 2, 3]})
    pre = TablePreprocessor("t", task="regression").fit(frame)
    assert pre.task_ == "regression" and pre.encode_target(frame).tolist() == [1.0, 2.0, 3.0]
    bad = pd.DataFrame({"x": [1.0, 2.0], "t": ["a", "b"]})
    message = _raises("target column", TablePreprocessor("t", task="regression").fit, bad)
    assert message == ("target column 't' has the value 'a' in row 1, which is not a finite "
                       "number; regression needs numbers, so fix the value or use "
                       "task='classification'")


# --- target errors ------------------------------------------------------------------------------

@pytest.mark.reliability(
    area="data files",
    fault="unknown target column",
    how="TablePreprocessor.fit",
    result="DataError with 'did you mean' and the columns")
def test_unknown_target_suggests_nearest_names():
    message = _raises("target column", TablePreprocessor("lable").fit, _people())
    assert message == ("target column 'lable' is not in the table; did you mean 'label'? "
                       "the columns are: age, city, member, label")
    message = _raises("target column", TablePreprocessor("AGE").fit, _people())
    assert "did you mean 'age'?" in message
    message = _raises("target column", TablePreprocessor("zzz").fit, _people())
    assert "did you mean" not in message


@pytest.mark.reliability(
    area="data files",
    fault="a single class; missing target values",
    how="TablePreprocessor.fit",
    result="DataError naming the row")
def test_single_class_and_missing_target():
    one = pd.DataFrame({"x": [1.0, 2.0], "t": ["a", "a"]})
    message = _raises("only one class", TablePreprocessor("t").fit, one)
    assert message.startswith("target column 't' has only one class ('a'); a classifier needs")
    gap = pd.DataFrame({"x": [1.0, 2.0, 3.0], "t": ["a", None, "b"]})
    _raises(r"^target column 't' has 1 missing value \(first in row 2\); remove those rows",
            TablePreprocessor("t").fit, gap)


@pytest.mark.reliability(
    area="data files",
    fault="an unseen class, bad class indices, an unfitted preprocessor",
    how="encode_target, decode_target, transform",
    result="DataError / ValueError")
def test_unseen_class_and_bad_indices():
    pre = TablePreprocessor("label").fit(_people())
    _raises(r"target column 'label' has the class 'maybe' in row 2, which the model was not "
            r"trained on; known classes: no, yes", pre.encode_target,
            pd.Series(["yes", "maybe"]))
    with pytest.raises(ValueError, match=r"y must be class indices 0\.\.1"):
        pre.decode_target([0, 2])
    with pytest.raises(ValueError, match="not fitted yet"):
        TablePreprocessor("label").transform(_people())


# --- missing values -----------------------------------------------------------------------------

def _gappy():
    return pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0], "b": [4.0, 4.0, np.nan, 6.0],
                         "c": ["x", "y", None, "y"], "t": [0, 1, 0, 1]})


@pytest.mark.reliability(
    area="data files",
    fault="missing values without impute",
    how="fit, transform",
    result="DataError naming columns and counts")
def test_missing_values_without_impute():
    message = _raises("missing values", TablePreprocessor("t").fit, _gappy())
    assert message == ("missing values in column(s) 'a' (1 row), 'b' (1 row), 'c' (1 row); "
                       "pass impute='mean', 'median' or 'most_frequent' (command line: "
                       "--impute) to fill them from the training data, or remove those rows")
    pre = TablePreprocessor("t").fit(_gappy().dropna())
    _raises(r"missing values in column\(s\) 'a' \(1 row\)", pre.transform, _gappy().iloc[:2])


@pytest.mark.parametrize(("impute", "fill_a", "fill_b"), [
    ("mean", 14 / 3, 14 / 3), ("median", 3.0, 4.0), ("most_frequent", 1.0, 4.0)])
def test_impute_fills_from_training_statistics(impute, fill_a, fill_b):
    pre = TablePreprocessor("t", impute=impute, scale="none").fit(_gappy())
    fills = {c.name: c.fill for c in pre.columns_}
    assert fills["c"] == "y"
    assert (fills["a"], fills["b"]) == pytest.approx((fill_a, fill_b), rel=1e-15)
    X = pre.transform(_gappy())
    np.testing.assert_allclose(X[1, 0], fill_a)
    np.testing.assert_allclose(X[2, 1], fill_b)
    assert X[2, 2:].tolist() == [0.0, 1.0]  # c filled with its most frequent category, 'y'
    # later tables are filled with the training statistics, not their own
    later = pd.DataFrame({"a": [np.nan], "b": [np.nan], "c": [np.nan]})
    np.testing.assert_allclose(pre.transform(later), [[fill_a, fill_b, 0.0, 1.0]])


@pytest.mark.reliability(
    area="data files",
    fault="imputing an empty column; an input column missing",
    how="fit, transform",
    result="DataError naming the columns")
def test_impute_needs_some_values_and_columns_must_exist():
    frame = pd.DataFrame({"a": [np.nan, np.nan], "t": [0, 1]})
    _raises(r"column 'a' has no values at all", TablePreprocessor("t", impute="mean").fit, frame)
    pre = TablePreprocessor("label").fit(_people())
    _raises(r"column\(s\) 'city' missing from the table; the model was trained on columns "
            r"'age', 'city', 'member'", pre.transform, _people().drop(columns="city"))


# --- saving -------------------------------------------------------------------------------------

def _mixed(rng, n):
    return pd.DataFrame({
        "x": rng.normal(size=n) * 100, "k": rng.integers(0, 5, size=n),
        "color": rng.choice(["red", "green", "blue"], size=n),
        "ok": rng.choice([True, False], size=n),
        "label": rng.choice(["low", "mid", "high"], size=n)})


@pytest.mark.parametrize("options", [{}, {"scale": "standard", "impute": "median"},
                                     {"scale": "none", "impute": "most_frequent"}])
def test_round_trip_through_json_gives_identical_inputs(tmp_path, options):
    rng = np.random.default_rng(0)
    train = _mixed(rng, 60)
    pre = TablePreprocessor("label", **options).fit(train)
    text = json.dumps(pre.to_dict(), allow_nan=False)
    copy = TablePreprocessor.from_dict(json.loads(text))
    assert copy.to_dict() == pre.to_dict() and copy.feature_names_out == pre.feature_names_out
    new = _mixed(rng, 20)
    new.loc[3, "color"] = "purple"  # unseen category
    if options.get("impute"):
        new.loc[5, "x"] = np.nan
    new.to_csv(tmp_path / "new.csv", index=False)
    raw = read_table(tmp_path / "new.csv")
    np.testing.assert_array_equal(copy.transform(raw), pre.transform(new))
    np.testing.assert_array_equal(copy.encode_target(raw), pre.encode_target(new))
    assert copy.decode_target([0, 1, 2]).tolist() == ["high", "low", "mid"]


@pytest.mark.reliability(
    area="data files",
    fault="a saved preprocessor of another type or version",
    how="TablePreprocessor.from_dict",
    result="ValueError")
def test_from_dict_rejects_other_data():
    with pytest.raises(ValueError, match="not a saved TablePreprocessor"):
        TablePreprocessor.from_dict({"type": "MinMaxScaler"})
    saved = TablePreprocessor("label").fit(_people()).to_dict() | {"version": 99}
    with pytest.raises(ValueError, match="unsupported TablePreprocessor format version"):
        TablePreprocessor.from_dict(saved)


@pytest.mark.reliability(
    area="library input",
    fault="bad preprocessor options",
    how="TablePreprocessor",
    result="ValueError with the valid names")
def test_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown impute"):
        TablePreprocessor("t", impute="zero")
    with pytest.raises(ValueError, match=r"unknown scale.*did you mean 'standard'"):
        TablePreprocessor("t", scale="standart")
    with pytest.raises(ValueError, match="target must be a column name"):
        TablePreprocessor("")
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        TablePreprocessor("t").fit(np.zeros((2, 2)))


def test_bundled_dataset_through_the_table_path():
    iris = load_dataset("iris")
    pre = TablePreprocessor("species")
    X, y = pre.fit_transform(iris.as_frame(class_names=True))
    assert X.shape == (150, 4) and pre.classes_ == list(iris.class_names)
    np.testing.assert_array_equal(y, iris.y)
    assert X.min() == -1.0 and X.max() == 1.0
    assert repr(pre) == ("TablePreprocessor(target='species', task='classification', "
                         "numeric=4, categorical=0, features_out=4)")
