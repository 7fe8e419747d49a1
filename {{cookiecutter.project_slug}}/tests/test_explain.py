"""Permutation importance, on both tasks. Yours to edit."""

from __future__ import annotations

import json
from pathlib import Path

from {{ cookiecutter.__package_name }}.explain import global_importance, write_importance
from {{ cookiecutter.__package_name }}.training import build_estimator, fit, to_labels, to_matrix

ESTIMATOR = {"classification": "logistic_regression", "regression": "ridge"}


def test_permutation_importance_ranks_every_feature_and_is_written(dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    train, test, spec = dataset
    model = fit(build_estimator(ESTIMATOR[spec.task], {}, seed=0),
                to_matrix(train, spec), to_labels(train, spec))  # fmt: skip
    test_x, test_y = to_matrix(test, spec), to_labels(test, spec)
    importance = global_importance(model, test_x, test_y, spec.feature_names, seed=0)
    assert sorted(importance) == sorted(spec.feature_names)
    means = [value["mean"] for value in importance.values()]
    assert means == sorted(means, reverse=True) and means[0] > 0  # the model uses its inputs
    write_importance(importance, tmp_path / "importance.json", tmp_path / "importance.png")
    assert json.loads((tmp_path / "importance.json").read_text()) == importance
    assert (tmp_path / "importance.png").read_bytes().startswith(b"\x89PNG")
