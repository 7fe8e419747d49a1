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
    (tmp_path / ".dvc").mkdir()  # a remote changed since generation is the one named
    (tmp_path / ".dvc" / "config").write_text("[core]\nremote = s\n['remote \"s\"']\nurl = s3://b")
    workflow.setup()
    assert "initialised, with the remote storage -> s3://b" in capsys.readouterr().out


def test_results_name_every_stage_and_its_outputs() -> None:
    """The table `demo` prints comes from dvc.yaml: a stage you add shows up with its outputs."""
    results = workflow._results()
    assert "data/processed/train.csv" in results["prepare"]
    assert results["register"] == "models/model.skops, models/model.json"
