"""The template works through every front door: cookiecutter, cruft, ccmlops (interactive too)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import ROOT, run
from test_newcomer import fresh_copy

BIN = Path(sys.executable).parent


def test_plain_cookiecutter_with_key_values(tmp_path: Path) -> None:
    result = run(
        [
            str(BIN / "cookiecutter"),
            "--no-input",
            str(ROOT),
            "ml_task=regression",
            "serving=no",
            "docker=no",
            "-o",
            str(tmp_path),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "my_ml_project"
    assert "diabetes" in (project / "README.md").read_text()
    assert not (project / "src" / "my_ml_project" / "serving").exists()
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    cruft = json.loads((project / ".cruft.json").read_text())  # committed, updatable
    origin = run(["git", "remote", "get-url", "origin"], cwd=ROOT).stdout.strip()
    assert cruft["template"] == (origin or str(ROOT))  # a clone's origin works elsewhere too
    assert cruft["commit"] == run(["git", "rev-parse", "HEAD"], cwd=ROOT).stdout.strip()
    assert cruft["context"]["cookiecutter"]["serving"] is False
    assert "_output_dir" not in cruft["context"]["cookiecutter"]  # nothing machine-specific


def test_plain_cookiecutter_refuses_a_bad_slug_and_leaves_nothing(tmp_path: Path) -> None:
    result = run(
        [
            str(BIN / "cookiecutter"),
            "--no-input",
            str(ROOT),
            "project_slug=import",
            "-o",
            str(tmp_path),
        ],
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "is a Python keyword" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cruft_create_records_the_template(tmp_path: Path) -> None:
    template = fresh_copy(tmp_path / "template")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "t"],
    ):
        run(["git", *args], cwd=template).check_returncode()
    result = run(
        [
            str(BIN / "cruft"),
            "create",
            "--no-input",
            str(template),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "my_ml_project"
    cruft = json.loads((project / ".cruft.json").read_text())
    assert cruft["context"]["cookiecutter"]["project_slug"] == "my_ml_project"
    # the hook wrote what cruft writes, so .cruft.json is in the first commit, unchanged
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    assert run(["git", "ls-files", ".cruft.json"], cwd=project).stdout.strip() == ".cruft.json"


def test_ccmlops_interactive_takes_typed_answers(tmp_path: Path) -> None:
    # name, four defaults, license 2 (Apache), default Python, task 2 (regression), default
    # remote and milestone, then serving, docker and ci switched off, default exercises
    answers = "Typed Name\n\n\n\n\n2\n\n2\n\n\nno\nno\nno\n\n"
    result = run(
        [str(BIN / "ccmlops"), "new", "-o", str(tmp_path)],
        cwd=tmp_path,
        env={"CCMLOPS_SKIP_VCS": "1"},
        input_text=answers,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "typed_name"
    assert "Apache License" in (project / "LICENSE").read_text()
    assert "diabetes" in (project / "README.md").read_text()
    assert not (project / "Dockerfile").exists()


def test_plain_cookiecutter_overwrite_keeps_the_existing_repository(tmp_path: Path) -> None:
    """`cookiecutter -f` over an earlier project: no crash, no second repo, no commit."""
    args = [str(BIN / "cookiecutter"), "--no-input", str(ROOT), "-o", str(tmp_path)]
    assert run(args, cwd=tmp_path).returncode == 0
    project = tmp_path / "my_ml_project"
    head = run(["git", "rev-parse", "HEAD"], cwd=project).stdout
    again = run([*args, "-f", "description=Changed"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "nothing was committed" in again.stderr
    assert run(["git", "rev-parse", "HEAD"], cwd=project).stdout == head
    assert "README.md" in run(["git", "status", "--porcelain"], cwd=project).stdout
