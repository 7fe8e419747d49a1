"""`setup` makes the Git repository generation could not; `demo` reports paths. Yours to edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.__package_name }} import workflow


@pytest.mark.slow  # setup: the checker's fast suite leaves workflow.setup to CI
def test_setup_makes_a_git_repository_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where generation found no git; DVC's files ship with the template."""
    monkeypatch.setattr(workflow, "PROJECT_ROOT", tmp_path)
    workflow.setup()
    assert (tmp_path / ".git" / "HEAD").read_text(encoding="utf-8") == "ref: refs/heads/main\n"
    workflow.setup()
    assert "DVC is already initialised" in capsys.readouterr().out


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
