"""End to end: `dvc repro` in a copy of this project, push, pull, faults. Yours to edit.

Slow (about 50 s on 2 cores): it runs every stage for real, offline, with the project's
own params.yaml. The copy gets its own Git repo, DVC remote and MLflow store. Bad input
is tested stage by stage in test_stages.py (cheaper than a DVC run per fault).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import DatasetCard, ModelCard

import {{ cookiecutter.__package_name }}

ROOT = Path(__file__).resolve().parents[1]
PKG = {{ cookiecutter.__package_name }}.__name__
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "mlflow.db", "mlruns", "data", "models", "artifacts", "reports",
    "dvc.lock", "cache", "tmp", "__pycache__", ".pytest_cache", ".ruff_cache", "dvc_plots",
    "*_card.md", "*.egg-info",
)  # fmt: skip
GIT_ID = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
# Data checks and CodeCarbon arrive with course milestone M3.
HAS_QUALITY = (ROOT / "src" / PKG / "validation.py").is_file()

pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env["DVC_NO_ANALYTICS"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PYTHONPATH": "src", "GIT_CONFIG_NOSYSTEM": "1", **extra}


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _ok(cwd: Path, *args: str, **env: str) -> str:
    result = _run(cwd, *args, **env)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _dvc(cwd: Path, *args: str, **env: str) -> str:
    return _ok(cwd, sys.executable, "-m", "dvc", *args, **env)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this project after one full `dvc repro` and `dvc push`."""
    base = tmp_path_factory.mktemp("e2e")
    copy = base / "project"
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    _ok(copy, "git", "init", "-q", "-b", "main")
    if not (copy / ".dvc" / "config").exists():
        _dvc(copy, "init", "-q")
    # A remote of its own, in the ignored local config (one file write, no extra DVC start-up).
    (copy / ".dvc" / "config.local").write_text(
        f"[core]\n    remote = e2e\n['remote \"e2e\"']\n    url = {base / 'remote'}\n",
        encoding="utf-8",
    )
    _ok(copy, "git", "add", "-A")
    _ok(copy, "git", *GIT_ID, "commit", "-q", "-m", "project")
    _dvc(copy, "repro")
    _dvc(copy, "push")
    _ok(copy, "git", "add", "-A")
    _ok(copy, "git", *GIT_ID, "commit", "-q", "-m", "pipeline run")
    return copy


def test_outputs_and_metrics(project: Path) -> None:
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["gate"]["passed"] is True
    if HAS_QUALITY:
        assert "PASSED" in (project / "reports/validation.md").read_text()
    bundle = json.loads((project / "models/model.json").read_text())
    assert bundle["version"] == "1"
    assert bundle["sha256"] == _sha(project / "models/model.skops")
    assert "## Caveats and recommendations" in (project / "docs/model_card.md").read_text()
    card = ModelCard.load(project / "docs/model_card.md")  # the Hub's parser, no network
    results = {r.metric_type: r.metric_value for r in card.data.eval_results or []}
    assert results == metrics["model"]
    assert DatasetCard.load(project / "docs/data_card.md").data.pretty_name


def test_importance_in_the_card_and_one_prediction_explained(project: Path) -> None:
    importance = json.loads((project / "reports/importance.json").read_text())
    spec = json.loads((project / "data/processed/spec.json").read_text())
    names = [feature["name"] for feature in spec["features"]]
    assert sorted(importance) == sorted(names)
    assert (project / "reports/importance.png").is_file()
    top = next(iter(importance))
    card = (project / "docs/model_card.md").read_text()
    assert f"| `{top}` | {importance[top]['mean']:.4f} ±" in card
    row = [str(feature["minimum"]) for feature in spec["features"]]
    out = _ok(project, sys.executable, "-m", f"{PKG}.cli", "predict", "--explain", "--", *row)
    assert out.startswith("prediction: ")
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == sorted(names)


def test_mlflow_run_and_registry(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow  # noqa: PLC0415

    uri = f"sqlite:///{project / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # an in-process stage test may have set another store
    monkeypatch.chdir(project)
    client = mlflow.MlflowClient()
    run_info = json.loads((project / "artifacts/train/run.json").read_text())
    run = client.get_run(run_info["run_id"])
    assert run.info.status == "FINISHED"
    measured = {"emissions_kg", "energy_kwh"} if HAS_QUALITY else set()
    assert {"train_score", *measured} <= set(run.data.metrics)
    assert any(name.startswith("test_") for name in run.data.metrics)
    assert run.data.params["estimator"]
    assert run.data.tags["dataset_sha256"] == run_info["dataset_sha256"]
    assert run.data.tags["git_commit"] != "unknown"
    params: dict[str, Any] = __import__("yaml").safe_load((project / "params.yaml").read_text())
    tracking = params["tracking"]
    version = client.get_model_version_by_alias(tracking["registered_model"], tracking["alias"])
    assert str(version.version) == "1"
    model = mlflow.models.get_model_info(run_info["model_uri"])
    assert model.signature.inputs.input_names()
    assert model.saved_input_example_info is not None
    assert model.flavors["sklearn"]["serialization_format"] == "skops"


def test_diff_commands_work(project: Path) -> None:
    assert "Data and pipelines are up to date" in _dvc(project, "repro")  # a second repro: no-op
    assert "train" in _dvc(project, "dag")
    _dvc(project, "metrics", "show")
    _dvc(project, "params", "diff")
    _dvc(project, "metrics", "diff")
    _dvc(project, "plots", "diff", "-o", str(project.parent / "plots"))
    assert (project.parent / "plots" / "index.html").is_file()


def test_clone_pull_gives_the_same_model(project: Path) -> None:
    clone = project.parent / "clone"
    _ok(project.parent, "git", "clone", "-q", str(project), str(clone))
    (clone / ".dvc" / "config.local").write_text(
        (project / ".dvc" / "config.local").read_text(), encoding="utf-8"
    )
    _dvc(clone, "pull")
    outputs = ("data/processed/train.csv", "artifacts/train/model.skops", "models/model.skops")
    for path in (*outputs, "models/model.json"):
        assert _sha(clone / path) == _sha(project / path), path


def test_a_missing_tracking_server_is_one_line_and_keeps_the_last_good_model(
    project: Path, down_server: str
) -> None:
    files = ("artifacts/train/model.skops", "models/model.skops", "models/model.json")
    before = {p: _sha(project / p) for p in files}
    train = _run(project, sys.executable, "-m", f"{PKG}.stages.train",
                 MLFLOW_TRACKING_URI=down_server)  # fmt: skip
    assert train.returncode == 1 and "Traceback" not in train.stderr
    assert "not reachable" in train.stderr and train.stderr.strip().count("\n") == 0
    register = _run(project, sys.executable, "-m", "dvc", "repro", "--force", "--single-item",
                    "register", MLFLOW_TRACKING_URI=down_server)  # fmt: skip
    assert register.returncode != 0 and "not reachable" in register.stderr
    assert {p: _sha(project / p) for p in files} == before


def test_an_unwritable_remote_fails_the_push_and_loses_nothing(project: Path) -> None:
    """A remote that cannot be written (even by root: its parent is a file) keeps data local."""
    blocker = project.parent / "not-a-folder"
    blocker.write_text("a file where the remote's parent folder should be", encoding="utf-8")
    _dvc(project, "remote", "add", "--local", "broken", str(blocker / "remote"))
    before = {p: _sha(project / p) for p in ("models/model.skops", "data/processed/train.csv")}
    result = _run(project, sys.executable, "-m", "dvc", "push", "-r", "broken")
    assert result.returncode != 0
    assert "ERROR" in result.stderr
    assert {p: _sha(project / p) for p in before} == before
    assert "Data and pipelines are up to date" in _dvc(project, "status")
    _dvc(project, "push")  # the real remote still works: retry is just `dvc push`
