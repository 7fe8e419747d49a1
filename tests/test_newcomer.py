"""The README's first command, exactly as a newcomer types it, on a fresh copy (run once)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import offline_dom
from conftest import ROOT, run, stop_process_group, tool_or_skip
from test_serving_project import call, free_port
from test_tools import PRE_COMMIT_HOME

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
    commit_results_through_the_hooks(project)
    check_pages_work_offline(project)


def commit_results_through_the_hooks(project: Path) -> None:
    """What the docs say next: commit the pipeline's results, with the project's pre-commit
    hooks installed (the secret scanner once refused Great Expectations' fingerprints)."""
    pre_commit = tool_or_skip("pre-commit", Path(sys.executable).parent)
    env = {"PRE_COMMIT_HOME": str(PRE_COMMIT_HOME), "DVC_NO_ANALYTICS": "1"}
    assert run([pre_commit, "install"], cwd=project, env=env).returncode == 0
    assert run(["git", "add", "-A"], cwd=project).returncode == 0
    committed = run(["git", "commit", "-q", "-m", "Pipeline results"], cwd=project, env=env)
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""


def ready(url: str) -> bool:
    try:
        return call(url)[0] == 200
    except OSError:
        return False


def check_pages_work_offline(project: Path) -> None:
    """The plots page and /docs show their content in a browser with no network."""
    uv = ["uv", "run", "--frozen", "--offline", "my-ml-project"]
    plots = run([*uv, "plots"], cwd=project, env=newcomer_env())
    assert plots.returncode == 0, plots.stdout + plots.stderr
    dom = offline_dom((project / "dvc_plots" / "index.html").as_uri())
    # vega-embed ran and drew the chart (its marks), with no CDN to load Vega from
    assert 'class="vega-embed' in dom and 'class="marks"' in dom, "plots page blank offline"
    port = free_port()
    server = subprocess.Popen(
        [*uv, "serve", "--port", str(port)],
        cwd=project,
        env=newcomer_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready(f"http://127.0.0.1:{port}/health/ready"):
            assert server.poll() is None and time.monotonic() < deadline, "API not ready"
            time.sleep(0.5)
        dom = offline_dom(f"http://127.0.0.1:{port}/docs")
    finally:
        stop_process_group(server)
    # Swagger UI lists each operation once its scripts have run
    assert 'data-path="/predict"' in dom and 'data-path="/feedback"' in dom, dom[-3000:]
