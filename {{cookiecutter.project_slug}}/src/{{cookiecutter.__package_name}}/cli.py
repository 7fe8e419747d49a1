"""The project's task runner: one command per job, no ``make`` needed. Plumbing, rarely edited."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer
from rich.console import Console

from .config import load_params
from .paths import ProjectPaths

app = typer.Typer(help="Tasks for this project: `uv run <project> <task>`.", no_args_is_help=True)
console = Console()
PROJECT_ROOT = Path.cwd()


@app.callback()
def main() -> None:
    """Tasks for this project: cards, set-up, pipeline demo, checks, serving, monitoring."""


@app.command()
def cards() -> None:
    """Write docs/data_card.md and docs/model_card.md from what exists so far."""
    from .cards import write_cards  # noqa: PLC0415 - pandas and Jinja only for this task

    paths = ProjectPaths(PROJECT_ROOT)
    for path in write_cards(load_params(paths.params), paths):
        console.print(f"wrote {path}")


def _register_optional_commands() -> None:
    """Add the commands of the parts this project has (pipeline, quality, serving, monitoring)."""
    for module in ("workflow", "explain", "quality", "serving.cli", "monitoring.cli"):
        try:
            extra = importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as error:
            if error.name and error.name.startswith(f"{__package__}."):
                continue
            raise
        extra.register(app)


_register_optional_commands()


if __name__ == "__main__":
    app()
