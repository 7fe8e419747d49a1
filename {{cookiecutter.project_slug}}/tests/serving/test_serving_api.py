"""The API's normal behaviour: predictions, info, health, metrics, docs. Yours to edit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import app_client, valid_row
from fastapi.testclient import TestClient

from {{ cookiecutter.__package_name }}.bundle import load_bundle
from {{ cookiecutter.__package_name }}.serving.cli import json_formatter


def test_predictions_match_the_model_in_process_one_row_or_a_batch(any_model_dir: Path) -> None:
    model, metadata = load_bundle(any_model_dir)
    features = metadata.spec.features
    shares = (0.25, 0.5, 0.75)
    rows = [{f.name: f.minimum + k * (f.maximum - f.minimum) for f in features} for k in shares]
    rows += [{f.name: f.minimum for f in features}, {f.name: f.maximum for f in features}]
    with app_client(any_model_dir) as client:
        batch = client.post("/predict/batch", json={"rows": rows}).json()
        singles = [client.post("/predict", json=row).json() for row in rows]
        metrics = client.get("/metrics").text
    matrix = np.array([[row[name] for name in metadata.spec.feature_names] for row in rows])
    expected = model.predict(matrix)
    assert batch["model_version"] == metadata.version
    answers = [single["prediction"] for single in singles]
    assert [one["prediction"] for one in batch["predictions"]] == pytest.approx(answers)
    for single, value in zip(singles, expected, strict=True):
        assert single["model_name"] == metadata.name
        assert single["model_version"] == metadata.version
        if metadata.spec.task == "regression":
            assert single["prediction"] == pytest.approx(float(value), rel=1e-9)
            assert "serving_predicted_value_count 10.0" in metrics  # a histogram of values
            assert set(single) == {"model_name", "model_version", "prediction_id", "prediction"}
            continue
        classes = metadata.spec.classes or []
        label = value if isinstance(value, str) else classes[int(value)]
        probabilities = single["probabilities"]
        assert set(probabilities) == set(classes)
        assert abs(sum(probabilities.values()) - 1) < 1e-9
        assert single["prediction"] == label == max(probabilities, key=probabilities.__getitem__)
        assert 'serving_predicted_class_total{label="' + label + '"}' in metrics  # per class


def test_model_endpoint_and_health_describe_the_bundle(client: TestClient, iris_dir: Path) -> None:
    _, metadata = load_bundle(iris_dir)
    body = client.get("/model").json()
    assert (body["name"], body["version"], body["metrics"]) == ("iris", "3", {"accuracy": 0.97})
    assert body["trained_at"].startswith("2026-01-01")
    assert [f["name"] for f in body["features"]] == metadata.spec.feature_names
    assert body["classes"] == metadata.spec.classes
    assert client.get("/health/live").json() == {"status": "alive"}
    assert client.get("/health/ready").json()["model_version"] == "3"


def test_access_log_is_json_with_the_request_id(iris_dir: Path, serving_logs) -> None:
    """The client's X-Request-ID is echoed and logged; a missing or hostile one is replaced."""
    with app_client(iris_dir) as client:
        given = client.post(
            "/predict", json=valid_row(iris_dir), headers={"X-Request-ID": "log-me-1"}
        )
        generated = client.get("/health/live").headers["X-Request-ID"]
        hostile = client.get("/" + "a" * 500, headers={"X-Request-ID": "x" * 65})  # URL: cut
    assert given.headers["X-Request-ID"] == "log-me-1" and generated.count("-") == 4  # a UUID
    assert hostile.headers["X-Request-ID"] != "x" * 65
    records = [r for r in serving_logs.records if getattr(r, "path", None) == "/predict"]
    line = json.loads(json_formatter().format(records[-1]))
    assert line["request_id"] == "log-me-1"
    assert line["status"] == 200 and line["duration_ms"] >= 0
    assert any(getattr(r, "path", "") == "/" + "a" * 199 for r in serving_logs.records)


def test_metrics_count_requests_predictions_and_errors(client: TestClient, iris_dir: Path) -> None:
    client.post("/predict", json=valid_row(iris_dir))
    client.post("/predict", json={})
    client.post("/predict", content=b"x", headers={"Content-Type": "text/plain"})  # before routing
    client.get("/random-path-1")  # counted as handler "none": no new time series per URL
    client.request("BREW", "/predict")  # a 405 of /predict: nor per made-up method
    text = client.get("/metrics").text
    predict = 'http_requests_total{handler="/predict",status='
    for status in ('"200"} 1.0', '"405"} 1.0', '"415"} 1.0', '"422"} 1.0'):
        assert predict + status in text
    assert 'handler="none"' in text and "random-path" not in text and "BREW" not in text
    assert 'http_request_duration_seconds_bucket{handler="/predict"' in text
    assert "serving_ready 1.0" in text and "HELP http_requests_total Requests by handler" in text
    assert 'serving_model_info{name="iris",version="3"} 1.0' in text
    with app_client(iris_dir) as other:  # each app has its own registry
        assert predict not in other.get("/metrics").text


def test_docs_on_by_default_and_switchable_off(iris_dir: Path) -> None:
    with app_client(iris_dir) as client:
        assert client.get("/docs").status_code == 200  # /openapi.json: test_serving_schemas.py
    with app_client(iris_dir, docs_enabled=False) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404


def test_cors_is_off_by_default_then_only_for_listed_origins(iris_dir: Path) -> None:
    evil, app = {"Origin": "https://evil.example"}, {"Origin": "https://app.example"}
    with app_client(iris_dir) as client:
        preflight = client.options(
            "/predict", headers={**evil, "Access-Control-Request-Method": "POST"}
        )
        simple = client.get("/health/live", headers=evil)
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers
    with app_client(iris_dir, cors_origins=["https://app.example"]) as client:
        allowed = client.get("/health/live", headers=app)
        other = client.get("/health/live", headers=evil)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.skipif(
    find_spec("{{ cookiecutter.__package_name }}.images") is not None,
    reason="the image task's inputs are files: test_serving_images.py",
)
def test_every_row_of_the_test_split_is_accepted(prepared: Any, tmp_path: Path) -> None:
    """The API and data validation share one range rule: the project's own held-out rows,
    which passed validation, are never refused as out of range."""
    from sklearn.linear_model import LogisticRegression, Ridge  # noqa: PLC0415

    from {{ cookiecutter.__package_name }}.bundle import save_bundle  # noqa: PLC0415
    from {{ cookiecutter.__package_name }}.data import read_split  # noqa: PLC0415
    from {{ cookiecutter.__package_name }}.features import DatasetSpec  # noqa: PLC0415
    from {{ cookiecutter.__package_name }}.training import to_labels, to_matrix  # noqa: PLC0415

    _, paths = prepared
    spec = DatasetSpec.load(paths.spec)
    train, test = read_split(paths.train_data, spec), read_split(paths.test_data, spec)
    model = LogisticRegression(max_iter=1000) if spec.task == "classification" else Ridge()
    model.fit(to_matrix(train, spec), to_labels(train, spec))
    trained_at = datetime(2026, 1, 1, tzinfo=UTC)
    save_bundle(model, tmp_path / "models", name="split", version="1", spec=spec, metrics={},
                trained_at=trained_at)  # fmt: skip
    rows = json.loads(test[spec.feature_names].to_json(orient="records"))
    with app_client(tmp_path / "models") as client:
        response = client.post("/predict/batch", json={"rows": rows})
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == len(rows)
