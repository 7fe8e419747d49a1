"""Exercise M4.2: a route of your own, GET /model/features, with its schema. Yours to edit.

`uv run pytest tests/serving/test_exercise_m4.py`; `ccmlops check` grades it (item `exercises-m4`).
"""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_m4_2_model_features_lists_the_inputs_in_the_models_order(client: TestClient) -> None:
    """GET /model/features answers the names GET /model describes, in the same order."""
    response = client.get("/model/features")
    assert response.status_code == 200, f"Task M4.2: GET /model/features: {response.status_code}"
    described = client.get("/model").json()["features"]
    assert response.json() == [feature["name"] for feature in described]
    assert "/model/features" in client.get("/openapi.json").json()["paths"]
