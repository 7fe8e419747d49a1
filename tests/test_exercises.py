"""The `exercises` switch: stubs that name their task, the README's task list, and proof that
the reference solution (the same answers without exercises) passes the tests the stubs fail."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, env_for, run
from test_delivery import promtool_binary

from ccmlops import checks as checker
from ccmlops.checks import exercises as graded
from hooks import exercises

# Task id -> (file in the package, function): what the template leaves for students.
TASKS = {
    "M1.1": ("data.py", "select_columns"),
    "M2.1": ("training.py", "build_estimator"),
    "M2.2": ("evaluation.py", "baseline"),
    "M3.1": ("validation.py", "build_checks"),
    "M4.1": ("serving/settings.py", "_no_wildcard"),
    "M6.1": ("monitoring/drift.py", "_psi"),
}
WITHOUT_SERVING = {"M1.1", "M2.1", "M2.2", "M3.1"}  # serving/ and monitoring/ are removed
# Task id -> files (in the project): tasks whose stub is a `# TODO exercise` comment, each graded
# by an `exercises-m<N>` checker item (src/ccmlops/checks/exercises.py).
TODO_TASKS = {
    "M2.3": ("dvc.yaml", "params.yaml", "src/{pkg}/config.py"),
    "M2.4": ("src/{pkg}/evaluation.py",),
    "M2.5": ("dvc.yaml", "src/{pkg}/stages/prepare_images.py"),  # the image task only
    "M2.6": ("params.yaml",),  # an experiment: graded by its Git ref
    "M3.2": ("src/{pkg}/validation.py",),
    "M3.3": ("src/{pkg}/image_quality.py",),  # the image task only
    "M3.4": ("tests/test_exercise_m3.py",),
    "M4.2": ("src/{pkg}/serving/routes.py",),
    "M5.1": ("Dockerfile",),
    "M6.2": ("deploy/prometheus/alerts.test.yml", "deploy/prometheus/alerts.yml"),
    "M6.3": ("deploy/grafana/provisioning/dashboards/dashboards.yml",),
}
IMAGE_TASKS = {"M2.5", "M3.3"}
README_TASK = re.compile(r"^- \[ \] \*\*(M\d\.\d+)\*\* (.+) \(`src/(\w+)/(\S+)`, `(\w+)`\)$")
NAME = "Exercise Class"
# A pytest plugin for the generated project's run: one JSON line per failed test phase.
FAILURE_LOG_PLUGIN = """
import json
import os


def pytest_runtest_logreport(report):
    if report.failed:
        with open(os.environ["EXERCISE_FAILURE_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"nodeid": report.nodeid, "text": report.longreprtext}) + "\\n")
"""


def function_node(path: Path, name: str) -> ast.FunctionDef:
    """The (module-level or method) function ``name`` defined in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
    assert len(found) == 1, f"{name} in {path}"
    return found[0]


def stub_task(function: ast.FunctionDef) -> str | None:
    """The task id when the body is a docstring plus ``raise NotImplementedError("Task ...")``."""
    body = function.body
    if len(body) != 2 or not isinstance(body[0], ast.Expr) or not isinstance(body[1], ast.Raise):
        return None
    call = body[1].exc
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    assert call.func.id == "NotImplementedError"
    message = ast.literal_eval(call.args[0])
    found = re.match(r"Task (M\d\.\d+) \(README\.md, section Tasks\): \S", message)
    assert found, message
    return found[1]


def readme_tasks(project: Path) -> dict[str, tuple[str, str]]:
    """Task id -> (file in the package, function) as the README's Tasks section lists them."""
    listed = {}
    for line in (project / "README.md").read_text(encoding="utf-8").splitlines():
        found = README_TASK.match(line)
        if found:
            listed[found[1]] = (found[4], found[5])
    return listed


def test_template_marks_exactly_the_listed_tasks() -> None:
    """Every marker in the template is a row of TASKS or TODO_TASKS (a new task needs a test
    row here)."""
    project = ROOT / "{{cookiecutter.project_slug}}"
    marked: dict[str, set[str]] = {}
    for path in exercises.marked_files(project):
        for line in path.read_text(encoding="utf-8").splitlines():
            found = exercises.EXERCISE_START.match(line)
            if found:
                header = exercises.EXERCISE_HEADER.match(found["rest"])
                assert header, line
                rel = path.relative_to(project).as_posix()
                marked.setdefault(header["task"], set()).add(
                    rel.replace("{{cookiecutter.__package_name}}", "{pkg}")
                )
    expected = {task: {f"src/{{pkg}}/{file}"} for task, (file, _) in TASKS.items()}
    assert marked == expected | {task: set(files) for task, files in TODO_TASKS.items()}


def test_exercise_render_stubs_every_task_and_lists_it(bake_ccmlops: Callable[..., Path]) -> None:
    project = bake_ccmlops(project_name=NAME, exercises=True)
    package = project / "src" / "exercise_class"
    for task, (file, function) in TASKS.items():
        assert stub_task(function_node(package / file, function)) == task
    assert readme_tasks(project) == TASKS
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "<!-- tasks -->" not in readme and readme.count("## Tasks\n") == 1
    assert "`uv run pytest`" in readme.split("## Tasks")[1].split("\n## ")[0]
    for args in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def todo_stubs(project: Path) -> dict[str, tuple[str, ...]]:
    """Task id -> files holding its `# TODO exercise` comment."""
    found: dict[str, list[str]] = {}
    for path in exercises.marked_files(project):
        for task in re.findall(r"# TODO exercise (M\d\.\d+):", path.read_text(encoding="utf-8")):
            found.setdefault(task, []).append(path.relative_to(project).as_posix())
    return {task: tuple(sorted(files)) for task, files in found.items()}


def test_exercise_evidence_tells_the_stub_from_the_answer_key(
    bake_ccmlops: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tier 1, the static evidence: each `# TODO exercise` stub fails its exercise's check, the
    answer key (exercises=false) passes it. What needs a run (the DVC stage in dvc.lock, the
    metric in MLflow, the experiment's Git ref, the exercise tests) is graded on the finished
    project in test_checker.py and with answers removed in
    test_exercise_items_fail_when_an_answer_is_removed."""
    stub = bake_ccmlops(project_name=NAME, exercises=True)
    expected = {
        task: tuple(sorted(f.replace("{pkg}", "exercise_class") for f in files))
        for task, files in TODO_TASKS.items()
        if task not in IMAGE_TASKS
    }
    assert todo_stubs(stub) == expected
    answer = bake_ccmlops(project_name="Exercise Key")
    assert todo_stubs(answer) == {}
    (answer / "dvc.lock").write_text("schema: '2.0'\nstages:\n  sample: {}\n")  # as if run
    monkeypatch.setenv("PATH", f"{Path(promtool_binary()).parent}{os.pathsep}{os.environ['PATH']}")
    static = {
        "M2.3": graded.check_stage,
        "M5.1": graded.check_label,
        "M6.2": graded.check_alert,
    }
    for task, check in static.items():
        stubbed = check(checker.Project.find(stub, sys.executable))
        assert stubbed.status == "failed", (task, stubbed)
        answered = check(checker.Project.find(answer, sys.executable))
        assert answered.status == "passed", (task, answered)
    route = graded.check_route(checker.Project.find(stub, sys.executable))
    assert route.detail == "no route of your own in src/exercise_class/serving/"
    metric = graded.check_metric(checker.Project.find(stub, sys.executable))
    assert metric.status == "failed" and "no metric of your own" in metric.detail
    experiment = graded.check_experiment(checker.Project.find(stub, sys.executable))
    assert experiment.status == "failed" and "no experiment" in experiment.detail  # no refs/exps
    image_exercise_evidence_tells_the_stub_from_the_answer_key(bake_ccmlops)


def image_exercise_evidence_tells_the_stub_from_the_answer_key(
    bake_ccmlops: Callable[..., Path],
) -> None:
    """M2.5 (image task): prepare's per-class counts, a DVC metric; graded on a faked run
    here (the real one: test_pipeline_project.py's image case runs `ccmlops check`)."""
    stub = bake_ccmlops(project_name="Image Class", ml_task="image_classification", exercises=True)
    expected = {task: files for task, files in todo_stubs(stub).items() if task in IMAGE_TASKS}
    assert expected == {
        task: tuple(sorted(f.replace("{pkg}", "image_class") for f in TODO_TASKS[task]))
        for task in IMAGE_TASKS
    }
    answer = bake_ccmlops(project_name="Image Key", ml_task="image_classification")
    for project in (stub, answer):  # as if `dvc repro` had run the answer key's prepare stage
        (project / "data" / "processed").mkdir(parents=True, exist_ok=True)
        (project / "data" / "processed" / "spec.json").write_text('{"classes": ["0", "1"]}')
        counts = {"train": {"0": 3, "1": 4}, "test": {"0": 1, "1": 1}}
        (project / "reports").mkdir(exist_ok=True)
        (project / "reports" / "split.json").write_text(json.dumps(counts))
        lock = "schema: '2.0'\nstages:\n  prepare:\n    outs:\n    - path: reports/split.json\n"
        (project / "dvc.lock").write_text(lock)
    stubbed = graded.check_split_counts(checker.Project.find(stub, sys.executable))
    assert stubbed.status == "failed" and "no metrics file" in stubbed.detail, stubbed
    answered = graded.check_split_counts(checker.Project.find(answer, sys.executable))
    assert answered.status == "passed", answered
    (answer / "reports" / "split.json").write_text('{"train": {"0": 3}}')  # a class missing
    partial = graded.check_split_counts(checker.Project.find(answer, sys.executable))
    assert partial.status == "failed" and "'1'" in partial.detail, partial


def test_exercise_render_without_serving_lists_only_what_is_there(
    bake_ccmlops: Callable[..., Path],
) -> None:
    project = bake_ccmlops(project_name=NAME, exercises=True, serving=False, docker=False)
    assert set(readme_tasks(project)) == WITHOUT_SERVING


def test_solution_render_has_no_markers_and_no_task_list(
    bake_ccmlops: Callable[..., Path],
) -> None:
    project = bake_ccmlops(project_name=NAME)
    for path in project.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "# exercise" not in text and "# end exercise" not in text, path
        assert 'NotImplementedError("Task' not in text
    package = project / "src" / "exercise_class"
    for file, function in TASKS.values():
        assert stub_task(function_node(package / file, function)) is None
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "<!-- tasks -->" not in readme and "## Tasks" not in readme
    assert "is yours.\n\n## Pipeline" in readme  # the placeholder's blank line went with it


def failed_tests(python: Path, project: Path, log: Path, *args: str) -> tuple[int, list[dict]]:
    """Run the project's tests with the failure-log plugin; (exit code, failed phases)."""
    log.unlink(missing_ok=True)
    env = {
        **env_for(python),
        "PYTHONPATH": str(log.parent),
        "EXERCISE_FAILURE_LOG": str(log),
    }
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "failure_log"]
    result = run([*command, *args], cwd=project, env=env, timeout=600)
    assert result.returncode in {0, 1}, result.stdout[-3000:] + result.stderr[-3000:]
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return result.returncode, [json.loads(line) for line in lines]


@pytest.mark.tier2
def test_stubbed_tests_fail_naming_their_task_and_the_solution_passes_them(
    generated_project: Callable[..., Path], project_python: Path, tmp_path: Path
) -> None:
    """Runs once (not per option combination): the default answers with and without exercises."""
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "failure_log.py").write_text(FAILURE_LOG_PLUGIN, encoding="utf-8")
    log = plugin_dir / "failures.jsonl"

    exercise = generated_project(f"project_name={NAME}", "exercises=true")
    code, failures = failed_tests(project_python, exercise, log, "-m", "not slow")
    assert code == 1 and failures
    named: dict[str, set[str]] = {task: set() for task in TASKS}
    for failure in failures:
        found = re.search(r"Task (M\d\.\d+)", failure["text"])
        known = found and found[1] in TASKS | TODO_TASKS.keys()
        assert known, f"{failure['nodeid']}:\n{failure['text'][-2000:]}"
        named.setdefault(found[1], set()).add(failure["nodeid"])
    assert all(named.values()), f"tasks no test points at: {[t for t, n in named.items() if not n]}"
    assert named.get("M3.2"), "the planted-fault test of exercise M3.2 passed on the stub"
    # the project's conftest shortens a stub's failure to one line naming the task
    assert any(
        re.fullmatch(r"Task M\d\.\d+ not done yet: .+ \(README\.md, section Tasks\)", f["text"])
        for f in failures
    )

    solution = generated_project(f"project_name={NAME}")  # same answers, reference solution
    node_ids = sorted({failure["nodeid"] for failure in failures})
    code, failures = failed_tests(project_python, solution, log, *node_ids)
    assert code == 0 and not failures, failures
