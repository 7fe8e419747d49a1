"""Which features the model relies on, and one prediction from the command line. Yours to edit.

Why permutation importance (scikit-learn): it needs only ``score``, so it works for every
estimator in params.yaml, and it is measured on the held-out split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

N_REPEATS = 10  # shuffles per feature: mean and spread of the score drop


def global_importance(
    model: Any, x: np.ndarray, y: np.ndarray, names: list[str], seed: int
) -> dict[str, dict[str, float]]:
    """Drop in the model's score when each feature is shuffled, largest first."""
    from sklearn.inspection import permutation_importance  # noqa: PLC0415

    found = permutation_importance(model, x, y, n_repeats=N_REPEATS, random_state=seed)
    order = np.argsort(-found.importances_mean)
    return {
        names[i]: {"mean": float(found.importances_mean[i]), "std": float(found.importances_std[i])}
        for i in order
    }


def write_importance(importance: dict[str, dict[str, float]], json_path: Path, png: Path) -> None:
    """reports/importance.json for the model card, and a bar chart for people."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")  # no display in CI or containers
    import matplotlib.pyplot as plt  # noqa: PLC0415

    json_path.write_text(json.dumps(importance, indent=2) + "\n", encoding="utf-8")
    names = list(importance)[::-1]
    fig, axis = plt.subplots(figsize=(6, 1 + 0.35 * len(names)))
    axis.barh(names, [importance[n]["mean"] for n in names],
              xerr=[importance[n]["std"] for n in names])  # fmt: skip
    axis.set_xlabel("drop in score when shuffled (permutation importance, test split)")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, bbox_inches="tight", dpi=100)
    plt.close(fig)


def predict(
    values: Annotated[list[float], typer.Argument(help="One value per feature, in spec order.")],
) -> None:
    """Predict one row with the registered model in models/ (`-- -1.5 ...` for negatives)."""
    from .bundle import load_bundle  # noqa: PLC0415
    from .paths import ProjectPaths  # noqa: PLC0415

    model, metadata = load_bundle(ProjectPaths(Path.cwd()).models_dir)
    names = metadata.spec.feature_names
    if len(values) != len(names):
        raise typer.BadParameter(f"{len(names)} values: {names}")
    typer.echo(f"prediction: {model.predict(np.array([values], dtype=float))[0]}")


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the project's task runner."""
    app.command()(predict)
