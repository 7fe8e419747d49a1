"""Image serving: served uploads against in-process decode + predict. Plumbing, rarely edited.

Fits the default model (logistic regression on ``images.size`` pixels) on the bundled digits
written as 64 x 64 PNG files, starts the app on it with uvicorn on 127.0.0.1 and prints:

- in process: the median of ``images.decode`` + ``predict_proba`` of one PNG (what a request
  runs, without HTTP);
- one connection, one image per request: p50 and its ratio to the in-process time, next to
  the HTTP floor: a bare FastAPI endpoint that reads the same upload and returns a constant;
- ``--connections`` connections: req/s of 1 image and of a batch of 16 images per request.

Usage: ``python benchmarks/images.py [--duration 10] [--connections 8]``. Works in a temp
folder: ``models/`` and ``monitoring/`` are not touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from serving import PACKAGE, send_requests, server  # benchmarks/serving.py

ROOT = Path(__file__).resolve().parents[1]
BOUNDARY = "benchmarkboundary"
UPLOAD_APP = """
from fastapi import FastAPI, UploadFile

app = FastAPI()


@app.post("/predict")
async def predict(file: UploadFile) -> dict:
    await file.read()
    return {"prediction": "0"}
"""


def fit_bundle(workdir: Path, size: int) -> tuple[Any, bytes]:
    """The default estimator on the digits' pixels, saved as a bundle; one PNG's bytes."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    images = __import__(f"{PACKAGE}.images", fromlist=["x"])
    bundle = __import__(f"{PACKAGE}.bundle", fromlist=["x"])
    images.write_digits(workdir / "images")
    files = images.list_images(workdir / "images", workdir)
    paths = [str(workdir / path) for path in files["path"]]
    model = LogisticRegression(max_iter=1000).fit(images.pixel_matrix(paths, size), files["label"])
    spec = images.image_spec(files, size)
    bundle.save_bundle(
        model, workdir / "model", name="images", version="1", spec=spec, metrics={},
        trained_at=datetime.now(UTC),
    )  # fmt: skip
    return model, Path(paths[0]).read_bytes()


def in_process_ms(model: Any, png: bytes, size: int, repeat: int = 500) -> float:
    """Median of decode + predict_proba of one upload."""
    decode = __import__(f"{PACKAGE}.images", fromlist=["x"]).decode
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        features, _ = decode(png, size)
        model.predict_proba(features.reshape(1, -1))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def multipart(route: str, field: str, png: bytes, count: int) -> bytes:
    """A keep-alive HTTP/1.1 request uploading ``count`` copies of the PNG."""
    part = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="x.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + b"\r\n"
    )
    body = part * count + f"--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    )
    return head.encode() + body


def run_load(url: str, request: bytes, duration: float, connections: int) -> dict[str, float]:
    """req/s, p50 and p99 (ms), errors of ``connections`` keep-alive clients for ``duration``."""
    host, port = url.split("//")[1].split(":")
    rps, p50, p99, errors = send_requests(host, int(port), request, duration, connections)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    size = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["images"]["size"]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, images.size {size}")
    with tempfile.TemporaryDirectory(prefix="image-bench-") as tmp:
        workdir = Path(tmp)
        model, png = fit_bundle(workdir, size)
        local = in_process_ms(model, png, size)
        print(f"in process, decode + predict of one {len(png)}-byte PNG: {local:.2f} ms")
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "SERVING_MODEL_DIR": str(workdir / "model"),
            "SERVING_PREDICTION_LOG": str(workdir / "predictions.sqlite"),
        }
        (workdir / "upload_app.py").write_text(UPLOAD_APP, encoding="utf-8")
        bare = [sys.executable, "-m", "uvicorn", "upload_app:app", "--app-dir", str(workdir),
                "--host", "127.0.0.1", "--port", "{port}", "--no-access-log"]  # fmt: skip
        with server(bare, "/docs", env) as url:
            run_load(url, multipart("/predict", "file", png, 1), 2, 1)  # warm-up
            floor = run_load(url, multipart("/predict", "file", png, 1), args.duration, 1)["p50"]
        print(f"HTTP floor, a bare upload endpoint, 1 connection: p50 {floor:.2f} ms = "
              f"{floor / local:.2f} x in process")  # fmt: skip
        command = [sys.executable, "-m", "uvicorn", "--factory",
                   f"{PACKAGE}.serving.app:create_app", "--host", "127.0.0.1", "--port",
                   "{port}", "--no-access-log"]  # fmt: skip
        with server(command, "/health/ready", env) as url:
            one, batch = (
                multipart("/predict", "file", png, 1),
                multipart("/predict/batch", "files", png, 16),
            )
            run_load(url, one, 2, 1)  # warm-up
            served = run_load(url, one, args.duration, 1)
            print(f"served, 1 connection: p50 {served['p50']:.2f} ms = "
                  f"{served['p50'] / local:.2f} x in process, "
                  f"{served['p50'] - floor:.2f} ms above the HTTP floor")  # fmt: skip
            for name, request, count in (("1 image", one, 1), ("batch of 16", batch, 16)):
                found = run_load(url, request, args.duration, args.connections)
                print(f"served, {args.connections} connections, {name}: {found['rps']:,.0f} "
                      f"req/s ({found['rps'] * count:,.0f} images/s), p50 {found['p50']:.2f} ms, "
                      f"p99 {found['p99']:.2f} ms, errors {found['errors']:.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
