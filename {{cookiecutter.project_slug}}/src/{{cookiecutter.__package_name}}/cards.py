"""Data and model cards, re-rendered from the facts that exist so far. Plumbing, rarely edited.

Why generated: numbers in hand-written cards go stale; here the facts (features,
ranges, metrics, emissions) come from the data and the run, and only the judgement
(intended use, factors, ethics, caveats; a datasheet's motivation, collection, uses) is
left to the authors, marked with TODO(author) comments. Before the pipeline exists (course
milestone M1) the facts come straight from the data source in params.yaml and the model
card describes the planned model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import PROJECT_DESCRIPTION, PROJECT_NAME
from .config import Params
from .data import BUNDLED_TARGETS, derive_spec, load_source, read_split, select_columns, split
from .features import DatasetSpec
from .paths import ProjectPaths

if TYPE_CHECKING:
    from huggingface_hub import DatasetCardData, ModelCardData

TEMPLATES = Path(__file__).parent / "_card_templates"
LICENSE = {{ (cookiecutter.license if cookiecutter.license != "none" else "other") | lower | tojson }}


def size_category(rows: int) -> str:
    """Hugging Face's size bucket for a dataset."""
    return "n<1K" if rows < 1_000 else "1K<n<10K" if rows < 10_000 else "n>10K"


def _kind(spec: DatasetSpec) -> str:
    """The Hugging Face modality: ``image`` for the image task, else ``tabular``."""
    return "image" if spec.image_size else "tabular"


def data_metadata(spec: DatasetSpec, rows: int) -> DatasetCardData:
    """The data card's front matter, built by huggingface_hub so DatasetCard.load accepts it."""
    from huggingface_hub import DatasetCardData  # noqa: PLC0415

    return DatasetCardData(
        pretty_name=PROJECT_NAME,
        license=LICENSE,
        task_categories=[f"{_kind(spec)}-{spec.task}"],
        size_categories=[size_category(rows)],
        tags=[_kind(spec)],
    )


def model_metadata(
    spec: DatasetSpec,
    dataset: str,
    model_name: str,
    metrics: dict[str, float] | None,
    emissions: dict[str, Any] | None,
) -> ModelCardData:
    """The model card's front matter: ``model-index`` holds reports/metrics.json's model scores
    unrounded (none before training), so tools reading the card see the pipeline's numbers."""
    from huggingface_hub import EvalResult, ModelCardData  # noqa: PLC0415

    task = f"{_kind(spec)}-{spec.task}"
    results = [
        EvalResult(
            task_type=task,
            dataset_type=dataset,
            dataset_name=PROJECT_NAME,
            metric_type=name,
            metric_value=value,
        )
        for name, value in (metrics or {}).items()
    ]
    return ModelCardData(
        library_name="sklearn",
        license=LICENSE,
        tags=[task, "sklearn"],
        datasets=[dataset],
        model_name=model_name if results else None,  # the name model-index files results under
        eval_results=results or None,
        co2_eq_emissions=emissions,
    )


def render(template: str, **context: Any) -> str:
    """Render one card template; a missing value is an error, never an empty string."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        # Markdown for people, not HTML for browsers: nothing to escape.
        autoescape=False,  # noqa: S701  # nosec B701
    )
    context.setdefault("project", {"name": PROJECT_NAME, "description": PROJECT_DESCRIPTION})
    context.setdefault("license", LICENSE)
    context.setdefault("package", __package__)  # the card's usage example imports it
    return environment.get_template(template).render(**context)


def _read_json(path: Path) -> Any:
    """A pipeline output, or None when that stage does not exist (yet)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _dataset(params: Params, paths: ProjectPaths) -> tuple[DatasetSpec, dict[str, int]]:
    """The spec and split sizes: from prepare's outputs, else split now as prepare would."""
    if paths.spec.is_file() and paths.train_data.is_file() and paths.test_data.is_file():
        spec = DatasetSpec.load(paths.spec)
        splits = {"train": paths.train_data, "test": paths.test_data}
        return spec, {name: len(read_split(path, spec)) for name, path in splits.items()}
    cfg = params.data
    if params.images is not None:  # the image task: gather and split the files as prepare does
        from .images import split_images  # noqa: PLC0415

        train, test, spec = split_images(params.data, params.images, paths)
    else:
        frame, descriptions = load_source(cfg.source, cfg.target)
        frame = select_columns(frame, cfg.target, cfg.features)
        train, test = split(frame, cfg.target, cfg.task, cfg.test_size, cfg.seed)
        spec = derive_spec(train, cfg.target, cfg.task, descriptions)
    return spec, {"train": len(train), "test": len(test)}


def write_cards(params: Params, paths: ProjectPaths) -> list[Path]:
    """Render both cards from the facts that exist; return the files written."""
    spec, rows = _dataset(params, paths)
    info = _read_json(paths.run_info) or {}
    metrics = _read_json(paths.metrics)
    metadata = _read_json(paths.models_dir / "model.json")
    source = params.data.source
    dataset = source if source in BUNDLED_TARGETS else Path(source).stem  # `datasets:` name
    images = None
    if spec.image_size and paths.image_metadata.is_file():  # once validate wrote the table
        from .images import card_facts  # noqa: PLC0415 - the image task only

        images = card_facts(paths)
    if source in BUNDLED_TARGETS:
        source = f"scikit-learn's bundled `{source}` dataset"
    facts = {"spec": spec, "rows": rows, "params": params, "images": images}  # both cards'
    paths.data_card.parent.mkdir(parents=True, exist_ok=True)
    paths.data_card.write_text(
        render(
            "data_card.md.j2",
            metadata=data_metadata(spec, rows["train"] + rows["test"]).to_yaml(),
            source=source,
            dataset_sha256=info.get("dataset_sha256"),
            validation=_read_json(paths.validation_report),
            **facts,
        ),
        encoding="utf-8",
    )
    trained = bool(metrics and metadata and info)
    registered_model = metadata["name"] if trained else params.tracking.registered_model
    emissions = info.get("emissions") if info.get("emissions", {}).get("tracked") else None
    co2 = emissions and {
        "emissions": emissions["emissions_kg"] * 1000,  # grams, as the Hub expects
        "source": f"CodeCarbon (offline, {info['country_iso_code']})",
        "training_type": "pre-training",
    }
    model_scores = metrics["model"] if trained else None
    paths.model_card.write_text(
        render(
            "model_card.md.j2",
            metadata=model_metadata(spec, dataset, registered_model, model_scores, co2).to_yaml(),
            info=info,  # the training run (run.json): read only once trained
            trained=trained,
            metrics=metrics,
            importance=_read_json(paths.importance),
            registered_model=registered_model,
            version=metadata["version"] if trained else None,
            emissions=emissions,
            **facts,
        ),
        encoding="utf-8",
    )
    return [paths.data_card, paths.model_card]
