"""The ``ccmlops`` command: what plain cookiecutter lacks, around the same template."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.prompt import Confirm
from rich.table import Table
from rich.tree import Tree

from . import checks, grade
from .answers import AnswerError, parse_answers
from .generate import Generated, GenerationError, build_context, check, render, save_replay
from .template import options as template_options
from .update import Outcome, UpdateError, apply_update, check_answers, load_state, preview

app = typer.Typer(help="Generate cookiecutter-mlops projects.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


INTERRUPTED = 130  # the shell's exit status for Ctrl-C


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line and return the exit to raise."""
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def new(
    answers: Annotated[list[str] | None, typer.Argument(help="Answers as key=value.")] = None,
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", help="Parent folder.")] = Path(),
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Use defaults; ask nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing folder (kept as a backup).")
    ] = False,
    replay: Annotated[bool, typer.Option("--replay", help="Reuse the last answers.")] = False,
) -> None:
    """Create a project: answers are checked first, and nothing is written unless all succeeds."""
    try:
        create(answers or [], output_dir, no_input=no_input, force=force, replay=replay)
    except KeyboardInterrupt:  # at a prompt or mid-render: the staging folder is already gone
        raise fail(
            "interrupted; nothing was written. Retry with `ccmlops new --replay`.", INTERRUPTED
        ) from None


def create(
    answers: list[str], output_dir: Path, *, no_input: bool, force: bool, replay: bool
) -> None:
    """`ccmlops new` without its Ctrl-C handling."""
    try:
        given = parse_answers(answers)
        if replay and given:
            raise AnswerError("--replay reuses the last answers; give no key=value with it")
        context = build_context(given, no_input=no_input, replay=replay)
    except (AnswerError, GenerationError) as error:
        raise fail(str(error)) from None
    problems = check(context)
    if problems:
        for problem in problems:
            err.print(f"[bold red]error:[/bold red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    save_replay(context)
    try:
        result = render(context, output_dir, force=force)
    except GenerationError as error:
        raise fail(
            f"{str(error).rstrip('.')}. Retry with `ccmlops new --replay` once fixed."
        ) from None
    summarize(result, context["cookiecutter"])


def summarize(result: Generated, answers: dict[str, object]) -> None:
    """What was created, and the commands to run next."""
    files = [p for p in result.path.rglob("*") if p.is_file() and ".git" not in p.parts]
    tree = Tree(f"[bold]{result.path}[/bold] ({len(files)} files, {result.seconds:.1f} s)")
    for child in sorted(result.path.iterdir()):
        if child.name != ".git":
            tree.add(child.name + ("/" if child.is_dir() else ""))
    out.print(tree)
    if result.backup:
        out.print(f"The previous folder was kept as [bold]{result.backup}[/bold].")
    out.print("\nNext:")
    for line in (f"cd {result.path}", *next_commands(result.path, str(answers["project_slug"]))):
        out.print(f"    {line}", highlight=False, soft_wrap=True)  # pasteable at any width


def next_commands(project: Path, slug: str) -> list[str]:
    """The milestone's first commands, from what the project has: M1 has no pipeline, so no
    `setup` and no `dvc repro`; from M2 on, DVC's files are template files, so `dvc repro`
    runs at once after `ccmlops new` or an update."""
    command = slug.replace("_", "-")
    if not (project / "dvc.yaml").is_file():
        return [f"uv run {command} cards    # the data and model cards", "uv run pytest    # tests"]
    return [
        "uv run dvc repro    # the pipeline (uv installs what the project needs first)",
        "uv run pytest       # the project's tests",
    ]


SET_HELP = "Change an answer, as key=value (repeatable), e.g. --set serving=true."
CHECKOUT_HELP = "Template branch, tag or commit to update to (default: its default branch)."


def update_answers(project: Path, words: list[str] | None) -> dict[str, object]:
    """The --set answers, checked like `ccmlops new` checks them."""
    return check_answers(load_state(project), words or [])


@app.command()
def update(
    project_dir: Annotated[Path, typer.Argument(help="The generated project.")] = Path(),
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
    checkout: Annotated[str | None, typer.Option("--checkout", help=CHECKOUT_HELP)] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
) -> None:
    """Bring a project to a newer template or other answers, as a Git change you review."""
    project = project_dir.resolve()
    if not yes and not sys.stdin.isatty():
        raise fail("no terminal to ask on: see the change with `ccmlops diff`, then pass --yes")
    started = time.perf_counter()
    try:
        answers = update_answers(project, set_)
        if not yes and not confirm_update(project, answers, checkout):
            out.print(f"No change to {project.name}: the update was declined.")
            return
        outcome = apply_update(project, answers, checkout)
    except (AnswerError, UpdateError) as error:
        raise fail(str(error)) from None
    report_update(project, outcome, time.perf_counter() - started)


def confirm_update(project: Path, answers: dict[str, object], checkout: str | None) -> bool:
    """Show which paths the update would change (from a preview) and ask before applying."""
    patch, outcome = preview(project, answers, checkout)
    if not patch:
        return True  # nothing to ask about: the update reports "up to date"
    out.print(f"The update would change {len(outcome.changed)} paths:", highlight=False)
    for path in outcome.changed[:SHOWN_PATHS]:
        out.print(f"    {path}", highlight=False)
    if len(outcome.changed) > SHOWN_PATHS:
        out.print(f"    … and {len(outcome.changed) - SHOWN_PATHS} more (ccmlops diff)")
    for path in outcome.rejects + outcome.conflicts:
        out.print(f"    would conflict: {path.removesuffix('.rej')}", highlight=False)
    return Confirm.ask("Apply it? (the whole patch: `ccmlops diff`)", default=False)


SHOWN_PATHS = 15


def report_update(project: Path, outcome: Outcome, seconds: float) -> None:
    """What changed, what conflicts, and the commands to run next."""
    if not outcome.changed:
        out.print(f"No change to {project.name}: up to date with the template ({seconds:.1f} s).")
        return
    old, new = (str(c)[:10] if c else "?" for c in (outcome.old_commit, outcome.new_commit))
    out.print(
        f"Updated {project.name} from template {old} to {new}: "
        f"{len(outcome.changed)} paths changed ({seconds:.1f} s).",
        highlight=False,
        soft_wrap=True,
    )
    for path in outcome.changed[:SHOWN_PATHS]:
        out.print(f"    {path}", highlight=False)
    if len(outcome.changed) > SHOWN_PATHS:
        out.print(f"    … and {len(outcome.changed) - SHOWN_PATHS} more (git status)")
    out.print("Nothing was committed: this is an ordinary Git change for you to review.")
    slug = str(load_state(project)["context"]["cookiecutter"]["project_slug"])
    out.print("\nNext:")
    for line in (
        "git status && git diff HEAD          # review (new files are listed by git status)",
        *next_commands(project, slug),
        'git add -A && git commit -m "Update from the cookiecutter-mlops template"',
        "git reset --hard && git clean -fd    # or: undo the whole update",
    ):
        out.print(f"    {line}", highlight=False, soft_wrap=True)
    if outcome.clean:
        return
    err.print("\n[bold red]conflicts:[/bold red] the template changed lines you changed too:")
    for path in outcome.rejects:
        err.print(f"    {path}  (hunks that did not apply: merge them by hand)", highlight=False)
    for path in outcome.conflicts:
        err.print(f"    {path}  (conflict markers: keep the right lines)", highlight=False)
    err.print(
        "Resolve each one, delete the *.rej files and `git add` the files before committing; "
        "CI and pre-commit fail while any remain (README: Updating from the template).",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(2)


@app.command()
def diff(
    project_dir: Annotated[Path, typer.Argument(help="The generated project.")] = Path(),
    set_: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
    checkout: Annotated[str | None, typer.Option("--checkout", help=CHECKOUT_HELP)] = None,
) -> None:
    """Print the patch `ccmlops update` would make (against the last commit); change nothing."""
    project = project_dir.resolve()
    try:
        patch, outcome = preview(project, update_answers(project, set_), checkout)
    except (AnswerError, UpdateError) as error:
        raise fail(str(error)) from None
    print(patch, end="")
    if not patch:
        err.print(f"{project.name} is up to date with the template: an update changes nothing.")
        return
    err.print(
        f"{len(outcome.changed)} paths would change; nothing was changed. "
        "Apply with `ccmlops update`.",
        highlight=False,
    )
    for path in outcome.rejects + outcome.conflicts:
        err.print(f"    would conflict: {path.removesuffix('.rej')}", highlight=False)


def option_rows() -> list[tuple[str, str, str, str]]:
    """(option, choices, default, meaning) for every public option."""
    rows = []
    for option in template_options():
        if option.kind == "bool":
            choices = "true, false"
        elif option.choices:
            choices = ", ".join(map(str, option.choices))
        else:
            choices = "text"
        default = str(option.default).lower() if option.kind == "bool" else str(option.default)
        if "{{" in default:
            default = "derived from project_name"
        rows.append((option.name, choices, default, option.help))
    return rows


def options_markdown() -> str:
    """The options reference page of the docs, generated so it cannot drift."""
    lines = [
        "# Options reference",
        "",
        "Generated from `cookiecutter.json` by `ccmlops options --markdown`;",
        "a test keeps it in sync.",
        "",
        "| option | choices | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{name}` | {choices} | {default} | {meaning} |"
        for name, choices, default, meaning in option_rows()
    ]
    return "\n".join(lines) + "\n"


@app.command("options")
def list_options(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the docs page.")] = False,
) -> None:
    """Every option with its choices, default and meaning, read from cookiecutter.json."""
    if markdown:
        print(options_markdown(), end="")
        return
    table = Table("option", "choices", "default", "meaning")
    for row in option_rows():
        table.add_row(*row)
    out.print(table)


checks.register(app)  # `ccmlops check`: the milestone checker (checks/)
grade.register(app)  # `ccmlops grade`: fresh clones of team repositories, one table (grade.py)
