"""An ML Test Score-style summary: which data, model, infrastructure and monitoring tests exist.

Why static: the tests are read with ``ast`` (no import, no environment), so the summary is
instant and works before the project's environment exists.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

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


def tests_run_in_ci(project: Project) -> bool:
    """Whether a workflow step runs the tests (pytest, or the project's ``check`` task)."""
    cli = project.root.name.replace("_", "-")
    for path in workflow_files(project):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "pytest" in text or re.search(rf'(\$CLI"?|{re.escape(cli)}) check\b', text):
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
