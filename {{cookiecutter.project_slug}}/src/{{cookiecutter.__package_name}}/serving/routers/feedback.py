"""POST /feedback: the true outcome of an earlier prediction, matched by its prediction id.

Real labels arrive late (a sale happens, a diagnosis is confirmed): the client sends them
with the ``prediction_id`` of the answer (issued by the server: a client's own
``X-Request-ID`` is only echoed for correlation), and the app stores them next to it in the
prediction log, where the ``monitor`` command computes live accuracy. The log is written
in a thread (``asyncio.to_thread``): SQLite must never hold the event loop. A prediction
made a moment ago by another worker may still be in that worker's queue: feedback for it
waits (without holding a thread) until that worker has written it (``written_by``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..dependencies import service_of
from ..errors import ApiError
from ..recorder import PredictionRecorder, RecordingUnavailable, written_by
from .predict import ERRORS, JSON

router = APIRouter(tags=["feedback"])
POLL_S = 0.1  # how often to look again for a prediction another worker has not written yet
FEEDBACK_ERRORS: dict[int | str, dict[str, Any]] = {
    code: ERRORS[code] for code in (400, 413, 415, 503) if code in ERRORS
}
FEEDBACK_ERRORS.update(
    {
        404: {"model": ERRORS[422]["model"], "description": "No recorded prediction has this id"},
        409: {"model": ERRORS[422]["model"], "description": "Recording predictions is off"},
        422: {
            "model": ERRORS[422]["model"],
            "description": "Invalid body: unknown label, not a finite number, wrong count",
        },
    }
)


@router.post(
    "/feedback",
    summary="Send the true outcome of a prediction",
    responses=FEEDBACK_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/FeedbackRequest"}}},
        }
    },
)
async def feedback(request: Request) -> JSONResponse:
    """``{"prediction_id", "outcome"}`` after /predict; ``"outcomes": [...]`` after a batch."""
    service, _ = service_of(request)
    body = service.schemas.feedback.model_validate_json(await request.body())
    recorder = service.recorder
    if recorder is None:
        raise ApiError(
            409,
            "recording predictions is off (SERVING_RECORD_PREDICTIONS=false): "
            "no prediction to attach feedback to",
            "recording_off",
        )
    outcomes = body.values()
    try:
        predictions = await _store(recorder, body.prediction_id, outcomes)
    except ValueError as error:
        raise ApiError(422, str(error), "feedback_count") from error
    except RecordingUnavailable as error:
        raise ApiError(
            503, "the prediction log is unavailable", "log_unavailable", {"Retry-After": "5"}
        ) from error
    if predictions is None:
        raise ApiError(
            404,
            f"no recorded prediction has id {body.prediction_id!r} "
            "(unknown, or removed by the log's rotation)",
            "unknown_prediction_id",
        )
    service.metrics.observe_feedback(predictions, outcomes)
    return JSONResponse({"prediction_id": body.prediction_id, "rows": len(outcomes)})


async def _store(
    recorder: PredictionRecorder, prediction_id: str, outcomes: Sequence[Any]
) -> list[Any] | None:
    """``recorder.feedback``, tried again until the issuing worker must have written the id."""
    deadline = written_by(prediction_id)
    while True:
        predictions = await asyncio.to_thread(recorder.feedback, prediction_id, outcomes)
        if predictions is not None or time.time() >= deadline:
            return predictions
        await asyncio.sleep(POLL_S)
