"""Pure ASGI middleware (no per-request task or body copy, unlike BaseHTTPMiddleware).

``RequestContextMiddleware`` gives each request an id, times it, counts it, logs one
JSON line, and answers 503 beyond ``max_in_flight`` requests in flight (health checks and
/metrics excepted: they must answer under any load). ``BodyLimitMiddleware`` and
``JsonOnlyMiddleware`` refuse a request before any byte of it is parsed: too large (413,
counted while streaming, so a chunked body without Content-Length is caught too), not
sent within the read timeout (408), or not JSON (415).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Collection
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response
from .logs import request_id_var
from .metrics import ServingMetrics

logger = logging.getLogger(__name__)
REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
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
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestContextMiddleware:
    """Request id in and out (``X-Request-ID``), metrics and one access-log line."""

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
        given = _header(scope, REQUEST_ID_HEADER)
        valid = given is not None and _VALID_REQUEST_ID.fullmatch(given)
        request_id = given.decode() if valid and given else os.urandom(16).hex()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        error_kind: str | None = None
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, error_kind, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER]
                for key, value in headers:
                    if key == b"x-error-kind":
                        error_kind = value.decode()
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
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
            self._record(scope, status, error_kind, time.perf_counter() - started, request_id)
            request_id_var.reset(token)

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


class _TooLarge(Exception):
    """Raised inside ``receive`` when the streamed body passes the limit."""


class _TooSlow(Exception):
    """Raised inside ``receive`` when the body has not arrived by the read deadline."""


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes`` (by Content-Length up front, or while streaming);
    408 for a body not received within ``read_timeout_s`` of the request head."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float = 5.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
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
                raise _TooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except (_TooLarge, _TooSlow) as error:
            if started:
                raise
            if isinstance(error, _TooSlow):
                detail = f"request body not received within {self.read_timeout_s:g} s"
                await _closing(408, detail, "read_timeout")(scope, receive, send)
                return
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"request body larger than {self.max_bytes} bytes"
        await _closing(413, detail, "body_too_large")(scope, receive, send)


def _closing(status: int, detail: str, kind: str) -> ASGIApp:
    """An error answer that also closes the connection (the rest of the body is unread)."""
    return error_response(status, detail, headers={"Connection": "close"}, kind=kind)


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
