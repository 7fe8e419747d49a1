"""The template repository's own code meets the bar it sets for generated projects."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, require, run

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


def test_a_missing_tool_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    require(True, "present")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="podman"):
        require(False, "podman missing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="podman missing"):
        require(False, "podman missing")
