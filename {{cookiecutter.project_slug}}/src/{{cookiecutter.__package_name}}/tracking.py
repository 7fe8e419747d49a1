"""MLflow: one run per training, the registered model and its alias. Plumbing, rarely edited.

Why the reachability check comes first: when MLFLOW_TRACKING_URI names a server that is
down, MLflow retries for minutes and then prints a traceback wall; checking with a short
timeout before training gives one clear line and never leaves a half-logged run.

Why an alias: serving and people refer to "champion", not to a version number that
changes with every accepted model. Why not from an experiment: `dvc exp run` keeps its
results outside the branch, so an alias moved there would name a model no commit holds.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import subprocess
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import TrackingUnavailable

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
LOCAL_ARTIFACTS = "mlruns"  # MLflow's artifact folder beside a local store
EXPERIMENT_TAG = "dvc_experiment"  # a version registered from `dvc exp run` carries its name


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else the local SQLite store in the project root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def _mlflow() -> Any:
    """MLflow (a 2 s import, only for the stages that log), set to the project's store; no
    telemetry, and a server that dies mid-run fails fast instead of retrying."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    import mlflow  # noqa: PLC0415

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def check_reachable(uri: str, timeout: float = 2.0) -> None:
    """Fail in ``timeout`` seconds with one line when the store cannot be used.

    An HTTP server that is down, or a SQLite file this user cannot write (MLflow retries
    that for over a minute and then reports an unrelated SQLAlchemy "autoflush" error).
    """
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        store = _sqlite_file(uri)
        for path in (store, store.parent):  # SQLite writes the file and a journal beside it
            if path.exists() and not os.access(path, os.W_OK):
                kind = "folder" if path.is_dir() else "file"
                raise TrackingUnavailable(
                    f"MLflow store {store}: permission denied, the {kind} {path} is read-only for "
                    f"this user (`chmod u+w {path}`), or set MLFLOW_TRACKING_URI to another store. "
                    "Nothing was logged or changed."
                )
        return
    if parsed.scheme not in {"http", "https"}:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "localhost", port), timeout=timeout):
            return
    except OSError as error:
        raise TrackingUnavailable(
            f"MLflow tracking server {parsed.scheme}://{parsed.hostname}:{port} is not reachable "
            f"({error.strerror or error}). Start it, or unset MLFLOW_TRACKING_URI to use "
            f"{DEFAULT_TRACKING_URI}. Nothing was logged or changed."
        ) from None


def _sqlite_file(uri: str) -> Path:
    """The database file of a ``sqlite:///`` URI (relative to the project root, or absolute)."""
    return Path(uri.removeprefix("sqlite:///").partition("?")[0])


def portable_artifacts(uri: str, experiment_id: str) -> None:
    """Keep a local SQLite store's artifacts at ``mlruns/<id>``, relative to the project root.

    MLflow records an absolute path when it creates the experiment and has no call to change
    it (mlflow/mlflow#3144), so a moved or copied project kept writing into the old folder.
    A relative location is resolved against the working directory: DVC runs every stage
    from the project root. Locations the user chose (s3://, file://...) stay as they are.
    """
    if urlparse(uri).scheme != "sqlite":
        return
    relative, default = f"{LOCAL_ARTIFACTS}/{experiment_id}", f"%/{LOCAL_ARTIFACTS}/%"
    with closing(sqlite3.connect(_sqlite_file(uri), timeout=5)) as db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?"
            " AND artifact_location LIKE ? AND artifact_location NOT LIKE '%://%'",
            (relative, int(experiment_id), default),
        )
        db.commit()


def git_commit() -> str:
    """The commit the code came from, with '-dirty' when tracked files have local changes
    (git's own describe: the full hash, tags ignored)."""
    try:
        result = subprocess.run(  # fixed arguments, no user input
            ["git", "describe", "--always", "--dirty", "--abbrev=40", "--exclude=*"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip()


def log_training_run(
    *,
    experiment: str,
    model: Any,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    input_example: Any,
    trusted_types: list[str],
) -> Any:
    """Log one run; return MLflow's ModelInfo (``run_id``, ``model_uri``). If anything fails
    inside, MLflow marks the run FAILED, never FINISHED."""
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    # scikit-learn and skops pinned to the versions here (inferring the list takes 4-6 s)
    requirements = mlflow.sklearn.get_default_pip_requirements(include_skops=True)
    try:
        portable_artifacts(tracking_uri(), mlflow.set_experiment(experiment).experiment_id)
        with mlflow.start_run(tags=tags):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)  # "no pip"
            with warnings.catch_warnings():
                # MLflow checks the input example (a DataFrame) against the numpy-fitted model.
                warnings.filterwarnings("ignore", message="X has feature names")
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    input_example=input_example,  # MLflow infers the signature from it
                    pip_requirements=requirements,
                    serialization_format="skops",
                    skops_trusted_types=trusted_types,
                )
    except (MlflowException, sqlite3.Error) as error:
        first = str(error).strip().splitlines()[0][:300]
        raise TrackingUnavailable(
            f"MLflow logging failed ({first}); the run, if created, is marked FAILED"
        ) from None
    return info


def register(
    model_uri: str,
    name: str,
    alias: str,
    run_id: str,
    *,
    metrics: dict[str, float],
    experiment: str | None = None,
) -> str:
    """Add ``metrics`` to the training run (one run shows everything), then create a new
    version of ``name`` from its model; return the version number.

    The alias moves to it unless ``experiment`` names a DVC experiment: then the version
    is only tagged with it.
    """
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        mlflow.log_metrics(metrics, run_id=run_id)  # MLflow refuses a run it does not hold
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":  # a server error, a bad metric
            raise TrackingUnavailable(f"MLflow refused the metrics: {error.message}") from None
        raise TrackingUnavailable(
            f"training run {run_id} is not in the tracking store {tracking_uri()} "
            "(a fresh clone or another store?): run `dvc repro --force train` to retrain"
        ) from None
    tags = {EXPERIMENT_TAG: experiment} if experiment else None
    registered = mlflow.register_model(model_uri, name, tags=tags)
    if not experiment:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, registered.version)
    return str(registered.version)
