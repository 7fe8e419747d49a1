"""Tier 2: named combinations installed and run for real (their own tests, lint, set-up)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import assert_own_lint_passes, env_for, run

pytestmark = pytest.mark.tier2

NAMED = {
    "default": [],
    "regression-s3-minimal": [
        "project_name=Lean Regressor",
        "ml_task=regression",
        "dvc_remote=s3",
        "serving=false",
        "docker=false",
        "ci=false",
        "license=none",
        "python_version=3.11",
    ],
    "image": ["project_name=Digit Reader", "ml_task=image_classification"],  # with serving
}


def in_project(
    python: Path, project: Path, *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return run([str(python), "-m", *args], cwd=project, env=env_for(python), timeout=timeout)


# The project's end-to-end test (`dvc repro`, push, pull and faults in a copy) runs in full on
# the default render. Elsewhere its pipeline is the task's: tests/test_pipeline_project.py
# runs the image and regression pipelines for real in the generated project (repro, push,
# no-op), and its push, pull and fault steps are the same code for every task and remote (the
# copy gets a local remote of its own). Left out there, it cost 2 x 40-70 s of CI time.
E2E = "tests/test_pipeline_e2e.py"


@pytest.mark.parametrize("name", NAMED)
def test_named_project_passes_its_own_tests_and_lint(
    generated_project: Callable[..., Path], project_python: Path, name: str
) -> None:
    project = generated_project(*NAMED[name])
    assert_own_lint_passes(project_python, project)
    scope = [] if name == "default" else [f"--ignore={E2E}"]
    tests = in_project(project_python, project, "pytest", "-q", "-p", "no:cacheprovider", *scope)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    status = run(["git", "status", "--porcelain"], cwd=project).stdout
    assert status == "", f"the project's tests left changes behind:\n{status}"
    if name == "default":  # the bare commands read the same files on every render
        for command in BARE_LINTERS:
            result = run(list(command), cwd=project, env=env_for(project_python), timeout=900)
            assert result.returncode == 0, f"{command}: {result.stdout[-5000:]}{result.stderr}"


# Typed as a user types them after `uv run` (which puts the environment's bin first on PATH):
# each must find the project's configuration by itself.
BARE_LINTERS = (("mypy",), ("bandit", "-r", "src"), ("pylint", "src"), ("pylint", "tests"))


def test_setup_makes_the_repository_when_generation_could_not(
    tmp_path: Path, project_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import install_project

    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context, render

    monkeypatch.setenv("CCMLOPS_SKIP_VCS", "1")  # as when git and DVC were missing
    project = render(build_context(parse_answers([]), no_input=True), tmp_path, force=False).path
    install_project(project_python, project)
    result = run(
        [str(project_python.parent / "my-ml-project"), "setup"],
        cwd=project,
        env=env_for(project_python),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / ".git").is_dir()
    config = (project / ".dvc" / "config").read_text()
    assert "remote = storage" in config
    assert "../my_ml_project-dvc-storage" in config
    again = run(
        [str(project_python.parent / "my-ml-project"), "setup"],
        cwd=project,
        env=env_for(project_python),
    )
    assert "already initialised" in again.stdout


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_other_python_versions_run_the_projects_tests(
    tmp_path: Path, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """python_version changes requires-python and tool targets: the project must run on it.

    3.13, the newest, runs the fast tests. 3.12 sits between it and 3.11 (the tier's own
    version): there the pinned wheels install, every module and test imports (collection) and
    ruff passes, which is what a version in between can break, without a third full run.
    """
    from conftest import install_project, shared_env

    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context, render

    python = shared_env(version)
    monkeypatch.setenv("CCMLOPS_SKIP_VCS", "1")
    project = render(
        build_context(parse_answers([f"python_version={version}"]), no_input=True),
        tmp_path,
        force=False,
    ).path
    install_project(python, project)
    assert run(
        [str(python), "-c", "import sys; print(sys.version)"], cwd=project
    ).stdout.startswith(version)
    lint = in_project(python, project, "ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout
    scope = ["--collect-only"] if version == "3.12" else ["-m", "not slow"]
    tests = in_project(python, project, "pytest", "-q", "-p", "no:cacheprovider", *scope)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert re.search(r"\d+ (tests collected|passed)", tests.stdout), tests.stdout[-2000:]
