"""Live metrics from feedback: the served model on the labels that came back. Yours to edit.

Why separate from drift: drift says the inputs moved; only late labels say whether the
predictions got worse. Both go in the summary, next to the offline test metrics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..evaluation import classification_metrics, regression_metrics
from ..features import Task
from .window import Window


def live_metrics(window: Window, task: Task, min_feedback: int) -> dict[str, Any]:
    """Accuracy and macro F1 (classification) or MAE and RMSE (regression) on labelled rows.

    The metrics are ``None`` while fewer than ``min_feedback`` labelled rows exist: a score
    on a handful of labels moves with every new one and should not trigger anything.
    """
    mask = window.labelled.to_numpy()
    labelled = int(mask.sum())
    result: dict[str, Any] = {
        "labelled": labelled,
        "labelled_share": labelled / len(window) if len(window) else 0.0,
        "min_feedback": min_feedback,
        "metrics": None,
    }
    if labelled < max(min_feedback, 1):
        return result
    predicted = window.predictions[mask].to_numpy()
    actual = window.outcomes[mask].to_numpy()
    if task == "classification":
        y_true = np.array([str(value) for value in actual], dtype=object)
        y_pred = np.array([str(value) for value in predicted], dtype=object)
        metrics = classification_metrics(y_true, y_pred, None, sorted(set(y_true)))
    else:
        y_true = np.asarray(actual, dtype=np.float64)
        y_pred = np.asarray(predicted, dtype=np.float64)
        metrics = regression_metrics(y_true, y_pred)
        metrics = {k: v for k, v in metrics.items() if k != "r2" or math.isfinite(v)}
    result["metrics"] = {name: round(value, 6) for name, value in metrics.items()}
    return result
