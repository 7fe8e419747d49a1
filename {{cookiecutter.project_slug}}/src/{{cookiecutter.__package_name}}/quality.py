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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

PACKAGE = __package__ or Path(__file__).parent.name
# pynblint needs its own environment (its CLI breaks with click >= 8.3 and it downgrades
# typer/rich): uvx builds that once and caches it.
PYNBLINT = ("uvx", "--from", "pynblint==0.1.6", "--with", "click<8.3", "pynblint")
# Notebooks are committed without outputs (see docs/delivery.md), so these two rules
# cannot apply.
PYNBLINT_EXCLUDED = ("non-executed-notebook", "non-executed-cells")

console = Console()


@dataclass(frozen=True)
class StepResult:
    """What one check found: passed or not, how long it took and the tool's own output."""

    name: str
    passed: bool
    seconds: float
    output: str


@dataclass(frozen=True)
class Step:
    """One named check; ``run`` gets the project root and reports the outcome."""

    name: str
    run: Callable[[Path], tuple[bool, str]]


def command_step(name: str, *args: str) -> Step:
    """A check that passes when the command exits with 0."""

    def run(root: Path) -> tuple[bool, str]:
        result = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
        return result.returncode == 0, (result.stdout + result.stderr).strip()

    return Step(name, run)


def module_step(name: str, module: str, *args: str) -> Step:
    """A check run as ``python -m module`` with this interpreter (this virtual environment)."""
    return command_step(name, sys.executable, "-m", module, *args)


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


def default_steps() -> list[Step]:
    """The checks, fastest first; CI runs the same list."""
    package_dir = f"src/{PACKAGE}"
    return [
        module_step("ruff", "ruff", "check", "."),
        module_step("ruff-format", "ruff", "format", "--check", "."),
        module_step("mypy", "mypy"),  # files from [tool.mypy]
        module_step("bandit", "bandit", "-r", "src", "-q"),  # settings from src/.bandit
        Step("notebooks", lint_notebooks),
        module_step("pylint", "pylint", package_dir),
        module_step("pytest", "pytest", "--cov", "--cov-report=term-missing:skip-covered", "-q"),
    ]


def run_steps(steps: Sequence[Step], root: Path, fail_fast: bool = False) -> list[StepResult]:
    """Run the checks in order; stop after the first failure when ``fail_fast``."""
    results = []
    for step in steps:
        console.print(f"[bold]>[/bold] {step.name} ...")
        start = time.perf_counter()
        passed, output = step.run(root)
        results.append(StepResult(step.name, passed, time.perf_counter() - start, output))
        if not passed and fail_fast:
            break
    return results


def summary(results: Sequence[StepResult]) -> Table:
    """One row per check: the table printed at the end of every run."""
    table = Table(title="Quality gate")
    table.add_column("check")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    for result in results:
        status = "[green]passed[/green]" if result.passed else "[red]FAILED[/red]"
        table.add_row(result.name, status, f"{result.seconds:.1f}")
    return table


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
    unknown = sorted(set(skip or []) - {step.name for step in steps})
    if unknown:
        names = ", ".join(step.name for step in steps)
        console.print(f"[red]Unknown check(s): {', '.join(unknown)}.[/red] Choose from: {names}")
        raise typer.Exit(2)
    steps = [step for step in steps if step.name not in set(skip or [])]
    results = run_steps(steps, root, fail_fast=fail_fast)
    for result in results:
        if result.output and (verbose or not result.passed):
            console.rule(result.name)
            console.print(result.output, markup=False, highlight=False)
    console.print(summary(results))
    failed = [result.name for result in results if not result.passed]
    if failed or len(results) < len(steps):
        console.print(f"[red]Quality gate failed:[/red] {', '.join(failed)}")
        raise typer.Exit(1)
    console.print("[green]Quality gate passed.[/green]")


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to the project's CLI."""
    app.command("check")(check)
