"""Data and model cards (Hugging Face style), re-rendered from the pipeline's outputs.

Why generated: numbers in hand-written cards go stale; here the facts (features,
ranges, metrics, emissions) come from the run, and only the judgement (intended use,
limitations, ethics) is left to the authors, marked with TODO(author) comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import PROJECT_DESCRIPTION, PROJECT_NAME

TEMPLATES = Path(__file__).parent / "_card_templates"
LICENSE = {{ (cookiecutter.license if cookiecutter.license != "none" else "other") | lower | tojson }}


def size_category(rows: int) -> str:
    """Hugging Face's size bucket for a dataset."""
    return "n<1K" if rows < 1_000 else "1K<n<10K" if rows < 10_000 else "n>10K"


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
    return environment.get_template(template).render(**context)


def write(path: Path, text: str) -> None:
    """Write a card, creating docs/ when needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
