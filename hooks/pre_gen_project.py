"""Pre-generation hook: refuse bad answers before anything is written.

ccmlops and the tests import this module, so every rule lives here once. The only Jinja is
the constant below, and answers arrive as JSON data, never as code.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

ANSWERS_JSON = r"""
{{ cookiecutter | tojson }}
"""

MAX_NAME_LENGTH = 64
NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")
# Import names of what a generated project depends on: a package with one of these names
# would shadow the real library.
DEPENDENCY_NAMES = frozenset(
    {
        "boto3",
        "botocore",
        "ccmlops",
        "codecarbon",
        "cookiecutter",
        "cruft",
        "dvc",
        "fastapi",
        "great_expectations",
        "httpx",
        "hypothesis",
        "jinja2",
        "mlflow",
        "mypy",
        "numpy",
        "pandas",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pylint",
        "pytest",
        "rich",
        "ruff",
        "scikit_learn",
        "scipy",
        "sklearn",
        "skops",
        "starlette",
        "threadpoolctl",
        "bandit",
        "pre_commit",
        "typer",
        "uvicorn",
        "yaml",
    }
)
RESERVED_NAMES = frozenset({"test", "tests", "src"})
FREE_TEXT_KEYS = ("project_name", "description", "author_name", "author_email")
# Control characters other than newline and tab are invalid in TOML strings.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def suggest_name(value: str) -> str:
    """A valid name close to ``value``, for the error message."""
    name = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
    if not name or name[0].isdigit():
        name = f"project_{name}".rstrip("_")
    name = name[:MAX_NAME_LENGTH]
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in DEPENDENCY_NAMES:
        name = f"my_{name}"
    if name in sys.stdlib_module_names or name in RESERVED_NAMES:
        name = f"my_{name}"
    return name


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a folder and package name, or None when it can."""
    if not value or not value.strip():
        return "must not be empty"
    if value in {".", ".."} or any(c in value for c in "/\\:"):
        return "must not contain path characters"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters (has {len(value)})"
    if not NAME_PATTERN.fullmatch(value):
        return "must use lowercase letters, digits and _ only, and not start with a digit"
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return "is a Python keyword"
    if value in sys.stdlib_module_names:
        return "is a standard-library module"
    if value in DEPENDENCY_NAMES:
        return "is the name of a dependency"
    if value in RESERVED_NAMES:
        return "is reserved for project folders"
    return None


def _docker_without_serving(answers: Mapping[str, Any]) -> bool:
    return bool(answers.get("docker")) and not answers.get("serving")


# Incompatible combinations: name -> (predicate that is true when violated, explanation).
# The test matrix drops exactly these combinations.
INCOMPATIBLE_RULES: dict[str, tuple[Callable[[Mapping[str, Any]], bool], str]] = {
    "docker-needs-serving": (
        _docker_without_serving,
        "docker=true needs serving=true: the container runs the serving app",
    ),
}


def broken_rules(answers: Mapping[str, Any]) -> list[str]:
    """Names of the incompatibility rules that ``answers`` break."""
    return [name for name, (broken, _) in INCOMPATIBLE_RULES.items() if broken(answers)]


def validate(answers: Mapping[str, Any]) -> list[str]:
    """One readable line per problem with ``answers``; empty when all is well."""
    problems: list[str] = []
    for key in ("project_slug", "__package_name"):
        if key not in answers:
            continue
        value = str(answers[key])
        problem = name_problem(value)
        if problem:
            label = "project_slug" if key == "project_slug" else "package name"
            problems.append(
                f"{label} {value!r} {problem}; try {suggest_name(value)!r} "
                f"(ccmlops new project_slug={suggest_name(value)})"
            )
            break  # the package name derives from the slug: one message is enough
    if not str(answers.get("project_name", "x")).strip():
        problems.append("project_name must not be empty")
    for key in FREE_TEXT_KEYS:
        if CONTROL_CHARS.search(str(answers.get(key, ""))):
            problems.append(f"{key} contains a control character; remove it")
    email = str(answers.get("author_email", "x@y"))
    if email and ("@" not in email or any(c.isspace() for c in email)):
        problems.append(f"author_email {email!r} is not an email address (name@example.org)")
    for name in broken_rules(answers):
        problems.append(f"incompatible options ({name}): {INCOMPATIBLE_RULES[name][1]}")
    return problems


def main() -> int:
    """Validate the rendered answers; one line per problem and exit 1 on failure."""
    answers = json.loads(ANSWERS_JSON.strip())
    problems = validate(answers)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
