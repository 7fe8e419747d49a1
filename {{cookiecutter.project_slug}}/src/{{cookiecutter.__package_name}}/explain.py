"""Why the model gave one answer: ``predict VALUES --explain``. Yours to edit.

Why this method: it sets one feature at a time to its training mean and records how the output
moves, so it needs only ``predict`` and works for every estimator in params.yaml (for a linear
regression it equals coefficient x (value - mean)). SHAP or LIME would add a heavy dependency
for the same answer on these models. The global view, permutation importance, is measured in
the evaluate stage (``evaluation.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer


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
    """Predict one row with the model in models/ (`--explain -- -1.5 ...`: options first)."""
    from .bundle import load_bundle  # noqa: PLC0415
    from .data import read_split  # noqa: PLC0415
    from .features import DatasetSpec  # noqa: PLC0415
    from .paths import ProjectPaths  # noqa: PLC0415
    from .training import to_matrix  # noqa: PLC0415

    paths = ProjectPaths(Path.cwd())
    spec = DatasetSpec.load(paths.spec)
    if len(values) != len(spec.feature_names):
        raise typer.BadParameter(f"got {len(values)}, expected one per {spec.feature_names}")
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
