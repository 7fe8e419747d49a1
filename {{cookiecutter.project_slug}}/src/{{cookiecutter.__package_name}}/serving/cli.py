"""The ``serve`` command, JSON logs and the demo's smoke check. Plumbing, rarely edited.

``serve`` runs uvicorn with the app factory and the production limits. Logs are one JSON
object per line on stdout (python-json-logger), with the request id (asgi-correlation-id's
log filter); written directly (a QueueHandler was measured *slower* here: its thread
competes for the GIL). ``serve_and_predict`` is the last step of the ``demo`` task.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from ..bundle import read_metadata
from .schemas import example_row
from .settings import Settings, get_settings

LOGGER_NAME = __name__.rsplit(".", 1)[0]  # "<package>.serving"
# JSON keys: time, level, logger, message, request_id, then whatever ``extra=`` passed
LOG_KEYS = {"levelname": "level", "name": "logger", "correlation_id": "request_id"}


def json_formatter() -> JsonFormatter:
    """One JSON object per record (uvicorn's coloured copy of its messages left out)."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        timestamp="time",
        rename_fields={**LOG_KEYS, "exc_info": "exception"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def configure_logging(level: str) -> None:
    """Send this package's, uvicorn's and asgi-correlation-id's logs as JSON to stdout, once."""
    for name in (LOGGER_NAME, "uvicorn", "asgi_correlation_id"):  # its warning on a bad id too
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(handler.formatter, JsonFormatter) for handler in logger.handlers):
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(json_formatter())
            handler.addFilter(CorrelationIdFilter(default_value="-"))
            logger.addHandler(handler)
            logger.propagate = False


def serve_and_predict(model_dir: Path, port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Serve ``model_dir`` with uvicorn on 127.0.0.1:port, predict one row (or image), stop.

    The demo's last step: the real server and a real HTTP request, in this process.
    """
    import uvicorn  # noqa: PLC0415 - only the demo and ``serve`` need it

    from .app import create_app  # noqa: PLC0415 - the app imports this module

    # a smoke check is not production traffic: keep it out of the prediction log
    settings = Settings(
        model_dir=model_dir, record_predictions=False, access_log=False, log_level="WARNING"
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="demo-server")
    thread.start()
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        ready = httpx.get(url + "/health/ready")
        if ready.status_code != 200:
            raise RuntimeError(f"the served model is not ready: {ready.json()['reason']}")
        spec = read_metadata(model_dir).spec
        sent: dict[str, Any]
        if spec.image_size:  # the image task: upload the first of the project's images
            image = sorted((model_dir.parent / "data/raw/images").glob("*/*"))[0]
            sent = {"file": str(image)}
            answer = httpx.post(url + "/predict", files={"file": image.read_bytes()})
        else:
            sent = example_row(spec)
            answer = httpx.post(url + "/predict", json=sent)
        return sent, answer.raise_for_status().json()
    finally:
        server.should_exit = True
        thread.join()


def serve(
    host: Annotated[
        str, typer.Option(envvar="SERVING_HOST", help="Interface to bind.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SERVING_PORT", help="TCP port.")] = 8000,
) -> None:
    """Serve the model in models/ over HTTP (settings: SERVING_* variables, docs/serving.md).

    One process: feedback finds every prediction in its queue. Scale with replicas behind a
    load balancer, each with its own prediction log (docs/serving.md, "Scaling").
    """
    import uvicorn  # noqa: PLC0415 - only this command needs it

    from .app import DeadlineH11Protocol  # noqa: PLC0415 - imports uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(  # exits with uvicorn's code 3 if the server fails to start
        f"{__package__}.app:create_app",
        factory=True,
        host=host,
        port=port,
        http=DeadlineH11Protocol,  # idle and half-sent connections closed after the timeout
        # no limit_concurrency: it counts idle connections too; the app limits requests
        backlog=256,
        timeout_keep_alive=settings.read_timeout_s,
        timeout_graceful_shutdown=int(settings.drain_s + settings.timeout_s + 5),
        access_log=False,  # the app logs one JSON line per request, with its id
        log_config=None,  # configure_logging's JSON, not uvicorn's coloured text
        server_header=False,
        proxy_headers=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the project's command line (called by ``<package>.cli``)."""
    app.command("serve")(serve)
