"""An ML Test Score-style summary: which data, model, infrastructure and monitoring tests exist.

Why static: the tests are read with ``ast`` (no import, no environment), so the summary is
instant and works before the project's environment exists.
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path
from typing import Any

import yaml

from .items import workflow_files
from .project import Project

ML_TEST_CATEGORIES = ("data", "model", "infrastructure", "monitoring")
# First match wins, monitoring first; the test's name is tried before its file's name.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "monitoring": ("monitor", "prometheus", "grafana", "drift", "alert", "dashboard", "log",
                   "histogram", "metrics_count"),
    "data": ("data", "valid", "expectation", "schema", "spec", "csv", "split", "feature",
             "range", "bound"),
    "model": ("model", "train", "estimator", "evaluat", "baseline", "predict", "gate", "metric",
              "card", "serializ", "emission"),
}  # fmt: skip


def collect_tests(root: Path) -> list[tuple[str, str]]:
    """(file, test name) for every ``test_*`` function or method under tests/, read statically."""
    found = []
    for path in sorted((root / "tests").rglob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test"
            ):
                found.append((str(path.relative_to(root)), node.name))
    return found


def classify(file: str, name: str) -> str:
    """The ML Test Score category of one test, from keywords in its name, then its file's."""
    for text in (name.lower(), Path(file).stem.lower()):
        for category, words in CATEGORY_WORDS.items():
            if any(word in text for word in words):
                return category
    return "infrastructure"


# Words that only launch the command after them (`uv run --locked pytest`, `python -m pytest`).
LAUNCHERS = {"uv", "run", "python", "python3", "uvx", "exec", "env"}
SEPARATORS = {"&&", "||", ";", "|"}


def commands(script: str) -> list[list[str]]:
    """The commands of a step's ``run:`` script, as words, launchers and comments removed."""
    found = []
    for line in script.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        command: list[str] = []
        for word in [*words, ";"]:
            if word not in SEPARATORS:
                command.append(word)
                continue
            while command and (
                command[0] in LAUNCHERS or command[0].startswith("-") or "=" in command[0]
            ):
                command.pop(0)
            if command:
                found.append(command)
            command = []
    return found


def tests_run_in_ci(project: Project) -> bool:
    """Whether a workflow step runs the tests: a ``run:`` command that is pytest, or the
    project's ``check`` task. A word in a name, a comment or an echo is not evidence."""
    cli = project.root.name.replace("_", "-")
    for path in workflow_files(project):
        try:
            workflow = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
        except yaml.YAMLError:
            continue
        jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
        for job in (jobs or {}).values():
            for step in (job or {}).get("steps") or []:
                for words in commands(str(step.get("run", "")) if isinstance(step, dict) else ""):
                    if words[0] == "pytest" or (
                        words[0] in {cli, "$CLI", "${CLI}"} and words[1:2] == ["check"]
                    ):
                        return True
    return False


def ml_test_score(project: Project) -> dict[str, Any]:
    """Tests per category; half a point per category with tests, a full point when CI runs them."""
    counts = dict.fromkeys(ML_TEST_CATEGORIES, 0)
    for file, name in collect_tests(project.root):
        counts[classify(file, name)] += 1
    in_ci = tests_run_in_ci(project)
    categories = {
        category: {
            "tests": count,
            "points": (1.0 if in_ci else 0.5) if count else 0.0,
        }
        for category, count in counts.items()
    }
    return {
        "categories": categories,
        "tests_run_in_ci": in_ci,
        "score": sum(float(c["points"]) for c in categories.values()),
        "max": float(len(ML_TEST_CATEGORIES)),
    }
