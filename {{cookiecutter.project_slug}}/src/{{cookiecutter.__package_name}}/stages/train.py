"""Stage train: fit the estimator and log one MLflow run with the model. Yours to edit."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from .. import bundle
from ..config import Params
from ..data import files_sha256, read_split
from ..features import DatasetSpec
from ..paths import ProjectPaths
from ..tracking import check_reachable, git_commit, log_training_run, tracking_uri
from ..training import build_estimator, fit, to_labels, to_matrix
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Writes artifacts/train/model.skops and run.json (run id, model URI, emissions)."""
    check_reachable(tracking_uri())  # before training: fail in 2 s, not after the fit
    cfg = params.train
    spec = DatasetSpec.load(paths.spec)
    frame = read_split(paths.train_data, spec)
    features, labels = to_matrix(frame, spec), to_labels(frame, spec)
    estimator = build_estimator(cfg.estimator, dict(cfg.hyperparameters), cfg.seed)
    with measure_emissions(params) as emission_metrics:
        model = fit(estimator, features, labels)
    data = bundle.dumps(model)
    dataset_sha256 = files_sha256(paths.train_data, paths.test_data)
    commit = git_commit()
    logged = log_training_run(
        experiment=params.tracking.experiment,
        model=model,
        params={
            "estimator": cfg.estimator,
            "seed": cfg.seed,
            "data_source": params.data.source,
            "test_size": params.data.test_size,
            "train_rows": len(frame),
            **{f"hp_{k}": v for k, v in sorted(model.get_params().items())},
        },
        metrics={"train_score": float(model.score(features, labels)), **emission_metrics},
        tags={"git_commit": commit, "dataset_sha256": dataset_sha256, "stage": "train"},
        input_example=pd.DataFrame(features[:3], columns=spec.feature_names).astype(
            {feature.name: feature.dtype for feature in spec.features}
        ),
        trusted_types=bundle.trusted_types(data),
    )
    paths.trained_model.parent.mkdir(parents=True, exist_ok=True)
    paths.trained_model.write_bytes(data)
    info: dict[str, Any] = {
        "run_id": logged.run_id,
        "model_uri": logged.model_uri,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "dataset_sha256": dataset_sha256,
    }
    if params.emissions is not None:
        info["country_iso_code"] = params.emissions.country_iso_code
        info["emissions"] = {**emission_metrics, "tracked": params.emissions.enabled}
    paths.run_info.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"train: {cfg.estimator} logged as MLflow run {logged.run_id}")


@contextmanager
def measure_emissions(params: Params) -> Iterator[dict[str, float]]:
    """CodeCarbon's offline tracker around the block (the country in params.yaml gives the
    carbon intensity, no network) once params.yaml has an enabled `emissions:` section (course
    milestone M3 on); the dict it yields holds the measures when the block ends."""
    measured: dict[str, float] = {}
    if params.emissions is None or not params.emissions.enabled:
        yield measured
        return
    os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")  # the only fully quiet switch
    from codecarbon import OfflineEmissionsTracker  # noqa: PLC0415 - slow start-up, from M3 on

    country = params.emissions.country_iso_code
    with OfflineEmissionsTracker(country_iso_code=country, save_to_file=False) as tracker:
        yield measured
    found = tracker.final_emissions_data
    measured.update(emissions_kg=found.emissions, energy_kwh=found.energy_consumed)
    measured["training_duration_s"] = found.duration


if __name__ == "__main__":
    run("train", main)
