"""The README's first command, exactly as a newcomer types it, on a fresh copy (run once)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run

pytestmark = pytest.mark.e2e


def fresh_copy(destination: Path) -> Path:
    """The files a clean clone would have (tracked and new, ignored ones left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.decode().split("\0")):
        source = ROOT / rel
        if source.is_file():
            target = destination / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def readme_generate_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    return next(
        line
        for block in blocks
        for line in block.splitlines()
        if "ccmlops new" in line and "pip install" in line
    )


def newcomer_env() -> dict[str, str]:
    """The user's shell: none of the test runner's virtual environment."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env["UV_NO_PROGRESS"] = "1"
    return env


def test_readme_generate_and_run_command_works_on_a_fresh_copy(tmp_path: Path) -> None:
    repo = fresh_copy(tmp_path / "cookiecutter-mlops")
    command = ["bash", "-c", readme_generate_command()]
    result = subprocess.run(
        command, cwd=repo, env=newcomer_env(), capture_output=True, text=True, timeout=1200
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    project = repo / "demo" / "my_ml_project"
    assert (project / "uv.lock").is_file()
    assert (project / "models" / "model.skops").is_file()
    assert (project / "reports" / "metrics.json").is_file()
    assert "prediction:" in result.stdout
    assert "Where everything went" in result.stdout
    assert run(["git", "log", "--oneline"], cwd=project).stdout.strip()
