"""Smoke test of a running API: ready, one prediction, metrics. Plumbing, rarely edited.

Why standard library only: CI runs it against the container and the template's tests run
it against the image's own entry command, neither with the project's dependencies needed.
Usage: python deploy/smoke.py http://127.0.0.1:8000 --models models
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

READY_PATH = "/health/ready"
PREDICT_PATH = "/predict"
METRICS_PATH = "/metrics"
EXPECTED_METRICS = ("http_requests_total", "http_request_duration_seconds", "serving_ready")


def request(url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> tuple[int, str]:
    """GET (or POST JSON when ``body`` is given); return the status and the text."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_ready(base: str, deadline_s: float) -> None:
    """Poll readiness until it answers 200, or fail with the last answer."""
    end = time.monotonic() + deadline_s
    last = "no answer"
    while time.monotonic() < end:
        try:
            status, text = request(base + READY_PATH, timeout=2.0)
        except OSError as error:  # connection refused while the server starts
            last = str(error)
        else:
            if status == 200:
                return
            last = f"{status} {text[:200]}"
        time.sleep(0.5)
    raise SystemExit(f"not ready after {deadline_s:.0f} s: {last}")


def example_row(models: Path) -> dict[str, float | int]:
    """A valid row from the bundle's metadata: the middle of every feature's training range."""
    spec = json.loads((models / "model.json").read_text(encoding="utf-8"))["spec"]
    row: dict[str, float | int] = {}
    for feature in spec["features"]:
        middle = (feature["minimum"] + feature["maximum"]) / 2
        row[feature["name"]] = round(middle) if feature.get("dtype") == "int" else middle
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the three checks; exit 1 with the reason on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="for example http://127.0.0.1:8000")
    parser.add_argument("--models", type=Path, default=Path("models"), help="bundle folder")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")

    wait_ready(base, args.wait)
    print(f"ready: {base}{READY_PATH}")
    status, text = request(base + PREDICT_PATH, example_row(args.models))
    if status != 200:
        print(f"POST {PREDICT_PATH} answered {status}: {text[:500]}", file=sys.stderr)
        return 1
    print(f"prediction: {text[:200]}")
    status, text = request(base + METRICS_PATH)
    missing = [name for name in EXPECTED_METRICS if name not in text]
    if status != 200 or missing:
        print(f"GET {METRICS_PATH} answered {status}; missing {missing}", file=sys.stderr)
        return 1
    print("metrics: " + ", ".join(EXPECTED_METRICS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
