"""Data tests: the suite passes on good data, catches each corruption. Yours to edit.

Great Expectations costs about 3 s to import, so every frame is validated in one call.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.errors import ValidationFailed
from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.validation import (
    Failure,
    _failure,
    build_checks,
    run_checks,
    write_report,
)


def test_checks_cover_every_column_with_the_tolerant_range(dataset) -> None:  # type: ignore[no-untyped-def]
    _, _, spec = dataset
    checks = build_checks(spec.model_copy(update={"range_tolerance": 0.5}), min_rows=10)
    assert {check.column for check in checks if check.column} == {*spec.feature_names, spec.target}
    target = {c.expectation for c in checks if c.column == spec.target}
    numeric = spec.task == "regression"  # a class set, or a number type for the target
    assert ("ExpectColumnValuesToBeInTypeList" in target) is numeric
    assert ("ExpectColumnValuesToBeInSet" in target) is not numeric
    first = spec.features[0]
    between = "ExpectColumnValuesToBeBetween"
    bounds = next(c.kwargs for c in checks if c.expectation == between and c.column == first.name)
    width = first.maximum - first.minimum
    assert bounds["min_value"] == pytest.approx(first.minimum - width / 2)


def test_failure_text_and_report_name_expectation_column_and_rows(tmp_path: Path) -> None:
    failure = _failure(
        "train",
        {
            "expectation_config": {"type": "expect_x", "kwargs": {"column": "petal"}},
            "result": {
                "unexpected_count": 3,
                "element_count": 90,
                "partial_unexpected_list": [np.nan],
            },
        },
    )
    assert (
        failure.describe()
        == "[train] expect_x on column 'petal': 3 of 90 rows unexpected, e.g. [None]"
    )
    broken = _failure(
        "test",
        {
            "expectation_config": {"type": "t", "kwargs": {}},
            "exception_info": {"raised_exception": True, "exception_message": "boom\nmore"},
        },
    )
    assert broken.describe() == "[test] t on table: could not be evaluated (boom)"
    nested = _failure(
        "test",
        {
            "expectation_config": {"type": "t", "kwargs": {"column": "c"}},
            "exception_info": {"Metric(x)": {"raised_exception": True, "exception_message": "bad"}},
        },
    )
    assert nested.describe() == "[test] t on column 'c': could not be evaluated (bad)"
    observed = _failure(
        "test", {"expectation_config": {"type": "t"}, "result": {"observed_value": ["a"]}}
    )
    assert observed.describe() == "[test] t on table: observed ['a']"
    failure = Failure("train", "expect_x", "a", 1, "1 of 10 rows unexpected")  # and the reports
    with pytest.raises(ValidationFailed, match=r"broken .*v\.md\):\n  \[train\] expect_x"):
        write_report([failure], 7, tmp_path / "r" / "v.json", tmp_path / "r" / "v.md")
    report = json.loads((tmp_path / "r" / "v.json").read_text())
    assert report["success"] is False
    assert report["failures"][0]["column"] == "a"
    assert "FAILED" in (tmp_path / "r" / "v.md").read_text()
    write_report([], 7, tmp_path / "v.json", tmp_path / "v.md")
    assert "PASSED" in (tmp_path / "v.md").read_text()


def _corrupted(train: pd.DataFrame, spec: DatasetSpec) -> dict[str, pd.DataFrame]:
    """One corrupted copy of the training data per kind of fault."""
    first = spec.feature_names[0]
    nan_target = train.copy()
    nan_target.loc[0, spec.target] = None
    wrong_type = train.copy()
    wrong_type[first] = wrong_type[first].astype(str)
    wrong_type.loc[1, first] = "abc"
    out_of_range = train.copy()
    out_of_range.loc[2, first] = spec.features[0].maximum * 100 + 100
    nan_feature = train.copy()
    nan_feature.loc[3, first] = np.nan
    unknown_class = train.copy()
    unknown_class.loc[4, spec.target] = "unicorn"
    return {
        "good": train,
        "missing_column": train.drop(columns=first),
        "extra_column": train.assign(extra=1.0),
        "nan_target": nan_target,
        "wrong_type": wrong_type,
        "out_of_range": out_of_range,
        "nan_feature": nan_feature,
        "too_few_rows": train.head(3),
        "unknown_class": unknown_class,
    }


EXPECTED = {
    "missing_column": ("expect_table_columns_to_match_set", None),
    "extra_column": ("expect_table_columns_to_match_set", None),
    "nan_target": ("expect_column_values_to_not_be_null", "target"),
    "wrong_type": ("expect_column_values_to_be_in_type_list", "first"),
    "out_of_range": ("expect_column_values_to_be_between", "first"),
    "nan_feature": ("expect_column_values_to_not_be_null", "first"),
    "too_few_rows": ("expect_table_row_count_to_be_between", None),
    "unknown_class": ("expect_column_values_to_be_in_set", "target"),
}


@pytest.fixture(scope="module")
def failures(iris) -> dict[str, list[Failure]]:  # type: ignore[no-untyped-def]
    train, _, spec = iris
    frames = _corrupted(train, spec)
    found = run_checks(frames, build_checks(spec.model_copy(update={"range_tolerance": 0.1}), 10))
    return {name: [f for f in found if f.dataset == name] for name in frames}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_suite_catches_each_fault(iris, failures: dict[str, list[Failure]], fault: str) -> None:  # type: ignore[no-untyped-def]
    assert failures["good"] == []  # and passes the data as the pipeline splits it
    _, _, spec = iris
    expectation, column = EXPECTED[fault]
    column_name = {"target": spec.target, "first": spec.feature_names[0], None: None}[column]
    matches = [
        f for f in failures[fault] if f.expectation == expectation and f.column == column_name
    ]
    assert matches, f"{fault}: got {[f.describe() for f in failures[fault]]}"
    if fault in {"nan_target", "out_of_range", "unknown_class"}:
        assert matches[0].unexpected == 1
