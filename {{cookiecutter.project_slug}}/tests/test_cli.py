"""The task runner: cards work before any pipeline; each part adds its tasks. Yours to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.__package_name }} import cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(cli.__file__).parent
# The module or package of each part -> the tasks it adds (absent parts add none).
PART_TASKS = {
    "workflow.py": {"setup", "demo", "plots"},
    "explain.py": {"predict"},
    "quality.py": {"check"},
    "serving": {"serve"},
    "monitoring": {"monitor"},
}


def test_cards_task_writes_both_cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(PROJECT_ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.setattr(cli, "PROJECT_ROOT", tmp_path)
    result = CliRunner().invoke(cli.app, ["cards"])
    assert result.exit_code == 0, result.output
    for card in ("data_card.md", "model_card.md"):
        assert (tmp_path / "docs" / card).read_text(encoding="utf-8").startswith("---\n")


def test_each_part_present_adds_its_tasks() -> None:
    commands = cli.app.registered_commands
    tasks = {command.name or getattr(command.callback, "__name__", "") for command in commands}
    expected = {"cards"}
    for part, commands in PART_TASKS.items():
        if (PACKAGE_DIR / part).exists():
            expected |= commands
    assert tasks == expected
