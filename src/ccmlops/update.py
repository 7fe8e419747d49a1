"""Bring a generated project to a newer template or other answers: cruft's update, checked.

Why a layer and not a merge of our own: cruft already renders the template twice with the
project's answers (as generated, and as wanted) and applies the difference with Git, so the
user's edits stay. What it lacks is checking new answers like `ccmlops new` does, a one-line
refusal of a dirty tree, a dry run, and a clear list of conflicts with what to do next.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .answers import AnswerError, jinja_literal, parse_answers
from .template import cruft_source, options, rules, template_dir

CRUFT_FILE = ".cruft.json"
SKIP_VCS_ENV = "CCMLOPS_SKIP_VCS"  # the post-generation hook renders without git/DVC
FIXED_KEYS = ("project_slug",)  # names the folder and the package: not an update


class UpdateError(RuntimeError):
    """The update was refused or failed; the message is one line for the user."""


@dataclass(frozen=True)
class Outcome:
    """What an update did to the project's working tree."""

    old_commit: str | None
    new_commit: str | None
    changed: list[str]
    rejects: list[str]
    conflicts: list[str]
    log: str

    @property
    def clean(self) -> bool:
        """True when nothing needs resolving by hand."""
        return not (self.rejects or self.conflicts)


def git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A git command in the project, never raising for a non-zero exit."""
    if shutil.which("git") is None:
        raise UpdateError("git was not found: updates are applied and reviewed with Git")
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)


def read_state(path: Path) -> dict[str, Any]:
    """The parsed file; a damaged one (hand edits, a bad merge) is one line with the repair."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
    except json.JSONDecodeError as error:
        problem = f"not JSON at line {error.lineno}"
    else:
        context = state.get("context") if isinstance(state, dict) else None
        if isinstance(context, dict) and isinstance(context.get("cookiecutter"), dict):
            return state
        problem = "no context.cookiecutter object with the answers"
    raise UpdateError(
        f"{path} is damaged ({problem}): restore the committed copy with "
        f"`git checkout HEAD -- {CRUFT_FILE}`, or write a new one with `cruft link <template>`"
    )


def load_state(project: Path) -> dict[str, Any]:
    """The project's .cruft.json, or an UpdateError saying how to get one."""
    path = project / CRUFT_FILE
    if not path.is_file():
        raise UpdateError(
            f"{project} has no {CRUFT_FILE}, so its template and answers are unknown; "
            "projects from `ccmlops new`, cookiecutter or `cruft create` have one. Link an "
            "older project with `cruft link <template>` and commit the file."
        )
    state = read_state(path)
    if not state.get("commit"):
        raise UpdateError(
            f"{CRUFT_FILE} records no template commit (the template was not a Git checkout); "
            'set "commit" to the template revision the project was generated from'
        )
    return state


def require_clean_git(project: Path) -> None:
    """Refuse anything but a clean Git work tree: the update must be a reviewable change."""
    inside = git(project, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        raise UpdateError(
            f"{project} is not a Git repository; an update is applied as a Git change"
        )
    status = git(project, "status", "--porcelain", "--", ".").stdout.splitlines()
    if status:
        raise UpdateError(
            f"{project} has uncommitted changes ({len(status)} paths); commit or stash them first "
            "so the update is a change of its own (git status)"
        )


def rendered_text(value: Any) -> Any:
    """An answer as the template sees it (stored text may be a Jinja string literal)."""
    if isinstance(value, str) and value.startswith('{{ "') and value.endswith('" }}'):
        return jinja2.Environment(autoescape=False).from_string(value).render()
    return value


def check_answers(state: dict[str, Any], words: list[str]) -> dict[str, Any]:
    """The --set answers as cruft's extra context, checked with `ccmlops new`'s rules."""
    given = parse_answers(words)
    current = state["context"]["cookiecutter"]
    for key in FIXED_KEYS:
        if key in given and given[key] != current.get(key):
            raise AnswerError(f"{key} cannot change in an update: it names the folder and package")
    raw = {w.partition("=")[0]: w.partition("=")[2] for w in words}
    text_keys = {o.name for o in options() if o.kind == "text"}
    merged = {key: rendered_text(value) for key, value in current.items()}
    merged.update({k: raw[k] if k in text_keys else v for k, v in given.items()})
    merged["__package_name"] = merged.get("project_slug")
    problems = list(rules().validate(merged))
    if problems:
        raise AnswerError("; ".join(problems))
    return given


@contextlib.contextmanager
def skip_vcs() -> Iterator[None]:
    """Tell the post-generation hook that cruft's renders are not projects: no git, no DVC."""
    previous = os.environ.get(SKIP_VCS_ENV)
    os.environ[SKIP_VCS_ENV] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SKIP_VCS_ENV, None)
        else:
            os.environ[SKIP_VCS_ENV] = previous


def literal_answers(project: Path) -> None:
    """Re-store text answers as Jinja literals: cruft writes them rendered after an update."""
    path = project / CRUFT_FILE
    state = json.loads(path.read_text(encoding="utf-8"))
    answers = state["context"]["cookiecutter"]
    text_keys = {o.name for o in options() if o.kind == "text"}
    for key in text_keys & answers.keys():
        if isinstance(answers[key], str):  # cruft stores the rendered text
            answers[key] = jinja_literal(answers[key])
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
    path.write_text(text + "\n", encoding="utf-8")


@contextlib.contextmanager
def installed_template(state: dict[str, Any]) -> Iterator[Path | None]:
    """For a project generated from the installed package's template, a Git repository of
    that template rebuilt at the commit .cruft.json records (None: cruft clones as usual)."""
    source = cruft_source()
    if state.get("template") != source.INSTALLED:
        yield None
        return
    scratch = Path(tempfile.mkdtemp(prefix="ccmlops-template-"))
    try:
        if source.snapshot(template_dir(), scratch) != state.get("commit"):
            raise UpdateError(
                f"this project was generated by another version of {source.INSTALLED} than "
                "the one installed: install that version to change answers, or update from "
                "the template's Git repository (docs/updating.md)"
            )
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def apply_update(project: Path, answers: dict[str, Any], checkout: str | None) -> Outcome:
    """Run cruft's update on a clean project and describe the resulting working tree.

    Never cruft's own y/n/s/v question: it breaks on the installed typer (its prompt passes a
    click.Choice that typer's coercion asserts against). ``ccmlops update`` asks instead.
    """
    state = load_state(project)
    require_clean_git(project)
    import cruft  # here, not on top: GitPython refuses to import where git is missing

    before = (project / CRUFT_FILE).read_bytes()
    log = io.StringIO()
    with contextlib.ExitStack() as stack:
        template_path = stack.enter_context(installed_template(state))
        stack.enter_context(skip_vcs())
        stack.enter_context(contextlib.redirect_stdout(log))
        stack.enter_context(contextlib.redirect_stderr(log))
        try:
            done = cruft.update(
                project,
                template_path=template_path,
                checkout=checkout,
                extra_context=answers or None,
                skip_apply_ask=True,
            )
        except Exception as error:  # cruft, git and cookiecutter raise many types
            first = (str(error).strip().splitlines() or [""])[0].split(" Context: ")[0]
            raise UpdateError(
                f"the update failed, nothing to undo if `git status` is clean: "
                f"{type(error).__name__}: {first[:300]}"
            ) from error
    if not done:
        raise UpdateError(f"cruft refused the update: {log.getvalue().strip() or 'see above'}")
    if (project / CRUFT_FILE).read_bytes() != before:
        literal_answers(project)
    return describe(project, state.get("commit"), log.getvalue())


def describe(project: Path, old_commit: str | None, log: str) -> Outcome:
    """Changed paths, *.rej leftovers and files with conflict markers after an update."""
    status = git(project, "status", "--porcelain", "--untracked-files=all", "--", ".")
    changed = [line[3:] for line in status.stdout.splitlines()]
    unmerged = git(project, "diff", "--name-only", "--diff-filter=U", "--", ".")
    new_state = json.loads((project / CRUFT_FILE).read_text(encoding="utf-8"))
    return Outcome(
        old_commit=old_commit,
        new_commit=new_state.get("commit"),
        changed=changed,
        rejects=[path for path in changed if path.endswith(".rej")],
        conflicts=unmerged.stdout.split(),
        log=log,
    )


def preview(project: Path, answers: dict[str, Any], checkout: str | None) -> tuple[str, Outcome]:
    """The patch an update would make, computed on a throwaway clone of the last commit."""
    load_state(project)
    if git(project, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise UpdateError(
            f"{project} is not a Git repository; an update is applied as a Git change"
        )
    top = Path(git(project, "rev-parse", "--show-toplevel").stdout.strip())
    prefix = git(project, "rev-parse", "--show-prefix").stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix="ccmlops-diff-"))
    try:
        clone = scratch / "project"
        cloned = subprocess.run(
            ["git", "clone", "-q", str(top), str(clone)],
            capture_output=True,
            text=True,
            check=False,
        )
        if cloned.returncode != 0:
            raise UpdateError(f"could not copy the project to compare: {cloned.stderr.strip()}")
        copy = clone / prefix
        if not (copy / CRUFT_FILE).is_file():
            raise UpdateError(f"{CRUFT_FILE} is not committed; commit it first")
        outcome = apply_update(copy, answers, checkout)
        git(copy, "add", "-A", "--", ".", ":(exclude)*.rej")
        patch = git(copy, "diff", "--cached", "--", ".").stdout
        return patch, outcome
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
