"""Which parts of the project an answer set includes: the milestone and the on/off options.

Why one table: the templates' few conditionals (``{% if cookiecutter | part("serving") %}``),
the post-generation hook's removals and the test matrix's expected trees must agree. A part
is included when the course has reached its milestone and every option it needs is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

# The course's milestones, in order; ``all`` renders everything (the last one).
MILESTONES = ("M1", "M2", "M3", "M4", "M5", "M6")
# part -> (the milestone that introduces it, the boolean options it needs)
PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "scoping": ("M1", ()),  # package core, data, cards, notebook
    "pipeline": ("M2", ()),  # DVC stages, MLflow tracking and registry
    "quality": ("M3", ()),  # Great Expectations, CodeCarbon, the `check` gate, pre-commit
    "serving": ("M4", ("serving",)),  # FastAPI app, prediction log, feedback
    "docker": ("M5", ("serving", "docker")),  # Dockerfile, Compose, Kubernetes
    "ci": ("M5", ("ci",)),  # GitHub Actions
    "monitoring": ("M6", ("serving",)),  # `monitor`: drift, live metrics
    "dashboards": ("M6", ("serving", "docker")),  # Prometheus alerts, Grafana
}

# part -> paths the post-generation hook removes when the answers leave the part out
REMOVED_PATHS: dict[str, list[str]] = {
    "pipeline": [
        "dvc.yaml",
        ".dvc",
        ".dvcignore",
        "src/{package}/stages",
        "src/{package}/workflow.py",
        "tests/test_workflow.py",
        "src/{package}/training.py",
        "src/{package}/evaluation.py",
        "src/{package}/explain.py",
        "src/{package}/tracking.py",
        "src/{package}/bundle.py",
        "tests/test_training.py",
        "tests/test_evaluation.py",
        "tests/test_serialization.py",
        "tests/test_stages.py",
        "tests/test_tracking.py",
        "tests/test_pipeline_definition.py",
        "tests/test_pipeline_e2e.py",
        "benchmarks",
        "docs/pipeline.md",
        "docs/team.md",
        "src/{package}/torch_model.py",  # the PyTorch plug-in trains in the pipeline
        "tests/test_torch_model.py",
        "docs/pytorch.md",
    ],
    "quality": [
        "src/.bandit",
        "src/{package}/validation.py",
        "src/{package}/image_quality.py",
        "src/{package}/stages/validate_images.py",
        "tests/test_images.py",  # its stages need the pipeline and the data checks
        "src/{package}/stages/validate.py",
        "src/{package}/quality.py",
        "tests/test_validation.py",
        "tests/test_quality.py",
        "tests/test_stage_validate.py",
        "tests/test_exercise_m3.py",
        ".pre-commit-config.yaml",
        "docs/delivery.md",
    ],
    "serving": [
        "src/{package}/serving",
        "src/{package}/prediction_log.py",
        "tests/serving",
        "benchmarks/serving.py",
        "docs/serving.md",
    ],
    "docker": [
        "Dockerfile",
        ".dockerignore",
        "compose.yaml",
        "deploy",
        ".env.example",
        ".github/workflows/cd.yml",
    ],
    "ci": [".github"],
    "monitoring": [
        "src/{package}/monitoring",
        "tests/test_monitoring.py",
        "tests/test_monitoring_images.py",
        "benchmarks/monitoring.py",
        "docs/monitoring.md",
        ".github/workflows/uptime.yml",
    ],
    "dashboards": ["deploy/prometheus", "deploy/grafana", "deploy/blackbox"],
    "license": ["LICENSE"],
    # the image task's modules, tests and docs (ml_task=image_classification only)
    "images": [
        "src/{package}/images.py",
        "src/{package}/image_quality.py",
        "src/{package}/stages/prepare_images.py",
        "src/{package}/stages/validate_images.py",
        "tests/test_images.py",
        "src/{package}/serving/images.py",
        "tests/serving/test_serving_images.py",
        "tests/test_monitoring_images.py",
        "docs/images.md",
        "src/{package}/torch_model.py",
        "tests/test_torch_model.py",
        "docs/pytorch.md",
        "notebooks/01_explore_images.ipynb",
        "benchmarks/images.py",
    ],
    # what only the tabular tasks have
    "tabular": [
        "src/{package}/stages/prepare.py",
        "src/{package}/stages/validate.py",
        "tests/test_stages.py",
        "tests/test_stage_validate.py",
        "notebooks/01_explore.ipynb",
    ],
}


def level(milestone: str) -> int:
    """1..6 for M1..M6; ``all`` (or no answer, as in projects older than the option) is 6."""
    text = str(milestone or "all").upper()
    return MILESTONES.index(text) + 1 if text in MILESTONES else len(MILESTONES)


def included(answers: Mapping[str, Any], part: str) -> bool:
    """True when ``answers`` include ``part`` (an unknown part name is a template bug)."""
    first, options = PARTS[part]
    reached = level(str(answers.get("milestone", "all"))) >= MILESTONES.index(first) + 1
    # as the hook always did: only an explicit False switches a part off
    return reached and all(answers.get(option) is not False for option in options)


def included_parts(answers: Mapping[str, Any]) -> dict[str, bool]:
    """Every part with whether ``answers`` include it (rendered into the post-gen hook)."""
    return {part: included(answers, part) for part in PARTS}


def removed_paths(answers: Mapping[str, Any]) -> list[str]:
    """The project paths to delete for ``answers`` (rendered into the post-gen hook)."""
    kept = {
        **included_parts(answers),
        "license": answers.get("license") != "none",
        "images": answers.get("ml_task") == "image_classification",
        "tabular": answers.get("ml_task") != "image_classification",
    }
    package = str(answers.get("__package_name", ""))
    return [
        pattern.format(package=package)
        for part, patterns in REMOVED_PATHS.items()
        if not kept[part]
        for pattern in patterns
    ]


def template_root() -> str:
    """The folder of the template being rendered: cookiecutter renders hooks inside it. Not
    this module's folder: cruft renders from fresh clones, and the module stays imported
    from the first one (deleted by then)."""
    return str(Path.cwd())


class Parts(Extension):
    """Adds the ``part``, ``parts`` and ``removed_paths`` filters and ``template_root``, the
    folder the post-gen hook imports hooks/exercises.py from (it runs as a lone copy)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["part"] = included
        environment.filters["parts"] = included_parts
        environment.filters["removed_paths"] = removed_paths
        environment.globals["template_root"] = template_root
