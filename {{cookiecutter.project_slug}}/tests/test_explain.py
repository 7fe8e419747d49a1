"""Permutation importance and one prediction's reasons, on both tasks. Yours to edit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.__package_name }}.explain import (
    global_importance,
    local_explanation,
    write_importance,
)
from {{ cookiecutter.__package_name }}.training import build_estimator, fit, to_labels, to_matrix

ESTIMATOR = {"classification": "logistic_regression", "regression": "ridge"}


@pytest.fixture
def fitted(dataset):  # type: ignore[no-untyped-def]
    """(model, train matrix, test matrix, test labels, spec) for each bundled dataset."""
    train, test, spec = dataset
    model = fit(build_estimator(ESTIMATOR[spec.task], {}, seed=0),
                to_matrix(train, spec), to_labels(train, spec))  # fmt: skip
    return model, to_matrix(train, spec), to_matrix(test, spec), to_labels(test, spec), spec


def test_permutation_importance_ranks_every_feature_and_is_written(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, _, test_x, test_y, spec = fitted
    importance = global_importance(model, test_x, test_y, spec.feature_names, seed=0)
    assert sorted(importance) == sorted(spec.feature_names)
    means = [value["mean"] for value in importance.values()]
    assert means == sorted(means, reverse=True) and means[0] > 0  # the model uses its inputs
    write_importance(importance, tmp_path / "importance.json", tmp_path / "importance.png")
    assert json.loads((tmp_path / "importance.json").read_text()) == importance
    assert (tmp_path / "importance.png").read_bytes().startswith(b"\x89PNG")


def test_local_explanation_is_zero_at_the_mean_and_moves_with_a_feature(fitted) -> None:  # type: ignore[no-untyped-def]
    model, train_x, test_x, _, _ = fitted
    mean = train_x.mean(axis=0)
    assert local_explanation(model, mean, mean) == pytest.approx([0.0] * len(mean))
    contributions = local_explanation(model, test_x[0], mean)
    assert len(contributions) == len(mean) and any(abs(c) > 1e-6 for c in contributions)
    if not hasattr(model, "predict_proba"):  # linear regression: exactly coef x (value - mean)
        expected = model.coef_ * (test_x[0] - mean)
        np.testing.assert_allclose(contributions, expected, rtol=1e-6, atol=1e-9)
