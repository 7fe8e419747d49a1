"""Render the template into a staging folder and move it into place only on success.

Why a staging folder: plain cookiecutter writes into the target as it goes, so a Jinja
error, a failing hook or Ctrl-C leaves half a project (or deletes a folder the user had).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookiecutter.config import get_user_config
from cookiecutter.generate import generate_context, generate_files
from cookiecutter.main import _patch_import_path_for_repo
from cookiecutter.prompt import prompt_for_config
from cookiecutter.replay import dump, load

from .template import rules, template_dir

REPLAY_NAME = "cookiecutter-mlops"


class GenerationError(RuntimeError):
    """Generation failed; the message says why and that nothing was left behind."""


@dataclass(frozen=True)
class Generated:
    """What a successful run produced."""

    path: Path
    backup: Path | None
    seconds: float


def build_context(
    answers: dict[str, Any], *, no_input: bool, replay: bool = False
) -> dict[str, Any]:
    """Cookiecutter's context after prompting (or defaults), with derived values rendered."""
    repo = template_dir()
    config = get_user_config()
    with _patch_import_path_for_repo(str(repo)):
        if replay:
            try:
                context = load(config["replay_dir"], REPLAY_NAME)
            except (FileNotFoundError, ValueError) as error:
                raise GenerationError(
                    "no earlier answers to replay: run `ccmlops new` first"
                ) from error
        else:
            context = generate_context(
                context_file=str(repo / "cookiecutter.json"),
                default_context=config["default_context"],
                extra_context=answers,
            )
            context["_cookiecutter"] = {
                k: v for k, v in context["cookiecutter"].items() if not k.startswith("_")
            }
            context["cookiecutter"].update(prompt_for_config(context, no_input))
    context["cookiecutter"]["_template"] = str(repo)
    context["cookiecutter"]["_repo_dir"] = str(repo)
    context["cookiecutter"]["_checkout"] = None
    return context


def check(context: dict[str, Any]) -> list[str]:
    """The pre-generation hook's rules applied before anything is written."""
    return list(rules().validate(context["cookiecutter"]))


def save_replay(context: dict[str, Any]) -> None:
    """Remember the answers so `ccmlops new --replay` can retry after a fix."""
    dump(get_user_config()["replay_dir"], REPLAY_NAME, context)


def render(context: dict[str, Any], output_dir: Path, *, force: bool) -> Generated:
    """Render into a hidden sibling folder, then rename it into place."""
    started = time.perf_counter()
    slug = context["cookiecutter"]["project_slug"]
    output_dir = output_dir.resolve()
    target = output_dir / slug
    if target.exists() and not force:
        raise GenerationError(
            f"{target} already exists; nothing was changed. Pick another -o/project_slug, "
            "or pass --force to replace it (the old folder is kept as a backup)."
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise GenerationError(f"-o {output_dir} is a file, not a folder; nothing was written")
    created = topmost_missing(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{slug}.ccmlops-", dir=output_dir))
    except OSError as error:
        remove(created)
        raise GenerationError(
            f"cannot write into {output_dir} ({error.strerror}); nothing was written"
        ) from None
    context["cookiecutter"]["_output_dir"] = str(output_dir)
    try:
        with _patch_import_path_for_repo(str(template_dir())):
            built = Path(generate_files(str(template_dir()), context, output_dir=str(staging)))
        backup = None
        if target.exists():
            backup = output_dir / f"{slug}.backup-{time.strftime('%Y%m%d-%H%M%S')}"
            target.rename(backup)
        built.rename(target)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        remove(created)
        if isinstance(error, KeyboardInterrupt):
            raise
        raise GenerationError(
            f"generation failed: {describe(error)}; nothing was written"
        ) from error
    shutil.rmtree(staging, ignore_errors=True)
    return Generated(target, backup, time.perf_counter() - started)


def topmost_missing(folder: Path) -> Path | None:
    """The first folder on the way to ``folder`` that does not exist yet (None: it exists):
    a failure removes it, so no empty parents are left behind."""
    missing = None
    while not folder.exists():
        missing, folder = folder, folder.parent
    return missing


def remove(folder: Path | None) -> None:
    """Delete a folder this run created, if any."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def describe(error: BaseException) -> str:
    """One line for any failure cookiecutter can raise."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
