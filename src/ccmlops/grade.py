"""``ccmlops grade``: grade team repositories from fresh clones, one table for the class.

Why clones: a grade must be what the team committed and pushed, not what lies on a laptop.
A clone holds no data, models or ``mlflow.db``: the data and models come from the DVC remote
the starter recorded (a class bucket or a shared folder), runs and registered models from the
class MLflow server (``MLFLOW_TRACKING_URI``). Before anything slow runs, each team's row
says what the grader lacks (credentials, a reachable remote, an environment).

Why one environment: with ``--python`` every team is checked in one shared virtual
environment (each clone installed into it, editable and without dependencies, then
removed), so a class is graded with warm caches instead of one install per team.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .checks.command import run_with_progress
from .checks.items import select
from .checks.project import FAILED, SKIPPED, NotAProject, Project, UsageError, tail

PYTHON_HELP = (
    "A shared environment's interpreter for every team (default: each clone's own "
    "environment, `uv run --frozen` from its uv.lock)."
)
COLUMNS = ("team", "milestone", "passed", "failing", "seconds", "details")


@dataclass(frozen=True)
class Row:
    """One team's line of the class table."""

    team: str
    milestone: str
    passed: bool
    failing: list[str]
    seconds: float
    details: str

    def cells(self) -> list[str]:
        passed = "yes" if self.passed else "no"
        failing = ", ".join(self.failing)
        return [self.team, self.milestone, passed, failing, f"{self.seconds:.1f}", self.details]


def dvc_remote(root: Path) -> str | None:
    """The URL of the default DVC remote in the clone's committed ``.dvc/config``."""
    config = root / ".dvc" / "config"
    if not config.is_file():
        return None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in config.read_text(encoding="utf-8").splitlines():
        if header := re.match(r"\s*\[(.+)\]\s*$", line):
            current = sections.setdefault(header.group(1).strip("' "), {})
        elif pair := re.match(r"\s*(\w+)\s*=\s*(.*?)\s*$", line):
            current[pair.group(1)] = pair.group(2)
    name = sections.get("core", {}).get("remote")
    return sections.get(f'remote "{name}"', {}).get("url") if name else None


def remote_problem(root: Path, url: str) -> str | None:
    """What keeps ``dvc pull`` from reaching the remote, known before trying it."""
    if url.startswith("s3://"):
        keys = os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
        if not keys and not (Path.home() / ".aws" / "credentials").is_file():
            return (
                f"no credentials for {url}: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(and AWS_ENDPOINT_URL for a server other than AWS)"
            )
        return None
    if "://" in url:
        return None  # another DVC remote type: dvc pull says what it lacks
    folder = Path(url) if Path(url).is_absolute() else root / ".dvc" / url
    if not folder.is_dir():
        where = "a folder next to the team's own checkout" if not Path(url).is_absolute() else ""
        return (
            f"DVC remote folder {url} not found{' (' + where + ')' if where else ''}: "
            "record a shared remote in the starter (instructor guide: grading from a clone)"
        )
    return None


PULL_HINTS = (
    ("Could not connect to the endpoint URL", "remote unreachable"),
    ("Unable to locate credentials", "no credentials for the remote"),
    ("AccessDenied", "the credentials may not read the remote"),
    ("NoSuchBucket", "the bucket does not exist"),
    ("do not exist neither locally nor on remote", "not pushed: the team must `dvc push`"),
)


def pull(project: Project) -> str | None:
    """``dvc pull`` the data and models; None when it worked, else why not, in one line."""
    result = project.run("-m", "dvc", "pull", timeout=600)  # --quiet hides the errors too
    if result.returncode == 0:
        return None
    output = result.stdout + result.stderr
    hint = next((why for pattern, why in PULL_HINTS if pattern in output), "dvc pull failed")
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    return f"{hint}: {errors[0] if errors else tail(output, 2)}"


@contextmanager
def installed(project: Project, shared: bool) -> Iterator[str | None]:
    """The clone installed into a shared environment (editable, no dependencies) while it is
    graded, removed afterwards (an editable install the environment had is put back); yields
    why not when that is impossible."""
    if not shared:
        yield None
        return
    uv = shutil.which("uv")
    if uv is None:
        yield "no uv on PATH: it installs each clone into the --python environment"
        return
    python = ["--python", project.python[0]]
    name = str(project.config.get("project", {}).get("name", project.package))
    shown = subprocess.run(
        [uv, "pip", "show", *python, name], capture_output=True, text=True, check=False
    )
    own = re.search(r"^Editable project location: (.+)$", shown.stdout, flags=re.MULTILINE)
    if shown.returncode == 0 and own is None:  # installed from a wheel: it could not be put back
        yield f"{name} is already installed in {project.python[0]}: give a shared env without it"
        return
    added = subprocess.run(
        [uv, "pip", "install", "-q", *python, "--no-deps", "-e", str(project.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        yield None if added.returncode == 0 else f"install failed: {tail(added.stderr)}"
    finally:
        removed = [uv, "pip", "uninstall", "-q", *python, name]
        subprocess.run(removed, capture_output=True, check=False)
        if own:  # the environment's own install (a team's .venv, say), put back as it was
            back = [uv, "pip", "install", "-q", *python, "--no-deps", "-e", own[1]]
            subprocess.run(back, capture_output=True, check=False)


def team_name(source: str, taken: set[str]) -> str:
    """The repository's name (``team-a`` from ``git@host:class/team-a.git``), made unique."""
    name = re.sub(r"\.git$", "", source.rstrip("/")).rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    unique, count = name or "team", 1
    while unique in taken:
        count += 1
        unique = f"{name}-{count}"
    taken.add(unique)
    return unique


def grade_team(
    source: str,
    team: str,
    folder: Path,
    python: str | None,
    milestone: str | None,
    skip: Sequence[str],
    err: Console,
) -> Row:
    """Clone, check the environment and the remote, pull, then run the checker's items."""
    start = time.perf_counter()

    def row(passed: bool, failing: list[str], details: list[str], level: str = "?") -> Row:
        return Row(team, level, passed, failing, time.perf_counter() - start, "; ".join(details))

    clone = folder / team
    cloned = subprocess.run(
        ["git", "clone", "-q", source, str(clone)], capture_output=True, text=True, check=False
    )
    if cloned.returncode != 0:
        return row(False, ["clone"], [f"git clone failed: {tail(cloned.stderr)}"])
    # Experiments (exercise M2.6) live in Git refs that a clone leaves behind.
    subprocess.run(
        ["git", "-C", str(clone), "fetch", "-q", "origin", "+refs/exps/*:refs/exps/*"],
        capture_output=True,
        check=False,
    )
    if python is None and not (clone / "uv.lock").is_file():
        return row(False, ["environment"], ["no uv.lock committed: pass --python a shared env"])
    try:
        project = Project.find(clone, python)
    except NotAProject as error:
        return row(False, ["project"], [str(error)])
    except UsageError as error:  # no uv to make the clone's environment
        return row(False, ["environment"], [str(error)])
    level = (milestone or project.milestone or "M6").upper()
    needs: list[str] = []
    url = dvc_remote(clone)
    if (clone / "dvc.yaml").is_file() and url is None:
        needs.append("no default DVC remote in .dvc/config")
    with installed(project, python is not None) as problem:
        if problem:
            return row(False, ["environment"], [problem], level)
        if url is not None:
            needs.append(remote_problem(clone, url) or pull(project) or "")
        ready = time.perf_counter() - start
        err.print(f"{team}: cloned, installed and pulled in {ready:.1f} s", highlight=False)
        items = select(level, [])
        data = run_with_progress(project, level, items, skip, err, prefix=f"{team} ")
    failing = [
        item
        for item in data["items"]
        if item["required"] and item["counted"] and item["status"] in (FAILED, SKIPPED)
    ]
    details = [need for need in needs if need]
    details += [f"{item['id']}: {item['detail']}" for item in failing]
    return row(data["passed"], [item["id"] for item in failing], details, level)


def markdown(rows: Sequence[Row]) -> str:
    """The class table in Markdown (``|`` in a detail is escaped)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = [cell.replace("|", "\\|").replace("\n", " ") for cell in row.cells()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(rows: Sequence[Row], path: Path) -> None:
    """``.csv`` as CSV, anything else as Markdown."""
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(COLUMNS)
            writer.writerows(row.cells() for row in rows)
    else:
        path.write_text(markdown(rows), encoding="utf-8")


def grade(
    sources: Annotated[
        list[str], typer.Argument(help="Team repositories: URLs or paths, one clone each.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the table here: .csv, else Markdown.")
    ] = None,
    python: Annotated[
        str | None,
        typer.Option("--python", help=PYTHON_HELP),
    ] = None,
    milestone: Annotated[
        str | None,
        typer.Option("--milestone", "-m", help="M1..M6; default: each project's own."),
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Leave this item out (repeatable).")
    ] = None,
) -> None:
    """Clone each team's repository, pull its data and models, grade it: one table out."""
    err = Console(stderr=True)
    try:
        select(milestone, [])
        select(None, skip or [])
        if python and not Path(python).is_file():
            raise UsageError(f"--python {python}: no such interpreter")
    except UsageError as error:
        err.print(f"[bold red]error:[/bold red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    shared = str(Path(python).absolute()) if python else None
    rows, taken = [], set[str]()
    with tempfile.TemporaryDirectory(prefix="ccmlops-grade-") as folder:
        for source in sources:
            team = team_name(source, taken)
            err.print(f"{team}: cloning {source}", highlight=False)
            row = grade_team(source, team, Path(folder), shared, milestone, skip or [], err)
            verdict = "passed" if row.passed else f"not passed: {', '.join(row.failing)}"
            err.print(f"{team}: {row.milestone} {verdict} ({row.seconds:.1f} s)", highlight=False)
            rows.append(row)
    print(markdown(rows), end="")
    if out is not None:
        write_table(rows, out)
    raise typer.Exit(0 if all(row.passed for row in rows) else 1)


def register(app: typer.Typer) -> None:
    """Add ``grade`` to the ccmlops command line."""
    app.command("grade")(grade)
