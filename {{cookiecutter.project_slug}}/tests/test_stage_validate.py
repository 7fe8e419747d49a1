"""Stage validate (milestone M3): the pipeline stops on bad data. Yours to edit."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }}.config import Params, parse_params
from {{ cookiecutter.__package_name }}.errors import ParamsError, ValidationFailed
from {{ cookiecutter.__package_name }}.paths import ProjectPaths
from {{ cookiecutter.__package_name }}.stages import validate


@pytest.mark.slow  # about 8 s: two Great Expectations runs with their Data Docs
def test_validate_saves_suite_results_and_data_docs_then_fails_on_a_nan_target(
    prepared: tuple[Params, ProjectPaths],
) -> None:
    """The suite is a file in GX's layout; results and Data Docs HTML land in reports/."""
    params, paths = prepared
    for _ in range(2):  # a second run replaces the first one's results, it does not add
        validate.main(params, paths)
    assert json.loads(paths.validation_report.read_text())["success"] is True
    suite = json.loads(paths.gx_suite.read_text())
    expected = json.loads(paths.validation_report.read_text())["expectations"]
    assert suite["name"] == "data_card" and len(suite["expectations"]) == expected
    results = json.loads(paths.validation_results.read_text())
    assert {name: result["success"] for name, result in results.items()} == {
        "train": True,
        "test": True,
    }
    validations = paths.data_docs / "validations" / "data_card"
    splits = sorted(page.relative_to(validations).parts[0] for page in validations.rglob("*.html"))
    assert splits == ["test", "train"]  # one page per split, named by the split
    index = (paths.data_docs / "index.html").read_text()
    assert "validations/data_card/train/" in index and "validations/data_card/test/" in index
    train = pd.read_csv(paths.train_data)
    train.loc[5, params.data.target] = None
    train.to_csv(paths.train_data, index=False)
    with pytest.raises(ValidationFailed, match="expect_column_values_to_not_be_null") as info:
        validate.main(params, paths)
    assert f"column '{params.data.target}': 1 of {len(train)} rows" in str(info.value)
    assert json.loads(paths.validation_report.read_text())["success"] is False
    assert "FAILED" in paths.validation_summary.read_text()


def test_validate_without_its_section_names_it(
    prepared: tuple[Params, ProjectPaths], project_params: dict[str, Any]
) -> None:
    raw = {key: value for key, value in project_params.items() if key != "validation"}
    with pytest.raises(ParamsError, match="validation"):
        validate.main(parse_params(raw), prepared[1])
