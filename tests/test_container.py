"""The serving image built and run for real with podman, as in production (RELIABILITY P5).

No registry is reachable, so the Dockerfile's base images are local stand-ins; podman, them and
the host configuration are set up by .ci/containers.sh (which .ci/run calls). Without them the
tests skip, except under CI=true where they fail. One xdist group: the builds (about 2 minutes
each on 2 shared cores) run one after the other on one worker.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, env_for, install_project, require, run

pytestmark = [pytest.mark.tier2, pytest.mark.xdist_group("containers")]

BASE_IMAGES = ("docker.io/library/python:3.11-slim", "ghcr.io/astral-sh/uv:0.13.8")
MAX_IMAGE_BYTES = 450 * 10**6
TRAINING_ONLY = ("mlflow", "dvc", "great_expectations", "torch")
APP_UID = "10001"
# As compose.yaml runs the api service: read-only root, no capabilities, the image's user.
PRODUCTION = ("--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges")
# The build's `uv sync` reaches the index through the host's network and its CA bundle.
CERTS = "/etc/ssl/certs"
# The model bundle the pipeline would export to models/, trained as params.yaml says by the
# project's own library: `dvc repro` took ~110 s per project on a loaded CI machine (its
# imports of MLflow and Great Expectations), this takes seconds; the pipeline has its tests.
BUNDLE = """
import importlib, sys, yaml
from datetime import UTC, datetime
from pathlib import Path
package = sys.argv[1]
data, training, bundle = (importlib.import_module(f"{package}.{m}")
                          for m in ("data", "training", "bundle"))
params = yaml.safe_load(Path("params.yaml").read_text())
d, t = params["data"], params["train"]
if "images" in params:  # the digits as images, read as training reads them; one kept to upload
    import numpy as np, pandas as pd
    from PIL import Image
    from sklearn.datasets import load_digits
    images, digits = importlib.import_module(f"{package}.images"), load_digits()
    size = params["images"]["size"]
    pictures = [Image.fromarray((image * 15).astype(np.uint8)) for image in digits.images]
    features = np.vstack([images.pixels(picture, size) for picture in pictures])
    labels = digits.target.astype(str).astype(object)
    spec = images.image_spec(pd.DataFrame({"label": labels}), size)
    pictures[7].save(sys.argv[2])
else:
    frame, descriptions = data.load_bundled(d["source"])
    spec = data.derive_spec(frame, d["target"], d["task"], descriptions)
    features, labels = training.to_matrix(frame, spec), training.to_labels(frame, spec)
model = training.build_estimator(t["estimator"], t["hyperparameters"], t["seed"])
model = training.fit(model, features, labels)
bundle.save_bundle(model, Path("models"), name=package, version="1", spec=spec, metrics={},
                   trained_at=datetime.now(UTC))
"""
IN_PROCESS = """
import json, sys
from importlib import import_module
from pathlib import Path
from fastapi.testclient import TestClient
body = json.loads(sys.argv[2])  # a row, or {"file": <path>} to upload a PNG (the image task)
with TestClient(import_module(sys.argv[1] + ".serving.app").create_app()) as client:
    if "file" in body:
        png = Path(body["file"]).read_bytes()
        print(json.dumps(client.post("/predict", files={"file": ("x.png", png)}).json()))
    else:
        print(json.dumps(client.post("/predict", json=body).json()))
"""
IMAGE_TASK = "image_classification"


@dataclass(frozen=True)
class Image:
    tag: str
    task: str
    project: Path
    package: str
    upload: Path  # a PNG of the training data (the image task)


def podman(*args: str, timeout: float = 600) -> Any:
    return run(["podman", *args], cwd=ROOT, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, body: Any = None, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    """GET, or POST ``body`` as JSON (``{"file": path}``: that file as a multipart upload);
    the status and the JSON answer (HTTP errors included)."""
    data = None if body is None else json.dumps(body).encode()
    kind = "application/json"
    if isinstance(body, dict) and "file" in body:
        boundary, head = uuid.uuid4().hex, 'Content-Disposition: form-data; name="file"'
        data = f'--{boundary}\r\n{head}; filename="x.png"\r\n\r\n'.encode()
        data += Path(body["file"]).read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        kind = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(url, data, {"Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def ready(base: str) -> bool:
    try:
        return call(f"{base}/health/ready", timeout=5)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def wait_ready(base: str, name: str, deadline_s: float = 120) -> None:
    """Poll readiness; fail with the container's log if it exits or never gets ready."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if ready(base):
            return
        if podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() != "true":
            break
        time.sleep(0.5)
    pytest.fail(f"{name} not ready:\n{podman('logs', name).stdout[-3000:]}")


@contextmanager
def container(image: Image, *extra: str) -> Iterator[tuple[str, str]]:
    """Run the image as in production on a free loopback port; yields (name, base URL)."""
    name, port = f"ccmlops-test-{uuid.uuid4().hex[:8]}", free_port()
    started = podman(
        "run", "-d", "--name", name, *PRODUCTION, "--tmpfs", "/tmp",
        "-v", f"{name}:/app/monitoring", "-p", f"127.0.0.1:{port}:8000", *extra, image.tag,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield name, f"http://127.0.0.1:{port}"
    finally:
        podman("rm", "-f", "-t", "0", name)
        podman("volume", "rm", "-f", name)


def middle_row(project: Path) -> dict[str, float]:
    """The middle of every feature's range, from the exported bundle's metadata."""
    spec = json.loads((project / "models" / "model.json").read_text(encoding="utf-8"))["spec"]
    return {f["name"]: (f["minimum"] + f["maximum"]) / 2 for f in spec["features"]}


def without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without the ids issued per request (``prediction_id`` is server-issued)."""
    issued = {"request_id", "prediction_id"}
    return {key: value for key, value in answer.items() if key not in issued}


@pytest.fixture(scope="session")
def podman_ready() -> None:
    found = shutil.which("podman") is not None
    missing = [i for i in BASE_IMAGES if not found or podman("image", "exists", i).returncode]
    require(found and not missing, f"podman or base images {missing} missing: .ci/containers.sh")


@pytest.fixture(scope="module", params=["classification", "regression", IMAGE_TASK])
def image(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    project_python: Path,
    podman_ready: None,
) -> Iterator[Image]:
    """A project rendered, trained, locked (`uv lock`) and built into its default target."""
    task: str = request.param
    out = tmp_path_factory.mktemp(f"container-{task}")
    env = env_for(project_python)
    words = [f"project_name=Container {task}", f"ml_task={task}"]
    ccmlops = str(Path(sys.executable).parent / "ccmlops")
    made = run([ccmlops, "new", "--no-input", "-o", str(out / "p"), *words], cwd=out, env=env)
    assert made.returncode == 0, made.stderr
    project = out / "p" / f"container_{task}"
    install_project(project_python, project)
    started = time.monotonic()
    lock = subprocess.Popen(["uv", "lock", "-q"], cwd=project, stderr=subprocess.PIPE, text=True)
    package = f"container_{task}"
    upload = out / "upload.png"
    trained = run([str(project_python), "-c", BUNDLE, package, str(upload)], cwd=project, env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert lock.wait(timeout=300) == 0, lock.communicate()[1]
    print(f"{task}: model bundle and uv.lock in {time.monotonic() - started:.0f} s")
    uv_toml = out / "uv.toml"
    uv_toml.write_text("system-certs = true\n", encoding="utf-8")
    tag = f"localhost/ccmlops-test-{task}:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    built = podman(
        "build", "--format", "docker", "--network=host", "-t", tag,
        "-v", f"{CERTS}:{CERTS}:ro", "-v", f"{uv_toml}:/etc/uv/uv.toml:ro", str(project),
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"{task}: image built in {time.monotonic() - started:.0f} s")
    yield Image(tag, task, project, package, upload)
    podman("rmi", "-f", tag)


def test_image_is_small_and_holds_no_training_package(image: Image) -> None:
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image.tag).stdout)
    print(f"{image.task}: image {size / 1e6:.0f} MB")
    assert size <= MAX_IMAGE_BYTES, f"{size / 1e6:.0f} MB"
    wanted = (*TRAINING_ONLY, "fastapi", "sklearn")  # the last two show the probe can see
    probe = podman(
        "run", "--rm", "--entrypoint", "python", image.tag, "-c",
        f"import importlib.util as u; print(*[m for m in {wanted!r} if u.find_spec(m)])",
    )  # fmt: skip
    assert probe.stdout.split() == ["fastapi", "sklearn"], probe.stderr


# Task-agnostic checks (the image's user and files, a mounted bundle): the tabular images only;
# the image task's build is checked for its size, packages and served uploads.
TABULAR = pytest.mark.parametrize("image", ["classification", "regression"], indirect=True)


@TABULAR
def test_the_app_user_may_write_only_the_prediction_log_folder(image: Image) -> None:
    found = podman(
        "run", "--rm", "--entrypoint", "find", image.tag, "/opt", "/app", "/usr/local", "-writable"
    )  # fmt: skip
    assert found.stdout.split() == ["/app/monitoring"], found.stderr


def test_container_predicts_as_in_process_and_finishes_in_flight_requests_on_sigterm(
    image: Image, project_python: Path, tmp_path: Path
) -> None:
    row = {"file": str(image.upload)} if image.task == IMAGE_TASK else middle_row(image.project)
    env = {
        **env_for(project_python),
        "SERVING_MODEL_DIR": str(image.project / "models"),
        "SERVING_RECORD_PREDICTIONS": "false",
    }
    local = run([str(project_python), "-c", IN_PROCESS, image.package, json.dumps(row)],
                cwd=tmp_path, env=env)  # fmt: skip
    assert local.returncode == 0, local.stderr
    expected = json.loads(local.stdout.strip().splitlines()[-1])
    with container(image) as (name, base):
        wait_ready(base, name)
        assert podman("exec", name, "id", "-u").stdout.strip() == APP_UID
        assert podman("exec", name, "touch", "/app/x").returncode != 0  # read-only root
        status, answer = call(f"{base}/predict", row)
        assert status == 200, answer
        assert without_ids(answer) == without_ids(expected)
        if image.task == IMAGE_TASK:  # the drain below is the same code for every task
            return
        outcomes, signalled = _sigterm_under_load(name, base, {"rows": [row] * 500})
        stopped = podman("wait", name, timeout=60)
        exited_after = time.monotonic() - signalled
    in_flight = [outcome for begun, ended, outcome in outcomes if begun < signalled < ended]
    assert in_flight, "no request was in flight at SIGTERM"
    assert {outcome for _, _, outcome in outcomes} == {"200"}, outcomes
    assert stopped.stdout.strip() == "0", stopped.stderr
    assert exited_after < 30  # compose.yaml's stop_grace_period


def _sigterm_under_load(
    name: str, base: str, batch: dict[str, Any]
) -> tuple[list[tuple[float, float, str]], float]:
    """Four clients post batches; SIGTERM; like a load balancer, they stop sending once
    readiness answers 503. Returns every request's (start, end, outcome) and the signal time."""
    stop = threading.Event()
    outcomes: list[tuple[float, float, str]] = []

    def client() -> None:
        while not stop.is_set():
            begun = time.monotonic()
            try:
                outcome = str(call(f"{base}/predict/batch", batch, timeout=30)[0])
            except (OSError, http.client.HTTPException) as error:
                outcome = type(error).__name__
            outcomes.append((begun, time.monotonic(), outcome))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    signalled = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    try:
        while ready(base):
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return outcomes, signalled


@TABULAR
def test_an_unreadable_mounted_bundle_is_named_in_the_reason(image: Image, tmp_path: Path) -> None:
    bundle = tmp_path / "models"
    shutil.copytree(image.project / "models", bundle)
    for path in bundle.iterdir():
        path.chmod(0o600)  # root's, as an exporter writes it: the app user cannot read it
    with container(image, "-v", f"{bundle}:/app/models:ro") as (name, base):
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                status, answer = call(f"{base}/health/ready", timeout=2)
                break
            except (OSError, http.client.HTTPException):
                time.sleep(0.5)
        else:
            pytest.fail(podman("logs", name).stdout[-3000:])
    assert status == 503
    assert answer["reason"] == "cannot read <model_dir>/model.json: Permission denied"


# The Compose file is the same for both tasks: brought up once, with the classification image.
@pytest.mark.parametrize("image", ["classification"], indirect=True)
def test_compose_api_service_comes_up_with_podman_compose(image: Image) -> None:
    compose = [str(Path(sys.executable).parent / "podman-compose"), "-f", "compose.yaml"]
    port = free_port()
    placeholders = {  # compose.yaml refuses to start without them; the api service uses none
        key: "placeholder-not-a-secret"
        for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "MINIO_ROOT_USER",
                    "MINIO_ROOT_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "ALERT_WEBHOOK_URL")
    }  # fmt: skip
    env = {**placeholders, "API_PORT": str(port)}
    slug = image.project.name.replace("_", "-")
    assert podman("tag", image.tag, f"{slug}-api:local").returncode == 0  # no second build
    try:
        up = run([*compose, "up", "-d", "--no-build", "api"], cwd=image.project, env=env)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        wait_ready(f"http://127.0.0.1:{port}", f"{slug}_api_1")
        status, answer = call(f"http://127.0.0.1:{port}/predict", middle_row(image.project))
        assert status == 200, answer
    finally:
        run([*compose, "down", "-v", "-t", "5"], cwd=image.project, env=env, timeout=120)
        podman("rmi", f"{slug}-api:local")
