"""The project's ``serve`` command: uvicorn with the app factory and production limits."""

from __future__ import annotations

from typing import Annotated

import typer

from .logs import uvicorn_log_config
from .settings import get_settings

FACTORY = f"{__package__}.app:create_app"


def serve(
    host: Annotated[
        str, typer.Option(envvar="SERVING_HOST", help="Interface to bind.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SERVING_PORT", help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(envvar="SERVING_WORKERS", min=1, help="Processes (one per core).")
    ] = 1,
) -> None:
    """Serve the model in models/ over HTTP (settings: SERVING_* variables, docs/serving.md)."""
    import uvicorn  # noqa: PLC0415 - only this command needs it

    settings = get_settings()
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Connections + tasks beyond this get uvicorn's own 503; the app's queue is smaller.
        limit_concurrency=settings.max_concurrency + 64,
        backlog=256,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=int(settings.drain_s + settings.timeout_s + 5),
        access_log=False,  # the app logs one JSON line per request, with its id
        log_config=uvicorn_log_config(settings.log_level),
        server_header=False,
        proxy_headers=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the project's command line (called by ``<package>.cli``)."""
    app.command("serve")(serve)
