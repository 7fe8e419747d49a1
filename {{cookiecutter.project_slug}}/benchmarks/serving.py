"""Serving benchmark against MLflow and a constant endpoint. Plumbing, rarely edited.

Runs a bounded load (``wrk`` if installed, else a small asyncio client) against real
uvicorn processes on 127.0.0.1 and prints req/s, p50 and p99 with ratios:

- this app, single rows and batches of 100, and through the ``serve`` command;
- ``mlflow models serve --env-manager local`` on the same model (if MLflow is installed);
- a FastAPI endpoint returning a constant (the ceiling for any FastAPI app here);
- a random forest (a slow model), one connection, against its in-process predict time;
- single rows with the prediction log off and on (``SERVING_RECORD_PREDICTIONS``), in the
  order off, on, on, off in the same run: the cost of recording every prediction.

Usage: ``python benchmarks/serving.py [--duration 10] [--connections 8] [--json out.json]``;
``--only recording`` runs just the recording comparison. Everything runs offline on bundles
fitted here; ``models/`` and ``monitoring/`` are not touched (the log goes to a temp folder).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# The project's package: the folder under src/ that has a serving/ sub-package.
PACKAGE = next(p.name for p in sorted((HERE.parent / "src").iterdir()) if (p / "serving").is_dir())

CONSTANT_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.post("/predict")
async def predict() -> dict:
    return {"model_name": "constant", "model_version": "1", "prediction": "setosa",
            "probabilities": {"setosa": 1.0, "versicolor": 0.0, "virginica": 0.0}}
"""


@dataclass
class Result:
    """One load run."""

    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    rows_per_request: int = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    import urllib.request  # noqa: PLC0415

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - 127.0.0.1
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not up after {timeout_s} s")


@contextlib.contextmanager
def server(
    command: list[str],
    ready_path: str,
    env: dict[str, str],
    timeout_s: float = 60.0,
    cwd: Path | None = None,
) -> Iterator[str]:
    """Start a server in its own process group; always stop the whole group."""
    port = free_port()
    full = [part.replace("{port}", str(port)) for part in command]
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        full,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + ready_path, process, timeout_s)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def run_wrk(
    url: str, body: str, duration: int, connections: int, workdir: Path
) -> tuple[float, float, float, int]:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n',
        encoding="utf-8",
    )
    output = subprocess.run(  # noqa: S603
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    rps = p50 = p99 = 0.0
    errors = 0
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(words[1])
        elif words[:1] == ["50%"]:
            p50 = _ms(words[1])
        elif words[:1] == ["99%"]:
            p99 = _ms(words[1])
        elif line.strip().startswith("Non-2xx"):
            errors += int(words[-1])
        elif line.strip().startswith("Socket errors"):
            errors += sum(int(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
    return rps, p50, p99, errors


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def run_python_load(
    url: str, body: str, duration: int, connections: int
) -> tuple[float, float, float, int]:
    """Fallback when wrk is missing: keep-alive HTTP/1.1 over raw asyncio streams."""
    payload = body.encode()
    host, port = url.split("//")[1].split("/", maxsplit=1)[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    return send_requests(host, int(port), request, duration, connections)


def send_requests(
    host: str, port: int, request: bytes, duration: float, connections: int
) -> tuple[float, float, float, int]:
    """req/s, p50 and p99 (ms) and errors of ``connections`` keep-alive clients sending the
    raw HTTP/1.1 ``request`` for ``duration`` seconds (benchmarks/images.py sends uploads)."""
    latencies: list[float] = []
    errors = 0

    async def one_connection(stop: float) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(request)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += not status.split()[1].startswith(b"2")
        writer.close()

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one_connection(started + duration) for _ in range(connections)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, quantiles[49] * 1000, quantiles[98] * 1000, errors


def load(
    name: str,
    url: str,
    body: str,
    args: argparse.Namespace,
    workdir: Path,
    *,
    connections: int | None = None,
    rows: int = 1,
) -> Result:
    conns = connections or args.connections
    if shutil.which("wrk"):
        numbers = run_wrk(url, body, args.duration, conns, workdir)
    else:
        numbers = run_python_load(url, body, args.duration, conns)
    result = Result(name, *numbers, rows_per_request=rows)
    print(
        f"  {name}: {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms, errors {result.errors}",
        flush=True,
    )
    return result


def fit_bundles(workdir: Path) -> dict[str, Any]:
    """A logistic regression (fast) and a random forest (slow) on iris, saved as bundles."""
    from sklearn.datasets import load_iris  # noqa: PLC0415
    from sklearn.ensemble import RandomForestClassifier  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    bundle = __import__(f"{PACKAGE}.bundle", fromlist=["save_bundle"])
    features = __import__(f"{PACKAGE}.features", fromlist=["DatasetSpec"])
    data = load_iris()
    x, y = data.data, data.target_names[data.target]  # labels, as the pipeline fits
    spec = features.DatasetSpec(
        task="classification",
        target="species",
        classes=list(data.target_names),
        features=[
            features.FeatureSpec(
                name=f"f{i}", minimum=float(x[:, i].min()), maximum=float(x[:, i].max())
            )
            for i in range(x.shape[1])
        ],
    )
    models = {
        "linear": LogisticRegression(max_iter=1000).fit(x, y),
        "forest": RandomForestClassifier(n_estimators=100, random_state=0).fit(x, y),
    }
    for name, model in models.items():
        bundle.save_bundle(
            model,
            workdir / name,
            name=name,
            version="1",
            spec=spec,
            metrics={},
            trained_at=datetime.now(UTC),
        )
    row = {f"f{i}": float(v) for i, v in enumerate(x[60])}
    return {"models": models, "spec": spec, "row": row, "x": x}


def in_process_ms(model: Any, row: np.ndarray, repeat: int = 300) -> float:
    """Median time of one single-row ``predict_proba`` call (what the server runs)."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        model.predict_proba(row)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def mlflow_model(model: Any, x: np.ndarray, names: list[str], workdir: Path) -> Path | None:
    """Save the same estimator as an MLflow model (None if MLflow is not installed)."""
    try:
        import mlflow.sklearn  # noqa: PLC0415
        import pandas as pd  # noqa: PLC0415
        from mlflow.models import infer_signature  # noqa: PLC0415
    except ImportError:
        return None
    frame = pd.DataFrame(x, columns=names)
    path = workdir / "mlflow_model"
    mlflow.sklearn.save_model(
        model,
        path,
        signature=infer_signature(frame, model.predict(x)),
        pip_requirements=["scikit-learn"],
    )
    return path


def app_scenarios(
    app_cmd: list[str],
    env: dict[str, str],
    bodies: tuple[str, str],
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Result]:
    """This app: single rows and batches of 100."""
    one, batch = bodies
    results: dict[str, Result] = {}
    with server(app_cmd, "/health/ready", env) as url:
        results["app"] = load("this app, 1 row", url + "/predict", one, args, workdir)
        results["app_batch"] = load(
            "this app, batch of 100", url + "/predict/batch", batch, args, workdir, rows=100
        )
    return results


def recording_scenarios(
    app_cmd: list[str],
    env: dict[str, str],
    bodies: tuple[str, str],
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Result]:
    """Single rows and batches of 100 with recording off and on, in the order off, on, on,
    off; the mean of each. The mirrored order cancels a load that rises or falls steadily."""
    kinds = {  # result-name suffix -> (what, route, body, rows per request)
        "": ("1 row", "/predict", bodies[0], 1),
        "_batch": ("batch of 100", "/predict/batch", bodies[1], 100),
    }
    runs: dict[tuple[str, str], list[Result]] = {(s, k): [] for s in ("off", "on") for k in kinds}
    for round_, order in ((1, ("off", "on")), (2, ("on", "off"))):
        for switch in order:
            log = workdir / f"recording-{round_}-{switch}.sqlite"
            scenario_env = {
                **env,
                "SERVING_RECORD_PREDICTIONS": "true" if switch == "on" else "false",
                "SERVING_PREDICTION_LOG": str(log),
            }
            with server(app_cmd, "/health/ready", scenario_env) as url:
                for key, (what, route, body, rows) in kinds.items():
                    label = f"this app, {what}, recording {switch} ({round_})"
                    result = load(label, url + route, body, args, workdir, rows=rows)
                    runs[switch, key].append(result)
    results = {}
    for (switch, key), measured in runs.items():
        results[f"record_{switch}{key}"] = Result(
            f"this app, {kinds[key][0]}, recording {switch} (mean)",
            statistics.mean(r.requests_per_s for r in measured),
            statistics.mean(r.p50_ms for r in measured),
            statistics.mean(r.p99_ms for r in measured),
            sum(r.errors for r in measured),
            kinds[key][3],
        )
    return results


def recording_cpu_us(workdir: Path, batch: int = 1, requests: int = 20_000) -> float:
    """CPU microseconds (all threads) to queue, encode and insert one request, in-process.

    Independent of the load generator and of other processes, unlike req/s on a shared
    machine: compare it with the app's CPU per request (1e6 / req/s on a saturated core).
    """
    metrics = __import__(f"{PACKAGE}.serving.metrics", fromlist=["ServingMetrics"])
    names = [f"f{i}" for i in range(4)]
    log = metrics.PredictionRecorder(
        workdir / f"cpu-{batch}.sqlite",
        model_version="1",
        metrics=metrics.ServingMetrics(),
        max_rows=1_000_000,
        max_queue=requests * batch,  # the queue bound counts rows
    )
    rng = np.random.default_rng(0)
    values = np.round(rng.uniform(0, 8, (batch, 4)), 1).tolist()
    body = json.dumps({"rows": [dict(zip(names, row, strict=True)) for row in values]})
    labels = ["versicolor"] * batch
    started = time.process_time()
    for i in range(requests):
        log.record(f"{i:032x}", body, labels)
    log.close()
    return (time.process_time() - started) / requests * 1e6


def recording_cpu(workdir: Path) -> dict[int, float]:
    """CPU per request of 1 row and of 100 rows (what the load scenarios send)."""
    return {1: recording_cpu_us(workdir), 100: recording_cpu_us(workdir, 100, 2_000)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument(
        "--only", choices=["recording"], help="run only this comparison (a few runs)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # MLflow's server execs `uvicorn` from PATH: put this interpreter's scripts first.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": path, "PYTHONUNBUFFERED": "1"}
    python = sys.executable
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as tmp:
        workdir = Path(tmp)
        machine = f"{platform.platform()}, {os.cpu_count()} cores"
        print(f"machine: {machine}, Python {platform.python_version()}")
        print(
            f"load tool: {'wrk' if shutil.which('wrk') else 'python asyncio client'}, "
            f"{args.connections} connections, {args.duration} s per run"
        )
        fitted = fit_bundles(workdir)
        row = fitted["row"]
        one = json.dumps(row)
        batch = json.dumps({"rows": [row] * 100})
        names = list(row)
        matrix = np.array([list(row.values())])
        app_cmd = [
            python,
            "-m",
            "uvicorn",
            "--factory",
            f"{PACKAGE}.serving.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--no-access-log",
        ]
        linear_env = {
            **env,
            "SERVING_MODEL_DIR": str(workdir / "linear"),
            "SERVING_PREDICTION_LOG": str(workdir / "predictions.sqlite"),
        }
        if args.only == "recording":
            results = recording_scenarios(app_cmd, linear_env, (one, batch), args, workdir)
            print_report(results, 0.0, 0.0, recording_cpu(workdir))
            return 0

        (workdir / "constant_app.py").write_text(textwrap.dedent(CONSTANT_APP), encoding="utf-8")
        with server(
            [
                python,
                "-m",
                "uvicorn",
                "constant_app:app",
                "--app-dir",
                str(workdir),
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
                "--no-access-log",
            ],
            "/docs",
            env,
        ) as url:
            results["constant"] = load(
                "constant FastAPI endpoint", url + "/predict", one, args, workdir
            )
        results.update(app_scenarios(app_cmd, linear_env, (one, batch), args, workdir))
        serve_cmd = [
            python,
            "-c",
            f"from {PACKAGE}.cli import app; app()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ]
        with server(serve_cmd, "/health/ready", linear_env) as url:
            results["serve"] = load("serve, 1 row", url + "/predict", one, args, workdir)
        model_path = (
            None
            if args.skip_mlflow
            else mlflow_model(fitted["models"]["linear"], fitted["x"], names, workdir)
        )
        if model_path is not None:
            mlflow_body = json.dumps(
                {"dataframe_split": {"columns": names, "data": [list(row.values())]}}
            )
            mlflow_cmd = [
                python,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                str(model_path),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                "{port}",
                "-w",
                "1",
            ]
            with server(mlflow_cmd, "/ping", env, timeout_s=120) as url:
                results["mlflow"] = load(
                    "mlflow models serve, 1 row", url + "/invocations", mlflow_body, args, workdir
                )
        forest_env = {**linear_env, "SERVING_MODEL_DIR": str(workdir / "forest")}
        with server(app_cmd, "/health/ready", forest_env) as url:
            results["forest"] = load(
                "random forest, 1 row, 1 connection",
                url + "/predict",
                one,
                args,
                workdir,
                connections=1,
            )
        results.update(recording_scenarios(app_cmd, linear_env, (one, batch), args, workdir))
        record_us = recording_cpu(workdir)
        linear_ms = in_process_ms(fitted["models"]["linear"], matrix)
        forest_ms = in_process_ms(fitted["models"]["forest"], matrix, repeat=100)

    print_report(results, linear_ms, forest_ms, record_us)
    if args.json:
        payload = {
            "results": {k: asdict(v) for k, v in results.items()},
            "in_process_ms": {"linear": linear_ms, "forest": forest_ms},
            "recording_cpu_us_per_request": record_us,
            "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def print_report(
    results: dict[str, Result], linear_ms: float, forest_ms: float, record_us: dict[int, float]
) -> None:
    """The table, then each target as a ratio."""
    print()
    header = (
        f"{'scenario':38} {'req/s':>9} {'rows/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    print(header)
    for r in results.values():
        rows = r.requests_per_s * r.rows_per_request
        print(
            f"{r.name:38} {r.requests_per_s:9,.0f} {rows:10,.0f} "
            f"{r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:7d}"
        )
    if linear_ms:
        print(f"{'in-process predict_proba, linear':38} {'':9} {'':10} {linear_ms:8.3f}")
        print(f"{'in-process predict_proba, forest':38} {'':9} {'':10} {forest_ms:8.3f}")
    for rows, cpu in record_us.items():
        label = f"recording CPU, {rows} row(s), in-process (us)"
        print(f"{label:38} {'':9} {'':10} {cpu:8.1f}")
    print()
    ratios: list[tuple[str, float, str]] = []
    if "record_on" in results:
        on, off = results["record_on"], results["record_off"]
        ratios.append(
            ("recording on / off, req/s", on.requests_per_s / off.requests_per_s, ">= 0.90")
        )
        on, off = results["record_on_batch"], results["record_off_batch"]
        ratios.append(
            ("recording on / off, batch of 100", on.requests_per_s / off.requests_per_s, ">= 0.90")
        )
    if "app" not in results:  # --only recording
        for label, value, target in ratios:
            print(f"{label:38} {value:6.2f}x  (target {target})")
        return
    app = results["app"]
    ratios.append(
        (
            "app / constant endpoint, req/s",
            app.requests_per_s / results["constant"].requests_per_s,
            ">= 0.60",
        )
    )
    if "mlflow" in results:
        mlflow = results["mlflow"]
        ratios.append(
            ("app / mlflow models serve, req/s", app.requests_per_s / mlflow.requests_per_s, ">= 6")
        )
        ratios.append(("app / mlflow models serve, p99", app.p99_ms / mlflow.p99_ms, "<= 0.15"))
    ratios.append(
        ("forest p50 / in-process predict", results["forest"].p50_ms / forest_ms, "<= 1.2")
    )
    for label, value, target in ratios:
        print(f"{label:38} {value:6.2f}x  (target {target})")


if __name__ == "__main__":
    sys.exit(main())
