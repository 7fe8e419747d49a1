"""Post-generation hook: drop switched-off parts, then leave a Git repo with DVC and a first commit.

Nothing here is fatal to the project: when git, DVC or a git identity is missing, the
project is kept, a warning says what was skipped, and the next commands are printed.
"""

from __future__ import annotations

import json
import logging
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

# The one table of optional parts: (option, value) -> paths removed when the answer is that value.
REMOVED_PATHS: dict[tuple[str, Any], list[str]] = {
    ("serving", False): [
        "src/{package}/serving",
        "tests/serving",
        "benchmarks/serving.py",
        "docs/serving.md",
    ],
    ("docker", False): [
        "Dockerfile",
        ".dockerignore",
        "compose.yaml",
        "deploy",
        ".env.example",
        ".github/workflows/cd.yml",
    ],
    ("ci", False): [".github"],
    ("license", "none"): ["LICENSE"],
}
COMMIT_MESSAGE = "Initial commit from cookiecutter-mlops"
# Set by the template's own structure tests, which bake hundreds of projects.
SKIP_VCS_ENV = "CCMLOPS_SKIP_VCS"


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def remove_optional_parts(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """Delete the parts the answers switched off; return their relative paths."""
    removed = []
    for (option, value), patterns in REMOVED_PATHS.items():
        if answers.get(option) != value:
            continue
        for pattern in patterns:
            rel = pattern.format(package=answers["__package_name"])
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
    """The Git work tree that already contains ``root``, if any."""
    result = run(["git", "rev-parse", "--show-toplevel"], cwd=root.parent)
    return Path(result.stdout.strip()) if result.returncode == 0 else None


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


def init_dvc(root: Path, answers: Mapping[str, Any], subdir: bool) -> bool:
    """Initialise DVC in process (one import, no extra interpreter); False when DVC is absent."""
    try:
        from dvc.repo import Repo
    except ImportError:
        warn("DVC is not installed here; the project's set-up command will initialise it.")
        return False
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    logging.getLogger("dvc").setLevel(logging.WARNING)  # hides DVC's "now commit" banner
    repo = Repo.init(str(root), subdir=subdir)
    with repo.config.edit() as conf:
        conf["core"]["analytics"] = False
        conf["core"]["remote"] = "storage"
        conf["remote"]["storage"] = {"url": answers["__dvc_remote_url"]}
    repo.close()
    return True


def init_vcs(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """git init, dvc init, first commit; returns the commands the user still has to run."""
    if shutil.which("git") is None:
        warn("git was not found: the project was created without a Git repository.")
        return [
            "git init -b main",
            "uv run {slug} setup",
            "git add -A",
            'git commit -m "Initial commit"',
        ]
    if (root / ".git").exists():  # plain `cookiecutter -f` over an earlier project
        warn("the folder already has a Git repository: nothing was committed (see git status).")
        if not (root / ".dvc").exists():
            init_dvc(root, answers, subdir=False)
        return []
    parent_repo = enclosing_repo(root)
    if parent_repo is not None:
        warn(
            f"{root.name} is inside the Git repository {parent_repo}: no nested repository was "
            "created and nothing was committed; DVC was initialised with --subdir."
        )
        if not (root / ".dvc").exists():
            init_dvc(root, answers, subdir=True)
        return [f"git add {root.name}", f'git commit -m "Add {root.name}"']
    run(["git", "init", "-q", "-b", "main"], cwd=root)
    todo = [] if init_dvc(root, answers, subdir=False) else ["uv run {slug} setup"]
    run(["git", "add", "-A"], cwd=root)
    identity = git_identity_args(root, answers)
    commit = run(["git", *identity, "commit", "-q", "-m", COMMIT_MESSAGE], cwd=root)
    if commit.returncode != 0:
        warn(f"the first commit failed ({commit.stderr.strip()}); files are staged.")
        todo.append(f'git commit -m "{COMMIT_MESSAGE}"')
    return todo


def main() -> int:
    """Entry point run by cookiecutter inside the new project folder."""
    answers = json.loads(ANSWERS_JSON.strip())
    root = Path.cwd()
    remove_optional_parts(root, answers)
    todo = [] if os.environ.get(SKIP_VCS_ENV) else init_vcs(root, answers)
    if todo:
        slug = answers["project_slug"].replace("_", "-")
        print("Still to do, inside the project:", file=sys.stderr)
        for command in todo:
            print(f"    {command.format(slug=slug)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
