"""A fault-injecting model for tests with a real uvicorn. Plumbing, rarely edited.

The fake is never saved to a bundle (skops would rightly refuse it): it wraps the model
*after* ``load_bundle`` verified it, through ``create_app(loader=...)``.
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

LEAK_MARKER = "secret-detail-/srv/models/weights"  # must never reach the client


class Fake:
    """The real model, slowed by ``seconds``, then failing or answering NaN after some calls
    (the first two calls are the app's warm-up)."""

    def __init__(
        self, model: Any, seconds: float = 0.0, fail_after: int = -1, nan_after: int = -1
    ) -> None:
        self.model, self.seconds = model, seconds
        self.fail_after, self.nan_after = fail_after, nan_after
        self.calls = 0
        self.thread = ""  # the thread that ran the last prediction

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def _output(self, method: str, rows: np.ndarray) -> Any:
        self.calls += 1
        self.thread = threading.current_thread().name
        time.sleep(self.seconds)
        if 0 <= self.fail_after < self.calls:
            raise RuntimeError(LEAK_MARKER)
        out = getattr(self.model, method)(rows)
        if 0 <= self.nan_after < self.calls:
            return np.full_like(np.asarray(out, dtype=float), np.nan)
        return out

    def predict(self, rows: np.ndarray) -> Any:
        return self._output("predict", rows)

    def predict_proba(self, rows: np.ndarray) -> Any:
        return self._output("predict_proba", rows)


def faking_loader(**faults: Any) -> Callable[[Path], tuple[Any, ModelMetadata]]:
    """``load_bundle`` (checksum and all), then wrap the model in a ``Fake``."""

    def load(directory: Path) -> tuple[Any, ModelMetadata]:
        model, metadata = load_bundle(directory)
        return Fake(model, **faults), metadata

    return load


def create_slow_app() -> FastAPI:
    """Factory for ``uvicorn --factory``: the bundle's model, ``FAKE_SLOW_S`` seconds per call."""
    return create_app(loader=faking_loader(seconds=float(os.environ.get("FAKE_SLOW_S", "1"))))
