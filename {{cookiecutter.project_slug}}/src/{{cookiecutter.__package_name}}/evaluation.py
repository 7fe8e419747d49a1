"""Test-set metrics, a naive baseline, the quality gate, feature importance. Yours to edit.

Why a baseline: a metric alone says little; "beats predicting the majority class (or
the mean) by 10 %" is a claim a reviewer can check. Why permutation importance
(scikit-learn): it needs only ``score``, so it works for every estimator in params.yaml, and
it is measured on the held-out split.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import write_csv
from .features import Task

LOWER_IS_BETTER = {"rmse", "mae"}
N_REPEATS = 10  # shuffles per feature: mean and spread of the score drop


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes: list[str]
) -> dict[str, float]:
    """Accuracy, macro F1 and (when probabilities exist) one-vs-rest macro ROC AUC."""
    from sklearn import metrics  # noqa: PLC0415

    result = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }
    if proba is not None and len(set(y_true)) > 1:
        scores = proba[:, 1] if len(classes) == 2 else proba  # two classes: the second's
        auc = metrics.roc_auc_score(y_true, scores, multi_class="ovr", labels=classes)
        result["roc_auc"] = float(auc)
    return result


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R2."""
    from sklearn import metrics  # noqa: PLC0415

    return {
        "rmse": float(math.sqrt(metrics.mean_squared_error(y_true, y_pred))),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "r2": float(metrics.r2_score(y_true, y_pred)),
    }


def score(model: Any, task: Task, features: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """The task's metrics for a fitted model."""
    y_pred = model.predict(features)
    if task == "regression":
        result = regression_metrics(y_true, y_pred)
    else:
        proba = model.predict_proba(features) if hasattr(model, "predict_proba") else None
        result = classification_metrics(y_true, y_pred, proba, [str(c) for c in model.classes_])
    # exercise M2.4: Add a test metric of your own (register logs it to MLflow as test_<name>)
    from sklearn import metrics  # noqa: PLC0415

    own = metrics.max_error if task == "regression" else metrics.balanced_accuracy_score
    result[own.__name__] = float(own(y_true, y_pred))
    # end exercise
    return result


def baseline(task: Task, train_x: np.ndarray, train_y: np.ndarray) -> Any:
    """Majority class or mean: what a model must beat to be worth anything."""
    # exercise M2.2: Fit the naive baseline: majority class or mean
    from sklearn.dummy import DummyClassifier, DummyRegressor  # noqa: PLC0415

    dummy = DummyClassifier(strategy="most_frequent") if task == "classification" else None
    return (dummy or DummyRegressor(strategy="mean")).fit(train_x, train_y)
    # end exercise


def gate(
    metric: str, model: dict[str, float], base: dict[str, float], required: float
) -> dict[str, Any]:
    """The decision as reports/metrics.json records it (``gate``): the relative improvement
    over the baseline, in the metric's better direction, against the required margin, and
    ``description``, one line for logs and the error message."""
    ours, theirs = model[metric], base[metric]
    gain = theirs - ours if metric in LOWER_IS_BETTER else ours - theirs
    improvement = gain / abs(theirs) if theirs else (math.inf if gain > 0 else 0.0)
    passed = improvement >= required
    description = (
        f"quality gate {'passed' if passed else 'FAILED'}: {metric} {ours:.4g} vs baseline "
        f"{theirs:.4g} (improvement {improvement:+.1%}, required {required:+.1%})"
    )
    return {
        "metric": metric,
        "improvement": round(improvement, 6),
        "required": required,
        "passed": passed,
        "description": description,
    }


def write_predictions(path: Path, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """actual,predicted per test row: DVC draws it (confusion matrix or scatter). Floats are
    rounded so the file is short and the same on every platform."""
    write_csv(pd.DataFrame({"actual": y_true, "predicted": y_pred}).round(6), path)


def global_importance(
    model: Any, x: np.ndarray, y: np.ndarray, names: list[str], seed: int
) -> dict[str, dict[str, float]]:
    """Drop in the model's score when each feature is shuffled, largest first."""
    from sklearn.inspection import permutation_importance  # noqa: PLC0415

    found = permutation_importance(model, x, y, n_repeats=N_REPEATS, random_state=seed)
    order = np.argsort(-found.importances_mean)
    return {
        names[i]: {"mean": float(found.importances_mean[i]), "std": float(found.importances_std[i])}
        for i in order
    }


def write_importance(importance: dict[str, dict[str, float]], json_path: Path, png: Path) -> None:
    """reports/importance.json for the model card, and a bar chart for people."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")  # no display in CI or containers
    import matplotlib.pyplot as plt  # noqa: PLC0415

    json_path.write_text(json.dumps(importance, indent=2) + "\n", encoding="utf-8")
    names = list(importance)[::-1]
    fig, axis = plt.subplots(figsize=(6, 1 + 0.35 * len(names)))
    axis.barh(names, [importance[n]["mean"] for n in names],
              xerr=[importance[n]["std"] for n in names])  # fmt: skip
    axis.set_xlabel("drop in score when shuffled (permutation importance, test split)")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, bbox_inches="tight", dpi=100)
    plt.close(fig)
