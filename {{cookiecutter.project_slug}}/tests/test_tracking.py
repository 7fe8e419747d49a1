"""MLflow helpers: store choice, reachability check, pinned requirements. Yours to edit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }}.errors import TrackingUnavailable
from {{ cookiecutter.__package_name }}.tracking import (
    DEFAULT_TRACKING_URI,
    check_reachable,
    git_commit,
    register,
    tracking_uri,
)


def test_tracking_uri_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri() == DEFAULT_TRACKING_URI == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert tracking_uri() == "http://tracking:5000"


def test_a_down_server_fails_fast_in_one_line_a_live_one_passes(down_server: str) -> None:
    start = time.monotonic()
    with pytest.raises(TrackingUnavailable) as info:
        check_reachable(down_server, timeout=1.0)
    assert time.monotonic() - start < 3
    message = str(info.value)
    assert "\n" not in message
    assert "not reachable" in message and "MLFLOW_TRACKING_URI" in message
    check_reachable("sqlite:///mlflow.db")  # local stores and live servers pass
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=1.0)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Read-only for this user; root ignores modes, so the file is made immutable for it."""
    path.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable:
        if shutil.which("chattr") is None and not os.environ.get("CI"):
            pytest.skip("running as root without chattr: cannot make a file read-only")
        subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


@pytest.mark.parametrize("relative", [False, True])
def test_read_only_sqlite_store_is_named_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: bool
) -> None:
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    uri = "sqlite:///mlflow.db" if relative else f"sqlite:///{store}"
    with read_only(store):
        start = time.monotonic()
        with pytest.raises(TrackingUnavailable) as info:
            check_reachable(uri)
        assert time.monotonic() - start < 1
    message = str(info.value)
    assert "mlflow.db" in message and "permission denied" in message and "\n" not in message
    check_reachable(uri)  # writable again: passes


def test_git_commit_outside_a_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit() == "unknown"


@pytest.mark.slow  # MLflow: a 2 s import and a new store
def test_registering_a_run_this_store_lacks_says_how_to_retrain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone, or another store: run.json names a run the store has never seen."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(TrackingUnavailable, match=r"not in the tracking store .* --force train"):
        register("models:/m-1", "demo", "champion", "0" * 32, metrics={"test_accuracy": 1.0})
    import mlflow  # noqa: PLC0415 - a 2 s import, for this test only

    assert mlflow.MlflowClient().search_registered_models() == []  # nothing registered
