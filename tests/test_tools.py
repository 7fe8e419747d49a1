"""The generated project's own tool configuration, run by the tools themselves.

``pre-commit run --all-files`` must pass on a fresh render, offline: every hook is local,
its environment built from pinned PyPI packages (cached in .cache/tools/pre-commit).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import ROOT, default_answers, require, run, tool_or_skip

PRE_COMMIT_HOME = ROOT / ".cache" / "tools" / "pre-commit"

# Renders whose files differ for the hooks (which files exist, what YAML/TOML/Markdown and
# Python they hold); ml_task, license and python_version only change contents checked by
# the same hooks on the same file types, so two values cover them:
#   the default: every part on (Kubernetes' multi-document YAML, Compose, team docs, CI);
#   the second base answer set: no serving, image or CI, s3 remote (dvc[s3] in the hooks);
#   M3 with exercise stubs: the first milestone that has pre-commit, functions left open.
# Not docker=false alone (28 s of CI): its files are the default's minus Docker's, with the
# same .pre-commit-config.yaml, Python and pyproject.toml; only ci.yml and five Markdown files
# read differently, and test_matrix.py parses every combination's YAML and runs its ruff.
PRE_COMMIT_RENDERS: dict[str, list[str]] = {
    "default": [],
    "regression-s3-minimal": ["ml_task=regression", "dvc_remote=s3", "license=none",
                              "python_version=3.13", "serving=false", "docker=false",
                              "ci=false"],
    "m3-exercises": ["milestone=M3", "exercises=true"],
}  # fmt: skip


def render(out: Path, words: list[str]) -> Path:
    """A project as `ccmlops new` makes it: Git repository, DVC, first commit."""
    ccmlops = str(Path(sys.executable).parent / "ccmlops")
    result = run([ccmlops, "new", "--no-input", "-o", str(out), *words], cwd=out.parent)
    assert result.returncode == 0, result.stderr
    return next(p for p in out.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("words", PRE_COMMIT_RENDERS.values(), ids=PRE_COMMIT_RENDERS.keys())
def test_pre_commit_passes_on_a_fresh_render(tmp_path: Path, words: list[str]) -> None:
    assert default_answers()["milestone"] == "all"
    pre_commit = tool_or_skip("pre-commit", Path(sys.executable).parent)
    project = render(tmp_path / "out", words)
    installed = run(
        [pre_commit, "install"], cwd=project, env={"PRE_COMMIT_HOME": str(PRE_COMMIT_HOME)}
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    hooks = {"pre-commit", "pre-push", "post-checkout"}  # what docs/delivery.md says it installs
    assert hooks <= {p.name for p in (project / ".git" / "hooks").iterdir()}
    result = run(
        [pre_commit, "run", "--all-files", "--show-diff-on-failure", "--color", "never"],
        cwd=project,
        env={"PRE_COMMIT_HOME": str(PRE_COMMIT_HOME), "DVC_NO_ANALYTICS": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (project / ".venv").exists()  # the hooks brought their own tools
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""


def test_a_missing_tool_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        tool_or_skip("nothing-here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="should have provided it"):
        tool_or_skip("nothing-here")
    require(True, "anything")  # an available tool neither skips nor fails
