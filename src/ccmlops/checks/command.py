"""Running the selected items, the JSON report, the printed table and the typer command."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .items import Item, select
from .project import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    SKIPPED,
    NotAProject,
    Outcome,
    Project,
    UsageError,
    failed,
    skipped,
)
from .score import ml_test_score

# Items run in threads: each waits on a tool in its own process (pytest, pylint, the API), so
# three at a time keep 2 cores busy. Measured on M6 in the instructor guide.
JOBS = 3


@dataclass(frozen=True)
class Result:
    """One item's outcome and how long its check took."""

    item: Item
    outcome: Outcome
    seconds: float
    left_out: bool = False  # by the grader's own --skip

    @property
    def failing(self) -> bool:
        """A required item that failed, or that could not be checked (a tool is missing):
        the milestone is not proven. Only the grader's own ``--skip`` leaves an item out."""
        if not self.item.required or self.left_out:
            return False
        return self.outcome.status in (FAILED, SKIPPED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "milestone": f"M{self.item.milestone}",
            "required": self.item.required,
            "category": self.item.category,
            "title": self.item.title,
            "status": self.outcome.status,
            "detail": self.outcome.detail,
            "seconds": round(self.seconds, 2),
            "counted": not self.left_out,
        }


def run_item(item: Item, project: Project) -> Result:
    """Run one check; a crash in a check is that item's failure, never the command's."""
    start = time.perf_counter()
    try:
        outcome = item.check(project)
    except Exception as error:  # reported as the item's one line
        outcome = failed(f"the check crashed: {type(error).__name__}: {error}")
    return Result(item, outcome, time.perf_counter() - start)


def run_checks(project: Project, items: Sequence[Item], skip: Sequence[str] = ()) -> list[Result]:
    """Every selected item in table order; ``skip`` ones are reported as skipped."""
    return [
        Result(item, skipped("left out with --skip"), 0.0, left_out=True)
        if item.id in skip
        else run_item(item, project)
        for item in items
    ]


def report(
    project: Project, milestone: str | None, results: Sequence[Result], seconds: float
) -> dict[str, Any]:
    """The machine-readable report (``--json``); its keys are stable."""
    return {
        "project": str(project.root),
        "milestone": (milestone or "M6").upper(),
        "passed": not any(result.failing for result in results),
        "seconds": round(seconds, 2),
        "items": [result.as_dict() for result in results],
        "ml_test_score": ml_test_score(project),
    }


def run_with_progress(
    project: Project,
    milestone: str | None,
    items: Sequence[Item],
    skip: Sequence[str],
    err: Console,
    prefix: str = "",
    jobs: int = JOBS,
) -> dict[str, Any]:
    """Run the items, ``jobs`` at a time, with one progress line each on ``err`` in table order
    (a check can take minutes, so silence would look like a hang), and return the report."""
    start = time.perf_counter()
    results = []
    project.selected = frozenset(item.id for item in items if item.id not in skip)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running = [pool.submit(run_checks, project, [item], skip) for item in items]
        for index, (item, future) in enumerate(zip(items, running, strict=True), 1):
            line = f"{prefix}[{index}/{len(items)}] {item.id}: {item.title} ..."
            err.print(line, end="", highlight=False)
            (result,) = future.result()
            err.print(f" {result.outcome.status} ({result.seconds:.1f} s)", highlight=False)
            results.append(result)
    return report(project, milestone, results, time.perf_counter() - start)


# ----------------------------------------------------------------------------- the command

STYLE = {PASSED: "green", FAILED: "red", SKIPPED: "yellow", NOT_APPLICABLE: "dim"}


def print_report(data: dict[str, Any], console: Console) -> None:
    """The item table, then the ML Test Score summary and the verdict."""
    table = Table(title=f"{data['milestone']} deliverables of {Path(data['project']).name}")
    for column in ("item", "milestone", "status", "detail"):
        table.add_column(column, overflow="fold")
    table.add_column("s", justify="right")
    for item in data["items"]:
        style = STYLE[item["status"]]
        status = item["status"] if item["required"] else f"{item['status']} (optional)"
        table.add_row(
            item["id"],
            item["milestone"],
            f"[{style}]{status}[/{style}]",
            item["detail"],
            f"{item['seconds']:.1f}",
        )
    console.print(table)
    score = data["ml_test_score"]
    summary = Table(title="ML Test Score (Breck et al.): tests per category")
    for column in ("category", "tests", "points"):
        summary.add_column(column, justify="left" if column == "category" else "right")
    for category, value in score["categories"].items():
        summary.add_row(category, str(value["tests"]), f"{value['points']:g}")
    ci = "run in CI" if score["tests_run_in_ci"] else "not run by any workflow"
    summary.add_row("[bold]score[/bold]", ci, f"[bold]{score['score']:g}/{score['max']:g}[/bold]")
    console.print(summary)
    if data["passed"]:
        console.print(f"[green]{data['milestone']} passed[/green] in {data['seconds']:.1f} s.")
    else:
        bad = ", ".join(
            item["id"] if item["status"] == FAILED else f"{item['id']} skipped"
            for item in data["items"]
            if item["required"] and item["counted"] and item["status"] in (FAILED, SKIPPED)
        )
        seconds = f"{data['seconds']:.1f} s"
        console.print(f"[red]{data['milestone']} not passed:[/red] {bad} ({seconds}).")


def check(
    milestone: Annotated[
        str | None,
        typer.Option(
            "--milestone",
            "-m",
            help="M1..M6 (cumulative); default: the project's own (.cruft.json), else all.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON, and nothing else.")
    ] = False,
    project_dir: Annotated[
        Path, typer.Option("--project", help="The generated project's root.")
    ] = Path(),
    python: Annotated[
        str | None,
        typer.Option("--python", help="The project's interpreter (default: .venv, or uv run)."),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Check only this item (repeatable).")
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Leave this item out (repeatable).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Items checked at the same time (1: in turn).")
    ] = JOBS,
) -> None:
    """Grade a generated project's milestone item by item; exit 1 when a required item fails."""
    err = Console(stderr=True)
    try:
        select(milestone, only or [])  # names are checked before the folder is
        select(None, skip or [])  # validates the --skip names
        project = Project.find(project_dir, python)
        milestone = milestone or project.milestone
        items = select(milestone, only or [])
    except (UsageError, NotAProject) as error:
        err.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    data = run_with_progress(project, milestone, items, skip or [], err, jobs=jobs)
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print_report(data, Console())
    raise typer.Exit(0 if data["passed"] else 1)


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ccmlops command line."""
    app.command("check")(check)
