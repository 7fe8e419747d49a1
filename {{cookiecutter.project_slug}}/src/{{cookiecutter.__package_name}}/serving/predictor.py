"""The estimator behind the API: numpy in, checked numpy out, labels mapped through the spec.

Why a wrapper: the model may predict class indices (0, 1, 2) or labels ("setosa"); the
API always answers with ``spec.classes``. Rows are numpy arrays in ``spec.feature_names``
order (no DataFrame: no pandas, no feature-name warning per request).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn

from ..features import DatasetSpec


class ModelSpecMismatch(RuntimeError):
    """The model does not fit the spec it was exported with (never ready)."""


class ModelOutputError(RuntimeError):
    """The model returned something unusable (NaN, wrong shape) for a request."""


def class_labels(model: Any, spec: DatasetSpec) -> list[str]:
    """Label of each column of ``predict_proba`` (the model's ``classes_`` order)."""
    known = list(spec.classes or [])
    raw = getattr(model, "classes_", None)
    if raw is None or not known:
        raise ModelSpecMismatch("a classifier needs `classes_` and spec.classes")
    labels = []
    for value in list(raw):
        if isinstance(value, (str, np.str_)):
            label = str(value)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            index = int(value)
            if not 0 <= index < len(known):
                raise ModelSpecMismatch(f"class index {index} outside spec.classes")
            label = known[index]
        else:
            raise ModelSpecMismatch(f"unsupported class type {type(value).__name__}")
        if label not in known:
            raise ModelSpecMismatch(f"class {label!r} is not in spec.classes")
        labels.append(label)
    if len(set(labels)) != len(labels):
        raise ModelSpecMismatch("the model's classes map to duplicate labels")
    return labels


def trust_inputs() -> None:
    """Skip scikit-learn's NaN/infinity scan of the input, in the calling thread.

    The request schemas already refuse NaN and infinity (and out-of-range values), so the
    scan is redundant; it was ~20 % of a single-row ``predict_proba``. scikit-learn keeps
    this setting per thread: the event loop and the inference thread each call this.
    Outputs are still checked (``Predictor.__call__``).
    """
    sklearn.set_config(assume_finite=True)


class Predictor:
    """Runs the estimator on a 2-D float array and checks what comes back."""

    def __init__(self, model: Any, spec: DatasetSpec) -> None:
        self.model = model
        self.spec = spec
        self.n_features = len(spec.features)
        self.labels: list[str] = []
        self.has_proba = False
        if spec.task == "classification":
            self.labels = class_labels(model, spec)
            self.has_proba = callable(getattr(model, "predict_proba", None))
        expected = getattr(model, "n_features_in_", self.n_features)
        if expected != self.n_features:
            raise ModelSpecMismatch(
                f"model expects {expected} features, spec lists {self.n_features}"
            )

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities (n, classes), label indices (n,) or values (n,); always finite."""
        if self.has_proba:
            out = np.asarray(self.model.predict_proba(rows), dtype=np.float64)
            expected_shape: tuple[int, ...] = (len(rows), len(self.labels))
        elif self.labels:
            predicted = [str(self.label_of(value)) for value in self.model.predict(rows)]
            out = np.array([self.labels.index(label) for label in predicted], dtype=np.float64)
            expected_shape = (len(rows),)
        else:
            out = np.asarray(self.model.predict(rows), dtype=np.float64).reshape(-1)
            expected_shape = (len(rows),)
        if out.shape != expected_shape:
            raise ModelOutputError(f"model returned shape {out.shape}, expected {expected_shape}")
        if not np.isfinite(out).all():
            raise ModelOutputError("model returned NaN or infinity")
        return out

    def answers(self, outputs: np.ndarray) -> list[dict[str, Any]]:
        """Turn ``__call__``'s array into one JSON-ready answer per row (in the worker thread)."""
        if not self.labels:
            return [{"prediction": value} for value in outputs.tolist()]
        if self.has_proba:
            chosen = [self.labels[i] for i in outputs.argmax(axis=1).tolist()]
            return [
                {"prediction": label, "probabilities": dict(zip(self.labels, row, strict=True))}
                for label, row in zip(chosen, outputs.tolist(), strict=True)
            ]
        return [
            {"prediction": self.labels[int(i)], "probabilities": None} for i in outputs.tolist()
        ]

    def label_of(self, value: Any) -> str:
        """Map one raw ``predict`` output (index or label) to a spec label."""
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return (self.spec.classes or [])[int(value)]
        return str(value)

    def warm_up(self) -> np.ndarray:
        """Predict the corners and middle of the spec's ranges; raises if anything is off."""
        low = np.array([f.minimum for f in self.spec.features], dtype=np.float64)
        high = np.array([f.maximum for f in self.spec.features], dtype=np.float64)
        rng = np.random.default_rng(0)
        sample = low + rng.random((256, self.n_features)) * (high - low)
        rows = np.vstack([low, high, (low + high) / 2, sample])
        return self(rows)
