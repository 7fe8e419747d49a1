"""Stage evaluate: test metrics vs a naive baseline, plots, quality gate. Yours to edit."""

from __future__ import annotations

import json

from .. import bundle
from ..config import Params
from ..data import read_split
from ..errors import GateFailed
from ..evaluation import (
    baseline,
    gate,
    global_importance,
    score,
    write_importance,
    write_predictions,
)
from ..features import DatasetSpec
from ..paths import ProjectPaths
from ..training import to_labels, to_matrix
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Writes reports/metrics.json, the plot data and the permutation importance; exits 1
    when the gate fails."""
    spec = DatasetSpec.load(paths.spec)
    train, test = read_split(paths.train_data, spec), read_split(paths.test_data, spec)
    test_x, test_y = to_matrix(test, spec), to_labels(test, spec)
    model = bundle.load(paths.trained_model)
    dummy = baseline(spec.task, to_matrix(train, spec), to_labels(train, spec))
    model_metrics = score(model, spec.task, test_x, test_y)
    base_metrics = score(dummy, spec.task, test_x, test_y)
    decision = gate(
        params.evaluate.gate_metric, model_metrics, base_metrics, params.evaluate.min_improvement
    )
    report = {
        "model": model_metrics,
        "baseline": base_metrics,
        "gate": decision,
        "test_rows": len(test),
    }
    paths.metrics.parent.mkdir(parents=True, exist_ok=True)
    paths.metrics.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_predictions(paths.predictions_plot, test_y, model.predict(test_x))
    importance = global_importance(model, test_x, test_y, spec.feature_names, params.data.seed)
    write_importance(importance, paths.importance, paths.importance_plot)
    if not decision["passed"]:
        raise GateFailed(decision["description"] + " - the model is not registered")
    print(f"evaluate: {decision['description']}")


if __name__ == "__main__":
    run("evaluate", main)
