"""The model service behind the routes: validated rows in, answers out. Plumbing, rarely edited.

It owns the verified model (``predictor.py``), the inference worker (``inference.py``), the
prediction log's recorder (``recorder.py``) and the prediction metrics, and turns the
worker's failures into ``ApiError`` (503, 504, 500) for the error handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np
from asgi_correlation_id import correlation_id
from pydantic import BaseModel

from ..bundle import ModelMetadata
from .errors import ApiError
from .inference import (
    DeadlineExceeded,
    InferenceFailed,
    InferenceWorker,
    Overloaded,
    Row,
    WorkerStopped,
)
from .inline import InlineBudget, measure_budget
from .metrics import ServingMetrics
from .predictor import Predictor, trust_inputs
from .recorder import PredictionRecorder
from .schemas import attribute_names
from .settings import Settings

logger = logging.getLogger(__name__)


def _inline_budget(predictor: Predictor, max_ms: float) -> InlineBudget | None:
    """Time a single row in the middle of the ranges; None keeps every request on the thread."""
    middle = [(f.minimum + f.maximum) / 2 for f in predictor.spec.features]
    try:
        return measure_budget(
            lambda rows: predictor.answers(predictor(rows)),
            np.array(middle, dtype=np.float64),
            max_ms,
        )
    except Exception as error:  # passed warm-up but fails now: keep it off the loop
        logger.warning("timing the model failed (%s)", type(error).__name__, exc_info=error)
        return None


class ModelService:
    """One verified model with its inference worker, its recorder and its metrics."""

    def __init__(
        self, model: Any, metadata: ModelMetadata, settings: Settings, metrics: ServingMetrics
    ) -> None:
        self.metadata = metadata
        self.predictor = Predictor(model, metadata.spec)
        trust_inputs()  # this is the event loop's thread: the inline path predicts here
        sample = self.predictor.warm_up()  # raises before the app is ever marked ready
        self.metrics = metrics
        if self.predictor.labels:
            metrics.track_classes(self.predictor.labels)
        else:
            metrics.track_values(sample)
        names = attribute_names(metadata.spec)
        getter = attrgetter(*names)
        self._values = getter if len(names) > 1 else lambda row: (getter(row),)
        self._header = {"model_name": metadata.name, "model_version": metadata.version}
        budget = _inline_budget(self.predictor, settings.inline_max_ms)
        self.worker = InferenceWorker(
            self.predictor,
            self.predictor.answers,
            max_pending=settings.max_concurrency,
            max_rows_per_call=settings.max_batch,
            timeout_s=settings.timeout_s,
            inline=budget,
        )
        metrics.inline.set_function(lambda: float(self.inline))
        self.recorder: PredictionRecorder | None = None
        if settings.record_predictions:
            self.recorder = PredictionRecorder(
                settings.prediction_log,
                model_version=metadata.version,
                metrics=metrics,
                max_rows=settings.prediction_log_max_rows,
                max_queue=settings.prediction_queue_max,
                max_queue_bytes=settings.prediction_queue_max_bytes,
            )
        logger.info(
            "single rows are predicted %s",
            "inline on the event loop" if budget else "in the inference thread",
            extra={"single_row_p99_ms": None if budget is None else budget.measured_p99_s * 1000},
        )

    @property
    def inline(self) -> bool:
        """True while single rows are predicted on the event loop (see ``inline.py``)."""
        return self.worker.inline is not None

    async def predict(
        self, rows: Sequence[BaseModel], prediction_id: str, *, single: bool = False
    ) -> dict[str, Any]:
        """Predict validated rows in one call; the answer for ``/predict`` or ``/predict/batch``."""
        values: list[Row] = [self._values(row) for row in rows]
        answers = await self._run(
            values, correlation_id.get() or "-", inline=single and self.inline
        )
        predictions = [answer["prediction"] for answer in answers]
        self.metrics.observe_predictions(predictions)
        if self.recorder is not None:  # rows as compact JSON, in the /predict/batch form
            inputs = ", ".join(row.model_dump_json(by_alias=True) for row in rows)
            self.recorder.record(prediction_id, '{"rows": [' + inputs + "]}", predictions)
        if single:
            return {**self._header, "prediction_id": prediction_id, **answers[0]}
        return {**self._header, "prediction_id": prediction_id, "predictions": answers}

    def close(self) -> None:
        """Let queued predictions finish, stop the worker thread, write the queued records."""
        self.worker.stop()
        if self.recorder is not None:
            self.recorder.close()

    async def _run(
        self, rows: list[Row], request_id: str, *, inline: bool = False
    ) -> list[dict[str, Any]]:
        """Predict ``rows`` on the loop or in the worker; failures as ApiError."""
        try:
            if inline:
                answers = await self.worker.predict_inline(rows, request_id)
            else:
                answers = await self.worker.predict(rows, request_id)
        except Overloaded as error:
            raise ApiError(
                503, "overloaded, retry later", "overloaded", {"Retry-After": "1"}
            ) from error
        except DeadlineExceeded as error:
            raise ApiError(504, "prediction timed out", "timeout") from error
        except WorkerStopped as error:
            raise ApiError(503, "shutting down", "shutting_down") from error
        except InferenceFailed as error:
            raise ApiError(500, "prediction failed", "model_error") from error
        return answers
