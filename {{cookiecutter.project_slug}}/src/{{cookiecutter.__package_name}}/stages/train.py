"""Stage train: fit the estimator and log one MLflow run with the model. Yours to edit."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from .. import serialization
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
    with _emissions_tracker(params) as emissions:
        model = fit(estimator, features, labels)
    data = serialization.dumps(model)
    emission_metrics = (
        {
            "emissions_kg": emissions.emissions_kg,
            "energy_kwh": emissions.energy_kwh,
            "training_duration_s": emissions.duration_s,
        }
        if emissions is not None
        else {}
    )
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
        input_example=(
            frame[spec.feature_names].head(3)
            if spec.image_size is None  # the image task's rows are files: its pixels instead
            else pd.DataFrame(features[:3], columns=spec.feature_names)
        ),
        trusted_types=serialization.trusted_types(data),
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
    if emissions is not None and params.emissions is not None:
        info["country_iso_code"] = params.emissions.country_iso_code
        info["emissions"] = {**emission_metrics, "tracked": emissions.tracked}
    paths.run_info.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"train: {cfg.estimator} logged as MLflow run {logged.run_id}")


def _emissions_tracker(params: Params) -> AbstractContextManager[Any]:
    """CodeCarbon around the fit once params.yaml has its section (course milestone M3 on,
    which also brings ``emissions.py``)."""
    if params.emissions is None:
        return nullcontext(None)
    from ..emissions import track  # noqa: PLC0415 - absent before milestone M3

    return track(params.emissions.country_iso_code, params.emissions.enabled)


if __name__ == "__main__":
    run("train", main)
