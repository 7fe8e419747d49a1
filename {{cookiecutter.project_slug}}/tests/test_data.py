"""Loading, splitting and describing data; unreadable input gives one error. Yours to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.data import (
    derive_spec,
    load_bundled,
    load_source,
    read_csv,
    read_split,
    select_columns,
    snake_case,
    split,
    write_csv,
)
from {{ cookiecutter.__package_name }}.errors import DataError


def test_bundled_sets_have_string_labels_clean_names_and_a_named_target() -> None:
    assert snake_case("BMI (kg/m2)") == "bmi_kg_m2"
    frame, descriptions = load_bundled("iris")
    assert list(frame.columns)[-1] == "species"
    assert set(frame["species"]) == {"setosa", "versicolor", "virginica"}
    assert descriptions["sepal_length_cm"] == "sepal length (cm)"
    frame, descriptions = load_bundled("diabetes")
    assert "progression" in frame.columns and "target" not in frame.columns
    assert descriptions["bmi"].startswith("body mass index")


def test_unknown_bundled_dataset_or_target_is_named() -> None:
    with pytest.raises(DataError, match="unknown bundled dataset"):
        load_bundled("mnist")
    with pytest.raises(DataError, match="'species'"):
        load_source("iris", "label")


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"a,b,y\n", "no data rows"),
        (b"a,b,y\n1,2,x\n1,2,3,4,5\n", "not a valid CSV"),
        (b"\xff\xfe\x00\x81\x00garbage\x00", "not UTF-8"),
        (b"a,b,label\n1,2,x\n", "target column 'y' not found"),
    ],
    ids=["empty", "header-only", "ragged", "binary", "no-target"],
)
def test_bad_csv_gives_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_csv(_write(tmp_path, "data.csv", content), "y")


def test_csv_source_is_read_or_named_when_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, "data.csv", b"a,b,y\n1,2.5,x\n3,4.5,z\n")
    frame, descriptions = load_source(str(path), "y")
    assert frame.shape == (2, 3)
    assert descriptions == {}
    with pytest.raises(DataError, match="file not found"):
        load_source(str(tmp_path / "nope.csv"), "y")


def test_select_columns_keeps_order_and_names_missing() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2], "y": [3]})
    assert list(select_columns(frame, "y", ["b", "a"]).columns) == ["b", "a", "y"]
    assert select_columns(frame, "y", None) is frame
    with pytest.raises(DataError, match="not in the data: c"):
        select_columns(frame, "y", ["a", "c"])


def test_split_is_deterministic_and_stratified() -> None:
    frame, _ = load_bundled("iris")
    first = split(frame, "species", "classification", 0.2, seed=7)
    second = split(frame, "species", "classification", 0.2, seed=7)
    pd.testing.assert_frame_equal(first[0], second[0])
    assert first[1]["species"].value_counts().tolist() == [10, 10, 10]
    frame = pd.DataFrame({"x": range(20), "y": ["a", "b"] * 9 + [None, "a"]})
    train, test = split(frame, "y", "classification", 0.25, seed=0)  # a missing label is kept
    assert len(train) + len(test) == 20


@pytest.mark.parametrize(
    ("labels", "task", "expected"),
    [
        (["a"] * 40, "classification",
         r"target column 'y': 1 class \('a'\), a classifier needs at least 2"),
        (["a", "b"] * 20 + ["c"], "classification",
         r"cannot split 41 rows .*too few members are: \['c'\]"),
        ([1.0], "regression", "cannot split"),
    ],
    ids=["one-class", "one-row-class", "one-row"],
)  # fmt: skip
def test_split_refuses_too_few_classes_or_rows(labels: list[Any], task: str, expected: str) -> None:
    frame = pd.DataFrame({"x": range(len(labels)), "y": labels})
    with pytest.raises(DataError, match=expected):
        split(frame, "y", task, 0.25, seed=0)


def test_derive_spec_describes_the_training_data(dataset) -> None:  # type: ignore[no-untyped-def]
    train, _, spec = dataset
    assert spec.feature_names == [c for c in train.columns if c != spec.target]
    for feature in spec.features:
        assert feature.minimum == pytest.approx(train[feature.name].min())
        assert feature.maximum == pytest.approx(train[feature.name].max())
    if spec.task == "classification":
        assert spec.classes == sorted(set(train[spec.target]))
    else:
        assert spec.classes is None


def test_derive_spec_int_dtype_and_non_numeric() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], "f": [0.5, np.nan, "x"], "y": [0, 1, 0]})
    spec = derive_spec(frame, "y", "classification")
    assert [f.dtype for f in spec.features] == ["int", "float"]
    assert spec.features[1].maximum == 0.5
    assert spec.classes == ["0", "1"]
    with pytest.raises(DataError, match="no numeric values"):
        derive_spec(pd.DataFrame({"t": ["a", "b"], "y": [1, 2]}), "y", "regression")


def test_write_and_read_split_keep_labels_as_strings(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "y": [1, 2]})
    spec = derive_spec(frame, "y", "classification")
    write_csv(frame, tmp_path / "sub" / "s.csv")
    assert b"\r" not in (tmp_path / "sub" / "s.csv").read_bytes()
    back = read_split(tmp_path / "sub" / "s.csv", spec)
    assert back["y"].tolist() == ["1", "2"]
    with pytest.raises(DataError, match="not found"):
        read_split(tmp_path / "missing.csv", spec)
