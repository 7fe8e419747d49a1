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


def test_predict_one_row_matches_the_model_in_process(any_model_dir: Path) -> None:
    model, metadata = load_bundle(any_model_dir)
    row = valid_row(any_model_dir)
    with app_client(any_model_dir) as client:
        response = client.post("/predict", json=row)
    assert response.status_code == 200
    body = response.json()
    assert body["model_name"] == metadata.name
    assert body["model_version"] == metadata.version
    matrix = np.array([[row[name] for name in metadata.spec.feature_names]])
    if metadata.spec.task == "regression":
        assert body["prediction"] == pytest.approx(float(model.predict(matrix)[0]), rel=1e-9)
        assert set(body) == {"model_name", "model_version", "prediction_id", "prediction"}
    else:
        classes = metadata.spec.classes or []
        probabilities = body["probabilities"]
        assert list(probabilities) == classes or set(probabilities) == set(classes)
        assert abs(sum(probabilities.values()) - 1) < 1e-9
        expected = model.predict(matrix)[0]
        expected_label = expected if isinstance(expected, str) else classes[int(expected)]
        assert body["prediction"] == expected_label
        assert max(probabilities, key=probabilities.__getitem__) == expected_label


def test_batch_keeps_order_and_matches_single_rows(any_model_dir: Path) -> None:
    _, metadata = load_bundle(any_model_dir)
    features = metadata.spec.features
    rows = [{f.name: f.minimum for f in features}, {f.name: f.maximum for f in features}]
    for fraction in (0.25, 0.5, 0.75):
        rows.append({f.name: f.minimum + fraction * (f.maximum - f.minimum) for f in features})
    with app_client(any_model_dir) as client:
        batch = client.post("/predict/batch", json={"rows": rows})
        singles = [client.post("/predict", json=row).json() for row in rows]
    assert batch.status_code == 200
    predictions = batch.json()["predictions"]
    assert len(predictions) == len(rows)
    for one, single in zip(predictions, singles, strict=True):
        expected = single["prediction"]
        if isinstance(expected, float):
            expected = pytest.approx(expected, rel=1e-9)
        assert one["prediction"] == expected
    assert batch.json()["model_version"] == metadata.version


def test_model_endpoint_describes_the_bundle(client: TestClient, iris_dir: Path) -> None:
    _, metadata = load_bundle(iris_dir)
    body = client.get("/model").json()
    assert body["name"] == "iris"
    assert body["version"] == "3"
    assert body["metrics"] == {"accuracy": 0.97}
    assert body["trained_at"].startswith("2026-01-01")
    assert [f["name"] for f in body["features"]] == metadata.spec.feature_names
    assert body["classes"] == metadata.spec.classes


def test_health_when_ready(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "alive"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == "3"


def test_request_id_is_echoed_generated_or_replaced(client: TestClient) -> None:
    given = client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health/live").headers["X-Request-ID"]
    assert len(generated) == 32
    hostile = client.get("/health/live", headers={"X-Request-ID": "x" * 65})
    assert hostile.headers["X-Request-ID"] != "x" * 65


def test_access_log_is_json_with_the_request_id(iris_dir: Path, serving_logs) -> None:
    with app_client(iris_dir) as client:
        client.post("/predict", json=valid_row(iris_dir), headers={"X-Request-ID": "log-me-1"})
    records = [r for r in serving_logs.records if getattr(r, "path", None) == "/predict"]
    assert records and records[-1].status == 200

    line = json.loads(json_formatter().format(records[-1]))
    assert line["request_id"] == "log-me-1"
    assert line["status"] == 200 and line["duration_ms"] >= 0


def test_metrics_count_requests_predictions_and_errors(client: TestClient, iris_dir: Path) -> None:
    client.post("/predict", json=valid_row(iris_dir))
    client.post("/predict", json={})
    client.post("/predict", content=b"x", headers={"Content-Type": "text/plain"})  # before routing
    client.get("/random-path-1")  # counted as handler "none": no new time series per URL
    text = client.get("/metrics").text
    predict = 'http_requests_total{handler="/predict",method="POST",status='
    for status in ('"200"} 1.0', '"415"} 1.0', '"422"} 1.0'):
        assert predict + status in text
    assert 'handler="none"' in text and "random-path" not in text
    assert 'http_request_duration_seconds_bucket{handler="/predict"' in text
    assert 'serving_predicted_class_total{label="versicolor"}' in text
    assert "serving_ready 1.0" in text
    with app_client(iris_dir) as other:  # each app has its own registry
        assert predict not in other.get("/metrics").text


def test_regression_metrics_have_a_value_histogram(diabetes_dir: Path) -> None:
    with app_client(diabetes_dir) as client:
        client.post("/predict", json=valid_row(diabetes_dir))
        text = client.get("/metrics").text
    assert "serving_predicted_value_count 1.0" in text


def test_docs_on_by_default_and_switchable_off(iris_dir: Path) -> None:
    with app_client(iris_dir) as client:
        assert client.get("/docs").status_code == 200
        assert client.get("/openapi.json").status_code == 200
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
