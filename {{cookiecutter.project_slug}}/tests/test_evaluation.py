"""Metrics, baseline, quality gate, importance and one answer's reasons. Yours to edit."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.__package_name }}.evaluation import (
    baseline,
    classification_metrics,
    gate,
    global_importance,
    regression_metrics,
    write_importance,
    write_predictions,
)
from {{ cookiecutter.__package_name }}.explain import local_explanation
from {{ cookiecutter.__package_name }}.training import build_estimator, fit, to_labels, to_matrix

ESTIMATOR = {"classification": "logistic_regression", "regression": "ridge"}


def test_classification_and_regression_metrics_known_values() -> None:
    y_true, y_pred = np.array(["a", "a", "b", "b"]), np.array(["a", "b", "b", "b"])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.1, 0.9]])
    expected = {"accuracy": 0.75, "f1_macro": (2 / 3 + 0.8) / 2, "roc_auc": 1.0}
    assert classification_metrics(y_true, y_pred, proba, ["a", "b"]) == pytest.approx(expected)
    assert "roc_auc" not in classification_metrics(y_true, y_pred, None, ["a", "b"])
    three = np.array(["a", "b", "c"])
    assert classification_metrics(three, three, np.eye(3), ["a", "b", "c"])["roc_auc"] == 1.0
    result = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert result == pytest.approx({"mae": 2 / 3, "rmse": math.sqrt(4 / 3), "r2": 1 - 4 / 2})


def test_baselines_are_naive() -> None:
    x = np.zeros((4, 1))
    majority = baseline("classification", x, np.array(["a", "a", "a", "b"]))
    assert list(majority.predict(x)) == ["a"] * 4
    assert baseline("regression", x, np.array([1.0, 2.0, 3.0, 6.0])).predict(x)[0] == 3.0


def test_gate_directions() -> None:
    higher = gate("accuracy", {"accuracy": 0.9}, {"accuracy": 0.5}, 0.5)
    assert higher["passed"] and higher["improvement"] == pytest.approx(0.8)
    lower = gate("rmse", {"rmse": 60.0}, {"rmse": 75.0}, 0.1)
    assert lower["passed"] and lower["improvement"] == pytest.approx(0.2)
    failing = gate("rmse", {"rmse": 74.0}, {"rmse": 75.0}, 0.1)
    assert not failing["passed"]
    assert "FAILED" in failing["description"]
    assert gate("accuracy", {"accuracy": 0.5}, {"accuracy": 0.0}, 0.1)["passed"]
    assert not gate("accuracy", {"accuracy": 0.0}, {"accuracy": 0.0}, 0.1)["passed"]


def test_predictions_csv(tmp_path: Path) -> None:
    path = tmp_path / "plots" / "p.csv"
    write_predictions(path, np.array([1.0, 2.5]), np.array([1.1234567891, 2.0]))
    rows = list(csv.reader(path.open()))
    assert rows == [["actual", "predicted"], ["1.0", "1.123457"], ["2.5", "2.0"]]


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


def test_local_explanation_is_zero_at_the_mean_and_moves_with_a_feature(dataset) -> None:  # type: ignore[no-untyped-def]
    train, test, spec = dataset
    train_x, row = to_matrix(train, spec), to_matrix(test, spec)[0]
    model = fit(build_estimator(ESTIMATOR[spec.task], {}, seed=0), train_x, to_labels(train, spec))
    mean = train_x.mean(axis=0)
    assert local_explanation(model, mean, mean) == pytest.approx([0.0] * len(mean))
    contributions = local_explanation(model, row, mean)
    assert len(contributions) == len(mean) and any(abs(c) > 1e-6 for c in contributions)
    if not hasattr(model, "predict_proba"):  # linear regression: exactly coef x (value - mean)
        np.testing.assert_allclose(contributions, model.coef_ * (row - mean), rtol=1e-6, atol=1e-9)
