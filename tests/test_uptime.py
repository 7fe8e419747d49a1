"""Uptime (M6): an external probe of the deployed API and a route for its alerts.

Checked with the real tools from Debian's packages (promtool, the blackbox exporter,
Alertmanager's amtool): the probe module, the scrape job, the alert rule and its unit test,
the Alertmanager route configured from ``.env``, and the scheduled GitHub Actions probe, whose
shell steps run here against a stopped and a running server with a stand-in ``gh``. The
tier-2 test runs a real Prometheus, blackbox exporter and Alertmanager against the generated
app: stopped, the probe fails and the alert reaches a webhook; started, the probe succeeds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from conftest import env_for, require, run
from test_delivery import debian_binary, free_port, load_workflow, promtool_binary
from test_monitoring_project import REFERENCE_SCRIPT, http, process, prometheus_api, wait_for

UPTIME_ALERT = "ModelApiUnreachable"
WEBHOOK_URL = re.compile(r"\$\{ALERT_WEBHOOK_URL:\?[^}]*\}")


@pytest.fixture(scope="session")
def promtool() -> str:
    return promtool_binary()


@pytest.fixture(scope="session")
def blackbox() -> str:
    return debian_binary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter")


@pytest.fixture(scope="session")
def amtool() -> str:
    return debian_binary("prometheus-alertmanager", "amtool")


@pytest.fixture
def project(bake_ccmlops: Callable[..., Path]) -> Path:
    return bake_ccmlops(project_name="Uptime Check")


def compose(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))


def alertmanager_config(project: Path, webhook: str) -> str:
    """Alertmanager's config as Compose writes it from ``.env`` (ALERT_WEBHOOK_URL=webhook)."""
    content = compose(project)["configs"]["alertmanager"]["content"]
    assert WEBHOOK_URL.search(content), "Compose must refuse to start without the webhook URL"
    return WEBHOOK_URL.sub(webhook, content)


def test_blackbox_probes_readiness_and_alertmanager_routes_to_the_env_webhook(
    project: Path, promtool: str, blackbox: str, amtool: str, tmp_path: Path
) -> None:
    services = compose(project)["services"]
    probe = services["blackbox"]
    mounted = [v.split(":")[0] for v in probe["volumes"]]
    module_file = project / mounted[0]
    assert module_file.is_file(), mounted
    checked = run([blackbox, f"--config.file={module_file}", "--config.check"], cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    modules = yaml.safe_load(module_file.read_text(encoding="utf-8"))["modules"]
    config_path = project / "deploy/prometheus/prometheus.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "uptime")
    assert job["metrics_path"] == "/probe"
    assert set(job["params"]["module"]) <= set(modules)
    assert job["static_configs"][0]["targets"] == ["http://api:8000/health/ready"]
    assert {"replacement": "blackbox:9115", "target_label": "__address__"} in job["relabel_configs"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]
    valid = run([promtool, "check", "config", str(config_path)], cwd=project)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert {c["source"] for c in services["alertmanager"]["configs"]} == {"alertmanager"}
    am_file = tmp_path / "alertmanager.yml"
    am_file.write_text(alertmanager_config(project, "https://hooks.example.org/team"))
    am_checked = run([amtool, "check-config", str(am_file)], cwd=tmp_path)
    assert am_checked.returncode == 0, am_checked.stdout + am_checked.stderr
    receivers = yaml.safe_load(am_file.read_text())["receivers"]
    assert receivers[0]["webhook_configs"][0]["url"] == "https://hooks.example.org/team"
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^ALERT_WEBHOOK_URL=$", env_example, re.M)


def test_uptime_alert_has_a_unit_test_that_catches_a_broken_rule(
    project: Path, promtool: str, tmp_path: Path
) -> None:
    copy = tmp_path / "prometheus"
    shutil.copytree(project / "deploy" / "prometheus", copy)
    tests = yaml.safe_load((copy / "alerts.test.yml").read_text(encoding="utf-8"))["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"] if c["alertname"] == UPTIME_ALERT]
    assert any(c["exp_alerts"] for c in cases) and any(not c["exp_alerts"] for c in cases)
    tested = run([promtool, "test", "rules", "alerts.test.yml"], cwd=copy)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = copy / "alerts.yml"
    text = rules.read_text(encoding="utf-8")
    assert text.count('probe_success{job="uptime"} == 0') == 1
    rules.write_text(
        text.replace('probe_success{job="uptime"} == 0', 'probe_success{job="uptime"} == 2')
    )
    broken = run([promtool, "test", "rules", "alerts.test.yml"], cwd=copy)
    assert broken.returncode != 0
    assert UPTIME_ALERT in broken.stdout + broken.stderr


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, True),
        ({"milestone": "M6"}, True),
        ({"milestone": "M5"}, False),
        ({"ci": False}, False),
        ({"serving": False, "docker": False}, False),
    ],
    ids=["all", "m6", "m5", "noci", "noserving"],
)
def test_uptime_workflow_only_with_ci_and_something_to_probe(
    bake_ccmlops: Callable[..., Path], answers: dict[str, Any], expected: bool
) -> None:
    project = bake_ccmlops(project_name="Uptime Where", **answers)
    assert (project / ".github/workflows/uptime.yml").exists() == expected


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/health/ready" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status":"ready"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ready_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_uptime_workflow_probes_the_url_and_opens_one_issue_when_down(
    project: Path, tmp_path: Path, ready_server: str
) -> None:
    workflow = load_workflow(project / ".github/workflows/uptime.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"issues": "write"}
    assert "secrets.UPTIME_URL" in job["env"]["UPTIME_URL"]
    steps = [step for step in job["steps"] if "run" in step]
    probe, report = steps
    assert report["if"] == "failure()"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "gh-calls"
    gh = fake_bin / "gh"  # records its arguments; `issue list` prints the open issues file
    gh.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n'
        f'[ "$1 $2" = "issue list" ] && cat {tmp_path / "open"} 2>/dev/null\nexit 0\n'
    )
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)

    def step(script: str, url: str) -> Any:  # as GitHub runs `run:` (bash -e)
        env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "UPTIME_URL": url}
        return run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, timeout=120)

    up = step(probe["run"], ready_server)
    assert up.returncode == 0, up.stdout + up.stderr
    unset = step(probe["run"], "")
    assert unset.returncode == 0 and "::warning::" in unset.stdout
    down_url = f"http://127.0.0.1:{free_port()}"
    down = step(probe["run"], down_url)
    assert down.returncode != 0
    opened = step(report["run"], down_url)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "issue create" in calls.read_text()
    calls.unlink()
    (tmp_path / "open").write_text("7\n")  # an issue is already open: no second one
    again = step(report["run"], down_url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "issue create" not in calls.read_text()


# ----------------------------------------------------------------------------- tier 2


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def alertmanager_command(amtool: str, *args: str) -> list[str]:
    """Debian's Alertmanager with its package's /usr/share files, where its build looks for
    the notification templates: an overlay in a private mount namespace (root), so the
    machine's /usr/share is left as it was."""
    require(
        os.geteuid() == 0 and shutil.which("unshare") is not None,
        "Debian's Alertmanager outside /usr needs root and unshare for its templates",
    )
    share = Path(amtool).parents[1] / "share"
    mount = f"mount -t overlay overlay -o lowerdir={share}:/usr/share /usr/share"
    binary = str(Path(amtool).with_name("prometheus-alertmanager"))
    return ["unshare", "--mount", "sh", "-c", f'{mount} && exec "$@"', "sh", binary, *args]


@pytest.mark.tier2
def test_real_probe_alerts_a_webhook_when_the_api_is_stopped_and_recovers_when_it_runs(
    generated_project: Callable[..., Path],
    project_python: Path,
    promtool: str,
    blackbox: str,
    amtool: str,
    tmp_path: Path,
) -> None:
    project = generated_project("project_name=Uptime Live")
    package, cli = "uptime_live", str(project_python.parent / "uptime-live")
    env = {**os.environ, **env_for(project_python), "SERVING_DRAIN_S": "0"}
    prepared = run([str(project_python), "-m", f"{package}.stages.prepare"], cwd=project, env=env)
    assert prepared.returncode == 0, prepared.stderr
    made = run([str(project_python), "-c", REFERENCE_SCRIPT, package], cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    api_port, bb_port, prom_port, am_port = (free_port() for _ in range(4))
    webhook = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    # Test-only copies: the project's files with local addresses and second-long intervals.
    am_file = tmp_path / "alertmanager.yml"
    am = yaml.safe_load(
        alertmanager_config(project, f"http://127.0.0.1:{webhook.server_address[1]}/alert")
    )
    am["route"].update(group_wait="1s", group_interval="1s")
    am_file.write_text(yaml.safe_dump(am))
    rules = tmp_path / "alerts.yml"
    groups = yaml.safe_load((project / "deploy/prometheus/alerts.yml").read_text())
    for group in groups["groups"]:
        for rule in group["rules"]:
            rule["for"] = "2s" if rule["alert"] == UPTIME_ALERT else rule.get("for", "0s")
    rules.write_text(yaml.safe_dump(groups))
    config = yaml.safe_load((project / "deploy/prometheus/prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [
        {"targets": [f"127.0.0.1:{am_port}"]}
    ]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "uptime")
    config["scrape_configs"] = [job]
    job["static_configs"] = [{"targets": [f"http://127.0.0.1:{api_port}/health/ready"]}]
    for relabel in job["relabel_configs"]:
        if relabel.get("target_label") == "__address__":
            relabel["replacement"] = f"127.0.0.1:{bb_port}"
    job["scrape_timeout"] = "1s"
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    checked = run([promtool, "check", "config", str(config_file)], cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    module_file = project / compose(project)["services"]["blackbox"]["volumes"][0].split(":")[0]
    prom = f"http://127.0.0.1:{prom_port}"
    servers = {
        "blackbox": [
            blackbox,
            f"--config.file={module_file}",
            f"--web.listen-address=127.0.0.1:{bb_port}",
        ],
        "alertmanager": alertmanager_command(
            amtool,
            f"--config.file={am_file}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ),
        "prometheus": [
            str(Path(promtool).with_name("prometheus")),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
    }

    def value(expr: str) -> float | None:
        result = prometheus_api(prom, "query", query=expr)["result"]
        return float(result[0]["value"][1]) if result else None

    try:
        with (
            process(servers["blackbox"], tmp_path, env, tmp_path / "blackbox.log"),
            process(servers["alertmanager"], tmp_path, env, tmp_path / "alertmanager.log"),
            process(servers["prometheus"], tmp_path, env, tmp_path / "prometheus.log"),
        ):
            # The API is not running: the probe fails and the alert reaches the webhook.
            wait_for("a failed probe", lambda: value('probe_success{job="uptime"}') == 0.0)
            wait_for(
                "the firing alert",
                lambda: value(f'ALERTS{{alertname="{UPTIME_ALERT}",alertstate="firing"}}'),
            )
            alert = wait_for("the webhook call", lambda: _Webhook.received)[0]["alerts"][0]
            assert alert["labels"]["alertname"] == UPTIME_ALERT
            assert alert["labels"]["instance"] == f"http://127.0.0.1:{api_port}/health/ready"
            assert alert["status"] == "firing"
            serve = [cli, "serve", "--host", "127.0.0.1", "--port", str(api_port)]
            with process(serve, project, env, tmp_path / "app.log") as api:
                app = f"http://127.0.0.1:{api_port}"
                wait_for(
                    "the app", lambda: api.poll() is None and http(app + "/health/ready")[0] == 200
                )
                wait_for("a passing probe", lambda: value('probe_success{job="uptime"}') == 1.0)
                wait_for(
                    "the alert to resolve",
                    lambda: value(f'ALERTS{{alertname="{UPTIME_ALERT}"}}') is None,
                )
    finally:
        webhook.shutdown()
