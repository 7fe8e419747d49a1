"""Prediction for the HTTP layer: JSON bytes in, JSON bytes out, errors as ApiError.

Why bytes: the body is parsed and validated in one pass by pydantic-core
(``model_validate_json``), and the answer is encoded with ``json.dumps`` instead of being
validated again by a response model: the generated schemas still document both in /docs.
"""

from __future__ import annotations

import json
import logging
from operator import attrgetter
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..bundle import ModelMetadata
from ..prediction_log import encode_rows
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
from .schemas import ApiSchemas, build_schemas
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
    """One verified model with its schemas, its inference worker and its metrics."""

    def __init__(
        self, model: Any, metadata: ModelMetadata, settings: Settings, metrics: ServingMetrics
    ) -> None:
        self.metadata = metadata
        self.predictor = Predictor(model, metadata.spec)
        self.schemas: ApiSchemas = build_schemas(metadata.spec, max_batch=settings.max_batch)
        trust_inputs()  # this is the event loop's thread: the inline path predicts here
        sample = self.predictor.warm_up()  # raises before the app is ever marked ready
        self.metrics = metrics
        if self.predictor.labels:
            metrics.track_classes(self.predictor.labels)
        else:
            metrics.track_values(sample)
        names = self.schemas.attribute_names
        getter = attrgetter(*names)
        self._values = getter if len(names) > 1 else lambda row: (getter(row),)
        self._header = {"model_name": metadata.name, "model_version": metadata.version}
        self._names = metadata.spec.feature_names
        # twice the longest compact row (a float is at most 24 characters): a body padded
        # beyond that is logged re-encoded, so white space cannot grow the log past its bound
        self._chars_per_row = 2 * (2 + sum(len(json.dumps(name)) + 28 for name in self._names))
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

    async def predict_one(self, body: bytes, request_id: str, prediction_id: str) -> bytes:
        """Validate one row, predict it, encode the answer."""
        row = self.schemas.row.model_validate_json(body)
        rows: list[Row] = [self._values(row)]
        inputs = self._logged_inputs(body, rows, single=True)
        answers = await self._run(rows, inputs, request_id, prediction_id, inline=self.inline)
        payload = {**self._header, "prediction_id": prediction_id, **answers[0]}
        return json.dumps(payload, allow_nan=False).encode()

    async def predict_batch(self, body: bytes, request_id: str, prediction_id: str) -> bytes:
        """Validate a batch of rows, predict them in one call, encode the answers in order."""
        batch = self.schemas.batch.model_validate_json(body)
        rows: list[BaseModel] = batch.rows  # type: ignore[attr-defined]
        values: list[Row] = [self._values(row) for row in rows]
        inputs = self._logged_inputs(body, values)
        answers = await self._run(values, inputs, request_id, prediction_id)
        payload = {**self._header, "prediction_id": prediction_id, "predictions": answers}
        return json.dumps(payload, allow_nan=False).encode()

    def close(self) -> None:
        """Let queued predictions finish, stop the worker thread, write the queued records."""
        self.worker.stop()
        if self.recorder is not None:
            self.recorder.close()

    def _logged_inputs(self, body: bytes, rows: list[Row], *, single: bool = False) -> str:
        """What the prediction log keeps: the validated body as sent, in ``/predict/batch`` form.

        As sent, because formatting the floats again costs more than the rest of recording;
        re-encoded only when white space made it longer than ``_chars_per_row`` per row.
        """
        if self.recorder is None:
            return ""
        if len(body) > 16 + len(rows) * self._chars_per_row:
            return encode_rows([dict(zip(self._names, row, strict=True)) for row in rows])
        text = body.decode(errors="replace")
        return '{"rows": [' + text + "]}" if single else text

    async def _run(
        self,
        rows: list[Row],
        inputs: str,
        request_id: str,
        prediction_id: str,
        *,
        inline: bool = False,
    ) -> list[dict[str, Any]]:
        """Predict ``rows``; record them under ``prediction_id`` with ``inputs`` (batch form)."""
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
        predictions = [answer["prediction"] for answer in answers]
        self.metrics.observe_predictions(predictions)
        if self.recorder is not None:
            self.recorder.record(prediction_id, inputs, predictions)
        return answers
