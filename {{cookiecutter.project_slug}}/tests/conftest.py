"""Shared fixtures for the pipeline tests: small frames from the bundled data. Yours to edit."""

from __future__ import annotations

import socket
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.__package_name }}.config import Params, parse_params
from {{ cookiecutter.__package_name }}.data import derive_spec, load_bundled, split
from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.paths import ProjectPaths

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"iris": "species", "diabetes": "progression"}
TASKS: dict[str, Any] = {"iris": "classification", "diabetes": "regression"}
EXERCISE_SOURCE = " (README.md, section Tasks): "


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test stopped by an exercise left for you reports the task in one line, not a traceback."""
    report = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if report.failed and isinstance(error, NotImplementedError):
        task, found, text = str(error).partition(EXERCISE_SOURCE)
        if found and task.startswith("Task "):
            report.longrepr = f"{task} not done yet: {text} (README.md, section Tasks)"
    return report


@pytest.fixture
def down_server() -> str:
    """An http:// URL where nothing listens: a tracking server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="session")
def project_params() -> dict[str, Any]:
    """The project's own params.yaml, as plain data."""
    return yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8"))


def bundled_split(name: str) -> tuple[pd.DataFrame, pd.DataFrame, DatasetSpec]:
    """(train, test, spec) of a bundled dataset, split as the pipeline does."""
    frame, descriptions = load_bundled(name)
    target, task = TARGETS[name], TASKS[name]
    train, test = split(frame, target, task, test_size=0.25, seed=42)
    return train, test, derive_spec(train, target, task, descriptions)


@pytest.fixture(scope="session", params=["iris", "diabetes"])
def dataset(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame, DatasetSpec]:
    return bundled_split(request.param)


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, pd.DataFrame, DatasetSpec]:
    return bundled_split("iris")


@pytest.fixture
def prepared(tmp_path: Path, project_params: dict[str, Any]) -> tuple[Params, ProjectPaths]:
    """(params, paths) once the prepare stage ran in ``tmp_path``, for the stages' tests."""
    from {{ cookiecutter.__package_name }}.stages import prepare  # noqa: PLC0415 - from M2 on

    params, paths = parse_params(project_params), ProjectPaths(tmp_path)
    prepare.main(params, paths)
    return params, paths
