"""Request limits, metrics and the access log, as pure ASGI middleware. Plumbing, rarely edited.

Pure ASGI (no per-request task or body copy, unlike BaseHTTPMiddleware). The request id
is asgi-correlation-id's (``app.py``). ``RequestContextMiddleware`` times each request,
counts it, logs one JSON line, and answers 503 beyond ``max_in_flight`` requests in flight
(health checks and /metrics excepted: they must answer under any load). ``BodyLimitMiddleware`` and
``JsonOnlyMiddleware`` refuse a request before any byte of it is parsed: too large (413,
counted while streaming, so a chunked body without Content-Length is caught too), not
sent within the read timeout (408), or not JSON (415).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from typing import Any

from asgi_correlation_id import correlation_id
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_response
from .metrics import ServingMetrics

logger = logging.getLogger(__name__)
QUIET_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
# Metric label for requests refused before routing (415, 413): only known paths, so an
# attacker's random URLs cannot blow up the number of time series.
KNOWN_PATHS = QUIET_PATHS | {
    "/predict",
    "/predict/batch",
    "/feedback",
    "/model",
    "/docs",
    "/openapi.json",
}
CLOSE = {"Connection": "close"}  # the rest of a refused body is not read
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestContextMiddleware:
    """Requests in flight, metrics and one access-log line per request."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServingMetrics,
        access_log: bool = True,
        max_in_flight: int = 256,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500
        error_kind: str | None = None
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, error_kind, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                for key, value in message.get("headers", []):
                    if key == b"x-error-kind":
                        error_kind = value.decode()
            await send(message)

        app = self.app
        if self.in_flight >= self.max_in_flight and scope["path"] not in QUIET_PATHS:
            app = error_response(503, "overloaded, retry later", {"Retry-After": "1"}, "overloaded")
        self.in_flight += 1
        try:
            await app(scope, receive, send_with_id)
        except ClientDisconnect:  # nobody to answer; 499 is nginx's code for it
            status, error_kind = 499, "client_disconnected"
        except Exception as error:  # a bug, not a client mistake: log it, answer generically
            logger.error("unhandled error: %s", type(error).__name__, exc_info=error)
            if response_started:
                raise  # the response had started; nothing sensible can be sent any more
            error_kind = "internal"
            await error_response(500, "internal server error", kind="internal")(
                scope, receive, send_with_id
            )
        finally:
            self.in_flight -= 1
            request_id = correlation_id.get() or "-"
            self._record(scope, status, error_kind, time.perf_counter() - started, request_id)

    def _record(
        self, scope: Scope, status: int, kind: str | None, seconds: float, request_id: str
    ) -> None:
        route: Any = scope.get("route")
        path = getattr(route, "path", None)
        if path is None:
            path = scope["path"] if scope["path"] in KNOWN_PATHS else "unmatched"
        key = (path, scope["method"], status)
        children = self._children.get(key)
        if children is None:  # labels() takes a lock and builds a tuple: do it once per key
            children = (
                self.metrics.requests.labels(
                    route=path, method=scope["method"], status=str(status)
                ),
                self.metrics.latency.labels(route=path),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status >= 400:
            self.metrics.errors.labels(kind=kind or f"http_{status}").inc()
        if self.access_log:
            level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
            if logger.isEnabledFor(level):
                # makeRecord + handle: what ``logger.log`` does minus finding the caller's
                # frame (a quarter of the access log's cost; the line is always this one).
                extra = {
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                }
                if "prediction_id" in scope["state"]:  # ties the client's id to the server's
                    extra["prediction_id"] = scope["state"]["prediction_id"]
                logger.handle(
                    logger.makeRecord(
                        logger.name, level, __file__, 0, "request", (), None, None, extra
                    )
                )


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes`` (by Content-Length up front, or while streaming);
    408 for a body not received within ``read_timeout_s`` of the request head."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float = 5.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s
        self._too_large = f"request body larger than {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await error_response(413, self._too_large, CLOSE, "body_too_large")(
                scope, receive, send
            )
            return
        received = 0
        started = False
        deadline = asyncio.get_running_loop().time() + self.read_timeout_s

        async def counting_receive() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                detail = f"request body not received within {self.read_timeout_s:g} s"
                raise ApiError(408, detail, "read_timeout", CLOSE) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiError(413, self._too_large, "body_too_large", CLOSE)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except ApiError as error:  # raised outside FastAPI's handlers (no route read the body)
            if started:
                raise
            response = error_response(
                error.status_code, error.detail, dict(error.headers or {}), error.kind
            )
            await response(scope, receive, send)


class JsonOnlyMiddleware:
    """415 for a request body that is not declared as UTF-8 JSON.

    Only for the ``(method, path)`` pairs that take a body: any other method is the
    router's to refuse with 405, as the OpenAPI document promises.
    """

    def __init__(self, app: ASGIApp, body_routes: Collection[tuple[str, str]]) -> None:
        self.app = app
        self.body_routes = frozenset(body_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self.body_routes:
            content_type = (_header(scope, b"content-type") or b"").decode("latin-1").lower()
            media, _, params = content_type.partition(";")
            media = media.strip()
            is_json = media == "application/json" or (
                media.startswith("application/") and media.endswith("+json")
            )
            charset = params.strip().removeprefix("charset=").strip('"') if params else "utf-8"
            if not is_json or charset not in {"utf-8", "utf8"}:
                response = error_response(
                    415, "send the body as application/json (UTF-8)", kind="unsupported_media_type"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
