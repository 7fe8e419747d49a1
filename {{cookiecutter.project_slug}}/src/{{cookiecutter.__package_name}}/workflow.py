"""The tasks `setup` (Git where it was missing), `demo` and `plots`. Plumbing, rarely edited."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .tracking import tracking_uri

console = Console()
PROJECT_ROOT = Path.cwd()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a tool from this environment and fail with its own message when it fails."""
    result = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        console.print(f"[red]{' '.join(args)} failed:[/red]\n{result.stderr.strip()}")
        raise typer.Exit(result.returncode)
    return result


def setup() -> None:
    """Finish the set-up where generation could not: a Git repository when git was missing.

    DVC needs no set-up: its files, with the default remote, ship with the template."""
    if shutil.which("git") is not None:
        git = subprocess.run(
            ["git", "rev-parse"], cwd=PROJECT_ROOT, capture_output=True, check=False
        )
        if git.returncode != 0:  # generated where git was missing
            _run("git", "init", "-q", "-b", "main")
    console.print(f"DVC is already initialised, with the remote storage -> {default_remote()}")
    if (PROJECT_ROOT / "uv.lock").exists():
        console.print("Commit [bold]uv.lock[/bold] when it changes: CI and Docker install from it.")
    console.print("[green]Set-up complete.[/green] Next: [bold]uv run dvc repro[/bold]")


def default_remote() -> str:
    """Where `dvc push` sends data, as DVC's config says now (a local folder made absolute)."""
    from dvc.config import Config  # noqa: PLC0415 - DVC's API, only for these messages

    config = Config(dvc_dir=str(PROJECT_ROOT / ".dvc"), validate=False)
    return config["remote"].get(config["core"].get("remote", ""), {}).get("url", "not set")


def _results() -> dict[str, str]:
    """Where the main job left its results: each stage's outputs, as dvc.yaml declares them."""
    from dvc.repo import Repo  # noqa: PLC0415 - DVC's API, only for this summary

    with Repo(str(PROJECT_ROOT), config={"core": {"no_scm": True}}) as repo:  # no Git needed
        outs = {stage.addressing: ", ".join(map(str, stage.outs)) for stage in repo.index.stages}
    return outs | {
        "MLflow runs": tracking_uri() + "  (uv run mlflow ui --workers 1)",
        "DVC remote": default_remote() + "  (uv run dvc push)",
    }


def demo(port: int = typer.Option(8765, help="Port for the one served prediction.")) -> None:
    """The main job: set-up, the pipeline and, with the serving app, one prediction over HTTP."""
    setup()
    console.rule("Pipeline: dvc repro")
    repro = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=PROJECT_ROOT, check=False)
    if repro.returncode != 0:
        raise typer.Exit(repro.returncode)
    if importlib.util.find_spec(f"{__package__}.serving") is not None:
        console.rule("Serving: one prediction over HTTP")
        smoke = importlib.import_module(f"{__package__}.serving.cli")
        row, answer = smoke.serve_and_predict(PROJECT_ROOT / "models", port)
        console.print(f"POST /predict {row}")
        console.print(f"prediction: {answer}")
    console.rule("Where everything went")
    for what, where in _results().items():
        console.print(f"{what:12} {where}", highlight=False)
    console.print("Next: git add -A && git commit -m Results && uv run dvc push", soft_wrap=True)


def plots(
    revisions: Annotated[
        list[str] | None, typer.Argument(help="Git revisions (default: HEAD vs workspace).")
    ] = None,
) -> None:
    """`dvc plots diff` into dvc_plots/index.html, with Vega's scripts inside the page."""
    # DVC's own page loads Vega from a CDN and stays blank offline; vl-convert ships the scripts.
    import vl_convert  # noqa: PLC0415 - only this task needs them

    template = PROJECT_ROOT / ".dvc" / "tmp" / "plots-offline.html"
    template.parent.mkdir(parents=True, exist_ok=True)
    bundle = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed; window.vega = vega;")
    template.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><script>{bundle}</script></head>"
        "<body>{plot_divs}</body></html>",  # DVC puts the plots where {plot_divs} stands
        encoding="utf-8",
    )
    dvc = [sys.executable, "-m", "dvc", "plots", "diff", *(revisions or [])]
    _run(*dvc, "--html-template", str(template), "-o", "dvc_plots")
    console.print("Wrote [bold]dvc_plots/index.html[/bold] (works offline).")


def register(app: typer.Typer) -> None:
    """Add ``setup``, ``demo`` and ``plots`` to the project's task runner."""
    app.command()(setup)
    app.command()(demo)
    app.command()(plots)
