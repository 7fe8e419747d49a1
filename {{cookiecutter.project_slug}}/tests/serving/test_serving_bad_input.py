"""Client mistakes get a 4xx naming the problem, never a 500. Yours to edit.

RELIABILITY rows S1-S8.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import app_client, valid_row
from fastapi.testclient import TestClient

from {{ cookiecutter.__package_name }}.bundle import METADATA_FILE

LEAK_MARKER = "LEAK_MARKER-VALUE-7f3a"
FIRST = "sepal length (cm)"  # first iris feature, range 4.3 .. 7.9
JSON = {"Content-Type": "application/json"}


def assert_clean_error(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """Expected status, JSON error body with the request id, nothing leaked."""
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, response.text
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-ID"]
    text = response.text
    leaks = (LEAK_MARKER, "Traceback", 'File "', "/site-packages/", '"input"', '"url"', '"ctx"')
    for leak in leaks:
        assert leak not in text
    return body


def locations(body: dict[str, Any]) -> list[list[Any]]:
    return [error["loc"] for error in body["detail"]]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (FIRST, "5.1", "float_type"),
        (FIRST, LEAK_MARKER, "float_type"),
        (FIRST, True, "float_type"),
        (FIRST, [5.1], "float_type"),
        (FIRST, {"v": 5.1}, "float_type"),
        (FIRST, None, "float_type"),
        (FIRST, ..., "missing"),
        ("colour", LEAK_MARKER, "extra_forbidden"),
    ],
)
def test_wrong_type_null_missing_or_unknown_field_is_422_naming_it(
    client: TestClient, iris_dir: Path, field: str, value: Any, error: str
) -> None:
    row = {**valid_row(iris_dir), field: value}
    sent = {name: v for name, v in row.items() if v is not ...}
    body = assert_clean_error(client.post("/predict", json=sent), 422)
    assert locations(body) == [["body", field]] and body["detail"][0]["type"] == error


@pytest.mark.parametrize(
    ("literal", "bound"),
    [("NaN", ""), ("Infinity", ""), ("-Infinity", ""), ("1e400", ""), ("-1e400", ""),
     ("4.2", "4.3"), ("8.0", "7.9"), ("-1e300", "4.3")],
)  # fmt: skip
def test_non_finite_or_out_of_range_is_422_naming_the_field(
    client: TestClient, iris_dir: Path, literal: str, bound: str
) -> None:
    """Python's json reads NaN, Infinity and 1e400 (infinite): never a 500 (S3, S4)."""
    row = valid_row(iris_dir)
    parts = [f'"{name}": {literal if name == FIRST else value}' for name, value in row.items()]
    response = client.post("/predict", content="{" + ", ".join(parts) + "}", headers=JSON)
    body = assert_clean_error(response, 422)
    assert locations(body) == [["body", FIRST]]
    assert bound in body["detail"][0]["msg"]


def test_the_spec_range_tolerance_widens_the_bounds(iris_dir: Path, tmp_path: Path) -> None:
    model_dir = shutil.copytree(iris_dir, tmp_path / "models")
    metadata = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    metadata["spec"]["range_tolerance"] = 0.1  # 10 % of 3.6 = 0.36 each side
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    with app_client(model_dir) as client:
        assert client.post("/predict", json={**valid_row(iris_dir), FIRST: 4.0}).status_code == 200
        response = client.post("/predict", json={**valid_row(iris_dir), FIRST: 3.9})
    assert "3.94" in assert_clean_error(response, 422)["detail"][0]["msg"]


def test_empty_batch_and_batch_over_the_limit(iris_dir: Path) -> None:
    row = valid_row(iris_dir)
    with app_client(iris_dir, max_batch=5) as client:
        body = assert_clean_error(client.post("/predict/batch", json={"rows": []}), 422)
        assert locations(body) == [["body", "rows"]]
        body = assert_clean_error(client.post("/predict/batch", json={"rows": [row] * 6}), 422)
        assert "5" in body["detail"][0]["msg"]
        assert client.post("/predict/batch", json={"rows": [row] * 5}).status_code == 200
        bad = [row, {**row, FIRST: "x"}]
        body = assert_clean_error(client.post("/predict/batch", json={"rows": bad}), 422)
        assert locations(body) == [["body", "rows", 1, FIRST]]
        many = {f"x{i}": 1 for i in range(30)}  # 34 errors: the answer lists the first 20
        assert len(assert_clean_error(client.post("/predict", json=many), 422)["detail"]) == 20


def test_body_over_the_limit_is_413_with_or_without_content_length(iris_dir: Path) -> None:
    def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1024

    with app_client(iris_dir, max_body_bytes=2048) as client:
        big = b'{"rows": [' + b" " * 4096 + b"]}"
        body = assert_clean_error(client.post("/predict/batch", content=big, headers=JSON), 413)
        assert "2048" in body["detail"]
        streamed = client.post("/predict", content=chunks(), headers=JSON)
        assert "content-length" not in streamed.request.headers
        assert_clean_error(streamed, 413)
        assert client.post("/predict", json=valid_row(iris_dir)).status_code == 200


@pytest.mark.parametrize(
    "content",
    [b'{"a": 1', b"\xff\xfe\xfd", b'{"a": "\xff"}', b"[" * 5000 + b"]" * 5000, b"", b"null"],
    ids=["truncated", "not-utf8", "bad-utf8-string", "deep-nesting", "empty", "null"],
)
def test_malformed_bodies_are_4xx_and_the_app_stays_healthy(
    client: TestClient, content: bytes
) -> None:
    for path in ("/predict", "/predict/batch"):
        assert_clean_error(client.post(path, content=content, headers=JSON), (400, 422))
    assert client.head("/health/ready").status_code == 200  # HEAD too


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/json; charset=latin-1", 415),
        (None, 415),
        ("application/json; charset=utf-8", 200),
        ("application/vnd.api+json", 200),
    ],
)
def test_only_utf8_json_is_accepted(
    client: TestClient, iris_dir: Path, content_type: str | None, status: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/predict", content=json.dumps(valid_row(iris_dir)), headers=headers)
    if status == 200:
        assert response.status_code == 200
    else:
        assert_clean_error(response, status)


def test_unknown_path_is_clean(client: TestClient) -> None:
    assert_clean_error(client.get("/nope"), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "POST"])
@pytest.mark.parametrize("path", ["/health/live", "/model", "/predict", "/feedback"])
def test_a_method_the_document_does_not_list_is_405(
    client: TestClient, method: str, path: str
) -> None:
    """Whatever the body: the wrong method is a 405, not a 415 (the OpenAPI contract)."""
    listed = client.get("/openapi.json").json()["paths"][path]
    if method.lower() in listed:
        return
    response = client.request(method, path, content=b"x", headers={"Content-Type": "text/plain"})
    assert_clean_error(response, 405)
    assert response.headers["allow"].lower() in listed  # the documented method, to retry with
