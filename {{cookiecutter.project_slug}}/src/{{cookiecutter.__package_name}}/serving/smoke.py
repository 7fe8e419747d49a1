"""Start the real server, send one prediction, stop it: the last step of the `demo` task.

Why a real process: the demo should prove what a user will run, not an in-process shortcut.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..bundle import read_metadata
from ..features import DatasetSpec
from .client import ServingClient

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
) -> tuple[dict[str, float], dict[str, Any]]:
    """Run `serve` on 127.0.0.1:port, wait until ready, predict one row, then SIGTERM it."""
    # a smoke check is not production traffic: keep it out of the prediction log
    env = {**os.environ, "SERVING_MODEL_DIR": str(model_dir), "SERVING_RECORD_PREDICTIONS": "false"}
    command = [sys.executable, "-m", f"{PACKAGE}.cli", "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        # our own interpreter and module, fixed arguments
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            client = ServingClient(f"http://127.0.0.1:{port}")
            deadline = time.monotonic() + timeout_s
            while not client.ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"the server did not become ready:\n{tail}")
                time.sleep(0.2)
            row = example_row(read_metadata(model_dir).spec)
            return row, client.predict(row)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
