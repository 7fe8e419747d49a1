"""The project's ``serve`` command: uvicorn with the app factory and production limits."""

from __future__ import annotations

import socket
import sys
from typing import Annotated, Any

import typer

from .logs import uvicorn_log_config
from .settings import get_settings

FACTORY = f"{__package__}.app:create_app"


def tcp_listener(config: Any) -> socket.socket:
    """uvicorn's multi-worker socket, re-wrapped so asyncio enables TCP_NODELAY on it.

    uvicorn 0.54 binds it with ``proto=0``; asyncio then leaves Nagle's algorithm on and
    every keep-alive request waits ~40 ms for a delayed ACK (Kludex/uvicorn#3149:
    172 req/s instead of thousands with 2 workers here).
    """
    sock: socket.socket = config.bind_socket()
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.set_inheritable(True)
    return fixed


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
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    from .connections import DeadlineH11Protocol  # noqa: PLC0415 - imports uvicorn

    settings = get_settings()
    config = uvicorn.Config(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=DeadlineH11Protocol,  # idle and half-sent connections closed after the timeout
        # no limit_concurrency: it counts idle connections too; the app limits requests
        backlog=256,
        timeout_keep_alive=settings.read_timeout_s,
        timeout_graceful_shutdown=int(settings.drain_s + settings.timeout_s + 5),
        access_log=False,  # the app logs one JSON line per request, with its id
        log_config=uvicorn_log_config(settings.log_level),
        server_header=False,
        proxy_headers=False,
    )
    if workers > 1:
        Multiprocess(config, sockets=[tcp_listener(config)]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's own exit code for a failed start-up


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the project's command line (called by ``<package>.cli``)."""
    app.command("serve")(serve)
