"""Which features the model relies on, and why it gave one answer. Yours to edit.

Why these methods: permutation importance (scikit-learn) needs only ``score`` and is measured
on the held-out split; the local attribution sets one feature at a time to its training mean
and records how the output moves, so it needs only ``predict`` (for a linear regression it
equals coefficient x (value - mean)). Both work for every estimator in params.yaml.
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


def local_explanation(model: Any, row: np.ndarray, mean: np.ndarray) -> list[float]:
    """Per feature: the output for ``row`` minus the output with that feature at its mean.

    The output is the predicted class's probability for a classifier, the prediction otherwise.
    """
    probes = np.vstack([row, np.where(np.eye(len(row), dtype=bool), mean, row)])
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(probes)
        outputs = proba[:, int(np.argmax(proba[0]))]
    else:
        outputs = np.asarray(model.predict(probes), dtype=float)
    return [float(outputs[0] - value) for value in outputs[1:]]


def predict(
    values: Annotated[list[float], typer.Argument(help="One value per feature, in spec order.")],
    explain: Annotated[bool, typer.Option(help="Show each feature's contribution.")] = False,
) -> None:
    """Predict one row with the registered model in models/ (`-- -1.5 ...` for negatives)."""
    from .bundle import load_bundle  # noqa: PLC0415
    from .data import read_split  # noqa: PLC0415
    from .features import DatasetSpec  # noqa: PLC0415
    from .paths import ProjectPaths  # noqa: PLC0415
    from .training import to_matrix  # noqa: PLC0415

    paths = ProjectPaths(Path.cwd())
    spec = DatasetSpec.load(paths.spec)
    if len(values) != len(spec.feature_names):
        raise typer.BadParameter(f"{len(spec.feature_names)} values: {spec.feature_names}")
    model, _ = load_bundle(paths.models_dir)
    row = np.array(values, dtype=float)
    typer.echo(f"prediction: {model.predict(row[None, :])[0]}")
    if explain:
        mean = to_matrix(read_split(paths.train_data, spec), spec).mean(axis=0)
        contributions = local_explanation(model, row, mean)
        for name, value in sorted(zip(spec.feature_names, contributions, strict=True),
                                  key=lambda pair: -abs(pair[1])):  # fmt: skip
            typer.echo(f"  {name:30} {value:+.4f}")


def register(app: typer.Typer) -> None:
    """Add ``predict`` (with ``--explain``) to the project's task runner."""
    app.command()(predict)
