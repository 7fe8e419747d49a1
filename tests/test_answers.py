"""Hostile free text round-trips into every format; no answer can run code in a hook."""

from __future__ import annotations

import ast
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

HOSTILE = [
    "O'Brien",
    'She said "hi"',
    "back\\slash \\n not a newline",
    "two\nlines",
    "{{ cookiecutter.project_slug }} and {% if x %}",
    "emoji 😀🚀 and CJK 数据科学",
    "tab\there",
    "'''\"\"\" triple quotes",
]
INJECTIONS = [
    "x'; open('MARKER','w'); '",
    'x"; open("MARKER","w"); "',
    'x"""\nopen("MARKER","w")\n"""',
    "x\\\"; __import__('os').system('touch MARKER'); #",
]


def python_constants(path: Path) -> dict[str, Any]:
    """Module-level string constants, read without importing the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.targets[0], ast.Name)
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_free_text_round_trips(bake_ccmlops: Callable[..., Path], text: str) -> None:
    name = text.replace("\n", " ")  # a name is one line: the package metadata holds it
    project = bake_ccmlops(
        project_name=f"Demo {text}", project_slug="demo", description=text, author_name=name
    )
    package = project / "src" / "demo"
    constants = python_constants(package / "__init__.py")
    assert constants["PROJECT_NAME"] == f"Demo {text}"
    assert constants["PROJECT_DESCRIPTION"] == text
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["authors"][0]["name"] == name
    assert pyproject["project"]["description"] == text.replace("\n", " ")
    for path in project.rglob("*"):
        if path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".py":
            compile(path.read_text(encoding="utf-8"), str(path), "exec")


@pytest.mark.parametrize("payload", INJECTIONS)
def test_answers_cannot_run_code_in_hooks(
    bake_ccmlops: Callable[..., Path], payload: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    project = bake_ccmlops(
        project_name=payload,
        project_slug="inj",
        description=payload,
        author_name=payload.replace("\n", " "),  # one line, or refused
    )
    assert not list(tmp_path.rglob("MARKER"))
    assert python_constants(project / "src" / "inj" / "__init__.py")["PROJECT_NAME"] == payload


def test_booleans_reach_hooks_as_python_booleans(bake_ccmlops: Callable[..., Path]) -> None:
    """false in JSON must not become a NameError or a truthy string in the hook."""
    project = bake_ccmlops(serving=False, docker=False, ci=False, license="none")
    assert not (project / "src" / "my_ml_project" / "serving").exists()
    assert not (project / ".github").exists()
    assert not (project / "LICENSE").exists()


def test_non_ascii_names_slugify_to_ascii(bake_ccmlops: Callable[..., Path]) -> None:
    project = bake_ccmlops(project_name="Café Ünïcode 数据")
    assert project.name == "cafe_unicode_shu_ju"
    assert project.name.isascii()
