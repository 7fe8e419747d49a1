"""A real uvicorn process: body limits, SIGTERM, idle connections. Yours to edit.

RELIABILITY rows S12 and H2; each server is bounded in time and always stopped.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import PACKAGE, running_server, valid_row

pytestmark = pytest.mark.slow  # real processes: a few seconds each
SLOW_FACTORY = "serving_fakes:create_slow_app"


SERVE = [sys.executable, "-c", f"from {PACKAGE}.cli import app; app()", "serve"]


def test_serve_command_answers_and_logs_json(iris_dir: Path, tmp_path: Path) -> None:
    command = [*SERVE, "--host", "127.0.0.1"]
    env = {"SERVING_MODEL_DIR": str(iris_dir)}
    with running_server(tmp_path, env, command=command) as served:
        response = httpx.post(
            served.url + "/predict", json=valid_row(iris_dir), headers={"X-Request-ID": "cli-1"}
        )
        time.sleep(0.2)
    assert response.status_code == 200
    assert "server" not in response.headers
    lines = [json.loads(line) for line in served.output().splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "cli-1" and line.get("status") == 200 for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)


def test_sigterm_drains_readiness_first_and_finishes_in_flight(
    iris_dir: Path, tmp_path: Path
) -> None:
    """SIGTERM at 0.3 s; drain until 1.3 s; socket closed; the 3 s request still answers."""
    env = {"SERVING_MODEL_DIR": str(iris_dir), "FAKE_SLOW_S": "3.0", "SERVING_DRAIN_S": "1.0"}
    with running_server(tmp_path, env, factory=SLOW_FACTORY) as server:
        results: list[int] = []

        def predict() -> None:
            answer = httpx.post(server.url + "/predict", json=valid_row(iris_dir), timeout=10)
            results.append(answer.status_code)

        in_flight = threading.Thread(target=predict)
        in_flight.start()
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ready = httpx.get(server.url + "/health/ready", timeout=2)
        still_served = httpx.get(server.url + "/health/live", timeout=2)
        time.sleep(1.5)  # drain over: the socket is closed, the in-flight request is not done
        assert server.process.poll() is None, "exited before the in-flight request finished"
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/health/live", timeout=2)
        in_flight.join(timeout=10)
        exit_code = server.process.wait(timeout=10)
    assert ready.status_code == 503 and ready.json()["status"] == "draining"
    assert still_served.status_code == 200
    assert results == [200]
    assert exit_code in (0, -signal.SIGTERM)
    assert "draining" in server.output()


def test_idle_and_half_sent_connections_do_not_take_the_service_down(
    iris_dir: Path, tmp_path: Path
) -> None:
    """RELIABILITY H2: 300 sockets that send nothing, half a head or half a body.

    Liveness and predictions still answer; half-sent bodies beyond SERVING_MAX_IN_FLIGHT
    get a fast 503; after SERVING_READ_TIMEOUT_S the server has closed every one of them
    and /metrics counts each refused request by status.
    """
    env = {
        "SERVING_MODEL_DIR": str(iris_dir),
        "SERVING_READ_TIMEOUT_S": "1",
        "SERVING_MAX_IN_FLIGHT": "40",
    }
    head = b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    body = head + b"Content-Length: 99\r\n\r\n{"
    payloads = [b""] * 150 + [head + b"Content-Len"] * 100 + [body] * 50
    with running_server(tmp_path, env, command=[*SERVE, "--host", "127.0.0.1"]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with contextlib.ExitStack() as stack:
            sockets = []
            for payload in payloads:
                sock = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                sock.sendall(payload)
                sockets.append(sock)
            time.sleep(0.3)
            started = time.monotonic()
            live = httpx.get(server.url + "/health/live", timeout=5)
            assert live.status_code == 200 and time.monotonic() - started < 0.5
            busy = httpx.post(server.url + "/predict", json=valid_row(iris_dir), timeout=5)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            time.sleep(1.5)  # past the read timeout
            after = httpx.post(server.url + "/predict", json=valid_row(iris_dir), timeout=5)
            assert after.status_code == 200
            statuses = []
            for number, sock in enumerate(sockets):
                sock.settimeout(1)
                answer = sock.recv(4096)
                if number < 250:
                    assert answer == b"", f"socket {number} is still open"
                else:
                    statuses.append(int(answer.split()[1]))
        metrics = httpx.get(server.url + "/metrics", timeout=5).text
    assert sorted(statuses) == [408] * 40 + [503] * 10, statuses
    for status, count in (("408", 40), ("503", 11)):
        labels = f'handler="/predict",status="{status}"'
        assert "http_requests_total{" + labels + "} " + f"{count}.0\n" in metrics
