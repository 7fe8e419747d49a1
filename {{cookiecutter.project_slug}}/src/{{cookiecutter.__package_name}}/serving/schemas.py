"""Request, response and error shapes; the first two from the model's spec. Yours to edit.

Why generated: the data card, the MLflow signature and this API all derive from one spec,
so a renamed feature or a new class cannot make them disagree. Every request model is
strict (no "5" for 5, no ``true`` for 1), forbids unknown fields, refuses NaN/Infinity and
enforces the range data validation accepts (``DatasetSpec.accepted_range``).

Every error answer is ``{"detail": ..., "request_id": ...}``, through the handlers at the
end: FastAPI's defaults echo the rejected input and a documentation URL, and an unexpected
exception must never leak a stack trace or a path to the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from asgi_correlation_id import correlation_id
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..bundle import BundleError, read_metadata
from ..features import DatasetSpec, FeatureSpec

STRICT_CONFIG = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


class ErrorItem(BaseModel):
    """One problem with the request: where it is and what is wrong (never the value)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx answer."""

    detail: str | list[ErrorItem]
    request_id: str


class FeedbackReceipt(BaseModel):
    """What ``POST /feedback`` returns: the outcomes of these rows are stored."""

    prediction_id: str
    rows: int


class Readiness(BaseModel):
    """What ``GET /health/ready`` returns: the model that is ready, or why none is."""

    status: Literal["ready", "not_ready", "draining"]
    model_name: str | None = None
    model_version: str | None = None
    reason: str | None = None


class ModelInfo(BaseModel):
    """What ``GET /model`` returns."""

    name: str
    version: str
    task: str
    trained_at: str
    metrics: dict[str, float]
    features: list[FeatureSpec]
    classes: list[str] | None


def example_row(spec: DatasetSpec) -> dict[str, float | int]:
    """A valid row (the middle of each range), used as the example in /docs."""
    row: dict[str, float | int] = {}
    for feature in spec.features:
        middle = (feature.minimum + feature.maximum) / 2
        row[feature.name] = round(middle) if feature.dtype == "int" else round(middle, 4)
    return row


PREDICTION_ID_PATTERN = r"^[0-9a-f]{32}$"  # what ``routes.issue_prediction_id`` issues


@dataclass(frozen=True)
class ApiSchemas:
    """The generated models for one spec: the routes' bodies and answers (and /docs)."""

    row: type[BaseModel]
    batch: type[BaseModel]
    prediction: type[BaseModel]
    batch_prediction: type[BaseModel]
    feedback: type[BaseModel]
    image_size: int | None = None  # the image task: /predict takes uploads, not rows


def read_schemas(model_dir: Path, max_batch: int) -> ApiSchemas:
    """The models of the saved spec; while it cannot be read, stand-ins (the routes answer 503
    before any body check, and readiness says why)."""
    try:
        spec = read_metadata(model_dir).spec
    except (BundleError, OSError, ValueError) as error:
        doc = f"Unknown until the model is loaded ({type(error).__name__})."
        unknown = create_model("Unknown", __config__=ConfigDict(extra="allow"), __doc__=doc)
        return ApiSchemas(unknown, unknown, unknown, unknown, unknown)
    return build_schemas(spec, max_batch=max_batch)


def attribute_names(spec: DatasetSpec) -> tuple[str, ...]:
    """Python names of the row's fields, in the model's column order (JSON names may be any)."""
    return tuple(f"feature_{index}" for index in range(len(spec.features)))


def build_schemas(spec: DatasetSpec, *, max_batch: int) -> ApiSchemas:
    """Create the request/response models for ``spec`` (feature order = model column order)."""
    fields: dict[str, Any] = {}  # strict and bounded; the JSON name is the feature name
    for attribute, feature in zip(attribute_names(spec), spec.features, strict=True):
        low, high = spec.accepted_range(feature)
        field = Field(alias=feature.name, ge=low, le=high, description=feature.description or None)
        fields[attribute] = Annotated[int if feature.dtype == "int" else float, field], ...
    examples: Any = [example_row(spec)]
    row = create_model(
        "PredictRow",
        __config__=ConfigDict(**STRICT_CONFIG, json_schema_extra={"examples": examples}),
        __doc__="One row: every feature, within its training range widened by range_tolerance.",
        **fields,
    )
    batch = create_model(
        "PredictBatch",
        __config__=STRICT_CONFIG,
        __doc__=f"Up to {max_batch} rows, predicted in one call.",
        rows=(Annotated[list[row], Field(min_length=1, max_length=max_batch)], ...),  # type: ignore[valid-type]
    )
    output: Any
    outcome: Any
    if spec.task == "classification":
        labels: Any = Literal[tuple(spec.classes or ())]
        output = {
            "prediction": (labels, Field(description="Most probable class.")),
            "probabilities": (dict[labels, float], Field(description="Probability of each class.")),
        }
        outcome, kind = labels, "true class labels (the model's classes)"
    else:
        output = {"prediction": (float, Field(description="Predicted value."))}
        outcome, kind = float, "true values (finite numbers)"  # STRICT_CONFIG refuses NaN, inf
    row_answer = create_model("Prediction", __doc__="The model's answer for one row.", **output)
    batch_prediction = create_model(
        "BatchPrediction",
        __doc__="Answers in the order of the request's rows, with the model that gave them.",
        model_name=(str, ...),
        model_version=(str, ...),
        prediction_id=(str, Field(description="Send it with POST /feedback.")),
        predictions=(list[row_answer], ...),  # type: ignore[valid-type]
    )
    prediction = create_model(
        "PredictionResponse",
        __doc__="The model's answer for one row, with the model that gave it.",
        model_name=(str, ...),
        model_version=(str, ...),
        prediction_id=(str, Field(description="Send it with POST /feedback.")),
        **output,
    )
    feedback = create_model(
        "FeedbackRequest",
        __config__=STRICT_CONFIG,
        __doc__="The true outcomes of an earlier prediction, matched by its prediction id.",
        prediction_id=(
            str,
            Field(pattern=PREDICTION_ID_PATTERN, description="The prediction_id of the answer."),
        ),
        outcomes=(
            Annotated[list[outcome], Field(min_length=1, max_length=max_batch)],
            Field(description=f"One per row of the prediction, in order: {kind}."),
        ),
    )
    return ApiSchemas(
        row=row,
        batch=batch,
        prediction=prediction,
        batch_prediction=batch_prediction,
        feedback=feedback,
        image_size=spec.image_size,
    )


MAX_LOC_CHARS = 64
MAX_ERRORS = 20  # a 4 KB batch of empty rows has 4,000 errors: answer with the first ones


def error_response(
    status: int, detail: Any, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON error body, with the request id (the middleware puts it in the header)."""
    return JSONResponse(
        {"detail": detail, "request_id": correlation_id.get() or "-"},
        status_code=status,
        headers=headers,
    )


async def on_request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    """400 when the body is not JSON at all, 422 when it is JSON of the wrong shape; location,
    message and type of the first errors only: never the input, its context or a URL."""
    errors = []
    for error in exc.errors()[:MAX_ERRORS]:
        loc = [item[:MAX_LOC_CHARS] if isinstance(item, str) else item for item in error["loc"]]
        errors.append({"loc": loc, "msg": error.get("msg", ""), "type": error.get("type", "")})
    malformed = all(error["type"] == "json_invalid" for error in errors)
    return error_response(400 if malformed else 422, errors)


async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, exc.detail, exc.headers)


ERROR_HANDLERS: Any = {  # FastAPI(exception_handlers=...): its keys are exception types
    RequestValidationError: on_request_validation,
    StarletteHTTPException: on_http_error,
}
