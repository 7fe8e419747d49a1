"""Compare a window of traffic with the training data; write the reports. Plumbing, rarely edited.

Why one comparison for every task: drift is tested per column of a reference table: the
features, or for images the metadata the app logs per upload (never the image) against the
training images' (reports/images.csv). Live metrics from late labels sit beside it: drift
says the inputs moved, only labels say whether the predictions got worse.

Why two files: ``summary.json`` is for machines (the serving app turns it into the
``model_drift_share`` and ``model_needs_retraining`` gauges, CI reads ``needs_retraining``),
``report.html`` for people; it is self-contained (inline CSS, no scripts, no CDN), so it
opens offline and can be attached to a ticket as it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..bundle import atomic_write
from ..config import MonitorParams
from ..data import read_split
from ..errors import DataError
from ..evaluation import classification_metrics, regression_metrics
from ..features import DatasetSpec, Task
from ..paths import ProjectPaths
from .drift import column_drift
from .window import Window, load_window

TEMPLATE = Path(__file__).with_name("report.html.j2")
IMAGE_METADATA = ["width", "height", "brightness", "contrast"]  # logged per upload


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def reference_predictions(
    paths: ProjectPaths, spec: DatasetSpec, train: pd.DataFrame
) -> tuple[np.ndarray, str]:
    """What the served model predicts on the training data; its labels when no bundle exists."""
    from ..bundle import BundleError, load_bundle  # noqa: PLC0415 - skops is slow to import
    from ..training import to_labels, to_matrix  # noqa: PLC0415

    try:
        model, metadata = load_bundle(paths.models_dir)
    except BundleError as error:
        return to_labels(train, spec), f"training labels (no model bundle: {error})"
    predicted = model.predict(to_matrix(train, spec))
    return predicted, f"model {metadata.name} v{metadata.version} on the training data"


def _offline_metrics(paths: ProjectPaths) -> dict[str, float] | None:
    """The test-set metrics of the evaluate stage, to read the live ones against."""
    try:
        return dict(json.loads(paths.metrics.read_text(encoding="utf-8"))["model"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def reference_table(paths: ProjectPaths, spec: DatasetSpec, train: pd.DataFrame) -> pd.DataFrame:
    """The training rows the window is compared with, one column per monitored input."""
    if spec.image_size is None:
        return train[spec.feature_names]
    if not paths.image_metadata.is_file():
        raise DataError(f"{paths.image_metadata}: no image metadata (run `dvc repro validate`)")
    table = pd.read_csv(paths.image_metadata)
    return table.loc[table["split"] == "train", IMAGE_METADATA]


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
    predicted, actual = window.predictions[mask], window.outcomes[mask]
    if task == "classification":
        y_true, y_pred = actual.astype(str).to_numpy(), predicted.astype(str).to_numpy()
        metrics = classification_metrics(y_true, y_pred, None, sorted(set(y_true)))
    else:
        metrics = regression_metrics(actual.to_numpy(float), predicted.to_numpy(float))
        metrics = {k: v for k, v in metrics.items() if k != "r2" or math.isfinite(v)}
    result["metrics"] = {name: round(value, 6) for name, value in metrics.items()}
    return result


def build_summary(
    params: MonitorParams,
    paths: ProjectPaths,
    store: Path,
    *,
    since_hours: float | None = None,
    last: int | None = None,
    now: float | None = None,
) -> tuple[dict[str, Any], Window]:
    """Every number of the report, as JSON-ready data, and the window it was computed on."""
    if not paths.spec.is_file():
        raise DataError(f"{paths.spec}: no training reference (run `dvc repro` or `dvc pull`)")
    spec = DatasetSpec.load(paths.spec)
    train = read_split(paths.train_data, spec)
    reference = reference_table(paths, spec, train)
    window = load_window(store, list(reference), since_hours=since_hours, last=last, now=now)
    if len(window) < params.min_rows:
        raise DataError(  # no verdict is possible
            f"{len(window)} logged prediction(s) in the window, monitor.min_rows is "
            f"{params.min_rows}: wait for more traffic or widen it (--since, --last)"
        )
    current = window.inputs
    features = [  # one test per column, in the reference's order
        column_drift(name, reference[name].to_numpy(), current[name].to_numpy(), params.p_value)
        for name in reference
    ]
    drifted = [feature.name for feature in features if feature.drifted]
    drift_share = len(drifted) / len(features)
    # The served model's outputs against its outputs on the training data.
    reference_pred, source = reference_predictions(paths, spec, train)
    classes = spec.task == "classification"
    served = window.predictions if classes else pd.to_numeric(window.predictions, errors="coerce")
    prediction = column_drift(
        "prediction", reference_pred, served.to_numpy(), params.p_value, categorical=classes
    )
    summary = {
        "generated_at": _iso(now if now is not None else datetime.now(UTC).timestamp()),
        "task": spec.task,
        "needs_retraining": drift_share >= params.max_drift_share,
        "drift_share": round(drift_share, 6),
        "drifted_features": drifted,
        "thresholds": {"p_value": params.p_value, "max_drift_share": params.max_drift_share},
        "window": {
            "from": _iso(float(window.ts.min())),
            "to": _iso(float(window.ts.max())),
            "rows": len(window),
            "since_hours": since_hours,
            "last": last,
            "model_versions": window.model_versions,
            "store": str(store),
        },
        "reference": {
            "data": str(paths.image_metadata if spec.image_size else paths.train_data),
            "rows": len(reference),
            "predictions": source,
        },
        "features": {feature.name: asdict(feature) for feature in features},
        "prediction_drift": asdict(prediction),
        "live": {
            **live_metrics(window, spec.task, params.min_feedback),
            "offline": _offline_metrics(paths),
        },
    }
    return summary, window


def write_reports(summary: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """summary.json and report.html (verdict, window, a table row and a bar chart per
    column) in ``directory`` (reports/monitoring/); their paths."""
    import jinja2  # noqa: PLC0415

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    written = directory / "summary.json", directory / "report.html"
    atomic_write(written[0], (json.dumps(summary, indent=2) + "\n").encode())
    atomic_write(written[1], template.render(summary=summary).encode())
    return written
