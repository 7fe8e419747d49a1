"""POST /predict (one row) and POST /predict/batch (a bounded list of rows).

The body is read as bytes and validated by the models generated from the spec (see
``schemas.py``); ``app.py`` puts those models into the OpenAPI document. These two hot
routes take the service with a plain function call rather than ``Depends``: FastAPI's
dependency resolution cost more per request than the model itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..dependencies import issue_prediction_id, service_of
from ..schemas import ErrorResponse

router = APIRouter(tags=["predict"])
JSON = "application/json"


def _doc(request_model: str, response_model: str) -> dict[str, Any]:
    """OpenAPI for a route whose body schema is only known once the model is loaded."""
    return {
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{request_model}"}}},
        },
        "responses": {
            "200": {
                "description": "Predictions",
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{response_model}"}}},
            }
        },
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Malformed JSON",
        413: "Body or batch too large",
        415: "Not application/json",
        422: "Invalid row: wrong type, missing or unknown field, out of range",
        500: "The model failed (details in the server log, under the request id)",
        503: "Model not ready, overloaded or shutting down",
        504: "Prediction timed out",
    }.items()
}


@router.post(
    "/predict",
    summary="Predict one row",
    responses=ERRORS,
    openapi_extra=_doc("PredictRow", "PredictionResponse"),
)
async def predict(request: Request) -> Response:
    """Answer with the prediction (and class probabilities), the model's version and the
    ``prediction_id`` to send feedback with."""
    service, request_id = service_of(request)
    body = await request.body()
    answer = await service.predict_one(body, request_id, issue_prediction_id(request))
    return Response(answer, media_type=JSON)


@router.post(
    "/predict/batch",
    summary="Predict several rows",
    responses=ERRORS,
    openapi_extra=_doc("PredictBatch", "BatchPrediction"),
)
async def predict_batch(request: Request) -> Response:
    """``{"rows": [...]}`` with at most SERVING_MAX_BATCH rows; answers in the same order."""
    service, request_id = service_of(request)
    body = await request.body()
    answer = await service.predict_batch(body, request_id, issue_prediction_id(request))
    return Response(answer, media_type=JSON)
