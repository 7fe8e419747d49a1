"""The exercise items: per milestone, evidence that the team did each exercise (issue 17.1).

Why evidence, not a diff: a student's answer may differ from the template's answer key, so each
exercise checks what the tool itself shows (a stage DVC ran, a metric MLflow logged, a planted-
fault test that passes, an alert promtool tested). "Beyond the template's own" is read from the
template's copy of the file with its marked answer blocks removed: an untouched stub fails.
The M1 exercises (scoping document, data card, model card) are the ``cards`` item.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..template import template_dir
from .project import FAILED, SKIPPED, Outcome, Project, failed, not_applicable, passed, skipped

ANSWER_BLOCK = re.compile(r"^[ \t]*# exercise M.*?^[ \t]*# end exercise[ \t]*\n", re.M | re.S)
# The metrics evaluation.py computes (register logs each as test_<name>).
TEMPLATE_METRICS = frozenset({"accuracy", "f1_macro", "roc_auc", "rmse", "mae", "r2"})
# What `dvc exp run` commits: refs/exps/<2 hex>/<rest of the baseline's sha>/<name>.
EXPERIMENT_REF = re.compile(r"^refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/[^/]+$")
ROUTE = re.compile(r"@\w+\.(?:get|post|put|patch|delete)\(\s*\"(/[^\"]*)\"")


@functools.cache
def template_own(rel: str) -> str:
    """The template's copy of ``rel`` without its exercise answers (``{pkg}``: the package)."""
    rel = rel.replace("{pkg}", "{{cookiecutter.__package_name}}")
    path = template_dir() / "{{cookiecutter.project_slug}}" / rel
    return ANSWER_BLOCK.sub("", path.read_text(encoding="utf-8")) if path.is_file() else ""


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def lookup(data: Any, dotted: str) -> bool:
    """Whether ``a.b`` names a value in nested mappings."""
    for key in dotted.split("."):
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def check_stage(project: Project) -> Outcome:
    """M2.3: a stage beyond the template's, with parameters found in params.yaml, that ran."""
    own = set(re.findall(r"^  (\w+):\s*$", template_own("dvc.yaml"), re.M))
    stages = (load_yaml(project.root / "dvc.yaml") or {}).get("stages") or {}
    new = [name for name in stages if name not in own]
    if not new:
        return failed("no stage of your own in dvc.yaml")
    params = load_yaml(project.root / "params.yaml")
    ran = (load_yaml(project.root / "dvc.lock") or {}).get("stages") or {}
    for name in new:
        keys = [key for key in stages[name].get("params") or [] if isinstance(key, str)]
        if keys and all(lookup(params, key) for key in keys) and name in ran:
            return passed(f"stage {name} ({', '.join(keys)}) ran")
    return failed(
        f"stage(s) {', '.join(new)}: none has `params:` found in params.yaml and a dvc.lock "
        "entry (declare its parameters, then `dvc repro`)"
    )


def check_metric(project: Project) -> Outcome:
    """M2.4: reports/metrics.json and the registered model's MLflow run have a metric of yours."""
    from .items import mlflow_run  # items imports this module's table

    model = json.loads(_text(project.root / "reports" / "metrics.json") or "{}").get("model", {})
    new = sorted(set(model) - TEMPLATE_METRICS)
    if not new:
        return failed("no metric of your own in reports/metrics.json (evaluate stage)")
    found = mlflow_run(project)
    logged = [name for name in new if f"test_{name}" in found.get("metrics", [])]
    if not logged:
        reason = found.get("error", f"run {found.get('run_id', '?')[:8]} lacks them")
        return failed(f"{', '.join(new)} not logged to MLflow ({reason}): `dvc repro`")
    return passed(f"MLflow logged {', '.join(f'test_{name}' for name in logged)}")


def check_split_counts(project: Project) -> Outcome:
    """M2.5 (images): prepare declares a metrics file counting every class, and it ran."""
    stage = ((load_yaml(project.root / "dvc.yaml") or {}).get("stages") or {}).get("prepare") or {}
    files = [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics") or []]
    if not files:
        return failed("the prepare stage declares no metrics file in dvc.yaml")
    ran = ((load_yaml(project.root / "dvc.lock") or {}).get("stages") or {}).get("prepare") or {}
    written = {out.get("path") for out in ran.get("outs") or [] if isinstance(out, dict)}
    spec = json.loads(_text(project.root / "data" / "processed" / "spec.json") or "{}")
    for name in files:
        counted = _keys(json.loads(_text(project.root / name) or "{}"))
        missing = sorted(set(spec.get("classes") or []) - counted)
        if name in written and counted and not missing:
            return passed(f"{name} counts the images of every class")
    return failed(f"{', '.join(files)}: not in dvc.lock, or lacks class(es) {missing}: `dvc repro`")


def check_experiment(project: Project) -> Outcome:
    """M2.6: an experiment that ran with other parameters than its baseline, kept in Git.

    Why Git refs: `dvc exp run` commits each experiment on top of its baseline commit, and
    `dvc exp push origin` shares it, so a fresh clone sees both runs (grade fetches them)."""
    listed = project.command(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"])
    for ref in filter(EXPERIMENT_REF.match, listed.stdout.split()):
        changed = project.command(["git", "diff", "--name-only", f"{ref}^", ref]).stdout.split()
        if {"params.yaml", "dvc.lock"} <= set(changed):
            return passed(f"experiment {ref.rsplit('/', 1)[1]} ran with other parameters")
    return failed(
        "no experiment with other parameters in Git: `dvc exp run -S <param>=<value>`, "
        "compare with `dvc exp show`, then `dvc exp push origin`"
    )


def _keys(data: Any) -> set[str]:
    """Every key of a nested JSON object (a DVC metrics file)."""
    if not isinstance(data, dict):
        return set()
    return set(data).union(*(_keys(value) for value in data.values()))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def exercise_tests(project: Project, rel: str) -> dict[str, str]:
    """Test name -> PASSED/FAILED/ERROR for the project's exercise test file ``rel``."""
    if not (project.root / rel).is_file():
        return {}
    if "tests" in project.selected:  # the whole suite runs anyway: read the file's results
        from .items import project_tests  # items imports this module's table

        result = project_tests(project)
    else:
        result = project.run("-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", rel)
    found = rf"^(PASSED|FAILED|ERROR) {re.escape(rel)}::(\w+)"
    return {name: status for status, name in re.findall(found, result.stdout, re.M)}


def by_test(rel: str, prefix: str, what: str) -> Callable[[Project], Outcome]:
    """Graded by the project's own test(s) named ``prefix*`` in ``rel``."""

    def check(project: Project) -> Outcome:
        results = {k: v for k, v in _tests(project, rel).items() if k.startswith(prefix)}
        if not results:
            return failed(f"no test {prefix}* in {rel}: write it")
        bad = [name for name, status in results.items() if status != "PASSED"]
        if bad:
            return failed(f"{', '.join(bad)} fails: `pytest {rel}`")
        return passed(f"{what} ({', '.join(results)} passes)")

    return check


def _tests(project: Project, rel: str) -> dict[str, str]:
    """The file's results, run once per project."""
    return dict(project.shared(f"tests {rel}", lambda: exercise_tests(project, rel)))


def check_route(project: Project) -> Outcome:
    """M4.2: a route beyond the template's in the serving package, and its test passes (read
    from the source: starting the API for the schema took 40 s of the check's minute)."""
    serving = project.root / "src" / project.package / "serving"
    if not serving.is_dir():
        return not_applicable("no serving app (serving=false)")
    own = {
        path
        for module in ("app", "routes")
        for path in ROUTE.findall(template_own(f"src/{{pkg}}/serving/{module}.py"))
    }
    mine = {path for module in serving.glob("*.py") for path in ROUTE.findall(_text(module))}
    if not mine - own:
        return failed(f"no route of your own in src/{project.package}/serving/")
    outcome = by_test("tests/serving/test_exercise_m4.py", "test_m4_2", "tested")(project)
    if outcome.status == FAILED:
        return outcome
    return passed(f"new route(s) {', '.join(sorted(mine - own))}; {outcome.detail}")


def check_label(project: Project) -> Outcome:
    """M5.1: the Dockerfile labels the image with OCI annotations."""
    dockerfile = project.root / "Dockerfile"
    if not dockerfile.is_file():
        return not_applicable("no Dockerfile (docker=false)")
    labels = re.findall(r"org\.opencontainers\.image\.(\w+)=", _text(dockerfile))
    if not labels:
        return failed("no `LABEL org.opencontainers.image.*` in the Dockerfile")
    return passed(f"OCI labels: {', '.join(labels)} (the dockerfile item runs hadolint)")


def check_alert(project: Project) -> Outcome:
    """M6.2: an alert beyond the template's, named in alerts.test.yml, and promtool passes."""
    folder = project.root / "deploy" / "prometheus"
    if not (folder / "alerts.yml").is_file():
        return not_applicable("no Prometheus alert rules (docker=false or serving=false)")
    pattern = re.compile(r"alert(?:name)?: (\w+)")
    own = set(pattern.findall(template_own("deploy/prometheus/alerts.yml")))
    new = sorted(set(pattern.findall(_text(folder / "alerts.yml"))) - own)
    tested = [name for name in new if name in pattern.findall(_text(folder / "alerts.test.yml"))]
    if not tested:
        what = f"{', '.join(new)} not tested" if new else "no alert of your own"
        return failed(f"{what}: add it to alerts.yml and a case to alerts.test.yml")
    promtool = project.tool("promtool")
    if promtool is None:
        return skipped(f"promtool not found (alerts {', '.join(tested)} not run)")
    result = project.command([promtool, "test", "rules", "alerts.test.yml"], cwd=folder)
    if result.returncode != 0:
        return failed(f"promtool test rules: {(result.stdout + result.stderr).strip()[-300:]}")
    return passed(f"alert(s) {', '.join(tested)} pass `promtool test rules`")


EXPR = re.compile(r'"expr":\s*"((?:[^"\\]|\\.)*)"')
# M6.3's answer panel: JSON has no comments, so the template keeps it out of exercise renders.
ANSWER_PANEL = re.compile(r"\{%- if not cookiecutter\.exercises %\}.*?\{%- endif %\}", re.S)
PROMQL_NAME = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")


def family(name: str) -> str:
    """A metric's family name: ``x`` for ``x_total``, ``x_bucket``, ``x_sum``, ``x_count``."""
    return re.sub(r"_(?:total|bucket|sum|count|created)$", "", name)


def check_panel(project: Project) -> Outcome:
    """M6.3: a dashboard panel beyond the template's whose query reads a metric the API
    exports (its /metrics, from the probe the api and monitoring items share)."""
    folder = project.root / "deploy" / "grafana" / "dashboards"
    if not folder.is_dir():
        return not_applicable("no Grafana dashboards (docker=false or serving=false)")
    template = template_own("deploy/grafana/dashboards/model-api.json")
    own = set(EXPR.findall(ANSWER_PANEL.sub("", template)))
    new = {expr for path in folder.glob("*.json") for expr in EXPR.findall(_text(path))} - own
    if not new:
        return failed("no panel of your own in deploy/grafana/dashboards/ (a new `expr`)")
    metrics = project.server().get("metrics", "")
    exported = {
        family(name) for name in re.findall(r"^(?:# TYPE )?([a-zA-Z_:][\w:]*)", metrics, re.M)
    }
    named = {name for expr in new for name in PROMQL_NAME.findall(expr)}
    shown = sorted(name for name in named if family(name) in exported)
    if not shown:
        return failed(f"your panel's query names no metric /metrics exports: {sorted(new)[0]}")
    return passed(f"a panel of your own shows {', '.join(shown)}")


@dataclass(frozen=True)
class Exercise:
    task: str
    check: Callable[[Project], Outcome]
    images_only: bool = False


M3_TESTS = "tests/test_exercise_m3.py"
EXERCISES: dict[int, tuple[Exercise, ...]] = {
    2: (
        Exercise("M2.3", check_stage),
        Exercise("M2.4", check_metric),
        Exercise("M2.5", check_split_counts, True),
        Exercise("M2.6", check_experiment),
    ),
    3: (
        Exercise("M3.2", by_test(M3_TESTS, "test_m3_2", "the planted fault is caught")),
        Exercise("M3.3", by_test(M3_TESTS, "test_m3_3", "the blank image is caught"), True),
        Exercise("M3.4", by_test(M3_TESTS, "test_m3_4", "behavioural test")),
    ),
    4: (Exercise("M4.2", check_route),),
    5: (Exercise("M5.1", check_label),),
    6: (Exercise("M6.2", check_alert), Exercise("M6.3", check_panel)),
}


def grade(milestone: int) -> Callable[[Project], Outcome]:
    """The milestone's exercises, each passed/failed/skipped with its reason, on one line."""

    def check(project: Project) -> Outcome:
        images = (project.root / "src" / project.package / "images.py").is_file()
        done = [
            (exercise.task, exercise.check(project))
            for exercise in EXERCISES[milestone]
            if images or not exercise.images_only
        ]
        applicable = [(task, o) for task, o in done if o.status != "not applicable"]
        if not applicable:
            return not_applicable("; ".join(f"{task}: {o.detail}" for task, o in done))
        line = "; ".join(f"{task} {o.status}: {o.detail}" for task, o in applicable)
        statuses = {o.status for _, o in applicable}
        if FAILED in statuses:
            return failed(line)
        return skipped(line) if SKIPPED in statuses else passed(line)

    tasks = ", ".join(exercise.task for exercise in EXERCISES[milestone])
    check.__doc__ = f"M{milestone}: the exercises {tasks}, each graded by its evidence."
    return check
