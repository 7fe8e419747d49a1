"""The template repository's own code meets the bar it sets for generated projects."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, run

PATHS = ["src", "hooks", "tests", "benchmarks"]


@pytest.mark.parametrize(
    "args",
    [
        ["ruff", "check", *PATHS],
        ["ruff", "format", "--check", *PATHS],
        ["mypy", "src/ccmlops", "hooks"],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_repository_code_is_clean(args: list[str]) -> None:
    result = run([sys.executable, "-m", *args], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
