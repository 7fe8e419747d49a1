"""Tiny models predict on the event loop, slow ones keep the thread. Yours to edit.

Each request records which thread ran the model, so the tests see the path it took. Tests
that need the inline path give it the largest budget (``ROOMY_MS``): on a busy machine the
default 1 ms budget can be missed at warm-up, which is the behaviour, not a failure.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from conftest import app_client, settings_for, valid_row
from fastapi.testclient import TestClient
from serving_fakes import Slow, Wrapped, wrapping_loader

from {{ cookiecutter.__package_name }}.serving.app import create_app

ROOMY_MS = 50.0  # the largest budget the settings allow


class Switchable(Wrapped):
    """A normal model until a test sets ``fault`` ("raise", "nan" or a delay in seconds)."""

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.fault: str | float | None = None
        self.threads: list[str] = []

    def _output(self, method: str, rows: np.ndarray) -> Any:
        self.threads.append(threading.current_thread().name)
        if self.fault == "raise":
            raise RuntimeError("secret-detail")
        if isinstance(self.fault, float):
            time.sleep(self.fault)
        out = np.asarray(super()._output(method, rows), dtype=float)
        return np.full_like(out, np.nan) if self.fault == "nan" else out


def _model(client: TestClient) -> Switchable:
    model: Switchable = client.app.state.serving.service.predictor.model  # type: ignore[attr-defined]
    return model


def _in_worker(client: TestClient) -> bool:
    return _model(client).threads[-1].startswith("inference")


def test_fast_model_is_predicted_inline(any_model_dir: Path) -> None:
    with app_client(
        any_model_dir, loader=wrapping_loader(Switchable), inline_max_ms=ROOMY_MS
    ) as client:
        assert client.app.state.serving.service.inline  # type: ignore[attr-defined]
        response = client.post("/predict", json=valid_row(any_model_dir))
        assert response.status_code == 200
        assert not _in_worker(client)
        batch = client.post("/predict/batch", json={"rows": [valid_row(any_model_dir)] * 3})
        assert batch.status_code == 200
        assert _in_worker(client)  # batches: the thread
        assert "serving_inline 1.0" in client.get("/metrics").text


def test_inline_can_be_switched_off(iris_dir: Path) -> None:
    with app_client(iris_dir, loader=wrapping_loader(Switchable), inline_max_ms=0) as client:
        assert not client.app.state.serving.service.inline  # type: ignore[attr-defined]
        assert client.post("/predict", json=valid_row(iris_dir)).status_code == 200
        assert _in_worker(client)


def test_inline_failures_are_a_generic_500_with_the_request_id(
    iris_dir: Path, serving_logs: Any
) -> None:
    with app_client(iris_dir, loader=wrapping_loader(Switchable), inline_max_ms=ROOMY_MS) as client:
        assert client.app.state.serving.service.inline  # type: ignore[attr-defined]
        responses = []
        for fault in ("raise", "nan"):
            _model(client).fault = fault
            responses.append(
                client.post("/predict", json=valid_row(iris_dir), headers={"X-Request-ID": fault})
            )
    for fault, response in zip(("raise", "nan"), responses, strict=True):
        assert response.status_code == 500
        assert response.json() == {"detail": "prediction failed", "request_id": fault}
        assert "secret" not in response.text
    failures = [r for r in serving_logs.records if r.getMessage().startswith("prediction failed")]
    assert [r.request_ids for r in failures] == [["raise"], ["nan"]]  # type: ignore[attr-defined]


def test_model_turning_slow_gets_504_and_leaves_the_event_loop(iris_dir: Path) -> None:
    with app_client(
        iris_dir, loader=wrapping_loader(Switchable), timeout_s=0.1, inline_max_ms=ROOMY_MS
    ) as client:
        service = client.app.state.serving.service  # type: ignore[attr-defined]
        assert service.inline
        _model(client).fault = 0.3
        late = client.post("/predict", json=valid_row(iris_dir))
        assert not service.inline  # moved to the thread for every later request
        assert "serving_inline 0.0" in client.get("/metrics").text
        started = time.perf_counter()
        queued = client.post("/predict", json=valid_row(iris_dir))
        waited = time.perf_counter() - started
    assert late.status_code == 504 and late.json()["detail"] == "prediction timed out"
    assert queued.status_code == 504 and waited < 0.28  # the thread path stops waiting


def test_slow_model_keeps_the_thread_with_504_and_503(iris_dir: Path) -> None:
    slow = wrapping_loader(lambda model: Slow(model, 0.3))
    with app_client(iris_dir, loader=slow, timeout_s=0.1, max_concurrency=1) as client:
        assert not client.app.state.serving.service.inline  # type: ignore[attr-defined]
        timed_out = client.post("/predict", json=valid_row(iris_dir))
        time.sleep(0.3)  # let the abandoned prediction finish
        with ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda _: client.post("/predict", json=valid_row(iris_dir)), range(4))
            )
    assert timed_out.status_code == 504
    codes = sorted(response.status_code for response in statuses)
    assert 503 in codes and set(codes) <= {503, 504}, codes
    refused = next(r for r in statuses if r.status_code == 503)
    assert refused.headers["Retry-After"] == "1"


def test_single_rows_arriving_together_are_predicted_in_one_call(iris_dir: Path) -> None:
    """Inline, the rows of one loop iteration are stacked: the batching stays under load."""
    settings = settings_for(iris_dir, inline_max_ms=ROOMY_MS)
    app = create_app(settings, loader=wrapping_loader(Switchable))

    async def five_at_once() -> tuple[list[int], int]:
        async with app.router.lifespan_context(app):
            model: Switchable = app.state.serving.service.predictor.model
            calls = len(model.threads)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                row = valid_row(iris_dir)
                answers = await asyncio.gather(
                    *(client.post("/predict", json=row) for _ in range(5))
                )
            return [answer.status_code for answer in answers], len(model.threads) - calls

    statuses, calls = asyncio.run(five_at_once())
    assert statuses == [200] * 5
    assert calls < 5
