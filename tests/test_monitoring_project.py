"""Monitoring: alert rules (promtool check + unit tests), the dashboard's drift and live
accuracy panels, and the whole feedback loop against real processes.

The tier-2 test runs the generated app (its ``serve`` command), a real Prometheus server
from Debian's ``prometheus`` package (the same .deb that gives promtool) scraping it with
the project's alert rules, simulated production traffic with late feedback, and the
project's ``monitor`` command, which must report the drift it was fed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import env_for, run, stop_process_group
from test_delivery import dashboard_expressions, free_port, metric_names, promtool_binary

ALERTS = {
    "ModelApiDown",
    "ModelApiUnreachable",
    "ModelApiHighErrorRate",
    "ModelApiHighLatencyP99",
    "ModelPredictionsNotRecorded",
    "ModelApiNoTraffic",  # exercise M6.2's answer key (the default render has exercises=false)
    "ModelDataDrift",
    "ModelNeedsRetraining",
    "ModelLowLiveAccuracy",
    "ModelNoFeedback",
}


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool from Debian's prometheus package, as in test_delivery (fetched once)."""
    return promtool_binary()


@pytest.fixture(params=["classification", "image_classification"])
def project(bake_ccmlops: Callable[..., Path], request: pytest.FixtureRequest) -> Path:
    """The monitoring stack renders the same for tabular data and for images."""
    return bake_ccmlops(project_name="Monitor Check", ml_task=request.param)


def test_the_image_task_is_monitored_on_image_metadata(bake_ccmlops: Callable[..., Path]) -> None:
    """Issue 18 item 6: the monitor, its tests and docs, the alerts and dashboards for images."""
    project = bake_ccmlops(project_name="Digit Watch", ml_task="image_classification")
    for rel in (
        "src/digit_watch/monitoring",
        "tests/test_monitoring.py",
        "tests/test_monitoring_images.py",
        "benchmarks/monitoring.py",
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/dashboards/model-api.json",
    ):
        assert (project / rel).exists(), rel
    assert "monitor" in yaml.safe_load((project / "params.yaml").read_text())
    docs = (project / "docs/monitoring.md").read_text()
    assert "brightness" in docs and "never the image" in docs  # the privacy note
    assert "monitor" in (project / "README.md").read_text()
    tabular = bake_ccmlops(project_name="Table Watch")
    assert not (tabular / "tests/test_monitoring_images.py").exists()
    assert "brightness" not in (tabular / "docs/monitoring.md").read_text()


def alert_rules(project: Path) -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load((project / "deploy/prometheus/alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_alert_rules_pass_promtool_and_their_unit_tests(project: Path, promtool: str) -> None:
    prometheus = project / "deploy" / "prometheus"
    checked = run([promtool, "check", "rules", "alerts.yml"], cwd=prometheus)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(ALERTS)} rules found" in checked.stdout
    tested = run([promtool, "test", "rules", "alerts.test.yml"], cwd=prometheus)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    config = yaml.safe_load((prometheus / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts


def test_alert_unit_tests_catch_a_changed_threshold(
    project: Path, promtool: str, tmp_path: Path
) -> None:
    copy = tmp_path / "prometheus"
    shutil.copytree(project / "deploy" / "prometheus", copy)
    rules = copy / "alerts.yml"
    text = rules.read_text(encoding="utf-8")
    assert text.count("[5m])) > 0.05") == 1  # the 5 % error-rate threshold
    rules.write_text(text.replace("[5m])) > 0.05", "[5m])) > 0.5"), encoding="utf-8")
    tested = run([promtool, "test", "rules", "alerts.test.yml"], cwd=copy)
    assert tested.returncode != 0
    assert "ModelApiHighErrorRate" in tested.stdout + tested.stderr


def test_alerts_cover_errors_latency_drift_and_feedback(project: Path) -> None:
    rules = alert_rules(project)
    assert set(rules) == ALERTS
    used = set().union(*(metric_names(rule["expr"]) for rule in rules.values()))
    assert {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "model_drift_share",
        "model_needs_retraining",
        "model_feedback_total",
    } <= used
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["annotations"]["summary"], name


def test_dashboard_shows_drift_and_live_accuracy_next_to_latency_and_errors(
    project: Path,
) -> None:
    dashboard = json.loads((project / "deploy/grafana/dashboards/model-api.json").read_text())
    panels = dashboard["panels"]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for panel in panels:
        for target in panel["targets"]:
            for name in metric_names(target["expr"]):
                by_metric.setdefault(name, []).append(panel)
    for name in ("model_drift_share", "model_needs_retraining", "model_feedback_total"):
        assert name in by_metric, f"no panel shows {name}"
    accuracy = by_metric["model_feedback_total"][0]
    assert "accuracy" in accuracy["title"].lower()
    # Live accuracy shares its chart with the 5xx share, live error with p99 latency.
    assert "http_requests_total" in set().union(
        *(metric_names(t["expr"]) for t in accuracy["targets"])
    )
    live_error = by_metric["model_feedback_abs_error_count"][0]
    assert "http_request_duration_seconds_bucket" in set().union(
        *(metric_names(t["expr"]) for t in live_error["targets"])
    )
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells = set()  # panels must not overlap on Grafana's 24-column grid
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        xs, ys = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        area = {(x, y) for x in xs for y in ys}
        assert not cells & area, f"panel {panel['title']!r} overlaps another"
        cells |= area
    assert len(dashboard_expressions(project)) == sum(len(p["targets"]) for p in panels)


def test_without_serving_there_is_nothing_to_monitor(bake_ccmlops: Callable[..., Path]) -> None:
    project = bake_ccmlops(project_name="Quiet Check", serving=False, docker=False)
    assert not (project / "src" / "quiet_check" / "monitoring").exists()
    for rel in ("tests/test_monitoring.py", "benchmarks/monitoring.py", "docs/monitoring.md"):
        assert not (project / rel).exists(), rel
    assert "monitor" not in yaml.safe_load((project / "params.yaml").read_text())
    assert "monitor" not in (project / "README.md").read_text()
    assert "reports/monitoring" not in (project / ".gitignore").read_text()


# ----------------------------------------------------------------------------- tier 2

REFERENCE_SCRIPT = """
import importlib, sys
from datetime import UTC, datetime
from pathlib import Path
package = sys.argv[1]
data = importlib.import_module(package + ".data")
training = importlib.import_module(package + ".training")
bundle = importlib.import_module(package + ".bundle")
features = importlib.import_module(package + ".features")
spec = features.DatasetSpec.load(Path("data/processed/spec.json"))
train = data.read_split(Path("data/processed/train.csv"), spec)
model = training.build_estimator("logistic_regression", {"max_iter": 500}, 0)
model = training.fit(model, training.to_matrix(train, spec), training.to_labels(train, spec))
bundle.save_bundle(model, Path("models"), name="loop", version="1", spec=spec,
                   metrics={"accuracy": 1.0}, trained_at=datetime.now(UTC))
"""


def http(url: str, payload: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll until ``check`` returns something truthy (connection or file errors: not yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (OSError, ValueError, sqlite3.Error):
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@contextmanager
def process(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[Any]:
    """A process in its own group, stopped (SIGTERM, then SIGKILL) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop_process_group(proc)


def prometheus_api(base: str, path: str, **query: str) -> Any:
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    status, body = http(url)
    assert status == 200, body
    return body["data"]


@pytest.mark.tier2
def test_feedback_loop_real_app_real_prometheus_and_a_drift_report(
    generated_project: Callable[..., Path], project_python: Path, promtool: str, tmp_path: Path
) -> None:
    project = generated_project("project_name=Loop Check")
    package, cli = "loop_check", str(project_python.parent / "loop-check")
    env = {**os.environ, **env_for(project_python), "SERVING_DRAIN_S": "0"}
    prepared = run([str(project_python), "-m", f"{package}.stages.prepare"], cwd=project, env=env)
    assert prepared.returncode == 0, prepared.stderr
    made = run([str(project_python), "-c", REFERENCE_SCRIPT, package], cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    prometheus_bin = Path(promtool).with_name("prometheus")
    assert prometheus_bin.is_file(), "the prometheus package ships the server next to promtool"
    port, prom_port = free_port(), free_port()
    app, prom = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{prom_port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(project / "deploy/prometheus/alerts.yml")],
                "scrape_configs": [
                    {
                        "job_name": "api",
                        "metrics_path": "/metrics",
                        "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    checked = run([promtool, "check", "config", str(config)], cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    serve = [cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = [
        str(prometheus_bin),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    with (
        process(serve, project, env, tmp_path / "app.log") as api,
        process(server, tmp_path, env, tmp_path / "prometheus.log") as prometheus,
    ):
        wait_for("the app", lambda: api.poll() is None and http(app + "/health/ready")[0] == 200)
        # Simulated production traffic: 30 batches of 10 rows, sepals spread over their
        # training range, petals only in its top quarter (in range: the API accepts them),
        # and the true class sent back for every third batch, one row in ten wrong.
        spec = json.loads((project / "data/processed/spec.json").read_text())
        span = {f["name"]: (f["minimum"], f["maximum"]) for f in spec["features"]}
        for batch in range(30):
            rows = []
            for i in range(10):
                share = ((batch * 10 + i) * 0.618) % 1.0  # low-discrepancy spread over 0..1
                if_petal = {
                    name: 0.75 + share / 4 if name.startswith("petal") else share for name in span
                }
                rows.append(
                    {n: round(lo + if_petal[n] * (hi - lo), 3) for n, (lo, hi) in span.items()}
                )
            status, answer = http(
                app + "/predict/batch", {"rows": rows}, {"X-Request-ID": f"sim-{batch}"}
            )
            assert status == 200, answer
            if batch % 3 == 0:
                outcomes = [item["prediction"] for item in answer["predictions"]]
                outcomes[0] = next(c for c in spec["classes"] if c != outcomes[0])  # one wrong
                feedback = {"prediction_id": answer["prediction_id"], "outcomes": outcomes}
                status, body = http(app + "/feedback", feedback)
                assert status == 200, body
        # The app writes the log a few times a second: wait until every row is in.
        store = project / "monitoring" / "predictions.sqlite"

        def logged() -> bool:
            with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as db:
                return db.execute("SELECT sum(rows) FROM requests").fetchone()[0] == 300

        wait_for("the prediction log", logged)
        # The monitor on the logged traffic: drift found, reports written, exit code 3.
        monitor = run([cli, "monitor", "--since", "1"], cwd=project, env=env)
        assert monitor.returncode == 3, monitor.stdout + monitor.stderr
        summary = json.loads((project / "reports/monitoring/summary.json").read_text())
        assert summary["window"]["rows"] == 300
        assert summary["needs_retraining"] is True
        assert {"petal_length_cm", "petal_width_cm"} <= set(summary["drifted_features"])
        assert summary["live"]["labelled"] == 100
        assert summary["live"]["metrics"]["accuracy"] == pytest.approx(0.9)
        html = (project / "reports/monitoring/report.html").read_text()
        assert "Needs retraining" in html and "petal_length_cm" in html
        # Prometheus: the target is up, every rule loaded and evaluated, the metrics arrive,
        # and the app turns the monitor's summary into gauges at each scrape.

        def scraped(expr: str) -> list[dict[str, Any]]:
            assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()
            return prometheus_api(prom, "query", query=expr)["result"]

        targets = wait_for(
            "the scrape target",
            lambda: [
                t for t in prometheus_api(prom, "targets")["activeTargets"] if t["health"] == "up"
            ],
        )
        assert targets[0]["scrapeUrl"] == f"{app}/metrics"

        def evaluated() -> list[dict[str, Any]]:
            rules = [r for g in prometheus_api(prom, "rules")["groups"] for r in g["rules"]]
            ready = len(rules) == len(ALERTS) and all(
                r.get("lastEvaluation", "0001")[:4] != "0001" for r in rules
            )
            return rules if ready else []

        rules = wait_for("the alert rules", evaluated)
        assert {rule["name"] for rule in rules} == ALERTS
        assert all(rule["health"] == "ok" for rule in rules), rules
        wait_for("drift gauge", lambda: scraped("model_needs_retraining == 1"))
        share = scraped("model_drift_share")[0]["value"][1]
        assert float(share) == pytest.approx(summary["drift_share"])
        wait_for("feedback", lambda: scraped('model_feedback_total{result="wrong"} == 10'))
        requests = scraped('sum(http_requests_total{handler="/predict/batch"})')
        assert float(requests[0]["value"][1]) >= 30
        pending = wait_for(  # firing needs 15 minutes (`for: 15m`): pending proves it matched
            "the retraining alert", lambda: scraped('ALERTS{alertname="ModelNeedsRetraining"}')
        )
        assert pending[0]["metric"]["alertstate"] == "pending"
    assert re.search(
        r"Server is ready to receive web requests", (tmp_path / "prometheus.log").read_text()
    )
    retrain_as_the_docs_say(project, [cli, "monitor", "--since", "1"], project_python, env)


def retrain_as_the_docs_say(
    project: Path, monitor: list[str], python: Path, env: dict[str, str]
) -> None:
    """docs/monitoring.md's "Retrain on production data": export, `dvc add`, point params.yaml
    and prepare's deps at the file, `dvc repro`; the file is DVC's, never Git's."""
    exported = run([*monitor, "--export", "data/retrain.csv"], cwd=project, env=env)
    assert exported.returncode == 3 and "100 labelled" in exported.stdout, exported.stderr
    added = run([str(python), "-m", "dvc", "add", "data/retrain.csv"], cwd=project, env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    params = (project / "params.yaml").read_text()
    (project / "params.yaml").write_text(params.replace("source: iris", "source: data/retrain.csv"))
    dvc_yaml = (project / "dvc.yaml").read_text()
    prepare = "      - src/loop_check/stages/prepare.py\n"
    dvc_yaml = dvc_yaml.replace(prepare, prepare + "      - data/retrain.csv\n")
    assert "data/retrain.csv" in dvc_yaml  # prepare's deps, as docs/pipeline.md says
    (project / "dvc.yaml").write_text(dvc_yaml)
    repro = run([str(python), "-m", "dvc", "repro"], cwd=project, env=env)
    assert repro.returncode == 0, repro.stdout[-3000:] + repro.stderr[-3000:]
    splits = [project / "data/processed" / name for name in ("train.csv", "test.csv")]
    assert sum(len(split.read_text().splitlines()) - 1 for split in splits) == 150 + 100
    assert run(["git", "check-ignore", "-q", "data/retrain.csv"], cwd=project).returncode == 0
    assert (project / "data/retrain.csv.dvc").is_file()
