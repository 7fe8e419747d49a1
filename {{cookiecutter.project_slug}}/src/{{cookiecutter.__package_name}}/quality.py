"""The quality gate: linters, type checker, security scan, tests. Plumbing, rarely edited.

Why one command: developers and CI run exactly the same checks (``<project> check``), so a
green run on a laptop means a green CI job. Each tool runs from this environment
(``python -m <tool>``), keeps its own configuration in pyproject.toml, and prints its own
report only when it fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

PACKAGE = __package__ or Path(__file__).parent.name
# pynblint needs its own environment (its CLI breaks with click >= 8.3 and it downgrades
# typer/rich): uvx builds that once and caches it.
PYNBLINT = ("uvx", "--from", "pynblint==0.1.6", "--with", "click<8.3", "pynblint")
# Notebooks are committed without outputs (see docs/delivery.md), so these two rules
# cannot apply.
PYNBLINT_EXCLUDED = ("non-executed-notebook", "non-executed-cells")

console = Console()


Check = Callable[[Path], tuple[bool, str]]  # project root -> passed, the tool's output


def command(*args: str) -> Check:
    """A check that passes when the command exits with 0."""

    def run(root: Path) -> tuple[bool, str]:
        result = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
        return result.returncode == 0, (result.stdout + result.stderr).strip()

    return run


def module(name: str, *args: str) -> Check:
    """A check run as ``python -m name`` with this interpreter (this virtual environment)."""
    return command(sys.executable, "-m", name, *args)


def lint_notebooks(root: Path) -> tuple[bool, str]:
    """Run pynblint on every notebook and fail on any finding (pynblint itself exits 0)."""
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if not notebooks:
        return True, "no notebooks"
    if shutil.which(PYNBLINT[0]) is None:
        return False, "uvx not found: install uv (https://docs.astral.sh/uv/) to lint notebooks"
    findings: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for notebook in notebooks:
            report = Path(tmp) / f"{notebook.stem}.json"
            args = [*PYNBLINT, str(notebook), "--quiet", "--output", str(report)]
            args += ["--exclude", json.dumps(list(PYNBLINT_EXCLUDED))]  # a JSON list
            result = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
            if result.returncode != 0 or not report.is_file():
                findings.append(f"{notebook.name}: pynblint failed\n{result.stderr.strip()}")
                continue
            lints = json.loads(report.read_text(encoding="utf-8")).get("lints", [])
            findings += [
                f"{notebook.name}: {lint['slug']}: {lint['description']}" for lint in lints
            ]
    return not findings, "\n".join(findings)


def default_steps() -> dict[str, Check]:
    """The checks by name, fastest first; CI runs the same list."""
    return {
        "ruff": module("ruff", "check", "."),
        "ruff-format": module("ruff", "format", "--check", "."),
        "mypy": module("mypy"),  # files from [tool.mypy]
        "bandit": module("bandit", "-r", "src", "-q"),  # settings from src/.bandit
        "notebooks": lint_notebooks,
        "pylint": module("pylint", f"src/{PACKAGE}"),
        "pytest": module("pytest", "--cov", "--cov-report=term-missing:skip-covered", "-q"),
    }


def check(
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Check to leave out (repeatable).")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", "-x", help="Stop at the first failure.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every tool's output.")
    ] = False,
) -> None:
    """Run ruff, ruff format, mypy, bandit, pynblint, pylint and pytest with coverage."""
    root = Path.cwd()
    if not (root / "pyproject.toml").is_file():
        console.print("[red]Run this from the project root (where pyproject.toml is).[/red]")
        raise typer.Exit(2)
    steps = default_steps()
    unknown = sorted(set(skip or []) - set(steps))
    if unknown:
        names = ", ".join(steps)
        console.print(f"[red]Unknown check(s): {', '.join(unknown)}.[/red] Choose from: {names}")
        raise typer.Exit(2)
    table = Table("check", "result", Column("seconds", justify="right"), title="Quality gate")
    failed: list[str] = []
    for name, run in steps.items():
        if name in (skip or []) or (failed and fail_fast):
            continue
        console.print(f"[bold]>[/bold] {name} ...")
        start = time.perf_counter()
        passed, output = run(root)
        if output and (verbose or not passed):
            console.rule(name)
            console.print(output, markup=False, highlight=False)
        if not passed:
            failed.append(name)
        status = "[green]passed[/green]" if passed else "[red]FAILED[/red]"
        table.add_row(name, status, f"{time.perf_counter() - start:.1f}")
    console.print(table)
    if failed:
        console.print(f"[red]Quality gate failed:[/red] {', '.join(failed)}")
        raise typer.Exit(1)
    console.print("[green]Quality gate passed.[/green]")


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to the project's CLI."""
    app.command("check")(check)
