"""Stage cards: re-render docs/data_card.md and docs/model_card.md from this run's facts."""

from __future__ import annotations

import json
from pathlib import Path

from ..bundle import read_metadata
from ..cards import render, size_category, write
from ..config import Params
from ..data import BUNDLED_TARGETS
from ..features import DatasetSpec
from ..paths import ProjectPaths
from ._runner import run


def main(params: Params, paths: ProjectPaths) -> None:
    """Spec, validation, metrics, run info and bundle metadata -> the two cards."""
    spec = DatasetSpec.load(paths.spec)
    validation = json.loads(paths.validation_report.read_text(encoding="utf-8"))
    metrics = json.loads(paths.metrics.read_text(encoding="utf-8"))
    info = json.loads(paths.run_info.read_text(encoding="utf-8"))
    metadata = read_metadata(paths.models_dir)
    rows = {"train": _count_rows(paths.train_data), "test": _count_rows(paths.test_data)}
    source = params.data.source
    if source in BUNDLED_TARGETS:
        source = f"scikit-learn's bundled `{source}` dataset"
    write(
        paths.data_card,
        render(
            "data_card.md.j2",
            spec=spec,
            source=source,
            rows=rows,
            seed=params.data.seed,
            size_category=size_category(rows["train"] + rows["test"]),
            dataset_sha256=info["dataset_sha256"],
            validation=validation,
        ),
    )
    write(
        paths.model_card,
        render(
            "model_card.md.j2",
            spec=spec,
            metrics=metrics,
            rows_test=rows["test"],
            estimator=params.train.estimator,
            hyperparameters=dict(params.train.hyperparameters),
            registered_model=metadata.name,
            version=metadata.version,
            alias=params.tracking.alias,
            trained_at=info["trained_at"],
            run_id=info["run_id"],
            git_commit=info["git_commit"],
            emissions=info["emissions"],
            country=info["country_iso_code"],
            package=__package__.rsplit(".", 1)[0],
        ),
    )
    print(f"cards: wrote {paths.data_card} and {paths.model_card}")


def _count_rows(path: Path) -> int:
    """Data rows in a CSV written by prepare (header excluded)."""
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1


if __name__ == "__main__":
    run("cards", main)
