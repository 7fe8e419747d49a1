"""The ``serve`` command, JSON logs, a client and a smoke check. Plumbing, rarely edited.

``serve`` runs uvicorn with the app factory and the production limits. Logs are one JSON
object per line on stdout, with the request id; written directly (a QueueHandler was
measured *slower* here: its thread competes for the GIL). ``ServingClient`` needs only the
standard library (any script or notebook): ``ServingClient(url).predict({"feature": 1.0})``.
``serve_and_predict`` is the last step of the ``demo`` task: it starts the real server.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from asgi_correlation_id import correlation_id

from ..bundle import read_metadata
from ..features import DatasetSpec
from .settings import get_settings

LOGGER_NAME = __name__.rsplit(".", 1)[0]  # "<package>.serving"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_STANDARD |= {"color_message", "request_id"}  # uvicorn's coloured copy; ours, read above


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line (time, level, logger, message, request id, extras)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or correlation_id.get() or "-",
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> logging.Logger:
    """Send this package's logs as JSON to stdout, once (idempotent across app factories)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(getattr(handler, "serving_json", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler.serving_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's own loggers in the same JSON format (used by the ``serve`` command)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class ServingError(RuntimeError):
    """The API answered with an error; ``status``, ``detail`` and ``request_id`` say which."""

    def __init__(self, status: int, detail: Any, request_id: str | None) -> None:
        super().__init__(f"HTTP {status}: {detail} (request id {request_id})")
        self.status = status
        self.detail = detail
        self.request_id = request_id


class ServingClient:
    """Calls /predict, /predict/batch, /model and /health/ready."""

    def __init__(self, base_url: str = "http://127.0.0.1:8000", timeout_s: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def predict(self, row: Mapping[str, float]) -> dict[str, Any]:
        """Prediction for one row (a mapping of feature name to value)."""
        return self._call("POST", "/predict", dict(row))

    def predict_batch(self, rows: Sequence[Mapping[str, float]]) -> dict[str, Any]:
        """Predictions for several rows, in order."""
        return self._call("POST", "/predict/batch", {"rows": [dict(row) for row in rows]})

    def predict_image(self, image: Path) -> dict[str, Any]:
        """Prediction for one PNG or JPEG file (the image task), as a multipart upload."""
        boundary = uuid.uuid4().hex
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="image"'
        body = f"{head}\r\n\r\n".encode() + image.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        return self._call("POST", "/predict", body, f"multipart/form-data; boundary={boundary}")

    def model(self) -> dict[str, Any]:
        """Name, version, metrics and training date of the served model."""
        return self._call("GET", "/model")

    def ready(self) -> bool:
        """True when the server has a verified model and is not shutting down."""
        try:
            self._call("GET", "/health/ready")
        except (ServingError, OSError):
            return False
        return True

    def _call(
        self, method: str, path: str, payload: Any = None, content_type: str = "application/json"
    ) -> dict[str, Any]:
        data = payload
        if payload is not None and not isinstance(payload, bytes):
            data = json.dumps(payload, allow_nan=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": content_type, "X-Request-ID": uuid.uuid4().hex},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310  # nosec B310
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                body = {}
            detail = body.get("detail", error.reason) if isinstance(body, dict) else error.reason
            raise ServingError(error.code, detail, error.headers.get("X-Request-ID")) from None


PACKAGE = __package__.rsplit(".", 1)[0]


def example_row(spec: DatasetSpec) -> dict[str, float]:
    """A valid row: the middle of each feature's training range."""
    row = {}
    for feature in spec.features:
        middle = (feature.minimum + feature.maximum) / 2
        row[feature.name] = float(round(middle)) if feature.dtype == "int" else round(middle, 4)
    return row


def serve_and_predict(
    model_dir: Path, port: int, timeout_s: float = 60.0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `serve` on 127.0.0.1:port, wait until ready, predict one row (or image), then stop it."""
    # a smoke check is not production traffic: keep it out of the prediction log
    env = {**os.environ, "SERVING_MODEL_DIR": str(model_dir), "SERVING_RECORD_PREDICTIONS": "false"}
    command = [sys.executable, "-m", f"{PACKAGE}.cli", "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        # our own interpreter and module, fixed arguments
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            client = ServingClient(f"http://127.0.0.1:{port}")
            deadline = time.monotonic() + timeout_s
            while not client.ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"the server did not become ready:\n{tail}")
                time.sleep(0.2)
            spec = read_metadata(model_dir).spec
            if spec.image_size:  # the image task: the first of the project's images
                image = sorted((model_dir.parent / "data/raw/images").glob("*/*"))[0]
                return {"file": str(image)}, client.predict_image(image)
            row = example_row(spec)
            return row, client.predict(row)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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

    from .app import DeadlineH11Protocol  # noqa: PLC0415 - imports uvicorn

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
        # a worker must be ready within this; 5 s (uvicorn's default) killed every worker
        # still loading its model on 2 busy cores, in a restart loop
        timeout_worker_healthcheck=60,
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
