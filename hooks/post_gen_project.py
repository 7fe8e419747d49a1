"""Post-generation hook: only what cannot be a template file. It drops the parts the answers
leave out (hooks/parts.py's table), applies the exercise markers (hooks/exercises.py), then
makes the Git repository and the first commit. .cruft.json and DVC's files are template files.

Missing tools are not fatal to the project: when git or a git identity is missing, the
project is kept, a warning says what was skipped, and the next commands are printed. A git
step that fails (a full disk) or a malformed exercise marker (a template bug) stops
generation with one line, so no half-committed project is reported as a success.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ANSWERS_JSON = r"""
{{ cookiecutter | tojson }}
"""
# The paths hooks/parts.py's table removes for these answers (milestone and options).
REMOVED_JSON = r"""
{{ cookiecutter | removed_paths | tojson }}
"""
# The template's folder, where hooks/exercises.py is (cookiecutter runs this file alone).
TEMPLATE_ROOT_JSON = r"""
{{ template_root() | tojson }}
"""
COMMIT_MESSAGE = "Initial commit from cookiecutter-mlops"
# Set by the template's own structure tests and by updates: renders that are not projects.
SKIP_VCS_ENV = "CCMLOPS_SKIP_VCS"


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def remove_optional_parts(root: Path, paths: Sequence[str]) -> list[str]:
    """Delete ``paths`` (relative to ``root``) where they exist; return those deleted."""
    removed = []
    for rel in paths:
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(rel)
    return removed


def run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command quietly, never raising for a non-zero exit."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def enclosing_repo(root: Path) -> Path | None:
    """The Git work tree that already contains ``root``, if any; a folder it ignores (such as
    the template checkout's demo/) is not part of it and gets a repository of its own."""
    result = run(["git", "rev-parse", "--show-toplevel"], cwd=root.parent)
    ignored = run(["git", "check-ignore", "-q", str(root)], cwd=root.parent).returncode == 0
    if result.returncode != 0 or ignored:
        return None
    return Path(result.stdout.strip())


def git_identity_args(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """Per-command identity when none is configured: global git config is never written."""
    name = run(["git", "config", "user.name"], cwd=root).stdout.strip()
    email = run(["git", "config", "user.email"], cwd=root).stdout.strip()
    if name and email:
        return []
    return [
        "-c",
        f"user.name={name or answers.get('author_name') or 'cookiecutter-mlops'}",
        "-c",
        f"user.email={email or answers.get('author_email') or 'noreply@example.com'}",
    ]


class GitError(RuntimeError):
    """A git step of the first commit failed; the message is its last line of output."""


def init_vcs(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """git init and the first commit; returns the commands the user still has to run.
    A repository that already holds ``root`` is never written."""
    if shutil.which("git") is None:
        warn("git was not found: the project was created without a Git repository.")
        return ["git init -b main", "git add -A", 'git commit -m "Initial commit"']
    if (root / ".git").exists():  # plain `cookiecutter -f` over an earlier project
        warn("the folder already has a Git repository: nothing was committed (see git status).")
        return []
    parent_repo = enclosing_repo(root)
    if parent_repo is not None:
        warn(
            f"{root.name} is inside the Git repository {parent_repo}: no nested repository was "
            "created and nothing was committed."
        )
        return [f"git add {root.name}", f'git commit -m "Add {root.name}"']
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*git_identity_args(root, answers), "commit", "-q", "-m", COMMIT_MESSAGE],
    ):
        result = run(["git", *args], cwd=root)
        if result.returncode != 0:  # a full disk, a broken git set-up: not a project to keep
            step = next(arg for arg in args if arg in {"init", "add", "commit"})
            lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
            raise GitError(f"git {step} failed: {lines[-1]}")
    return []


def main() -> int:
    """Entry point run by cookiecutter inside the new project folder."""
    answers = json.loads(ANSWERS_JSON.strip())
    root = Path.cwd()
    remove_optional_parts(root, json.loads(REMOVED_JSON.strip()))
    if json.loads((root / ".cruft.json").read_text(encoding="utf-8"))["commit"] is None:
        warn(
            "the template is not a Git checkout: .cruft.json records no commit, so "
            "`ccmlops update` cannot update this project (docs/updating.md)."
        )
    sys.path.insert(0, json.loads(TEMPLATE_ROOT_JSON.strip()))
    from hooks.exercises import ExerciseError, apply_exercises

    try:
        apply_exercises(root, answers)
    except ExerciseError as error:
        print(f"ERROR: exercise markers: {error}", file=sys.stderr)
        return 1
    try:
        todo = [] if os.environ.get(SKIP_VCS_ENV) else init_vcs(root, answers)
    except GitError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    if todo:
        print("Still to do, inside the project:", file=sys.stderr)
        for command in todo:
            print(f"    {command}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C reaches the hook too: the caller says what happened
        sys.exit(130)
