"""`setup` initialises DVC and its default remote once; `demo` reports paths. Yours to edit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }} import workflow


def test_setup_initialises_dvc_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    monkeypatch.setattr(workflow, "PROJECT_ROOT", tmp_path)
    workflow.setup()
    config = (tmp_path / ".dvc" / "config").read_text(encoding="utf-8")
    assert "remote = storage" in config and workflow.DEFAULT_REMOTE in config
    assert "analytics = false" in config
    workflow.setup()
    assert "DVC is already initialised." in capsys.readouterr().out


def test_results_list_the_validation_report_only_once_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = workflow._results()  # the table `demo` prints
    assert "DVC remote" in before and "validation report" not in before
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "validation.json").write_text("{}", encoding="utf-8")
    assert "validation report" in workflow._results()
