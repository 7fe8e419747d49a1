"""The app factory, ``uvicorn --factory <package>.serving.app:create_app``. Plumbing, rarely edited.

Why a factory and a lifespan: nothing happens at import time; each call builds an app
with its own settings, metrics registry and model, which is how tests get isolated apps.
The request and response models are built here from the spec saved with the model
(``schemas.py``), so FastAPI's own OpenAPI document describes the real features; the
model itself is loaded and verified in the lifespan.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from .. import PROJECT_DESCRIPTION, PROJECT_NAME, __version__
from ..bundle import BundleError, load_bundle, read_metadata
from . import routes
from .errors import install_error_handlers
from .logs import configure_logging
from .metrics import ServingMetrics
from .middleware import (
    BODY_METHODS,
    BodyLimitMiddleware,
    JsonOnlyMiddleware,
    RequestContextMiddleware,
)
from .model import Loader, ServingState
from .schemas import ApiSchemas, build_schemas, unknown_schemas
from .settings import Settings, get_settings
from .shutdown import install_drain_handler

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a client's X-Request-ID, else a new one


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load and verify the model once; on SIGTERM report not-ready, drain, stop the worker."""
    state: ServingState = app.state.serving
    state.load()
    # Objects alive now (libraries, model) live as long as the process: freezing them keeps
    # the cyclic GC from re-scanning them, which caused 100 ms p99 pauses under load.
    gc.collect()
    gc.freeze()
    remove_handler = install_drain_handler(state.begin_drain, state.settings.drain_s)
    try:
        yield
    finally:
        remove_handler()
        state.close()


def read_schemas(settings: Settings) -> ApiSchemas:
    """The models of the saved spec; stand-ins if it cannot be read (readiness says why)."""
    try:
        spec = read_metadata(settings.model_dir).spec
    except (BundleError, OSError, ValueError) as error:
        return unknown_schemas(type(error).__name__)
    return build_schemas(spec, max_batch=settings.max_batch)


def create_app(settings: Settings | None = None, *, loader: Loader = load_bundle) -> FastAPI:
    """Build the app; ``loader`` is ``bundle.load_bundle`` except in fault-injection tests."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    serving_metrics = ServingMetrics()
    serving_metrics.watch_summary(settings.monitor_summary)
    docs = settings.docs_enabled
    # FastAPIOffline serves Swagger UI's and ReDoc's scripts from its package, not a CDN, so
    # /docs works without internet access. It needs an OpenAPI URL: with docs off, plain FastAPI.
    make_app = FastAPIOffline if docs else FastAPI
    app = make_app(
        title=PROJECT_NAME,
        description=PROJECT_DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.serving = ServingState(settings=settings, metrics=serving_metrics, loader=loader)
    install_error_handlers(app)
    routers = (routes.router, routes.predictions_router(read_schemas(settings)))
    for router in routers:
        app.include_router(router)
    body_routes = {  # the JSON check is for these; any other method is the router's 405
        (method, route.path)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in BODY_METHODS.intersection(route.methods or ())
    }
    # Added innermost first: CorrelationId -> RequestContext -> CORS -> BodyLimit -> JsonOnly.
    app.add_middleware(JsonOnlyMiddleware, body_routes=body_routes)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.read_timeout_s,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            allow_credentials=False,
        )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=serving_metrics,
        access_log=settings.access_log,
        max_in_flight=settings.max_in_flight,
    )
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name="X-Request-ID",
        generator=lambda: os.urandom(16).hex(),
        validator=lambda value: _VALID_REQUEST_ID.fullmatch(value) is not None,
    )
    return app
