"""Tier 2 for the pipeline: a generated project's `dvc repro`, `dvc push` and faults, for real.

The project's own end-to-end test works on a copy with its own remote; this one uses the
project exactly as generated (Git repo, first commit, DVC remote set by the hook).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, actionlint_binary, env_for, install_project, read_only, run

pytestmark = pytest.mark.tier2

TEMPLATE = ROOT / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.__package_name}}"


def _package(project: Path) -> str:
    return next(p.parent.parent.name for p in (project / "src").glob("*/stages/__init__.py"))


def _in(python: Path, project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run([str(python), "-m", *args], cwd=project, env={**env_for(python), **env})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


IDENTITY = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "Test"), ("EMAIL", "test@example.com"))}  # fmt: skip


@pytest.mark.parametrize("task", ["regression", "image_classification"])
def test_repro_push_and_no_op_in_the_generated_project(
    generated_project: Callable[..., Path], project_python: Path, task: str
) -> None:
    """`dvc repro`, a no-op repro and a push for each task; one prediction explained as the
    model card says; then a `dvc exp run` experiment (regression) and `ccmlops check` (image).
    The classification pipeline runs by `dvc repro` in test_checker.py's finished project, the
    default render's own end-to-end test (test_projects.py) and the newcomer test."""
    project = generated_project(
        f"project_name=Pipe {task}", f"ml_task={task}", "serving=false", "docker=false"
    )
    if task == "image_classification":  # handed in as a team would: then `ccmlops check`
        write_the_cards(project)
    first = _in(project_python, project, "dvc", "repro")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert metrics["gate"]["passed"] is True
    assert ("rmse" if task == "regression" else "f1_macro") in metrics["model"]
    again = _in(project_python, project, "dvc", "repro")
    assert "Data and pipelines are up to date" in again.stdout
    push = _in(project_python, project, "dvc", "push")
    assert push.returncode == 0, push.stderr
    remote = project.parent / f"{project.name}-dvc-storage"
    assert sum(1 for p in remote.rglob("*") if p.is_file()) >= 6
    bundle = json.loads((project / "models" / "model.json").read_text())
    assert bundle["version"] == "1"
    assert bundle["sha256"] == _sha(project / "models" / "model.skops")
    # Generated files that belong in Git are not ignored; data and models are.
    status = run(["git", "status", "--porcelain"], cwd=project).stdout
    assert "dvc.lock" in status and "reports/" in status
    assert "data/" not in status and "models/" not in status and "mlflow.db" not in status
    one_prediction_is_explained_as_the_card_says(project_python, project)
    if task == "regression":
        experiment_never_moves_the_champion(project_python, project)
    else:
        the_checker_passes_every_applicable_item(project_python, project)


def one_prediction_is_explained_as_the_card_says(python: Path, project: Path) -> None:
    """The task's own outputs, as the project's end-to-end test reads them (that test runs in
    full on the default render only, tests/test_projects.py): the card's importance table and
    `cli predict --explain`, one line per feature."""
    importance = json.loads((project / "reports" / "importance.json").read_text())
    spec = json.loads((project / "data" / "processed" / "spec.json").read_text())
    names = sorted(feature["name"] for feature in spec["features"])
    assert sorted(importance) == names
    top = next(iter(importance))
    card = (project / "docs" / "model_card.md").read_text()
    assert f"| `{top}` | {importance[top]['mean']:.4f} ±" in card
    row = [str(feature["minimum"]) for feature in spec["features"]]
    cli = f"{_package(project)}.cli"
    explained = _in(python, project, cli, "predict", "--explain", "--", *row)
    assert explained.stdout.startswith("prediction: "), explained.stdout + explained.stderr
    assert sorted(line.split()[0] for line in explained.stdout.splitlines()[1:]) == names


PROMPT = re.compile(r"<!-- TODO\(author\):.*?-->")
WRITTEN = "Written by the team for the course: who relies on it, where it fails, who may be harmed."


def write_the_cards(project: Path) -> None:
    """Every judgement prompt of the scoping document and the card templates answered."""
    templates = (project / "src" / _package(project) / "_card_templates").glob("*.j2")
    for path in [project / "docs" / "scoping.md", *templates]:
        path.write_text(PROMPT.sub(WRITTEN, path.read_text()))


def the_checker_passes_every_applicable_item(python: Path, project: Path) -> None:
    """`ccmlops check` on the finished image project (issue 18.7): every item of M6 passes
    or does not apply (serving=false, docker=false), the image exercises M2.5 and M3.3 too.
    Without its `tests` item: the project's own suite (5 min at load 8) runs in test_projects."""
    run(["git", "add", "-A"], cwd=project).check_returncode()
    run(["git", "commit", "-qm", "done"], cwd=project, env=IDENTITY).check_returncode()
    # Exercise M2.6 (compare two runs): the cheapest experiment reruns evaluate onwards only.
    # In the workspace, as docs/pipeline.md says: a --temp copy has no mlflow.db to register in.
    trial = _in(python, project, "dvc", "exp", "run", "-q", "-S", "evaluate.min_improvement=0.19",
                **IDENTITY)  # fmt: skip
    assert trial.returncode == 0, trial.stdout[-3000:] + trial.stderr[-3000:]
    run(["git", "commit", "-qam", "keep the trial"], cwd=project, env=IDENTITY).check_returncode()
    env = env_for(python)
    env["PATH"] = f"{Path(actionlint_binary()).parent}{os.pathsep}{env['PATH']}"
    ccmlops = str(Path(sys.executable).parent / "ccmlops")
    check = [ccmlops, "check", "--json", "--python", str(python), "--skip", "tests"]
    result = run(check, cwd=project, env=env)
    items = {item["id"]: item for item in json.loads(result.stdout)["items"]}
    print(json.dumps([(key, i["status"], i["seconds"]) for key, i in items.items()]))
    assert items.pop("tests")["detail"] == "left out with --skip"
    bad = {key: i["detail"] for key, i in items.items() if i["status"] != "passed"}
    assert {items[key]["status"] for key in bad} <= {"not applicable"}, bad
    assert result.returncode == 0
    assert {key for key, i in items.items() if i["status"] == "not applicable"} == {
        "api", "exercises-m4", "dockerfile", "exercises-m5", "monitoring", "exercises-m6"
    }  # fmt: skip
    assert "M2.5 passed: reports/split.json counts" in items["exercises-m2"]["detail"]
    assert "M3.3 passed: the blank image is caught" in items["exercises-m3"]["detail"]
    assert "M2.6 passed: experiment" in items["exercises-m2"]["detail"]


def experiment_never_moves_the_champion(python: Path, project: Path) -> None:
    """An experiment's model is in no commit: it gets a tagged version, never @champion."""
    run(["git", "add", "-A"], cwd=project).check_returncode()
    run(["git", "commit", "-qm", "first model"], cwd=project, env=IDENTITY).check_returncode()
    trial = _in(python, project, "dvc", "exp", "run", "-n", "trial", "-S", "train.seed=7",
                **IDENTITY)  # fmt: skip
    assert trial.returncode == 0, trial.stdout[-3000:] + trial.stderr[-3000:]
    query = run([str(python), "-c", CHAMPION, project.name], cwd=project, env=env_for(python))
    assert query.returncode == 0, query.stderr
    registry = json.loads(query.stdout)
    assert registry["champion"] == "1"
    assert registry["tags"]["2"] == {"dvc_experiment": "trial"}
    assert "@champion not moved" in trial.stdout


def test_the_image_projects_benchmarks_run(
    generated_project: Callable[..., Path], project_python: Path
) -> None:
    """The benchmarks are plumbing that only a person runs: each runs once here, short, so an
    API they call cannot drift away unnoticed (pipeline.py once imported a removed module).
    The image render has three of the four; test_serving_project.py runs serving.py."""
    project = generated_project("project_name=Bench Digits", "ml_task=image_classification")
    outputs = {}
    for script, *args, expected in (
        ("pipeline.py", "dvc repro (first run, all stages)"),
        ("images.py", "--duration", "1", "batch of 16"),
        ("monitoring.py", "--rows", "2000", "--runs", "1", "(exit code 0)"),
    ):
        bench = run([str(project_python), f"benchmarks/{script}", *args], cwd=project,
                    env=env_for(project_python))  # fmt: skip
        assert bench.returncode == 0 and expected in bench.stdout, bench.stdout + bench.stderr
        outputs[script] = bench.stdout
        print(bench.stdout)
    assert all(
        tool in outputs["pipeline.py"] for tool in ("MLflow", "Great Expectations", "CodeCarbon")
    )
    assert outputs["images.py"].count("errors 0") == 2  # 1 image and a batch of 16 per request


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_faults_are_one_line_without_traceback(
    generated_project: Callable[..., Path], project_python: Path
) -> None:
    project = generated_project("project_name=Pipe Faults", "serving=false", "docker=false")
    package = _package(project)
    params = project / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("test_size:", "test_sise:"))
    typo = _in(project_python, project, f"{package}.stages.prepare")
    assert typo.returncode == 1
    assert "data.test_sise: unknown key (did you mean 'test_size'?)" in typo.stderr
    assert "Traceback" not in typo.stderr
    params.write_text(original)
    assert _in(project_python, project, f"{package}.stages.prepare").returncode == 0
    down = _in(
        project_python,
        project,
        f"{package}.stages.train",
        MLFLOW_TRACKING_URI=f"http://127.0.0.1:{_closed_port()}",
    )
    assert down.returncode == 1
    assert "not reachable" in down.stderr and "Traceback" not in down.stderr
    assert not (project / "artifacts").exists()
    assert not (project / "mlflow.db").exists()
    store = project / "mlflow.db"
    store.write_bytes(b"")
    with read_only(store):  # MLflow itself retried for over a minute, then blamed "autoflush"
        start = time.monotonic()
        locked = _in(project_python, project, f"{package}.stages.train")
        elapsed = time.monotonic() - start
    assert locked.returncode == 1, locked.stderr
    assert "mlflow.db: permission denied" in locked.stderr and "Traceback" not in locked.stderr
    assert elapsed < 5, elapsed
    assert not (project / "artifacts").exists()


def test_card_templates_are_copied_byte_for_byte(bake_ccmlops: Callable[..., Path]) -> None:
    """A render is enough (`_copy_without_render`): no Git, DVC or install."""
    project = bake_ccmlops(project_name="Pipe Cards", serving=False, docker=False)
    generated = project / "src" / _package(project) / "_card_templates"
    sources = sorted((TEMPLATE / "_card_templates").glob("*.j2"))
    assert [p.name for p in sources] == ["data_card.md.j2", "model_card.md.j2"]
    for source in sources:
        assert (generated / source.name).read_bytes() == source.read_bytes()


CHAMPION = """
import json, sys
from mlflow import MlflowClient
name = sys.argv[1]
client = MlflowClient("sqlite:///mlflow.db")
champion = client.get_model_version_by_alias(name, "champion")
versions = client.search_model_versions(f"name = '{name}'")
print(json.dumps({"champion": str(champion.version),
                  "tags": {str(v.version): v.tags for v in versions}}))
"""


LOCATIONS = """
import json, sqlite3
db = sqlite3.connect("mlflow.db")
print(json.dumps([row[0] for row in db.execute(
    "SELECT artifact_location FROM experiments WHERE name != 'Default'"
    " UNION ALL SELECT artifact_uri FROM runs UNION ALL SELECT storage_location FROM model_versions"
)]))
"""


@pytest.mark.e2e
def test_a_moved_project_keeps_its_artifacts_inside(
    generated_project: Callable[..., Path], project_python: Path
) -> None:
    """MLflow stores absolute artifact paths; after a move, new artifacts land in the new folder."""
    project = generated_project("project_name=Pipe Move", "milestone=M2")
    first = _in(project_python, project, "dvc", "repro")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    moved = project.parent / "moved"
    project.rename(moved)
    install_project(project_python, moved)  # the editable install pointed to the old folder
    retrain = _in(project_python, moved, "dvc", "repro", "--force", "--single-item", "train")
    assert retrain.returncode == 0, retrain.stdout[-3000:] + retrain.stderr[-3000:]
    again = _in(project_python, moved, "dvc", "repro")  # evaluate, register: a new version
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert not project.exists(), "artifacts were written into the old project folder"
    assert len(list((moved / "mlruns").rglob("MLmodel"))) == 2
    query = run([str(project_python), "-c", LOCATIONS], cwd=moved, env=env_for(project_python))
    assert query.returncode == 0, query.stderr
    locations = json.loads(query.stdout)
    assert len(locations) == 5  # the experiment, two runs, two model versions
    assert all(location.startswith("mlruns/") for location in locations), locations
