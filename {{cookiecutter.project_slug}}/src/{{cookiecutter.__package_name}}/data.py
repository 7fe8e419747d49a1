"""Load the dataset (bundled or a CSV), split it, describe it as a DatasetSpec. Yours to edit.

Why the input is read as is and checked later: the validate stage reports every problem
at once (which column, how many rows); here only what makes reading impossible fails.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.types import is_integer_dtype

from .errors import DataError
from .features import DatasetSpec, FeatureSpec, Task

BUNDLED_TARGETS = {"iris": "species", "diabetes": "progression"}
# A feature's line in the diabetes dataset's own description: "      - bmi     body mass index"
DESCR_FEATURE = re.compile(r"^[ \t]+- (\w+)[ \t]*(.*?)[ \t]*$", re.MULTILINE)


def snake_case(name: str) -> str:
    """'sepal length (cm)' -> 'sepal_length_cm': valid as a JSON field and a Python name."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def load_bundled(name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """A bundled scikit-learn dataset as a frame, plus a description per column."""
    from sklearn import datasets  # noqa: PLC0415 - only needed for the bundled data

    if name == "iris":
        bunch = datasets.load_iris(as_frame=True)
        frame = bunch.frame.rename(columns=snake_case)
        frame[BUNDLED_TARGETS[name]] = np.asarray(bunch.target_names)[bunch.target.to_numpy()]
        descriptions = {snake_case(col): col for col in bunch.feature_names}
    elif name == "diabetes":
        bunch = datasets.load_diabetes(as_frame=True)
        frame = bunch.frame.rename(columns={"target": BUNDLED_TARGETS[name]})
        described = dict(DESCR_FEATURE.findall(bunch.DESCR))
        descriptions = {
            col: f"{described.get(col) or col} (mean-centred, scaled)"
            for col in bunch.feature_names
        }
    else:
        raise DataError(f"unknown bundled dataset {name!r} (choose {sorted(BUNDLED_TARGETS)})")
    return frame.drop(columns="target", errors="ignore"), descriptions


def read_csv(path: Path, target: str) -> pd.DataFrame:
    """Read a user CSV, turning every way it can be unreadable into one clear line."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (data.source in params.yaml)") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as error:
        detail = str(error).strip().splitlines()[-1]
        raise DataError(f"{path}: not a valid CSV file ({detail})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (is it really a CSV file?)") from None
    if frame.empty:
        raise DataError(f"{path}: has a header but no data rows")
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(f"{path}: target column {target!r} not found (columns: {columns})")
    return frame


def load_source(source: str, target: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame named by ``data.source``: a bundled dataset or a CSV path."""
    if source in BUNDLED_TARGETS:
        if target != BUNDLED_TARGETS[source]:
            raise DataError(
                f"data.target must be {BUNDLED_TARGETS[source]!r} for the bundled {source} data"
            )
        return load_bundled(source)
    return read_csv(Path(source), target), {}


def select_columns(frame: pd.DataFrame, target: str, features: list[str] | None) -> pd.DataFrame:
    """Keep the listed features (in that order) and the target; None keeps every column."""
    # exercise M1.1: Keep the listed feature columns in order, plus the target
    if features is None:
        return frame
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise DataError(
            f"data.features lists columns that are not in the data: {', '.join(missing)} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    return frame[[*features, target]]
    # end exercise


def split(
    frame: pd.DataFrame, target: str, task: Task, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle and split with a fixed seed; stratify classes when that is possible."""
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    labels = frame[target]
    stratify = None
    if task == "classification":
        check_classes(labels, target)
        if labels.notna().all():
            stratify = labels.astype(str)
    try:
        train, test = train_test_split(
            frame, test_size=test_size, random_state=seed, stratify=stratify
        )
    except ValueError as error:
        raise DataError(
            f"cannot split {len(frame)} rows (test_size={test_size}): {error}"
        ) from None
    return train.reset_index(drop=True), test.reset_index(drop=True)


def check_classes(labels: pd.Series, target: str) -> None:
    """At least 2 classes, else training fails two stages later. (A class too rare to be in
    both splits is refused by scikit-learn's stratified split, which names it.)"""
    counts = labels.dropna().astype(str).value_counts()
    if len(counts) < 2:
        found = f"1 class ({counts.index[0]!r})" if len(counts) else "no labels"
        raise DataError(f"target column {target!r}: {found}, a classifier needs at least 2")


def derive_spec(
    train: pd.DataFrame,
    target: str,
    task: Task,
    descriptions: dict[str, str] | None = None,
    range_tolerance: float = 0.0,
) -> DatasetSpec:
    """Describe the training data: feature ranges, dtypes and the class set."""
    descriptions = descriptions or {}
    features = []
    for name in (col for col in train.columns if col != target):
        column = train[name]
        numeric = pd.to_numeric(column, errors="coerce")
        finite = numeric[np.isfinite(numeric)]
        if finite.empty:
            raise DataError(f"column {name!r} has no numeric values: features must be numbers")
        dtype: Literal["float", "int"] = "int" if is_integer_dtype(column) else "float"
        features.append(
            FeatureSpec(
                name=str(name),
                dtype=dtype,
                minimum=float(finite.min()),
                maximum=float(finite.max()),
                description=descriptions.get(str(name), ""),
            )
        )
    classes = None
    if task == "classification":  # a regression target's values are not labels
        classes = sorted({str(value) for value in train[target].dropna()})
    return DatasetSpec(
        task=task,
        target=target,
        features=features,
        classes=classes,
        range_tolerance=range_tolerance,
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write without the index and with Unix line ends (same bytes on every OS)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def read_split(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """Read a split written by prepare; class labels stay strings ("1" is not 1)."""
    dtype = {spec.target: str} if spec.task == "classification" else None
    try:
        return pd.read_csv(path, dtype=dtype)
    except FileNotFoundError:
        raise DataError(f"{path}: not found (run `dvc repro prepare`)") from None


def files_sha256(*paths: Path) -> str:
    """One digest over several files: identifies the exact data a model was trained on."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()
