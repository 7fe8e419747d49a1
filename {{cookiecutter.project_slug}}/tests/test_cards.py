"""Cards: Hugging Face YAML header, facts filled in, judgement left to authors. Yours to edit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import DatasetCard, ModelCard
from jinja2 import UndefinedError

from {{ cookiecutter.__package_name }}.cards import (
    data_metadata,
    render,
    size_category,
    write_cards,
)
from {{ cookiecutter.__package_name }}.config import parse_params
from {{ cookiecutter.__package_name }}.paths import ProjectPaths

# Mitchell et al. (2019), "Model Cards for Model Reporting", and Gebru et al. (2021),
# "Datasheets for Datasets": the sections each card answers (facts or the authors' judgement).
MODEL_CARD_SECTIONS = tuple(f"## {s}\n" for s in (
    "Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data",
    "Quantitative analyses", "Ethical considerations", "Caveats and recommendations",
))  # fmt: skip
DATASHEET_SECTIONS = tuple(f"## {s}\n" for s in (
    "Motivation", "Composition", "Collection process", "Preprocessing and quality", "Uses",
    "Distribution and licensing", "Maintenance",
))  # fmt: skip


def _header(text: str) -> dict[str, Any]:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_data_card(dataset, project_params: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    train, test, spec = dataset
    text = render(
        "data_card.md.j2",
        metadata=data_metadata(spec, len(train) + len(test)).to_yaml(),
        spec=spec,
        source="bundled",
        rows={"train": len(train), "test": len(test)},
        params=parse_params(project_params),
        dataset_sha256="abc",
        validation={"success": True, "expectations": 16},
    )
    header = _header(text)
    assert header["task_categories"] == [f"tabular-{spec.task}"]
    for feature in spec.feature_names:
        assert f"`{feature}`" in text
    assert [s for s in DATASHEET_SECTIONS if s not in text] == []
    assert "passed" in text
    assert [size_category(n) for n in (150, 5_000, 50_000)] == ["n<1K", "1K<n<10K", "n>10K"]
    with pytest.raises(UndefinedError):  # a value missing from the template's inputs
        render("data_card.md.j2")


def test_cards_before_the_pipeline_describe_the_plan(
    tmp_path: Path, project_params: dict[str, Any]
) -> None:
    """Course milestone M1: no pipeline outputs yet, cards come from the data and params.yaml."""
    params = parse_params(project_params)
    written = write_cards(params, ProjectPaths(tmp_path))
    data_card, model_card = (path.read_text(encoding="utf-8") for path in written)
    assert "Not checked automatically yet" in data_card
    assert f"`{params.data.target}`" in data_card
    assert "(planned)" in model_card and params.train.estimator in model_card
    assert "model-index" not in _header(model_card)  # no metrics claimed before training
    assert [s for s in MODEL_CARD_SECTIONS if s not in model_card] == []
    assert [s for s in DATASHEET_SECTIONS if s not in data_card] == []


def test_cards_load_with_huggingface_hub_and_carry_the_pipeline_metrics(
    tmp_path: Path, project_params: dict[str, Any]
) -> None:
    """The Hub's own parser reads both cards; model-index equals reports/metrics.json, and the
    text shows the registered version, scores against the baseline and permutation importance."""
    params = parse_params(project_params)
    paths = ProjectPaths(tmp_path)
    scores = {"score_a": 0.9736842105263158, "score_b": 1 / 3}
    outputs = {
        paths.metrics: {
            "model": scores,
            "baseline": {"score_a": 0.25},
            "gate": {"description": "gate"},
        },
        paths.models_dir / "model.json": {"name": "demo-model", "version": "7"},
        paths.importance: {"feature_a": {"mean": 0.31, "std": 0.02}},
        paths.run_info: {
            "run_id": "r1",
            "trained_at": "2026-01-01T00:00:00+00:00",
            "git_commit": "abc123",
            "country_iso_code": "USA",
            "emissions": {
                "tracked": True,
                "emissions_kg": 2e-6,
                "energy_kwh": 1e-5,
                "training_duration_s": 0.5,
            },
        },
    }
    for path, content in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content), encoding="utf-8")
    data_path, model_path = write_cards(params, paths)

    data_card = DatasetCard.load(data_path)
    assert data_card.data.pretty_name and data_card.data.task_categories
    model_card = ModelCard.load(model_path, ignore_metadata_errors=False)
    assert model_card.data.datasets == [params.data.source]
    assert model_card.data.model_name == "demo-model"
    results = model_card.data.eval_results or []
    assert {r.metric_type: r.metric_value for r in results} == scores  # exact, not rounded
    assert {r.dataset_type for r in results} == {params.data.source}
    assert model_card.data.co2_eq_emissions["emissions"] == pytest.approx(2e-3)  # grams
    text = model_path.read_text(encoding="utf-8")
    assert "demo-model version 7" in text and "| score_a | 0.9737 | 0.2500 |" in text
    assert "| score_b | 0.3333 | n/a |" in text
    assert "| `feature_a` | 0.3100 ± 0.0200 |" in text
    assert [s for s in MODEL_CARD_SECTIONS if s not in text] == []
