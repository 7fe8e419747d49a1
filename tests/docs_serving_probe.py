"""Print the serving app's real answers to bad requests, for the docs' FAQ.

Run with a generated project's Python, from the project's root:
``python docs_serving_probe.py <package>``. It trains the default model the way the
pipeline does (same params, split and spec; no MLflow, so it takes a second), saves the
bundle with the project's own ``save_bundle`` and asks the real app through FastAPI's
TestClient. Output: after ``SENTINEL``, one JSON object {case: "status body"}. The request
id is fixed so the bodies are the same on every run; recording is off, so the probe
leaves no prediction log in the project whose tree the docs also show.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REQUEST_ID = "docs-example"
# The app logs JSON lines to stdout too: the answers follow this line.
SENTINEL = "--- answers ---"


def answers(package: str) -> dict[str, str]:
    """Status line and body of each documented failure, keyed by case name."""
    from fastapi.testclient import TestClient

    config = importlib.import_module(f"{package}.config")
    data = importlib.import_module(f"{package}.data")
    training = importlib.import_module(f"{package}.training")
    bundle = importlib.import_module(f"{package}.bundle")
    app_module = importlib.import_module(f"{package}.serving.app")
    settings_module = importlib.import_module(f"{package}.serving.settings")

    params = config.load_params(Path("params.yaml"))
    frame, descriptions = data.load_source(params.data.source, params.data.target)
    frame = data.select_columns(frame, params.data.target, params.data.features)
    train, _ = data.split(
        frame, params.data.target, params.data.task, params.data.test_size, params.data.seed
    )
    spec = data.derive_spec(
        train, params.data.target, params.data.task, descriptions, params.data.range_tolerance
    )
    estimator = training.build_estimator(
        params.train.estimator, dict(params.train.hyperparameters), params.train.seed
    )
    model = training.fit(
        estimator, training.to_matrix(train, spec), training.to_labels(train, spec)
    )
    good = {f.name: (f.minimum + f.maximum) / 2 for f in spec.features}
    first = spec.features[0].name
    headers = {"X-Request-ID": REQUEST_ID}
    result: dict[str, str] = {}

    def show(case: str, response: Any) -> None:
        result[case] = f"{response.status_code} {response.text}"

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        app = app_module.create_app(
            settings_module.Settings(model_dir=empty, access_log=False, record_predictions=False)
        )
        with TestClient(app) as client:
            show("ready-no-model", client.get("/health/ready", headers=headers))
            show("predict-no-model", client.post("/predict", json=good, headers=headers))
        models = Path(tmp) / "models"
        bundle.save_bundle(
            model,
            models,
            name=params.tracking.registered_model,
            version="1",
            spec=spec,
            metrics={},
            trained_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        app = app_module.create_app(
            settings_module.Settings(model_dir=models, access_log=False, record_predictions=False)
        )
        with TestClient(app) as client:
            show(
                "out-of-range", client.post("/predict", json={**good, first: 1e6}, headers=headers)
            )
            show("string", client.post("/predict", json={**good, first: "5.1"}, headers=headers))
            missing = {k: v for k, v in good.items() if k != first}
            show("missing", client.post("/predict", json=missing, headers=headers))
            show(
                "not-json",
                client.post(
                    "/predict", content="a=1", headers={**headers, "Content-Type": "text/plain"}
                ),
            )
    return result


if __name__ == "__main__":
    result = answers(sys.argv[1])
    print(SENTINEL)
    print(json.dumps(result, indent=1))
