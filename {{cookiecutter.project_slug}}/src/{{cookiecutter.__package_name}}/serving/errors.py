"""Error answers, all shaped ``{"detail", "request_id"}``. Plumbing, rarely edited.

Why custom handlers: FastAPI's defaults echo the rejected input and a documentation URL,
and an unexpected exception must never leak a stack trace or a path to the client.
"""

from __future__ import annotations

from typing import Any, cast

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_LOC_CHARS = 64


class ApiError(StarletteHTTPException):
    """An expected failure with a status code, a public message and a metrics kind.

    An ``HTTPException``, so FastAPI lets it through even from inside the body's reading.
    """

    def __init__(
        self, status: int, detail: str, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, detail, headers)
        self.kind = kind


def error_response(
    status: int, detail: Any, headers: dict[str, str] | None = None, kind: str | None = None
) -> JSONResponse:
    """The JSON error body, with the request id (the middleware puts it in the header)."""
    response = JSONResponse(
        {"detail": detail, "request_id": correlation_id.get() or "-"},
        status_code=status,
        headers=headers,
    )
    if kind:
        response.headers["X-Error-Kind"] = kind
    return response


def public_errors(errors: list[Any], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Location, message and type of each error: never the input, its context or a URL."""
    cleaned = []
    for error in errors:
        loc = [*prefix, *error.get("loc", ())]
        loc = [item[:MAX_LOC_CHARS] if isinstance(item, str) else item for item in loc]
        cleaned.append({"loc": loc, "msg": error.get("msg", ""), "type": error.get("type", "")})
    return cleaned


def validation_response(errors: list[dict[str, Any]]) -> JSONResponse:
    """400 when the body is not JSON at all, 422 when it is JSON of the wrong shape."""
    malformed = all(error["type"] == "json_invalid" for error in errors)
    status = 400 if malformed else 422
    return error_response(status, errors, kind="malformed_json" if malformed else "validation")


async def _on_pydantic_error(_: Request, exc: Exception) -> JSONResponse:
    errors = cast(ValidationError, exc).errors(include_url=False, include_input=False)
    return validation_response(public_errors(list(errors), prefix=("body",)))


async def _on_request_validation(_: Request, exc: Exception) -> JSONResponse:
    return validation_response(public_errors(list(cast(RequestValidationError, exc).errors())))


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    error = cast(ApiError, exc)
    return error_response(error.status_code, error.detail, dict(error.headers or {}), error.kind)


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    error = cast(StarletteHTTPException, exc)
    return error_response(error.status_code, error.detail, dict(error.headers or {}), kind="http")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ValidationError, _on_pydantic_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
