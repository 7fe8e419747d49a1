"""The served model: loading, verifying and running it for the routes. Plumbing, rarely edited.

``ModelService.load`` loads and verifies the bundle in the app's lifespan; a model that
fails keeps the process alive with readiness 503 and the reason (no restart loop). Then it
predicts validated rows in one inference thread, with a deadline (504) and a bound on the
requests waiting for it (503), so a slow model never stalls the event loop that answers
health checks and other requests. Except a fast model's single rows (decided at load): on
the event loop they cost less than the hand-off (docs/serving.md, "Where the model runs").
"""

from __future__ import annotations

import asyncio
import logging
import reprlib
import timeit
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from asgi_correlation_id import correlation_id
from fastapi import HTTPException
from pydantic import BaseModel
from threadpoolctl import threadpool_limits

from ..bundle import BundleError, ModelMetadata
from .metrics import PredictionRecorder, ServingMetrics
from .schemas import attribute_names
from .settings import Settings

logger = logging.getLogger(__name__)
Loader = Callable[[Path], tuple[Any, ModelMetadata]]
INLINE_WARM_UP_S = 0.002  # the second warm-up's time under which a model is fast


class ModelSpecMismatch(RuntimeError):
    """The model does not fit the spec it was exported with (never ready)."""


def public_reason(error: Exception, model_dir: Path) -> str:
    """The error's message without the server's file paths."""
    message = str(error)
    for path in sorted({str(model_dir.resolve()), str(model_dir)}, key=len, reverse=True):
        message = message.replace(path, "<model_dir>")
    return message


class ModelService:
    """The served model, once loaded and verified, or why not (``app.state.service``)."""

    model: Any
    metadata: ModelMetadata
    labels: list[str]

    def __init__(self, settings: Settings, metrics: ServingMetrics, loader: Loader) -> None:
        self.settings, self.metrics, self.loader = settings, metrics, loader
        self.loaded = False
        self.reason = "the model has not been loaded yet"
        self.draining = False
        self.pending = 0  # requests admitted and not answered yet
        # scikit-learn's NaN scan is ~20 % of a single-row predict; the request models already
        # refuse NaN and infinity (outputs are still checked). The setting is per thread.
        self.trust_inputs = partial(sklearn.set_config, assume_finite=True)
        self.worker = ThreadPoolExecutor(1, "inference", initializer=self.trust_inputs)
        self.inline = False  # set at load: predict single rows on the event loop
        self.recorder: PredictionRecorder | None = None

    def load(self) -> None:
        """Load, verify and warm up the model; on failure keep the reason, never raise."""
        model_dir = self.settings.model_dir
        # BLAS threads spin after each call and steal CPU from the event loop (+50 % req/s)
        threadpool_limits(limits=self.settings.blas_threads)
        self.trust_inputs()  # on the event loop's thread too, for the rows predicted inline
        try:
            self._verify(*self.loader(model_dir))
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
        if not self.loaded:
            logger.error("model not ready: %s", self.reason, extra={"model_dir": str(model_dir)})
            return
        self.reason = ""
        self.metrics.ready.set(1)
        name, version = self.metadata.name, self.metadata.version
        self.metrics.model_info.info({"name": name, "version": version})
        logger.info("model ready", extra={"model": name, "version": version, "inline": self.inline})

    def _verify(self, model: Any, metadata: ModelMetadata) -> None:
        """Check ``model`` against its spec and warm it up; raises before it is ever ready."""
        spec, settings, metrics = metadata.spec, self.settings, self.metrics
        self.model, self.metadata = model, metadata
        # the label of each column of predict_proba: the model's classes, which training takes
        # from the spec's labels (a model fitted on class indices is refused); none to regress
        self.labels = [str(label) for label in getattr(model, "classes_", [])]
        if set(self.labels) != set(spec.classes or []):
            classes = reprlib.repr(self.labels)  # a reason, not thousands of labels
            raise ModelSpecMismatch(f"the model's classes {classes} differ from spec.classes")
        expected = getattr(model, "n_features_in_", len(spec.features))
        if expected != len(spec.features):
            listed = len(spec.features)
            raise ModelSpecMismatch(f"model expects {expected} features, spec lists {listed}")
        metrics.track_model(self.labels, self.warm_up())  # also pays the one-time costs
        self.inline = timeit.timeit(self.warm_up, number=1) < INLINE_WARM_UP_S
        getter = attrgetter(*attribute_names(spec))
        self._values = getter if len(spec.features) > 1 else lambda row: (getter(row),)
        self._header = {"model_name": metadata.name, "model_version": metadata.version}
        if settings.record_predictions:
            self.recorder = PredictionRecorder(
                settings.prediction_log,
                model_version=metadata.version,
                metrics=metrics,
                max_rows=settings.prediction_log_max_rows,
                max_queue=settings.prediction_queue_max,
            )
        self.loaded = True

    def outputs(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes) or values (n,); always finite.

        Every classifier the bundle accepts (``bundle.MODEL_TYPES``) has ``predict_proba``.
        """
        if self.labels:
            out = np.asarray(self.model.predict_proba(rows), dtype=np.float64)
            shape: tuple[int, ...] = (len(rows), len(self.labels))
        else:
            out = np.asarray(self.model.predict(rows), dtype=np.float64).reshape(-1)
            shape = (len(rows),)
        if out.shape != shape:
            raise ValueError(f"model returned shape {out.shape}, expected {shape}")
        if not np.isfinite(out).all():
            raise ValueError("model returned NaN or infinity")
        return out

    def answers(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """One JSON-ready answer per row (numpy work included, wherever the model runs)."""
        outputs = self.outputs(rows)
        if not self.labels:
            return [{"prediction": value} for value in outputs.tolist()]
        chosen = [self.labels[i] for i in outputs.argmax(axis=1).tolist()]
        return [
            {"prediction": label, "probabilities": dict(zip(self.labels, row, strict=True))}
            for label, row in zip(chosen, outputs.tolist(), strict=True)
        ]

    def warm_up(self) -> np.ndarray:
        """Predict the corners and middle of the spec's ranges; raises if anything is off."""
        features = self.metadata.spec.features
        low = np.array([f.minimum for f in features], dtype=np.float64)
        high = np.array([f.maximum for f in features], dtype=np.float64)
        sample = low + np.random.default_rng(0).random((256, len(low))) * (high - low)
        return self.outputs(np.vstack([low, high, (low + high) / 2, sample]))

    async def predict(
        self, rows: Sequence[BaseModel], prediction_id: str, *, single: bool = False
    ) -> dict[str, Any]:
        """Predict validated rows in one call; the answer for ``/predict`` or ``/predict/batch``."""
        matrix = np.array([self._values(row) for row in rows], dtype=np.float64)

        def body() -> str:  # the rows as compact /predict/batch JSON, for the prediction log
            return '{"rows": [' + ", ".join(r.model_dump_json(by_alias=True) for r in rows) + "]}"

        return await self.predict_matrix(matrix, prediction_id, body, single=single)

    async def predict_matrix(
        self,
        matrix: np.ndarray,
        prediction_id: str,
        body: Callable[[], str],
        *,
        single: bool = False,
    ) -> dict[str, Any]:
        """Predict ``matrix`` (see ``inline``); log ``body()``, the request as JSON."""
        if self.pending >= self.settings.max_concurrency:
            raise HTTPException(503, "overloaded, retry later", {"Retry-After": "1"})
        self.pending += 1
        try:
            if single and self.inline:
                answers = self.answers(matrix)
            else:
                call = asyncio.get_running_loop().run_in_executor(self.worker, self.answers, matrix)
                answers = await asyncio.wait_for(call, self.settings.timeout_s)
        except TimeoutError as error:
            raise HTTPException(504, "prediction timed out") from error
        except Exception as error:  # the cause goes to the log; the client gets a generic 500
            request_ids = [correlation_id.get() or "-"]
            message = f"prediction failed: {type(error).__name__}: {error}"
            logger.error(message, exc_info=error, extra={"request_ids": request_ids})
            raise HTTPException(500, "prediction failed") from error
        finally:
            self.pending -= 1
        predictions = [answer["prediction"] for answer in answers]
        self.metrics.observe_predictions(predictions)
        if self.recorder is not None:
            self.recorder.record(prediction_id, body(), predictions)
        if single:
            return {**self._header, "prediction_id": prediction_id, **answers[0]}
        return {**self._header, "prediction_id": prediction_id, "predictions": answers}

    def begin_drain(self) -> None:
        """Shutdown has begun: readiness answers 503 from now on."""
        self.draining, self.reason = True, "shutting down"
        self.metrics.ready.set(0)
        logger.info("draining: readiness now answers 503")

    def close(self) -> None:
        """Let started predictions finish (after the server's drain), then write the log."""
        self.loaded = False
        self.worker.shutdown(wait=True, cancel_futures=True)
        if self.recorder is not None:
            self.recorder.close()
