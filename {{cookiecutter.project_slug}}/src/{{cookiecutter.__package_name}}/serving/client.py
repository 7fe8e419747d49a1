"""A small client for the API, standard library only (usable from any script or notebook).

Example: ``ServingClient("http://127.0.0.1:8000").predict({"feature": 1.0, ...})``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from typing import Any


class ServingError(RuntimeError):
    """The API answered with an error; ``status``, ``detail`` and ``request_id`` say which."""

    def __init__(self, status: int, detail: Any, request_id: str | None) -> None:
        super().__init__(f"HTTP {status}: {detail} (request id {request_id})")
        self.status = status
        self.detail = detail
        self.request_id = request_id


class ServingClient:
    """Calls /predict, /predict/batch, /model and /health/ready."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", timeout_s: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def predict(self, row: Mapping[str, float]) -> dict[str, Any]:
        """Prediction for one row (a mapping of feature name to value)."""
        return self._call("POST", "/predict", dict(row))

    def predict_batch(self, rows: Sequence[Mapping[str, float]]) -> dict[str, Any]:
        """Predictions for several rows, in order."""
        return self._call("POST", "/predict/batch", {"rows": [dict(row) for row in rows]})

    def model(self) -> dict[str, Any]:
        """Name, version, metrics and training date of the served model."""
        return self._call("GET", "/model")

    def ready(self) -> bool:
        """True when the server has a verified model and is not shutting down."""
        try:
            self._call("GET", "/health/ready")
        except (ServingError, OSError):
            return False
        return True

    def _call(self, method: str, path: str, payload: Any = None) -> dict[str, Any]:
        data = None if payload is None else json.dumps(payload, allow_nan=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "X-Request-ID": uuid.uuid4().hex},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310  # nosec B310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                body = {}
            detail = body.get("detail", error.reason) if isinstance(body, dict) else error.reason
            raise ServingError(error.code, detail, error.headers.get("X-Request-ID")) from None
