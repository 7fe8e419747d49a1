"""What the app knows about its model: ready, not ready (and why), or draining.

Why a failed load does not stop the process: liveness stays 200 so an orchestrator does
not restart-loop it, readiness answers 503 with the reason, and the log says the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from ..bundle import BundleError, ModelMetadata
from .metrics import ServingMetrics
from .predictor import ModelSpecMismatch
from .service import ModelService
from .settings import Settings

logger = logging.getLogger(__name__)
Loader = Callable[[Path], tuple[Any, ModelMetadata]]


def public_reason(error: Exception, model_dir: Path) -> str:
    """The error's message without the server's file paths."""
    message = str(error)
    for path in sorted({str(model_dir.resolve()), str(model_dir)}, key=len, reverse=True):
        message = message.replace(path, "<model_dir>")
    return message


@dataclass
class ServingState:
    """Held in ``app.state.serving``; routes read it through dependencies."""

    settings: Settings
    metrics: ServingMetrics
    loader: Loader
    service: ModelService | None = None
    reason: str = "the model has not been loaded yet"
    draining: bool = False
    _closed: bool = field(default=False, repr=False)

    @property
    def ready(self) -> bool:
        """True when a verified model answers and no shutdown has begun."""
        return self.service is not None and not self.draining

    def load(self) -> None:
        """Load, verify and warm up the model; on failure keep the reason, never raise."""
        model_dir = self.settings.model_dir
        # BLAS threads spin after each call; with one inference thread they only steal CPU
        # from the event loop (1 thread: +50 % req/s for a linear model on 2 cores).
        threadpool_limits(limits=self.settings.blas_threads)
        try:
            model, metadata = self.loader(model_dir)
            self.service = ModelService(model, metadata, self.settings, self.metrics)
        except BundleError as error:
            self.reason = public_reason(error, model_dir)
        except ModelSpecMismatch as error:
            self.reason = f"the model does not match its spec: {error}"
        except OSError as error:  # e.g. a mounted file (mode 0600) the app user may not read
            name, why = error.filename or model_dir, error.strerror or error
            self.reason = public_reason(OSError(f"cannot read {name}: {why}"), model_dir)
        except Exception as error:  # a broken model must not crash the server
            self.reason = f"the model failed its warm-up prediction ({type(error).__name__})"
            logger.error("warm-up failed", exc_info=error)
        if self.service is None:
            logger.error("model not ready: %s", self.reason, extra={"model_dir": str(model_dir)})
            return
        metadata = self.service.metadata
        self.reason = ""
        self.metrics.ready.set(1)
        self.metrics.model_info.labels(name=metadata.name, version=metadata.version).set(1)
        logger.info("model ready", extra={"model": metadata.name, "version": metadata.version})

    def begin_drain(self) -> None:
        """Shutdown has begun: readiness answers 503 from now on."""
        self.draining = True
        self.reason = "shutting down"
        self.metrics.ready.set(0)
        logger.info("draining: readiness now answers 503")

    def close(self) -> None:
        """Stop the inference worker (after the server has finished in-flight requests)."""
        if self.service is not None and not self._closed:
            self._closed = True
            self.service.close()
