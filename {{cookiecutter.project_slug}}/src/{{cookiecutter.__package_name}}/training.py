"""Build and fit the estimator named in params.yaml. Yours to edit.

Why a registry of allowed estimators: params.yaml stays declarative and reviewable, an
unknown name or hyperparameter is refused up front, and every allowed model serializes
with skops using scikit-learn types only.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from .bundle import MODEL_TYPES
from .errors import DataError, ParamsError
from .features import DatasetSpec


def estimator_class(name: str) -> type:
    """The scikit-learn class registered under ``name``: the first of its reviewed types
    in ``bundle.MODEL_TYPES``, the one table of allowed estimators."""
    if name not in MODEL_TYPES:
        raise ParamsError(f"train.estimator: unknown {name!r} (allowed: {sorted(MODEL_TYPES)})")
    module, _, cls = MODEL_TYPES[name][0].rpartition(".")
    return getattr(importlib.import_module(module), cls)


def build_estimator(name: str, hyperparameters: dict[str, Any], seed: int) -> Any:
    """An unfitted estimator; scikit-learn names an unknown hyperparameter and the valid ones."""
    # exercise M2.1: Build the estimator named in params.yaml, refusing unknown hyperparameters
    estimator = estimator_class(name)()
    settings = dict(hyperparameters)
    if "random_state" in estimator.get_params():
        settings.setdefault("random_state", seed)
    try:
        return estimator.set_params(**settings)
    except ValueError as error:
        raise ParamsError(f"train.hyperparameters: {error}") from None
    # end exercise


def to_matrix(frame: Any, spec: DatasetSpec) -> np.ndarray:
    """Features as a float array in the spec's column order, whatever the frame's order."""
    if spec.image_size is not None:  # a file list: the features are the images' pixels
        from .images import pixel_matrix  # noqa: PLC0415 - the image task only

        return pixel_matrix(frame["path"], spec.image_size)
    missing = [name for name in spec.feature_names if name not in frame.columns]
    if missing:
        raise DataError(f"feature column(s) missing: {', '.join(missing)}")
    return frame[spec.feature_names].to_numpy(dtype=np.float64)


def to_labels(frame: Any, spec: DatasetSpec) -> np.ndarray:
    """Targets: class names as strings (classification) or floats (regression)."""
    values = frame[spec.target]
    if spec.task == "classification":
        return values.astype(str).to_numpy(dtype=object)
    return values.to_numpy(dtype=np.float64)


def fit(estimator: Any, features: np.ndarray, labels: np.ndarray) -> Any:
    """Fit; scikit-learn's refusals become one line: bad parameters or unusable data."""
    from sklearn.utils._param_validation import InvalidParameterError  # noqa: PLC0415

    try:
        return estimator.fit(features, labels)
    except InvalidParameterError as error:
        raise ParamsError(f"train.hyperparameters: {error}") from None
    except ValueError as error:  # e.g. one class only: the data, not the code, is wrong
        first = str(error).strip().splitlines()[0]
        raise DataError(f"the estimator refused the training data: {first}") from None
