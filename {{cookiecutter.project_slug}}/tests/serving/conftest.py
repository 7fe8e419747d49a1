"""Fixtures for the serving tests: bundles, apps, real uvicorn. Plumbing, rarely edited.

The bundles are built by the tests themselves (not by the pipeline), for both tasks, so
the serving code is tested for classification and regression in every generated project.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge

from {{ cookiecutter.__package_name }}.bundle import read_metadata, save_bundle
from {{ cookiecutter.__package_name }}.features import DatasetSpec, FeatureSpec
from {{ cookiecutter.__package_name }}.serving.app import create_app
from {{ cookiecutter.__package_name }}.serving.cli import LOGGER_NAME
from {{ cookiecutter.__package_name }}.serving.settings import Settings

HERE = Path(__file__).parent
PACKAGE = "{{ cookiecutter.__package_name }}"
TRAINED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def prediction_log_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every app and server of the session records to a temporary log, not ./monitoring."""
    path = tmp_path_factory.mktemp("prediction-log") / "predictions.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SERVING_PREDICTION_LOG", str(path))
        patch.setenv("SERVING_MONITOR_SUMMARY", str(path.parent / "summary.json"))
        yield path


def spec_for(
    task: str, names: list[str], x: np.ndarray, target: str, classes: Any = None
) -> DatasetSpec:
    """The spec the pipeline would derive: the training range of each column."""
    features = [
        FeatureSpec(name=name, minimum=float(x[:, i].min()), maximum=float(x[:, i].max()))
        for i, name in enumerate(names)
    ]
    return DatasetSpec(task=task, target=target, features=features, classes=classes)  # type: ignore[arg-type]


def _bundle(factory: pytest.TempPathFactory, model: Any, spec: DatasetSpec, **about: Any) -> Path:
    """Save a fitted model as the pipeline would, in a fresh models/ folder."""
    directory = factory.mktemp(about["name"]) / "models"
    save_bundle(model, directory, spec=spec, trained_at=TRAINED_AT, **about)
    return directory


@pytest.fixture(scope="session")
def iris_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logistic regression fitted on the label strings, as the pipeline fits."""
    data = load_iris()
    names = list(data.feature_names)  # "sepal length (cm)": spaces and brackets on purpose
    spec = spec_for("classification", names, data.data, "species", list(data.target_names))
    model = LogisticRegression(max_iter=1000).fit(data.data, np.asarray(spec.classes)[data.target])
    return _bundle(
        tmp_path_factory, model, spec, name="iris", version="3", metrics={"accuracy": 0.97}
    )


@pytest.fixture(scope="session")
def diabetes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ridge regression on the diabetes data."""
    data = load_diabetes()
    spec = spec_for("regression", list(data.feature_names), data.data, "progression")
    model = Ridge().fit(data.data, data.target)
    return _bundle(
        tmp_path_factory, model, spec, name="diabetes", version="7", metrics={"rmse": 53.0}
    )


@pytest.fixture(params=["iris", "diabetes"])
def any_model_dir(request: pytest.FixtureRequest) -> Path:
    """Each kind of bundle in turn."""
    return request.getfixturevalue(f"{request.param}_dir")


@contextmanager
def app_client(model_dir: Path, loader: Any = None, **overrides: Any) -> Iterator[TestClient]:
    """A TestClient with the lifespan run (model loaded), closed afterwards; no SIGTERM drain."""
    kwargs = {"loader": loader} if loader is not None else {}
    app = create_app(Settings(model_dir=model_dir, drain_s=0.0, **overrides), **kwargs)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(iris_dir: Path) -> Iterator[TestClient]:
    """A ready app serving the iris model."""
    with app_client(iris_dir) as test_client:
        yield test_client


def valid_row(model_dir: Path) -> dict[str, float]:
    """The middle of every feature's range."""

    spec = read_metadata(model_dir).spec
    return {f.name: (f.minimum + f.maximum) / 2 for f in spec.features}


@pytest.fixture
def serving_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture the serving logs (their logger does not propagate to the root logger)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(caplog.handler)
    # until an app configures it, the logger propagates to the root, where caplog's handler
    # already is: every record would be captured twice
    propagate, logger.propagate = logger.propagate, False
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.propagate = propagate


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A uvicorn process started by a test; always stopped by ``running_server``."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_server(
    tmp_path: Path,
    env: dict[str, str],
    factory: str = f"{PACKAGE}.serving.app:create_app",
    command: list[str] | None = None,
    startup_s: float = 30.0,
) -> Iterator[Server]:
    """Start uvicorn on 127.0.0.1 and a free port; wait until it answers; stop it after."""
    port = free_port()
    if command is None:  # the app factory under plain uvicorn
        options = f"--factory {factory} --host 127.0.0.1 --no-access-log".split()
        command = [sys.executable, "-m", "uvicorn", *options, "--app-dir", str(HERE)]
    command = [*command, "--port", str(port)]
    log = tmp_path / f"server-{port}.log"
    full_env = {**os.environ, "SERVING_DRAIN_S": "0", **env, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=full_env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.output()}")
            try:
                if httpx.get(server.url + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
