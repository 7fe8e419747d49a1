"""Fault-injection models for tests with a real uvicorn. Plumbing, rarely edited.

The wrappers are never saved to a bundle (skops would rightly refuse them): they wrap the
model *after* ``load_bundle`` verified it, through ``create_app(loader=...)``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI

from {{ cookiecutter.__package_name }}.bundle import ModelMetadata, load_bundle
from {{ cookiecutter.__package_name }}.serving.app import create_app


class Wrapped:
    """Delegates everything to the real model; subclasses change predictions."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls = 0
        self.thread = ""  # the thread that ran the last prediction

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def _output(self, method: str, rows: np.ndarray) -> Any:
        self.thread = threading.current_thread().name
        return getattr(self.model, method)(rows)

    def predict(self, rows: np.ndarray) -> Any:
        self.calls += 1
        return self._output("predict", rows)

    def predict_proba(self, rows: np.ndarray) -> Any:
        self.calls += 1
        return self._output("predict_proba", rows)


class Slow(Wrapped):
    """Sleeps before answering (a stuck or very heavy model)."""

    def __init__(self, model: Any, seconds: float) -> None:
        super().__init__(model)
        self.seconds = seconds

    def _output(self, method: str, rows: np.ndarray) -> Any:
        time.sleep(self.seconds)
        return super()._output(method, rows)


class Failing(Wrapped):
    """Raises with a message that must never reach the client."""

    LEAK_MARKER = "secret-detail-/srv/models/weights"

    def __init__(self, model: Any, after_calls: int = 0) -> None:
        super().__init__(model)
        self.after_calls = after_calls

    def _output(self, method: str, rows: np.ndarray) -> Any:
        if self.calls > self.after_calls:
            raise RuntimeError(self.LEAK_MARKER)
        return super()._output(method, rows)


class ReturnsNaN(Wrapped):
    """Answers NaN after the warm-up (a numerically broken model)."""

    def _output(self, method: str, rows: np.ndarray) -> Any:
        out = np.asarray(super()._output(method, rows), dtype=float)
        return out if self.calls <= 1 else np.full_like(out, np.nan)


def wrapping_loader(wrap: Callable[[Any], Any]) -> Callable[[Path], tuple[Any, ModelMetadata]]:
    """``load_bundle`` (checksum and all), then wrap the model."""

    def load(directory: Path) -> tuple[Any, ModelMetadata]:
        model, metadata = load_bundle(directory)
        return wrap(model), metadata

    return load


def create_slow_app() -> FastAPI:
    """Factory for ``uvicorn --factory``: the bundle's model, ``FAKE_SLOW_S`` seconds per call."""
    seconds = float(os.environ.get("FAKE_SLOW_S", "1"))
    return create_app(loader=wrapping_loader(lambda model: Slow(model, seconds)))
