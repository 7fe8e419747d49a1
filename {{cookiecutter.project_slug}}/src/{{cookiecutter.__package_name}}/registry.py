"""Register the gated model in MLflow and point an alias at it. Plumbing, rarely edited.

Why an alias: serving and people refer to "champion", not to a version number that
changes with every accepted model. Why not from an experiment: `dvc exp run` keeps its
results outside the branch, so an alias moved there would name a model no commit holds.
"""

from __future__ import annotations

import os

from .errors import TrackingUnavailable
from .tracking import quiet_mlflow, tracking_uri

EXPERIMENT_TAG = "dvc_experiment"


def dvc_experiment() -> str | None:
    """The DVC experiment this stage runs in (`dvc exp run` sets DVC_EXP_NAME), or None."""
    return os.environ.get("DVC_EXP_NAME") or None


def register(
    model_uri: str, name: str, alias: str, run_id: str, experiment: str | None = None
) -> str:
    """Create a new version of ``name`` from the run's model; return the version number.

    The alias moves to it unless ``experiment`` names a DVC experiment: then the version
    is only tagged with it.
    """
    quiet_mlflow()
    import mlflow  # noqa: PLC0415
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    mlflow.set_tracking_uri(tracking_uri())
    client = mlflow.MlflowClient()
    try:
        client.get_run(run_id)
    except MlflowException:
        raise TrackingUnavailable(
            f"training run {run_id} is not in the tracking store {tracking_uri()} "
            "(a fresh clone or another store?): run `dvc repro --force train` to retrain"
        ) from None
    if experiment:
        version = mlflow.register_model(model_uri, name, tags={EXPERIMENT_TAG: experiment})
    else:
        version = mlflow.register_model(model_uri, name)
        client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)
