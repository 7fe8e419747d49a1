"""Stage register: add test metrics, register the model, export the bundle. Yours to edit."""

from __future__ import annotations

import json
import os
from datetime import datetime

from .. import bundle
from ..config import Params
from ..errors import GateFailed
from ..features import DatasetSpec
from ..paths import ProjectPaths
from ..tracking import check_reachable, register, tracking_uri
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Writes models/model.skops + models/model.json with version = registry version."""
    report = json.loads(paths.metrics.read_text(encoding="utf-8"))
    if not report["gate"]["passed"]:  # evaluate already stopped DVC; this guards manual runs
        raise GateFailed(report["gate"]["description"])
    check_reachable(tracking_uri())
    info = json.loads(paths.run_info.read_text(encoding="utf-8"))
    spec = DatasetSpec.load(paths.spec)
    metrics = {f"test_{k}": v for k, v in report["model"].items()}
    metrics |= {f"baseline_{k}": v for k, v in report["baseline"].items()}
    tracking = params.tracking
    experiment = os.environ.get("DVC_EXP_NAME")  # set by `dvc exp run`
    version = register(
        info["model_uri"],
        tracking.registered_model,
        tracking.alias,
        info["run_id"],
        metrics=metrics,
        experiment=experiment,
    )
    bundle.save_bundle(
        bundle.load(paths.trained_model),
        paths.models_dir,
        name=tracking.registered_model,
        version=version,
        spec=spec,
        metrics=report["model"],
        trained_at=datetime.fromisoformat(info["trained_at"]),
    )
    if experiment:
        print(
            f"register: {tracking.registered_model} version {version} (experiment {experiment}); "
            f"@{tracking.alias} not moved (to promote: `dvc exp apply {experiment}`, commit, "
            "`dvc repro --force --single-item register`)"
        )
    else:
        print(f"register: {tracking.registered_model} version {version} is now @{tracking.alias}")


if __name__ == "__main__":
    run("register", main)
