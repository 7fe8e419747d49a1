"""The template repository's own code meets the bar it sets for generated projects."""

from __future__ import annotations

import re
import sys
from pathlib import Path

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


GROUPED_TESTS = """
import pytest
pytestmark = pytest.mark.xdist_group("one")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n): pass
"""
# The template's conftest loaded under another name (a temporary conftest.py can't import
# "conftest"): only its collection hook is used.
HOOK_CONFTEST = """
import importlib.util
spec = importlib.util.spec_from_file_location("template_conftest", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
pytest_collection_modifyitems = module.pytest_collection_modifyitems
"""


def test_an_xdist_group_runs_on_one_worker(tmp_path: Path) -> None:
    """Expensive grouped set-ups (the container images, the team servers) are made once."""
    (tmp_path / "conftest.py").write_text(
        HOOK_CONFTEST.format(path=str(ROOT / "tests" / "conftest.py"))
    )
    (tmp_path / "test_grouped.py").write_text(GROUPED_TESTS)
    args = ["-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v"]
    result = run([sys.executable, *args], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    workers = set(re.findall(r"^\[(gw\d+)\] .*PASSED", result.stdout, flags=re.MULTILINE))
    assert len(workers) == 1, result.stdout


def test_modules_with_the_longest_tests_are_handed_out_first(tmp_path: Path) -> None:
    """The 5-minute chain, collected late, ran alone at the end of a 2-worker run; now modules
    with an end-to-end test go first, then tier-2 ones, each module kept together."""
    (tmp_path / "conftest.py").write_text(
        HOOK_CONFTEST.format(path=str(ROOT / "tests" / "conftest.py"))
    )
    (tmp_path / "test_a.py").write_text("def test_quick(): pass\n")
    marked = "import pytest\npytestmark = pytest.mark.{}\ndef test_{}(): pass\n"
    (tmp_path / "test_b.py").write_text(marked.format("tier2", "installed"))
    (tmp_path / "test_c.py").write_text(
        marked.format("tier2", "set_up") + "@pytest.mark.e2e\ndef test_end_to_end(): pass\n"
    )
    result = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                  "no:cacheprovider", "--dist", "loadgroup"], cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    collected = [line.split("::")[1] for line in result.stdout.splitlines() if "::" in line]
    assert collected == ["test_set_up", "test_end_to_end", "test_installed", "test_quick"]
