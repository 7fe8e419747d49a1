"""Tier 1: every valid option combination renders a clean, parseable, lint-free project."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    CONTEXT,
    EXTRA_COMBINATIONS,
    ROOT,
    combo_id,
    lint_workflows,
    matrix_options,
    valid_combinations,
)

from hooks import parts

TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
COMBOS = valid_combinations()
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".json", ".txt", ".cfg", ".ini", ""}


def expected_tree(answers: dict[str, Any], package: str) -> set[str]:
    """Template files with names rendered, minus what the hook's table removes for these answers."""
    files = {
        str(p.relative_to(TEMPLATE)).replace("{{cookiecutter.__package_name}}", package)
        for p in TEMPLATE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    for rel in parts.removed_paths({**answers, "__package_name": package}):
        files = {f for f in files if f != rel and not f.startswith(rel + "/")}
    return files


def test_every_option_is_varied() -> None:
    """Each public question is varied by the matrix or by a named test elsewhere."""
    varied_by_matrix = {k for k, v in matrix_options().items() if len({c[k] for c in COMBOS}) > 1}
    varied_elsewhere = {
        "project_name",
        "project_slug",
        "description",
        "author_name",
        "author_email",
    }
    public = {k for k in CONTEXT if not k.startswith("_")}
    assert public == varied_by_matrix | varied_elsewhere
    # full product (three tasks, the image task with serving since issue 18's phase 2), plus
    # each milestone and the exercise switch on two answer sets, plus one
    assert len(COMBOS) == 3 * 144 + 2 * 6 + 2 + len(EXTRA_COMBINATIONS)


def test_incompatible_combinations_are_refused_by_the_hook(cookies: Any) -> None:
    """The matrix drops exactly what the pre-generation hook refuses."""
    result = cookies.bake(extra_context={"serving": False, "docker": True})
    assert result.exit_code != 0
    assert result.project_path is None or not Path(result.project_path).exists()


@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_combination_renders_cleanly(
    cookies: Any, combo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCMLOPS_SKIP_VCS", "1")
    result = cookies.bake(extra_context=combo)
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    package = result.context["__package_name"]
    tree = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert tree == expected_tree(combo, package)
    for rel in tree:
        path = project / rel
        if path.suffix not in TEXT_SUFFIXES and path.suffix not in {".j2", ".ipynb", ".sh"}:
            continue
        text = path.read_text(encoding="utf-8")
        if not rel.endswith(".j2") and not rel.startswith(".github/"):
            assert "{{" not in text and "{%" not in text, f"unrendered Jinja in {rel}"
        if path.suffix == ".py":
            compile(text, rel, "exec")
        elif path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(text))
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".json", ".ipynb"}:
            json.loads(text)
        assert "\r" not in text, f"CRLF in {rel}"
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    workflows = sorted(project.glob(".github/workflows/*.yml"))
    assert bool(workflows) == parts.included(combo, "ci")
    if workflows:  # every rendered workflow set, by actionlint
        assert lint_workflows(workflows) == []
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={combo['python_version']}"
    deps = " ".join(pyproject["dependency-groups"]["pipeline"])
    has_pipeline = parts.included(combo, "pipeline")
    assert ("dvc[s3]" in deps) == (has_pipeline and combo["dvc_remote"] == "s3")
    assert ("dvc" in deps) == has_pipeline
    assert imported_distributions(project) <= declared_distributions(pyproject)
    assert (project / "LICENSE").exists() == (combo["license"] != "none")
    assert readme_tree_paths(project) <= tree_and_dirs(project)


# Import name -> distribution where it is not the import name with "-" for "_".
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "starlette": "fastapi",
    "vl_convert": "vl-convert-python",
    "PIL": "pillow",
    "asgi_correlation_id": "asgi-correlation-id",
    "pythonjsonlogger": "python-json-logger",
}


def imported_distributions(project: Path) -> set[str]:
    """Third-party distributions the package's modules import (stdlib and itself excluded)."""
    found: set[str] = set()
    package = next((project / "src").iterdir())
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != package.name:
                    found.add(DISTRIBUTIONS.get(top, top.replace("_", "-")))
    return found


def declared_distributions(pyproject: dict[str, Any]) -> set[str]:
    """Names of the runtime, extra and group dependencies, without versions and extras."""
    groups = pyproject["dependency-groups"]
    extras = pyproject["project"].get("optional-dependencies", {}).values()  # torch: image task
    declared = [*pyproject["project"]["dependencies"], *groups["pipeline"], *groups["dev"]]
    declared += [spec for specs in extras for spec in specs]
    return {re.split(r"[\[=<>]", spec)[0].lower() for spec in declared}


def tree_and_dirs(project: Path) -> set[str]:
    """Every file and folder of the project, relative, folders with a trailing slash."""
    return {str(p.relative_to(project)) + ("/" if p.is_dir() else "") for p in project.rglob("*")}


def readme_tree_paths(project: Path) -> set[str]:
    """Paths named in the README's layout block, so the tree cannot show a switched-off part."""
    block = (project / "README.md").read_text(encoding="utf-8").split("```text\n.\n")[1]
    block = block.split("```")[0]
    paths: set[str] = set()
    parents: list[str] = []
    for line in block.splitlines():
        prefix_art, entry = line.split("── ", 1)
        depth = len(prefix_art) // 4  # "├" at the top, "│   ├" one level down
        entry = entry.split("#")[0]
        names = entry.split()
        parents = parents[:depth]
        prefix = "".join(parents)
        paths.update(prefix + name for name in names)
        if len(names) == 1 and names[0].endswith("/"):
            parents.append(names[0])
    return paths


# The longest name the hook allows, derived from a longer project name. The template is
# formatted for the default name; a longer package name lengthens every line that imports
# it. ruff check and ruff format read the Python files and notebooks, which differ by task and
# by the exercise stubs, so those are the renders checked (the other answers change no line
# that names the package).
LONG_NAME = "Credit Risk Scoring Model For EU Retail Banks"


@pytest.mark.parametrize(
    "answers",
    [
        {"ml_task": "classification"},
        {"ml_task": "regression"},
        {"ml_task": "image_classification"},
        {"ml_task": "image_classification", "exercises": True, "milestone": "M6"},
    ],
    ids=["classification", "regression", "image", "image-exercises"],
)
def test_the_longest_derived_name_passes_the_projects_own_ruff(
    cookies: Any, answers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCMLOPS_SKIP_VCS", "1")
    result = cookies.bake(extra_context={"project_name": LONG_NAME, **answers})
    assert result.exit_code == 0, result.exception
    assert result.context["project_slug"] == "credit_risk_scoring_model_for_eu"  # 32, at a word
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=result.project_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_pytest_cookies_bakes_from_another_working_directory(tmp_path: Path) -> None:
    """A user's own test with only the ``cookies`` fixture, run away from the checkout: the
    template's Jinja extensions (hooks/) must load without this suite's conftest."""
    (tmp_path / "test_mine.py").write_text(
        "def test_bake(cookies):\n"
        "    result = cookies.bake(extra_context={'project_name': 'Mine'})\n"
        "    assert result.exit_code == 0, repr(result.exception)\n"
        "    assert (result.project_path / 'pyproject.toml').is_file()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), "--template", str(ROOT), str(tmp_path / "test_mine.py")],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "CCMLOPS_SKIP_VCS": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
