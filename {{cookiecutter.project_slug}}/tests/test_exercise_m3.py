"""Exercises M3.2-M3.4: planted faults the checks must catch, a behavioural test. Yours to edit.

`uv run pytest tests/test_exercise_m3.py`; `ccmlops check` grades each test (item `exercises-m3`).
"""

from __future__ import annotations

import pandas as pd

from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.validation import run_checks, team_checks

Split = tuple[pd.DataFrame, pd.DataFrame, DatasetSpec]


def test_m3_2_team_checks_catch_a_target_with_a_single_value(iris: Split) -> None:
    """The planted fault: a split holding one class only (every other check passes on it)."""
    train, _, spec = iris
    planted = train[train[spec.target] == train[spec.target].iloc[0]]
    failures = run_checks({"planted": planted}, team_checks(spec))
    assert failures, "Task M3.2: team_checks(spec) let a split with a single target value through"
{%- if cookiecutter.ml_task == "image_classification" %}


def test_m3_3_image_checks_catch_a_blank_image(project_params: dict[str, object]) -> None:
    """The planted fault: one image of a single colour (no contrast) among good ones."""
    from {{ cookiecutter.__package_name }}.config import parse_params  # noqa: PLC0415
    from {{ cookiecutter.__package_name }}.image_quality import build_image_checks  # noqa: PLC0415

    cfg = parse_params(project_params).images
    assert cfg is not None
    good = {"label": "0", "format": "PNG", "width": 8, "height": 8, "mode": "L", "bytes": 100}
    good |= {"brightness": 60.0, "contrast": 40.0, "class_count": 20, "class_balance": 1.0}
    rows = [good | {"path": f"{i}.png", "hash": str(i)} for i in range(20)]
    rows[0] |= {"brightness": 0.0, "contrast": 0.0}
    failures = run_checks({"images": pd.DataFrame(rows)}, build_image_checks(cfg, ["0"], 10))
    assert any(f.column == "contrast" for f in failures), "Task M3.3: the blank image passed"
{%- endif %}


# exercise M3.4: Add a behavioural test: the easiest case (a typical setosa) is predicted right
def test_m3_4_a_typical_setosa_is_predicted_setosa(iris: Split) -> None:
    """Minimum functionality: a flower with the median setosa measurements is a setosa."""
    from {{ cookiecutter.__package_name }} import training  # noqa: PLC0415

    train, _, spec = iris
    estimator = training.build_estimator("logistic_regression", {"max_iter": 1000}, 42)
    model = training.fit(
        estimator, training.to_matrix(train, spec), training.to_labels(train, spec)
    )
    typical = train[train[spec.target] == "setosa"].median(numeric_only=True).to_frame().T
    assert list(model.predict(training.to_matrix(typical, spec))) == ["setosa"]
# end exercise
