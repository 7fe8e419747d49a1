"""A team's shared servers: a generated project against PostgreSQL + MLflow and an S3 server.

Real processes on 127.0.0.1 (tests/servers.py): PostgreSQL from initdb in a temporary
folder, `mlflow server` with that backend store proxying artifacts to an S3 bucket, and
moto's S3 server. The project is generated with `dvc_remote=s3` and pointed at them only by
environment and `.dvc/config.local`, exactly as docs/team.md tells a newcomer: `dvc repro`,
`dvc push`, a fresh clone with `dvc pull`, the run and the registered model on the server;
then the faults: the tracking server down at start, the storage server down during a push,
the artifact store down behind a running tracking server (the run ends FAILED).
The servers start once for the module and stop in teardown, whatever happens.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import servers
from conftest import ROOT, env_for, install_project, run

# One xdist worker runs the whole module (pyproject sets --dist loadgroup): the servers and the
# pushed project are module fixtures, too costly to build once per worker.
pytestmark = [pytest.mark.tier2, pytest.mark.xdist_group("team-servers")]

GIT_ID = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
MLFLOW_BUCKET = "mlflow"
TIMINGS = ROOT / ".cache" / "team-servers-timings.json"


@dataclass
class Team:
    """The running servers and what a project needs to reach them."""

    python: Path  # the server environment (boto3 for admin work like creating buckets)
    tracking_uri: str
    s3: str
    postgres: servers.Postgres
    processes: list[servers.Server]
    timings: dict[str, float] = field(default_factory=dict)

    def logs(self) -> str:
        """Every server's recent log, appended to failure messages."""
        parts = [f"--- {p.name}\n{p.tail(20)}" for p in self.processes]
        return "\n".join([*parts, f"--- postgres\n{self.postgres.tail()[-1500:]}"])


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """PostgreSQL, moto S3 and `mlflow server`, started once and stopped afterwards."""
    logs = tmp_path_factory.mktemp("server-logs")
    python = servers.server_python()
    postgres = servers.start_postgres()
    started: list[servers.Server] = []
    try:
        s3, endpoint = servers.start_s3(python, logs)
        started.append(s3)
        servers.create_bucket(python, endpoint, MLFLOW_BUCKET)
        mlflow = servers.start_mlflow(
            python, postgres.url, f"s3://{MLFLOW_BUCKET}/artifacts", endpoint, logs
        )
        started.append(mlflow)
        team = Team(python, servers.mlflow_url(mlflow), endpoint, postgres, started)
        team.timings |= {
            "postgres_start_s": postgres.started_in_s,
            "s3_start_s": s3.started_in_s,
            "mlflow_start_s": mlflow.started_in_s,
        }
        yield team
    finally:
        for process in reversed(started):
            process.stop()
        postgres.stop()
    TIMINGS.write_text(json.dumps(team.timings, indent=2) + "\n", encoding="utf-8")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dvc(python: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run([str(python), "-m", "dvc", *args], cwd=cwd, env={**env_for(python), **env})


def _tracking_env(team: Team) -> dict[str, str]:
    """What a team member exports: the tracking URI and nothing else for MLflow."""
    return {"MLFLOW_TRACKING_URI": team.tracking_uri, "DVC_NO_ANALYTICS": "1"}


def _mlflow_query(python: Path, team: Team, code: str) -> object:
    """Run MlflowClient code in the project env against the server; returns its JSON output."""
    script = (
        "import json, sys\nfrom mlflow import MlflowClient\n"
        f"client = MlflowClient({team.tracking_uri!r})\n{code}"
    )
    result = run([str(python), "-c", script], cwd=ROOT, env=env_for(python))
    assert result.returncode == 0, result.stderr[-3000:] + team.logs()
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Shared:
    """The generated project after repro + push, committed, and its bucket."""

    project: Path
    bucket: str
    repro_s: float
    push_s: float


@pytest.fixture(scope="module")
def shared(team: Team, project_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Shared:
    """Generate with dvc_remote=s3, configure as docs/team.md says, repro, commit, push."""
    out = tmp_path_factory.mktemp("team")
    made = run(
        [
            str(Path(sys.executable).parent / "ccmlops"),
            "new",
            "--no-input",
            "-o",
            str(out),
            "project_name=Team Shared",
            "dvc_remote=s3",
        ],
        cwd=out,
        env=env_for(project_python),
    )
    assert made.returncode == 0, made.stderr
    project = out / "team_shared"
    install_project(project_python, project)
    bucket = "team-shared-dvc"  # the bucket the generator wrote into .dvc/config
    assert f"s3://{bucket}/team_shared" in (project / ".dvc" / "config").read_text()
    servers.create_bucket(team.python, team.s3, bucket)
    # docs/team.md, step 2: endpoint and credentials in the Git-ignored .dvc/config.local.
    for key, value in (
        ("endpointurl", team.s3),
        ("access_key_id", servers.ACCESS_KEY),
        ("secret_access_key", servers.SECRET_KEY),
    ):
        set_local = _dvc(
            project_python, project, "remote", "modify", "--local", "storage", key, value
        )
        assert set_local.returncode == 0, set_local.stderr
    began = time.monotonic()
    repro = _dvc(project_python, project, "repro", **_tracking_env(team))
    repro_s = time.monotonic() - began
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:] + team.logs()
    assert not (project / "mlflow.db").exists(), "logged to the local store, not the server"
    for args in (["add", "-A"], [*GIT_ID, "commit", "-q", "-m", "pipeline run"]):
        done = run(["git", *args], cwd=project)
        assert done.returncode == 0, done.stderr
    began = time.monotonic()
    push = _dvc(project_python, project, "push")
    push_s = time.monotonic() - began
    assert push.returncode == 0, push.stderr + team.logs()
    team.timings |= {"dvc_repro_s": repro_s, "dvc_push_s": push_s}
    return Shared(project, bucket, repro_s, push_s)


# ----------------------------------------------------------------------------- the happy path


@pytest.mark.e2e
def test_run_and_registered_model_are_on_the_server(
    shared: Shared, team: Team, project_python: Path
) -> None:
    run_id = json.loads((shared.project / "artifacts" / "train" / "run.json").read_text())["run_id"]
    found = _mlflow_query(
        project_python,
        team,
        f"run = client.get_run({run_id!r})\n"
        "version = client.get_model_version_by_alias('team_shared', 'champion')\n"
        "print(json.dumps({'status': run.info.status, 'params': run.data.params,\n"
        "    'metrics': run.data.metrics, 'artifact_uri': run.info.artifact_uri,\n"
        "    'version': version.version, 'version_run': version.run_id}))",
    )
    assert isinstance(found, dict)
    assert found["status"] == "FINISHED"
    assert found["params"]["estimator"] and "train_rows" in found["params"]
    assert {"train_score", "test_accuracy"} <= set(found["metrics"])
    assert found["artifact_uri"].startswith("mlflow-artifacts:"), "artifacts not proxied"
    assert str(found["version"]) == "1" and found["version_run"] == run_id
    bundle = json.loads((shared.project / "models" / "model.json").read_text())
    assert bundle["version"] == "1"
    # The model's files went through the server into the S3 bucket, not to a local folder.
    keys = servers.list_keys(team.python, team.s3, MLFLOW_BUCKET)
    assert any(key.endswith("/model.skops") for key in keys), keys
    assert not (shared.project / "mlruns").exists()


@pytest.mark.e2e
def test_credentials_stay_out_of_git(shared: Shared) -> None:
    project = shared.project
    local = (project / ".dvc" / "config.local").read_text()
    assert servers.SECRET_KEY in local
    ignored = run(["git", "check-ignore", "-q", ".dvc/config.local"], cwd=project)
    assert ignored.returncode == 0, ".dvc/config.local is not ignored by Git"
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    tracked = run(["git", "ls-files", "-z"], cwd=project).stdout.split("\0")
    for name in filter(None, tracked):
        text = (project / name).read_bytes()
        for secret in (servers.SECRET_KEY, servers.ACCESS_KEY, servers.PG_PASSWORD):
            assert secret.encode() not in text, f"{secret} in tracked file {name}"
    history = run(["git", "log", "-p", "--all"], cwd=project).stdout
    assert servers.SECRET_KEY not in history


@pytest.mark.e2e
def test_fresh_clone_pulls_the_same_data_model_and_metrics(
    shared: Shared, team: Team, project_python: Path
) -> None:
    clone = shared.project.parent / "clone"
    cloned = run(["git", "clone", "-q", str(shared.project), str(clone)], cwd=shared.project.parent)
    assert cloned.returncode == 0, cloned.stderr
    assert not (clone / ".dvc" / "config.local").exists()
    # docs/team.md, the environment-only variant: nothing written into the clone at all.
    env = {**servers.s3_env(team.s3), **_tracking_env(team)}
    pull = _dvc(project_python, clone, "pull", **env)
    assert pull.returncode == 0, pull.stderr + team.logs()
    for path in (
        "models/model.skops",
        "models/model.json",
        "artifacts/train/model.skops",
        "data/processed/train.csv",
    ):
        assert (clone / path).is_file(), path
        assert _sha(clone / path) == _sha(shared.project / path), path
    assert (clone / "reports" / "metrics.json").read_text() == (
        shared.project / "reports" / "metrics.json"
    ).read_text()
    status = _dvc(project_python, clone, "status", **env)
    assert status.returncode == 0 and "up to date" in status.stdout, status.stdout
    changed = _dvc(project_python, clone, "metrics", "diff", **env)  # against the pushed commit
    assert changed.returncode == 0 and changed.stdout.strip() == "", changed.stdout


# ----------------------------------------------------------------------------- faults


def _runs(project_python: Path, team: Team) -> list[list[str]]:
    found = _mlflow_query(
        project_python,
        team,
        "exp = client.get_experiment_by_name('team_shared')\n"
        "runs = client.search_runs([exp.experiment_id], max_results=1000)\n"
        "print(json.dumps([[r.info.run_id, r.info.status] for r in runs]))",
    )
    assert isinstance(found, list)
    return found


@pytest.mark.e2e
def test_tracking_server_down_at_start_fails_clearly_and_logs_nothing(
    shared: Shared, team: Team, project_python: Path
) -> None:
    project = shared.project
    before = _runs(project_python, team)
    lock = (project / "dvc.lock").read_text()
    run_json = (project / "artifacts" / "train" / "run.json").read_text()
    model = _sha(project / "models" / "model.skops")
    dead = f"http://127.0.0.1:{servers.free_port()}"
    began = time.monotonic()
    down = _dvc(
        project_python,
        project,
        "repro",
        "--force",
        "--single-item",
        "train",
        MLFLOW_TRACKING_URI=dead,
    )
    took = time.monotonic() - began
    output = down.stdout + down.stderr
    assert down.returncode != 0, output
    assert f"MLflow tracking server {dead} is not reachable" in output, output
    assert "Start it, or unset MLFLOW_TRACKING_URI" in output
    assert "Traceback" not in output
    assert took < 60, f"took {took:.0f} s to give up"
    # Nothing half-logged: no new run anywhere, no local fallback store, outputs unchanged.
    assert _runs(project_python, team) == before
    assert all(status == "FINISHED" for _, status in before) and len(before) == 1
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()
    assert (project / "dvc.lock").read_text() == lock
    assert (project / "artifacts" / "train" / "run.json").read_text() == run_json
    assert _sha(project / "models" / "model.skops") == model


@pytest.mark.e2e
def test_storage_down_during_push_loses_nothing_and_a_retry_succeeds(
    shared: Shared, team: Team, project_python: Path, tmp_path: Path
) -> None:
    project = shared.project
    port = servers.free_port()
    storage, endpoint = servers.start_s3(team.python, tmp_path, port)
    try:
        servers.create_bucket(team.python, endpoint, "team-backup")
        for args in (
            ["remote", "add", "--local", "backup", "s3://team-backup/team_shared"],
            ["remote", "modify", "--local", "backup", "endpointurl", endpoint],
        ):
            added = _dvc(project_python, project, *args)
            assert added.returncode == 0, added.stderr
        cache = project / ".dvc" / "cache"
        before = {p: _sha(p) for p in cache.rglob("*") if p.is_file()}
        model = _sha(project / "models" / "model.skops")
        storage.stop()  # the storage server goes away
        began = time.monotonic()
        failed = _dvc(project_python, project, "push", "-r", "backup", **servers.s3_env(endpoint))
        failed_s = time.monotonic() - began
        assert failed.returncode != 0, failed.stdout
        assert f'Could not connect to the endpoint URL: "{endpoint}/' in failed.stderr
        assert {p: _sha(p) for p in cache.rglob("*") if p.is_file()} == before
        assert _sha(project / "models" / "model.skops") == model
        # docs/team.md: start the server again and rerun `dvc push` (only what is missing).
        storage, _ = servers.start_s3(team.python, tmp_path, port)
        servers.create_bucket(team.python, endpoint, "team-backup")  # moto keeps no state
        missing = _dvc(
            project_python, project, "status", "-c", "-r", "backup", **servers.s3_env(endpoint)
        )
        assert "new:" in missing.stdout, missing.stdout
        retry = _dvc(project_python, project, "push", "-r", "backup", **servers.s3_env(endpoint))
        assert retry.returncode == 0, retry.stderr
        pushed = servers.list_keys(team.python, endpoint, "team-backup")
        assert len(pushed) == len(servers.list_keys(team.python, team.s3, shared.bucket)) >= 6
        team.timings["failed_push_s"] = failed_s
    finally:
        storage.stop()
        _dvc(project_python, project, "remote", "remove", "--local", "backup")


@pytest.mark.e2e
def test_artifact_store_down_marks_the_run_failed_never_finished(
    shared: Shared, team: Team, project_python: Path
) -> None:
    """Runs last: it stops the module's S3 server (moto keeps no state to come back to)."""
    project = shared.project
    before = _runs(project_python, team)
    lock = (project / "dvc.lock").read_text()
    model = _sha(project / "models" / "model.skops")
    team.processes[0].stop()  # the S3 server behind MLflow's artifact proxy
    broken = _dvc(
        project_python,
        project,
        "repro",
        "--force",
        "--single-item",
        "train",
        **_tracking_env(team),
    )
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0, output
    assert "train: error: MLflow logging failed" in output, output + team.logs()
    assert "the run, if created, is marked FAILED" in output
    assert "Traceback" not in output
    known = {run_id for run_id, _ in before}
    new = [status for run_id, status in _runs(project_python, team) if run_id not in known]
    assert new == ["FAILED"], new
    assert (project / "dvc.lock").read_text() == lock
    assert _sha(project / "models" / "model.skops") == model
