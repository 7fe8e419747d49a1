"""`setup` initialises DVC and its default remote once; `demo` reports paths. Yours to edit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }} import workflow


@pytest.mark.slow  # `dvc init` and `dvc remote add` as processes
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


def test_results_list_only_what_the_pipeline_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table `demo` prints: a CSV task shows its CSV, the image task its image folder."""
    monkeypatch.chdir(tmp_path)
    assert list(workflow._results()) == ["DVC remote"]  # nothing written yet
    for written in ("reports/validation.md", "reports/images.csv", "data/raw/images/7/a.png"):
        (tmp_path / written).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / written).write_text("", encoding="utf-8")
    after = workflow._results()
    assert after["dataset and its split"] == "data/raw/images/"
    assert after["validation report"] == "reports/validation.md, reports/images.csv"
