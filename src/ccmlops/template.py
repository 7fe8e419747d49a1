"""Where the template lives and what its options are, read from cookiecutter.json only."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent


TEMPLATE_ENV = "CCMLOPS_TEMPLATE"


@cache
def template_dir() -> Path:
    """$CCMLOPS_TEMPLATE (a fork), the source checkout, or the copy inside the wheel."""
    override = os.environ.get(TEMPLATE_ENV)
    candidates = (
        [Path(override)] if override else [PACKAGE_DIR.parents[1], PACKAGE_DIR / "_template"]
    )
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file() and (candidate / "hooks").is_dir():
            return candidate
    raise FileNotFoundError("the cookiecutter-mlops template was not found next to ccmlops")


def raw_context() -> dict[str, Any]:
    """cookiecutter.json as written, in order."""
    return json.loads((template_dir() / "cookiecutter.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Option:
    """One public question of the template."""

    name: str
    default: Any
    choices: tuple[Any, ...] | None
    help: str

    @property
    def kind(self) -> str:
        """bool, choice or text: decides how an answer is parsed."""
        if isinstance(self.default, bool):
            return "bool"
        return "choice" if self.choices else "text"


def options() -> list[Option]:
    """Public options (no leading underscore) with their prompt text as help."""
    context = raw_context()
    prompts = context.get("__prompts__", {})
    result = []
    for name, value in context.items():
        if name.startswith("_"):
            continue
        prompt = prompts.get(name, name)
        help_text = prompt.get("__prompt__", name) if isinstance(prompt, dict) else prompt
        if isinstance(value, list):
            result.append(Option(name, value[0], tuple(value), help_text))
        else:
            result.append(Option(name, value, None, help_text))
    return result


@cache
def rules() -> ModuleType:
    """The pre-generation hook as a module: the one place where answer rules live."""
    return hook_module("pre_gen_project")


@cache
def cruft_source() -> ModuleType:
    """hooks/cruft_state.py: how .cruft.json names the template (and its snapshot commit)."""
    return hook_module("cruft_state")


def hook_module(name: str) -> ModuleType:
    """A file of the template's hooks/ folder as a module (the template may be a fork)."""
    path = template_dir() / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ccmlops_template_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
