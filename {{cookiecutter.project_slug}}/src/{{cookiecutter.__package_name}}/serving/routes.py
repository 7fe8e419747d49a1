"""The HTTP routes: /predict, /predict/batch, /feedback, /model, /health/*. Yours to edit.

Written as FastAPI's tutorial writes them: the request model is a typed parameter, the
response model is declared, the model service comes through ``Depends``, and failures are
``HTTPException``s that the handlers in ``schemas.py`` turn into JSON. The request and response
models are built from the model's DatasetSpec (``schemas.py``), so ``predictions_router``
declares those routes once ``app.py`` has read the spec; no ``from __future__ import
annotations`` here, because FastAPI reads the parameter types at declaration.
"""

import asyncio
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from .metrics import RecordingUnavailable
from .model import ModelService
from .schemas import ApiSchemas, ErrorResponse, FeedbackReceipt, ModelInfo, Readiness

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Malformed JSON",
        408: "Body not received in time",
        413: "Body or batch too large",
        415: "Not application/json",
        422: "Invalid body or upload: wrong type, missing or unknown field, out of range",
        503: "Model not ready, overloaded or shutting down",
    }.items()
}
MODEL_ERRORS: dict[int | str, dict[str, Any]] = {  # besides ERRORS, the predict routes'
    500: {"model": ErrorResponse, "description": "The model failed (details in the log)"},
    504: {"model": ErrorResponse, "description": "Prediction timed out"},
}
FEEDBACK_ERRORS: dict[int | str, dict[str, Any]] = {  # besides ERRORS, the router's
    404: {"model": ErrorResponse, "description": "No recorded prediction has this id"},
    409: {"model": ErrorResponse, "description": "Recording predictions is off"},
}
NOT_READY: dict[int | str, dict[str, Any]] = {503: ERRORS[503]}


async def get_service(request: Request) -> ModelService:
    """The app's model service, or 503 while no verified model is loaded."""
    service: ModelService = request.app.state.service
    if not service.loaded:
        raise HTTPException(503, f"model not ready: {service.reason}", {"Retry-After": "5"})
    return service


ServiceDep = Annotated[ModelService, Depends(get_service)]


async def issue_prediction_id(request: Request) -> str:
    """A new id for this request's predictions, also put in its access log: 128 random bits,
    issued by the server, never the client's, so nobody can overwrite or guess another's."""
    prediction_id = os.urandom(16).hex()
    request.state.prediction_id = prediction_id
    return prediction_id


PredictionId = Annotated[str, Depends(issue_prediction_id)]


async def require_json(request: Request) -> None:
    """415 unless the body is declared as UTF-8 JSON (FastAPI alone answers such a body 422)."""
    media, _, params = request.headers.get("content-type", "").lower().partition(";")
    media = media.strip()
    is_json = media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
    charset = params.strip().removeprefix("charset=").strip('"') if params else "utf-8"
    if not is_json or charset not in {"utf-8", "utf8"}:
        raise HTTPException(415, "send the body as application/json (UTF-8)")


JSON_ONLY = [Depends(require_json)]  # the routes whose body is JSON (image uploads are not)


def predictions_router(schemas: ApiSchemas) -> APIRouter:
    """POST /predict, /predict/batch and /feedback, typed with the models of one spec."""
    router = APIRouter(tags=["predict"], responses=ERRORS)
    Row, Batch, Feedback = schemas.row, schemas.batch, schemas.feedback

    if schemas.image_size is None:

        @router.post(
            "/predict",
            response_model=schemas.prediction,
            responses=MODEL_ERRORS,
            summary="Predict one row",
            dependencies=JSON_ONLY,
        )
        async def predict(row: Row, service: ServiceDep, prediction_id: PredictionId) -> Any:  # type: ignore[valid-type]
            """The prediction (and class probabilities), the model's version and the
            ``prediction_id`` to send feedback with."""
            return await service.predict([row], prediction_id, single=True)

        @router.post(
            "/predict/batch",
            response_model=schemas.batch_prediction,
            responses=MODEL_ERRORS,
            summary="Predict several rows",
            dependencies=JSON_ONLY,
        )
        async def predict_batch(
            batch: Batch,  # type: ignore[valid-type]
            service: ServiceDep,
            prediction_id: PredictionId,
        ) -> Any:
            """``{"rows": [...]}`` with at most SERVING_MAX_BATCH rows; answers in order."""
            return await service.predict(batch.rows, prediction_id)  # type: ignore[attr-defined]

    else:  # the image task: uploads instead of rows
        from .images import add_image_routes  # noqa: PLC0415 - only the image task has it

        add_image_routes(router, schemas)

    @router.post(
        "/feedback",
        tags=["feedback"],
        responses=FEEDBACK_ERRORS,
        summary="Send the true outcome of a prediction",
        dependencies=JSON_ONLY,
    )
    async def feedback(body: Feedback, service: ServiceDep) -> FeedbackReceipt:  # type: ignore[valid-type]
        """``{"prediction_id": ..., "outcomes": [...]}``: one outcome per predicted row, in order.

        Stored next to the prediction in the prediction log, where the ``monitor`` command
        computes live accuracy; sent again, it replaces the stored outcomes, and the
        ``model_feedback*`` metrics count only a prediction's first feedback.
        """
        recorder = service.recorder
        if recorder is None:
            raise HTTPException(
                409,
                "recording predictions is off (SERVING_RECORD_PREDICTIONS=false): "
                "no prediction to attach feedback to",
            )
        prediction_id, outcomes = body.prediction_id, body.outcomes  # type: ignore[attr-defined]
        try:
            found = await asyncio.to_thread(recorder.feedback, prediction_id, outcomes)
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        except RecordingUnavailable as error:
            detail = "the prediction log is unavailable"
            raise HTTPException(503, detail, {"Retry-After": "5"}) from error
        if found is None:
            raise HTTPException(
                404,
                f"no recorded prediction has id {prediction_id!r} "
                "(unknown, or removed by the log's rotation)",
            )
        predictions, first = found
        if first:  # a replay must not move live accuracy
            service.metrics.observe_feedback(predictions, outcomes)
        return FeedbackReceipt(prediction_id=prediction_id, rows=len(outcomes))

    return router


router = APIRouter()


@router.head("/health/live", include_in_schema=False)  # what uptime checkers send by default
@router.get("/health/live", tags=["health"], summary="The process is up")
async def live() -> dict[str, str]:
    """Always 200 while the event loop runs, even when the model could not be loaded."""
    return {"status": "alive"}


@router.head("/health/ready", include_in_schema=False, response_model_exclude_none=True)
@router.get(
    "/health/ready",
    tags=["health"],
    summary="A verified model is loaded",
    response_model_exclude_none=True,
    responses={503: {"model": Readiness, "description": "Not ready, with the reason"}},
)
async def ready(request: Request, response: Response) -> Readiness:
    """200 with the model version, or 503 with why not (missing, tampered, draining...)."""
    service: ModelService = request.app.state.service
    if service.loaded and not service.draining:
        metadata = service.metadata
        return Readiness(status="ready", model_name=metadata.name, model_version=metadata.version)
    response.status_code = 503
    return Readiness(status="draining" if service.draining else "not_ready", reason=service.reason)


@router.get("/model", tags=["model"], summary="The served model", responses=NOT_READY)
async def model_info(service: ServiceDep) -> ModelInfo:
    """Name, version, task, training date, metrics, features with ranges, classes."""
    metadata = service.metadata
    return ModelInfo(
        name=metadata.name,
        version=metadata.version,
        task=metadata.spec.task,
        trained_at=metadata.trained_at.isoformat(),
        metrics=metadata.metrics,
        features=metadata.spec.features,
        classes=metadata.spec.classes,
    )


# exercise M4.2: Add GET /model/features: the feature names, in the order the model reads them
@router.get(
    "/model/features",
    tags=["model"],
    summary="Feature names, in the model's order",
    responses=NOT_READY,
)
async def model_features(service: ServiceDep) -> list[str]:
    """What a client sends, in order: a lighter answer than the whole of GET /model."""
    return service.metadata.spec.feature_names
# end exercise
