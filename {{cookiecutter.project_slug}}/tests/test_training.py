"""Model tests: estimators, parameter errors, feature order, determinism. Yours to edit."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.__package_name }} import bundle
from {{ cookiecutter.__package_name }}.config import ESTIMATOR_TASKS
from {{ cookiecutter.__package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.__package_name }}.evaluation import baseline, gate, score
from {{ cookiecutter.__package_name }}.training import (
    build_estimator,
    estimator_class,
    fit,
    to_labels,
    to_matrix,
)

DEFAULTS = {"classification": "logistic_regression", "regression": "ridge"}


@pytest.mark.parametrize("name", sorted(ESTIMATOR_TASKS))
def test_every_registered_estimator_builds(name: str) -> None:
    assert set(bundle.MODEL_TYPES) == set(ESTIMATOR_TASKS)  # the two tables agree
    estimator = build_estimator(name, {}, seed=3)
    assert isinstance(estimator, estimator_class(name))
    if "random_state" in estimator.get_params():
        assert estimator.get_params()["random_state"] == 3


def test_unknown_estimator_hyperparameter_or_wrong_type_is_named(iris) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParamsError, match="unknown 'svm'"):
        estimator_class("svm")
    with pytest.raises(ParamsError, match=r"train\.hyperparameters: Invalid parameter 'n_trees'"):
        build_estimator("random_forest", {"n_trees": 3}, seed=0)
    train, _, spec = iris
    estimator = build_estimator("logistic_regression", {"C": "strong"}, seed=0)
    with pytest.raises(ParamsError, match="'C' parameter"):
        fit(estimator, to_matrix(train, spec), to_labels(train, spec))


def test_to_matrix_follows_the_spec_not_the_frame(iris) -> None:  # type: ignore[no-untyped-def]
    """So predictions do not depend on the order of a frame's columns."""
    train, _, spec = iris
    shuffled = train[list(reversed(train.columns))]
    np.testing.assert_array_equal(to_matrix(train, spec), to_matrix(shuffled, spec))
    with pytest.raises(DataError, match="missing"):
        to_matrix(train.drop(columns=spec.feature_names[0]), spec)


def _fitted(dataset, name: str | None = None):  # type: ignore[no-untyped-def]
    train, _, spec = dataset
    small = {"n_estimators": 10} if name and "forest" in name else {}
    estimator = build_estimator(name or DEFAULTS[spec.task], small, seed=42)
    return fit(estimator, to_matrix(train, spec), to_labels(train, spec))


@pytest.mark.parametrize("forest", [False, True])
def test_training_is_deterministic_to_the_byte(dataset, forest: bool) -> None:  # type: ignore[no-untyped-def]
    _, _, spec = dataset
    name = {"classification": "random_forest", "regression": "random_forest_regressor"}
    chosen = name[spec.task] if forest else None
    first, second = _fitted(dataset, chosen), _fitted(dataset, chosen)
    assert bundle.dumps(first) == bundle.dumps(second)


def test_default_model_beats_the_baseline(dataset) -> None:  # type: ignore[no-untyped-def]
    train, test, spec = dataset
    model = _fitted(dataset)
    test_x, test_y = to_matrix(test, spec), to_labels(test, spec)
    dummy = baseline(spec.task, to_matrix(train, spec), to_labels(train, spec))
    metric = "f1_macro" if spec.task == "classification" else "rmse"
    decision = gate(
        metric,
        score(model, spec.task, test_x, test_y),
        score(dummy, spec.task, test_x, test_y),
        0.1,
    )
    assert decision["passed"], decision["description"]
    if spec.classes:  # class names, in the spec's order (serving maps probabilities by it)
        assert list(model.classes_) == spec.classes


def test_data_the_estimator_refuses_is_a_data_error() -> None:
    model = build_estimator("logistic_regression", {}, seed=0)
    labels = np.array(["a"] * 10, dtype=object)
    with pytest.raises(DataError, match=r"refused the training data.*2 classes"):
        fit(model, np.arange(10.0).reshape(-1, 1), labels)
