"""The app factory that ``serve`` and ``uvicorn --factory`` call. Plumbing, rarely edited.

Why a factory and a lifespan: nothing happens at import time; each call builds an app
with its own settings, metrics registry and model, which is how tests get isolated apps.
The request and response models are built here from the spec saved with the model
(``schemas.py``), so FastAPI's own OpenAPI document describes the real features; the
model itself is loaded and verified in the lifespan.

Below the factory: the SIGTERM handler that turns readiness 503 before uvicorn drains, and
the h11 protocol that closes idle and half-sent connections (the ``serve`` command's).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from .. import PROJECT_DESCRIPTION, PROJECT_NAME, __version__
from ..bundle import load_bundle
from . import routes
from .cli import configure_logging
from .metrics import LATENCY_BUCKETS, MonitorSummary, ServingMetrics
from .model import Loader, ModelService
from .schemas import ERROR_HANDLERS, error_response, read_schemas
from .settings import Settings, get_settings

logger = logging.getLogger(__name__)
QUIET_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
MAX_LOGGED_PATH = 200
CLOSE = {"Connection": "close"}  # the rest of a refused body is not read
REQUESTS_DOC = "Requests by handler (route) and status."  # no method label: see below
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a client's X-Request-ID, else a new one


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load and verify the model once; on SIGTERM report not-ready, drain, stop the worker."""
    service: ModelService = app.state.service
    service.load()
    # Objects alive now (libraries, model) live as long as the process: freezing them keeps
    # the cyclic GC from re-scanning them, which caused 100 ms p99 pauses under load.
    gc.collect()
    gc.freeze()
    install_drain_handler(service.begin_drain, service.settings.drain_s)
    try:
        yield
    finally:
        service.close()


def create_app(settings: Settings | None = None, *, loader: Loader = load_bundle) -> FastAPI:
    """Build the app; ``loader`` is ``bundle.load_bundle`` except in fault-injection tests."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    serving_metrics = ServingMetrics()
    serving_metrics.registry.register(MonitorSummary(settings.monitor_summary))
    docs = settings.docs_enabled
    # FastAPIOffline serves Swagger UI's and ReDoc's scripts from its package, not a CDN, so
    # /docs works without internet access. It needs an OpenAPI URL: with docs off, plain
    # FastAPI, which serves no /docs or /redoc without one.
    make_app = FastAPIOffline if docs else FastAPI
    app = make_app(
        title=PROJECT_NAME,
        description=PROJECT_DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        exception_handlers=ERROR_HANDLERS,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.service = ModelService(settings, serving_metrics, loader)
    app.include_router(routes.router)
    schemas = read_schemas(settings.model_dir, settings.max_batch)
    app.include_router(routes.predictions_router(schemas))
    # Added innermost first; outermost to innermost: CorrelationId -> Instrumentator (metrics)
    # -> RequestContext -> CORS -> BodyLimit.
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            allow_credentials=False,
        )
    app.add_middleware(RequestContextMiddleware, settings=settings)
    # requests by route and status, and their latency, refusals by the middleware above
    # included; paths without a route count as "none" and no label holds the method, so
    # random URLs and made-up methods add no time series
    registry = serving_metrics.registry
    Instrumentator(should_group_status_codes=False, registry=registry).add(
        metrics.requests(should_include_method=False, registry=registry, metric_doc=REQUESTS_DOC),
        metrics.latency(
            buckets=LATENCY_BUCKETS,
            should_include_method=False,
            should_include_status=False,
            registry=registry,
        ),
    ).instrument(app).expose(app, include_in_schema=False)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name="X-Request-ID",
        generator=lambda: str(uuid.uuid4()),  # dashed: never mistaken for a prediction_id
        validator=lambda value: _VALID_REQUEST_ID.fullmatch(value) is not None,
    )
    return app


class RequestContextMiddleware:
    """Requests in flight, a generic 500 for a bug, and one access-log line per request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.access_log = settings.access_log
        self.max_in_flight = settings.max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0  # until the response starts

        async def send_tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        app = self.app
        if self.in_flight >= self.max_in_flight and scope["path"] not in QUIET_PATHS:
            app = error_response(503, "overloaded, retry later", {"Retry-After": "1"})
        self.in_flight += 1
        try:
            await app(scope, receive, send_tracked)
        except ClientDisconnect:  # nobody to answer; 499 is nginx's code for it
            status = 499
        except Exception as error:  # a bug, not a client mistake: log it, answer generically
            logger.error("unhandled error: %s", type(error).__name__, exc_info=error)
            if status:
                raise  # the response had started; nothing sensible can be sent any more
            await error_response(500, "internal server error")(scope, receive, send_tracked)
        finally:
            self.in_flight -= 1
            if self.access_log:
                path = getattr(scope.get("route"), "path", scope["path"][:MAX_LOGGED_PATH])
                level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
                extra = {
                    "method": scope["method"][:MAX_LOGGED_PATH],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    # ties the client's request id to the server's prediction id
                    "prediction_id": scope.get("state", {}).get("prediction_id"),
                }
                logger.log(level, "request", extra=extra)


class BodyLimitMiddleware:
    """413 for bodies over SERVING_MAX_BODY_BYTES (by Content-Length up front, or while
    streaming); 408 for a body not received within SERVING_READ_TIMEOUT_S of the request head."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.read_timeout_s = settings.read_timeout_s
        self._too_large = f"request body larger than {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await error_response(413, self._too_large, CLOSE)(scope, receive, send)
            return
        received = 0
        deadline = asyncio.get_running_loop().time() + self.read_timeout_s

        async def counting_receive() -> Message:
            """Raises inside the route reading the body: FastAPI's handlers answer."""
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                detail = f"request body not received within {self.read_timeout_s:g} s"
                raise HTTPException(408, detail, CLOSE) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._too_large, CLOSE)
            return message

        await self.app(scope, counting_receive, send)


def install_drain_handler(on_drain: Callable[[], None], delay_s: float) -> None:
    """Chain a SIGTERM handler in front of the server's (which puts its own back when it stops).

    uvicorn finishes in-flight requests on SIGTERM but has no step where the app can tell a
    load balancer to stop sending traffic: this marks the app as draining (readiness 503)
    and hands the signal on ``delay_s`` later.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # e.g. TestClient runs the app in a thread: no signals there
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return  # no server handler to hand the signal to
    loop = asyncio.get_running_loop()
    seen = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal seen
        first, seen = not seen, True
        if first:
            on_drain()
            if delay_s > 0:
                loop.call_soon_threadsafe(loop.call_later, delay_s, previous, signum, None)
                return
        previous(signum, frame)  # a second SIGTERM skips the delay

    signal.signal(signal.SIGTERM, handle)


class DeadlineH11Protocol(H11Protocol):
    """Closes a connection that has not sent a complete request head in time.

    uvicorn 0.54 arms its keep-alive timer only after a response and cancels it on any byte
    received: a connection that sent nothing, or half a head, was held forever. Here the
    timer (``timeout_keep_alive`` = SERVING_READ_TIMEOUT_S) also starts when a connection
    opens and stops only at a whole request head. The body's deadline is in BodyLimitMiddleware.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        """uvicorn's, minus cancelling the timer: ``handle_events`` does at a complete head."""
        self.conn.receive_data(data)
        self.handle_events()
