""".cruft.json as a template file: where `cruft update` finds the template, and the answers.

Why a Jinja filter: the file is then an ordinary template file that plain cookiecutter, cruft
and ccmlops all render the same way, and the post-generation hook has nothing to write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

# Where this run's cookiecutter happened to be: true only on this machine, today.
MACHINE_KEYS = frozenset({"_output_dir", "_repo_dir", "_checkout"})
# .cruft.json's template when rendered from the copy inside the installed ccmlops package
INSTALLED = "cookiecutter-mlops"
# Fixed identity and dates: the same template files give the same snapshot commit anywhere.
SNAPSHOT_ENV = {
    **{f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
       for what, value in (("NAME", INSTALLED), ("EMAIL", "noreply@example.com"),
                           ("DATE", "2000-01-01T00:00:00+00:00"))},
    "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip
# The three Jinja openers, spelt so that no template rendering ever sees them here.
JINJA_MARKERS = ("{" + "{", "{" + "%", "{" + "#")


def jinja_literal(text: str) -> str:
    """Text that cookiecutter's rendering of answers gives back unchanged (as ccmlops.answers).

    cruft re-renders the recorded answers as Jinja on every update: an answer holding Jinja
    markers is stored as a Jinja string literal so the re-render reproduces it byte for byte.
    """
    if not any(marker in text for marker in JINJA_MARKERS):
        return text
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return "{" + '{ "' + escaped + '" }' + "}"


def git_output(args: Sequence[str], cwd: Path) -> str | None:
    """stdout of a git command, or None when git or the repository is missing."""
    if shutil.which("git") is None or not cwd.is_dir():
        return None
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def template_folder(text: str) -> Path | None:
    """The template folder ``text`` names on this machine, if it names one."""
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute():  # relative to where cookiecutter was started
        path = Path(os.environ.get("PWD", ".")) / path
    return path.resolve() if (path / "cookiecutter.json").is_file() else None


def snapshot(folder: Path, repo: Path) -> str | None:
    """Commit ``folder`` as it is into a new repository ``repo``; returns the commit id.

    Why: a template installed with the package is no Git checkout, yet cruft updates from a
    commit. The fixed identity and dates make it the same id on every machine that has the
    same version installed, so `ccmlops update` rebuilds the commit the project records.
    """
    git_dir = repo / ".git"
    if git_output(["init", "-q", "-b", "main", str(repo)], folder) is None:
        return None
    (git_dir / "info" / "exclude").write_text("__pycache__/\n*.pyc\n", encoding="utf-8")
    where = [f"--git-dir={git_dir}", f"--work-tree={folder}", "-c", "commit.gpgsign=false"]
    env = {**os.environ, **SNAPSHOT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (["add", "-A"], ["commit", "-q", "--no-verify", "-m", INSTALLED]):
        done = subprocess.run(["git", *where, *args], cwd=folder, env=env, capture_output=True)
        if done.returncode != 0:
            return None
    return git_output([f"--git-dir={git_dir}", "rev-parse", "HEAD"], folder)


def installed_copy(folder: Path) -> bool:
    """True for the template inside the installed package (ccmlops/_template in the wheel)."""
    return folder.name == "_template" and folder.parent.name == "ccmlops"


def template_source(answers: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """(template, commit, checkout) in cruft's terms: where `cruft update` clones from.

    A Git checkout is recorded by its ``origin`` URL, which works on a student's machine too;
    only a checkout without a remote falls back to its path on this machine. The copy inside
    the installed package is recorded as ``cookiecutter-mlops`` and a snapshot commit.
    """
    if answers.get("_commit"):  # rendered by cruft, which resolved both itself
        return str(answers["_template"]), str(answers["_commit"]), None
    checkout = answers.get("_checkout") or None
    named = str(answers.get("_template") or "")
    local = template_folder(str(answers.get("_repo_dir") or "")) or template_folder(named)
    if local is None:
        return named, None, checkout
    top = git_output(["rev-parse", "--show-toplevel"], local)
    # only the template's own repository, not one it merely sits in (a venv inside a project)
    own = top is not None and Path(top).resolve() == local
    if not own and installed_copy(local):
        with tempfile.TemporaryDirectory(prefix="ccmlops-snapshot-") as scratch:
            return INSTALLED, snapshot(local, Path(scratch)), None
    commit = git_output(["rev-parse", "HEAD"], local) if own else None
    origin = git_output(["remote", "get-url", "origin"], local) if own else None
    return origin or (str(local) if own or template_folder(named) else named), commit, checkout


def cruft_state(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The .cruft.json content: what `cruft create` writes, so cruft and ccmlops can update."""
    template, commit, checkout = template_source(answers)
    context: dict[str, Any] = {}
    for key in answers:
        if key in MACHINE_KEYS or key in {"_template", "_commit"}:
            continue
        value = answers[key]
        context[key] = jinja_literal(value) if isinstance(value, str) and key[0] != "_" else value
    context["_template"] = template
    context["_commit"] = commit
    return {
        "template": template,
        "commit": commit,
        "checkout": checkout,
        "context": {"cookiecutter": context},
        "directory": None,
    }


def cruft_json(answers: Mapping[str, Any]) -> str:
    """.cruft.json's text, byte for byte as cruft writes it (answers in cookiecutter.json order)."""
    state = cruft_state(answers)
    return json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))


class CruftState(Extension):
    """Adds the ``cruft_json`` filter, used by the template's ``.cruft.json``."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["cruft_json"] = cruft_json
