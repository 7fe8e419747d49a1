"""``ccmlops check``: every milestone item passes on a finished project and fails on a broken one.

One project is generated, its card prompts written, its pipeline run once with the shared
environment and everything committed; ``ccmlops check --json`` runs on it once and each item
is asserted from that report. Each failing case is a cheap copy of that project with one
deliverable broken, checked with that item alone. The project's test suite is cut to a fast
subset with a matching coverage threshold (the checker reads the project's own threshold);
the ML Test Score summary of the full suite is checked statically on a baked project.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import actionlint_binary, env_for, install_project, run
from rich.console import Console
from test_delivery import promtool_binary
from typer.testing import CliRunner

from ccmlops import checks as checker
from ccmlops.checks.command import run_with_progress
from ccmlops.cli import app
from ccmlops.template import template_dir

Outcome = checker.Outcome
CCMLOPS = str(Path(sys.executable).parent / "ccmlops")
PROMPT = re.compile(r"<!-- TODO\(author\):.*?-->")
# What a team writes in a judgement section of a card: long enough to be a real answer.
WRITTEN = "Written by the team for the course: who relies on it, where it fails, who may be harmed."
# test_cards.py proves that written cards (no prompts left) keep the project's own tests green.
KEPT_TESTS = ("conftest.py", "test_cards.py", "test_config.py", "test_evaluation.py",
              "test_exercise_m3.py", "serving")  # fmt: skip
KEPT_SERVING_TESTS = ("conftest.py", "serving_fakes.py", "test_exercise_m4.py")  # exercise M4.2
FAST_COVERAGE = 10  # the kept subset reaches about 15 % (the full suite needs 80)


# ----------------------------------------------------------------------------- the item table


def test_every_item_has_a_milestone_a_category_and_a_documented_check() -> None:
    ids = [item.id for item in checker.ITEMS]
    assert len(ids) == len(set(ids))
    for item in checker.ITEMS:
        assert 1 <= item.milestone <= len(checker.MILESTONES), item
        assert item.category in checker.CATEGORIES, item
        assert item.check.__doc__ and item.title, item
    assert {item.milestone for item in checker.ITEMS} == set(range(1, 7))
    # items appear in milestone order, so the report reads like the course
    assert [item.milestone for item in checker.ITEMS] == sorted(i.milestone for i in checker.ITEMS)


def test_milestones_are_cumulative() -> None:
    previous: set[str] = set()
    for level, name in enumerate(checker.MILESTONES, start=1):
        selected = {item.id for item in checker.select(name)}
        assert selected == {item.id for item in checker.ITEMS if item.milestone <= level}
        assert previous < selected
        previous = selected
    assert checker.select(None) == list(checker.ITEMS)
    assert checker.select("m2") == checker.select("M2")
    assert [item.id for item in checker.select("M6", ["tests", "cards"])] == ["cards", "tests"]


def test_usage_errors_name_the_valid_choices() -> None:
    with pytest.raises(checker.UsageError, match="choose from M1, M2, M3, M4, M5, M6"):
        checker.select("M7")
    with pytest.raises(checker.UsageError, match=r"unknown item.*nope.*cards"):
        checker.select("M1", ["nope"])


def written_card() -> str:
    """A document with every judgement section of the scoping document and both cards written."""
    headings = [h for name in checker.WRITTEN_DOCS for h in checker.judgement_sections(name)]
    return "# Card\n\n" + "".join(f"## {heading}\n\n{WRITTEN}\n\n" for heading in headings)


def _fake_project(root: Path, card: str | None = None) -> Path:
    """The marker files of a generated project and two cards, nothing else."""
    (root / "src" / "pkg" / "stages").mkdir(parents=True)
    (root / "src" / "pkg" / "stages" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "cli.py").write_text("")
    (root / "dvc.yaml").write_text("stages: {}\n")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\n[tool.hatch.build.targets.wheel]\npackages = ["src/pkg"]\n'
    )
    (root / "docs").mkdir()
    for name in ("scoping", "data_card", "model_card"):
        (root / "docs" / f"{name}.md").write_text(written_card() if card is None else card)
    return root


def test_the_scoping_document_needs_every_section_written(tmp_path: Path) -> None:
    """An untouched, prompt-deleted or missing docs/scoping.md fails M1; a written one passes."""
    project = checker.Project(_fake_project(tmp_path / "p"), "pkg", ["python"])
    check = next(item.check for item in checker.ITEMS if item.id == "cards")
    assert check(project).status == "passed"
    scoping = project.root / "docs" / "scoping.md"
    template = template_dir() / "{{cookiecutter.project_slug}}" / "docs" / "scoping.md"
    scoping.write_text(template.read_text())
    outcome = check(project)
    assert outcome.status == "failed"
    assert outcome.detail.startswith("TODO(author) prompts left in docs/scoping.md (6)")
    scoping.write_text(PROMPT.sub("", template.read_text()))
    outcome = check(project)
    assert outcome.status == "failed" and "scoping.md 'Problem' (0 characters)" in outcome.detail
    assert "scoping.md 'ML Test Score commitments' (0 characters)" in outcome.detail
    scoping.unlink()
    assert check(project).detail.startswith("docs/scoping.md missing")


def test_a_deleted_prompt_or_a_short_answer_is_not_a_written_section(tmp_path: Path) -> None:
    project = checker.Project(_fake_project(tmp_path / "p"), "pkg", ["python"])
    check = next(item.check for item in checker.ITEMS if item.id == "cards")
    assert check(project).status == "passed"
    card = project.root / "docs" / "model_card.md"
    written = card.read_text()
    prompt = checker.judgement_sections("model_card")["Intended use"]
    for answer in ("", "TBD", "<!-- about the uses -->", prompt + " " + "x" * 80):
        card.write_text(
            written.replace(f"## Intended use\n\n{WRITTEN}", f"## Intended use\n\n{answer}")
        )
        outcome = check(project)
        assert outcome.status == "failed", answer
        assert "model_card.md 'Intended use' (" in outcome.detail, outcome.detail


@pytest.mark.tier2
def test_the_tests_item_leaves_slow_end_to_end_tests_to_ci(
    tmp_path: Path, project_python: Path
) -> None:
    """The dvc and mlflow items check the pipeline's results; re-running it (tests marked
    ``slow``) is what made the tests item the checker's slowest."""
    root = _fake_project(tmp_path / "p")
    (root / "tests").mkdir()
    (root / "tests" / "test_fast.py").write_text("def test_fast():\n    assert True\n")
    (root / "tests" / "test_e2e.py").write_text(
        "import pytest\n\n\n@pytest.mark.slow\ndef test_repro():\n    assert False\n"
    )
    with (root / "pyproject.toml").open("a", encoding="utf-8") as pyproject:  # as generated
        pyproject.write('[tool.pytest.ini_options]\nmarkers = ["slow: end-to-end runs"]\n')
    project = checker.Project.find(root, str(project_python))
    outcome = next(item.check for item in checker.ITEMS if item.id == "tests")(project)
    assert outcome.status == "passed", outcome.detail
    assert "1 passed, 1 deselected" in outcome.detail and "slow left to CI" in outcome.detail


# What makes a test cost seconds: MLflow's store, a Jupyter kernel, `dvc init` as processes,
# the register and cards stages (MLflow) and the validate stages (Great Expectations).
HEAVY = {"mlflow", "papermill", ".setup", "register", "cards", "validate", "validate_images"}
# The image task's one in-process run of its pixel-model stages: without it the fast suite of
# an image M3 starter covers 75 % of the code, under the 80 % the tests item requires.
NEEDED_FOR_COVERAGE = {"test_images.py::test_train_evaluate_register_and_cards_in_process"}


def _marked_slow(node: ast.FunctionDef, module: ast.Module) -> bool:
    marks = [*node.decorator_list, *(a.value for a in module.body if isinstance(a, ast.Assign))]
    return any("slow" in ast.unparse(mark) for mark in marks)


def _used(node: ast.AST) -> Iterator[str]:
    """Modules imported and names or attributes read, except where a stage refuses its
    params or fails the gate: it stops before its heavy library starts."""
    if isinstance(node, ast.With) and re.search(
        r"raises\((ParamsError|GateFailed)", ast.unparse(node)
    ):
        return
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield from (str(getattr(node, "module", None) or node.names[0].name).split("."))
    yield from [getattr(node, "id", ""), f".{getattr(node, 'attr', '')}"]
    for child in ast.iter_child_nodes(node):
        yield from _used(child)


@pytest.mark.parametrize("task", ["classification", "image_classification"])
def test_the_fast_suite_runs_no_heavy_library_in_process(
    bake_ccmlops: Callable[..., Path], task: str
) -> None:
    """The tests item (``-m "not slow"``) fits the checker's 60 s only if a test that starts
    MLflow, Great Expectations' stage, a notebook kernel or DVC's set-up is marked ``slow``
    (CI runs it)."""
    tests = bake_ccmlops(ml_task=task) / "tests"
    heavy = []
    for path in tests.glob("test_*.py"):  # tests/serving/ is trimmed on its own (issue 15)
        module = ast.parse(path.read_text(encoding="utf-8"))
        for node in module.body:  # the tests and their fixtures
            if not isinstance(node, ast.FunctionDef) or _marked_slow(node, module):
                continue
            fixture = any("fixture" in ast.unparse(mark) for mark in node.decorator_list)
            if node.name.startswith("test") or fixture:
                used = HEAVY.intersection(_used(node))
                needed = f"{path.name}::{node.name}" in NEEDED_FOR_COVERAGE
                heavy += [f"{path.name}::{node.name}: {sorted(used)}"] * bool(used and not needed)
    assert not heavy, heavy


@pytest.mark.tier2
def test_the_exercise_items_read_their_tests_from_the_tests_items_run(
    tmp_path: Path, project_python: Path
) -> None:
    """One pytest session serves the tests item and the exercise tests it ran (running the
    exercise files again cost M3 and M4 20-25 s each); alone, the exercise item runs its file."""
    root = _fake_project(tmp_path / "p")
    (root / "tests").mkdir()
    (root / "tests" / "conftest.py").write_text(
        "from pathlib import Path\n\n\ndef pytest_sessionstart(session):\n"
        "    with (Path(__file__).parent.parent / 'sessions.txt').open('a') as f:\n"
        "        f.write('session\\n')\n"
    )
    (root / "tests" / "test_exercise_m3.py").write_text(
        "def test_m3_2_planted():\n    assert True\n\n\ndef test_m3_4_behaviour():\n"
        "    assert True\n"
    )
    project = checker.Project.find(root, str(project_python))
    items = checker.select("M3", ["tests", "exercises-m3"])
    quiet = Console(file=io.StringIO())
    data = run_with_progress(project, "M3", items, [], quiet)
    assert [item["status"] for item in data["items"]] == ["passed", "passed"], data["items"]
    assert (root / "sessions.txt").read_text().count("session") == 1
    alone = checker.Project.find(root, str(project_python))
    data = run_with_progress(alone, "M3", checker.select("M3", ["exercises-m3"]), [], quiet)
    assert data["items"][0]["status"] == "passed", data["items"]
    assert (root / "sessions.txt").read_text().count("session") == 2


def test_items_run_at_the_same_time_and_report_in_table_order(tmp_path: Path) -> None:
    """The first item waits for the second (in turn, it would wait in vain), a result both
    need is computed once, and the progress lines keep the table's order."""
    project = checker.Project(_fake_project(tmp_path / "p"), "pkg", ["python"])
    released, computed = threading.Event(), []

    def probe() -> str:
        computed.append("probe")
        return "probed"

    def first(project: checker.Project) -> checker.Outcome:
        ok = released.wait(timeout=10)
        shared = project.shared("probe", probe)
        return checker.passed(shared) if ok else checker.failed("ran alone, never released")

    def second(project: checker.Project) -> checker.Outcome:
        released.set()
        return checker.passed(project.shared("probe", probe))

    items = [
        checker.Item("first", 1, True, "docs", "waits for the second", first),
        checker.Item("second", 1, True, "docs", "releases the first", second),
    ]
    log = io.StringIO()
    data = run_with_progress(project, "M1", items, [], Console(file=log, width=200))
    assert [(i["status"], i["detail"]) for i in data["items"]] == [("passed", "probed")] * 2
    assert computed == ["probe"]
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("[1/2] first: waits for the second ... passed"), lines
    assert lines[1].startswith("[2/2] second: releases the first ... passed"), lines


def test_exit_codes_and_json_only_on_stdout(tmp_path: Path) -> None:
    runner = CliRunner()
    good = _fake_project(tmp_path / "good")
    result = runner.invoke(app, ["check", "--project", str(good), "--only", "cards", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing else on stdout
    assert list(data) == ["project", "milestone", "passed", "seconds", "items", "ml_test_score"]
    assert data["passed"] is True and data["milestone"] == "M6"
    assert list(data["items"][0]) == [
        "id", "milestone", "required", "category", "title", "status", "detail", "seconds",
        "counted",
    ]  # fmt: skip
    bad = _fake_project(tmp_path / "bad", "<!-- TODO(author): intended use. -->\n")
    result = runner.invoke(app, ["check", "--project", str(bad), "-m", "M1", "--json"])
    assert result.exit_code == 1
    (item,) = json.loads(result.stdout)["items"]
    assert item["status"] == "failed"
    assert item["detail"].startswith("TODO(author) prompts left in docs/scoping.md (1): ")
    table = runner.invoke(app, ["check", "--project", str(bad), "-m", "M1"])
    assert table.exit_code == 1 and "M1 not passed: cards" in table.stdout
    left_out = runner.invoke(app, ["check", "--project", str(bad), "-m", "M1", "--skip", "cards"])
    assert left_out.exit_code == 0  # the grader's own --skip leaves the item out of the verdict
    assert "[1/1] cards: " in left_out.stderr and "skipped (0.0 s)" in left_out.stderr


def test_an_item_that_could_not_be_checked_fails_the_milestone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _fake_project(tmp_path / "p")
    item = next(item for item in checker.ITEMS if item.id == "cards")
    untested = dataclasses.replace(item, check=lambda _: checker.skipped("tool not found"))
    monkeypatch.setattr("ccmlops.checks.command.select", lambda *_: [untested])
    result = CliRunner().invoke(app, ["check", "--project", str(project), "--only", "cards"])
    assert result.exit_code == 1, result.output
    assert "not passed: cards skipped" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "M9"], "unknown milestone 'M9': choose from M1, M2, M3, M4, M5, M6"),
        (["--only", "lint"], "unknown item(s) lint: choose from"),
        (["--skip", "lint"], "unknown item(s) lint: choose from"),
        ([], "is not a cookiecutter-mlops project (missing src/<package> in pyproject.toml)"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = run([CCMLOPS, "check", *args], cwd=tmp_path)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_folder_without_pyproject_or_a_bad_python_is_refused(tmp_path: Path) -> None:
    with pytest.raises(checker.NotAProject, match=r"has no pyproject\.toml"):
        checker.Project.find(tmp_path)
    project = _fake_project(tmp_path / "p")
    with pytest.raises(checker.UsageError, match="--python /no/python: no such interpreter"):
        checker.Project.find(project, "/no/python")


# ----------------------------------------------------------------------------- ML Test Score


@pytest.mark.parametrize(
    ("file", "name", "category"),
    [
        ("tests/test_validation.py", "test_suite_catches_each_fault", "data"),
        ("tests/test_data.py", "test_snake_case", "data"),
        ("tests/test_training.py", "test_default_model_beats_the_baseline", "model"),
        ("tests/serving/test_serving_api.py", "test_metrics_count_requests", "monitoring"),
        ("tests/serving/test_serving_api.py", "test_access_log_is_json", "monitoring"),
        ("tests/test_stages.py", "test_runner_turns_errors_into_one_line", "infrastructure"),
    ],
)
def test_classify(file: str, name: str, category: str) -> None:
    assert checker.classify(file, name) == category


def test_a_keyword_in_a_workflow_is_not_evidence_that_ci_runs_the_tests(
    bake_ccmlops: Callable[..., Path],
) -> None:
    project = bake_ccmlops(project_name="Score Words", ci=False, serving=False, docker=False)
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    ci = workflows / "ci.yml"
    ci.write_text(
        "# runs pytest and score-words check\n"
        "name: pytest\non: push\njobs:\n  tests:\n    name: pytest\n    runs-on: x\n"
        "    steps:\n      - name: pytest\n        run: echo pytest  # pytest\n",
        encoding="utf-8",
    )
    score = checker.ml_test_score(checker.Project(project, "score_words", ["python"]))
    assert score["tests_run_in_ci"] is False
    ci.write_text(ci.read_text().replace("echo pytest", "uv run --frozen pytest -q"))
    score = checker.ml_test_score(checker.Project(project, "score_words", ["python"]))
    assert score["tests_run_in_ci"] is True


def test_ml_test_score_of_the_default_and_the_ci_less_project(
    bake_ccmlops: Callable[..., Path],
) -> None:
    project = bake_ccmlops(project_name="Score Full")
    score = checker.ml_test_score(checker.Project(project, "score_full", ["python"]))
    assert score["tests_run_in_ci"] is True
    assert all(value["tests"] >= 3 for value in score["categories"].values()), score
    assert score["score"] == score["max"] == 4.0
    bare = bake_ccmlops(project_name="Score Bare", ci=False, serving=False, docker=False)
    score = checker.ml_test_score(checker.Project(bare, "score_bare", ["python"]))
    assert score["tests_run_in_ci"] is False
    assert {k: v["points"] for k, v in score["categories"].items()} == {
        "data": 0.5, "model": 0.5, "infrastructure": 0.5, "monitoring": 0.0,
    }  # fmt: skip


# ----------------------------------------------------------------------------- a real project


def _git(project: Path, *args: str) -> str:
    identity = ["-c", "user.name=Checker Test", "-c", "user.email=checker@example.com"]
    result = run(["git", *identity, *args], cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def actionlint_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only ``actionlint`` (the dev group's binary) and ``promtool`` (exercise
    M6.2), to put first on PATH."""
    folder = tmp_path_factory.mktemp("bin")
    (folder / "actionlint").symlink_to(actionlint_binary())
    (folder / "promtool").symlink_to(promtool_binary())
    return folder


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory, project_python: Path, actionlint_bin: Path
) -> Iterator[Path]:
    """A default project as a team would hand it in: prompts written, pipeline run, committed."""
    out = tmp_path_factory.mktemp("projects")
    made = run(
        [CCMLOPS, "new", "--no-input", "-o", str(out), "project_name=Check Done"],
        cwd=out,
        env=env_for(project_python),
    )
    assert made.returncode == 0, made.stderr
    project = out / "check_done"
    install_project(project_python, project)
    scoping = project / "docs" / "scoping.md"
    for template in [scoping, *(project / "src" / "check_done" / "_card_templates").glob("*.j2")]:
        template.write_text(PROMPT.sub(WRITTEN, template.read_text()))
    tests = project / "tests"
    for path in [*tests.iterdir(), *(tests / "serving").iterdir()]:
        if path.name not in (KEPT_SERVING_TESTS if path.parent.name == "serving" else KEPT_TESTS):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("fail_under = 80", f"fail_under = {FAST_COVERAGE}")
    )
    repro = run(
        [str(project_python), "-m", "dvc", "repro"], cwd=project, env=env_for(project_python)
    )
    assert repro.returncode == 0, repro.stdout[-2000:] + repro.stderr[-2000:]
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "Milestones done")
    trial = run(  # exercise M2.6: a second run with another parameter, kept in Git refs
        [str(project_python), "-m", "dvc", "exp", "run", "-q", "--temp", "-S", "sample.rows=3"],
        cwd=project,
        env=env_for(project_python),
    )
    assert trial.returncode == 0, trial.stderr[-2000:]
    yield project


def _checker_env(python: Path, actionlint_bin: Path) -> dict[str, str]:
    env = env_for(python)
    return {**env, "PATH": f"{actionlint_bin}{os.pathsep}{env['PATH']}"}


@pytest.fixture(scope="module")
def full_report(finished: Path, project_python: Path, actionlint_bin: Path) -> dict[str, Any]:
    """``ccmlops check --json`` on the finished project, run once for every item's assertion."""
    result = run(
        [CCMLOPS, "check", "--json", "--python", str(project_python)],
        cwd=finished,
        env=_checker_env(project_python, actionlint_bin),
    )
    report = json.loads(result.stdout)
    failing = [item for item in report["items"] if item["status"] != "passed"]
    assert result.returncode == 0, failing
    print(json.dumps([(i["id"], i["seconds"], i["detail"]) for i in report["items"]], indent=1))
    return report


@pytest.mark.tier2
def test_finished_project_passes_every_item(full_report: dict[str, Any]) -> None:
    items = {item["id"]: item for item in full_report["items"]}
    assert list(items) == [item.id for item in checker.ITEMS]
    assert {item["status"] for item in items.values()} == {"passed"}
    assert full_report["passed"] is True and full_report["milestone"] == "M6"
    assert "scoping document and cards written" in items["cards"]["detail"]
    assert "`dvc status` clean" in items["dvc"]["detail"]
    assert re.search(r"model 'check_done' version 1 registered from run \w{8} \(\d+ metrics",
                     items["mlflow"]["detail"])  # fmt: skip
    assert re.search(r"\d+ expectations passed", items["expectations"]["detail"])
    assert "CodeCarbon" in items["emissions"]["detail"]
    assert re.search(r"score (9|10)\.\d\d/10 \(required 9\)", items["pylint"]["detail"])
    tests = items["tests"]["detail"]
    assert re.search(r"\d+ passed.*coverage \d+(\.\d+)?% \(required 10%\)", tests)
    assert re.search(r"ready with check_done v1 .* OpenAPI lists \d+ paths", items["api"]["detail"])
    assert items["dockerfile"]["detail"] == "hadolint clean: Dockerfile, deploy/mlflow/Dockerfile"
    assert items["workflows"]["detail"] == "actionlint clean: cd.yml, ci.yml, uptime.yml"
    assert "/metrics answers" in items["monitoring"]["detail"]
    assert re.fullmatch(
        r"M2\.3 passed: stage sample \(sample\.rows\) ran; "
        r"M2\.4 passed: MLflow logged test_balanced_accuracy_score; "
        r"M2\.6 passed: experiment [\w-]+ ran with other parameters",
        items["exercises-m2"]["detail"],
    )
    for task in ("M3.2", "M3.4", "M4.2", "M5.1", "M6.2", "M6.3"):
        milestone = task[1]
        assert f"{task} passed: " in items[f"exercises-m{milestone}"]["detail"], task
    assert "/model/features" in items["exercises-m4"]["detail"]
    panel = "M6.3 passed: a panel of your own shows serving_predicted_rows_total"
    assert panel in items["exercises-m6"]["detail"]
    score = full_report["ml_test_score"]
    assert score["tests_run_in_ci"] is True and score["categories"]["model"]["tests"] > 0


@pytest.fixture
def broken(
    finished: Path, tmp_path: Path, project_python: Path, actionlint_bin: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str], Outcome]:  # fmt: skip
    """A copy of the finished project; ``check(item)`` runs that one item on it."""
    copy = tmp_path / finished.name
    shutil.copytree(finished, copy, symlinks=True)
    monkeypatch.setenv("PATH", f"{actionlint_bin}{os.pathsep}{os.environ['PATH']}")
    project = checker.Project.find(copy, str(project_python))

    def check(item: str) -> Outcome:
        (found,) = [i for i in checker.ITEMS if i.id == item]
        project.cache.clear()  # each call is a check of its own, as each `ccmlops check` is
        return checker.run_item(found, project).outcome

    check.root = copy  # type: ignore[attr-defined]
    return check


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.tier2
def test_cards_fail_with_a_prompt_left(broken: Any) -> None:
    card = broken.root / "docs" / "model_card.md"
    card.write_text(card.read_text() + "\n<!-- TODO(author): limitations. -->\n")
    outcome = broken("cards")
    assert outcome.status == "failed"
    assert outcome.detail == "TODO(author) prompts left in docs/model_card.md (1): run `dvc repro`"
    template = broken.root / "src" / "check_done" / "_card_templates" / "data_card.md.j2"
    template.write_text(template.read_text() + "<!-- TODO(author): sources. -->\n")
    assert broken("cards").detail == (
        "TODO(author) prompts left in src/check_done/_card_templates/data_card.md.j2 (1): "
        "write those sections in the templates, then `dvc repro`"
    )


@pytest.mark.tier2
def test_git_fails_with_uncommitted_work(broken: Any) -> None:
    (broken.root / "notes.md").write_text("draft\n")
    outcome = broken("git")
    assert outcome == checker.failed(
        "uncommitted changes: notes.md: commit them "
        "(dvc.lock, reports/ and the cards are results that belong in Git)"
    )
    shutil.rmtree(broken.root / ".git")
    assert "not a Git repository" in broken("git").detail


@pytest.mark.tier2
def test_dvc_fails_when_params_changed(broken: Any) -> None:
    _edit(broken.root / "params.yaml", "seed: 42", "seed: 7")
    outcome = broken("dvc")
    assert outcome.status == "failed"
    assert outcome.detail.startswith("stages not up to date: prepare")


@pytest.mark.tier2
def test_mlflow_fails_without_the_store_or_the_registered_version(broken: Any) -> None:
    bundle = broken.root / "models" / "model.json"
    bundle.unlink()  # a DVC-cached output: a link into the cache, not to be edited in place
    bundle.write_text(json.dumps({"name": "check_done", "version": "7"}))
    outcome = broken("mlflow")
    assert outcome.status == "failed" and "model 'check_done' in mlflow.db:" in outcome.detail
    (broken.root / "mlflow.db").unlink()
    outcome = broken("mlflow")
    assert outcome.status == "failed" and "mlflow.db is missing" in outcome.detail


@pytest.mark.tier2
def test_expectations_fail_on_a_failed_suite(broken: Any) -> None:
    report = broken.root / "reports" / "validation.json"
    report.write_text(json.dumps({"success": False, "expectations": 16, "failures": ["x: nulls"]}))
    assert broken("expectations") == checker.failed("validation failed (1 failures): x: nulls")


@pytest.mark.tier2
def test_emissions_fail_when_codecarbon_was_off(broken: Any) -> None:
    run_info = broken.root / "artifacts" / "train" / "run.json"
    data = json.loads(run_info.read_text())
    data["emissions"] = {"emissions_kg": 0.0, "tracked": False}
    run_info.unlink()
    run_info.write_text(json.dumps(data))
    assert broken("emissions").status == "failed"


@pytest.mark.tier2
def test_tests_fail_on_a_failing_test_and_on_low_coverage(broken: Any) -> None:
    shutil.rmtree(broken.root / "tests" / "serving")  # kept for M4.2; its conftest imports a lot
    for path in (broken.root / "tests").glob("test_*.py"):
        path.unlink()
    (broken.root / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    outcome = broken("tests")
    assert outcome.status == "failed"
    assert re.match(r"1 passed in .*; coverage \d% \(required 10%\)", outcome.detail), outcome
    (broken.root / "tests" / "test_broken.py").write_text("def test_broken():\n    assert False\n")
    outcome = broken("tests")
    assert outcome.status == "failed"
    assert "1 failed, 1 passed" in outcome.detail
    assert "first failure: tests/test_broken.py::test_broken" in outcome.detail


@pytest.mark.tier2
def test_pylint_fails_under_the_threshold(broken: Any) -> None:
    package = broken.root / "src" / "check_done"
    for path in package.iterdir():  # lint a small package: the bad module dominates the score
        if path.name not in ("stages", "__init__.py"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    lines = [f"value_{n} = undefined_{n}" for n in range(20)]
    (package / "bad.py").write_text('"""Bad."""\n' + "\n".join(lines) + "\n")
    outcome = broken("pylint")
    assert outcome.status == "failed"
    assert re.match(r"score -?\d+\.\d\d/10 < 9: e\.g\. src/check_done/bad\.py:2:", outcome.detail)


@pytest.mark.tier2
def test_api_fails_without_a_model(broken: Any) -> None:
    shutil.rmtree(broken.root / "models")
    outcome = broken("api")
    assert outcome.status == "failed"
    assert outcome.detail.startswith("GET /health/ready answered 503")


@pytest.mark.tier2
def test_dockerfile_fails_hadolint(broken: Any) -> None:
    dockerfile = broken.root / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN cd /tmp && apt-get install curl\n")
    outcome = broken("dockerfile")
    assert outcome.status == "failed" and "DL3003" in outcome.detail


@pytest.mark.tier2
def test_workflows_fail_actionlint(broken: Any) -> None:
    _edit(
        broken.root / ".github" / "workflows" / "ci.yml",
        "runs-on: ubuntu-latest",
        "runs-on: ubuntu-latest\n    needs: [missing]",
    )
    outcome = broken("workflows")
    assert outcome.status == "failed" and "missing" in outcome.detail


@pytest.mark.tier2
def test_monitoring_fails_without_a_scrape_config(broken: Any) -> None:
    (broken.root / "deploy" / "prometheus" / "prometheus.yml").write_text("global: {}\n")
    outcome = broken("monitoring")
    assert outcome.status == "failed" and "no scrape_configs" in outcome.detail


@pytest.mark.tier2
def test_exercise_items_fail_when_an_answer_is_removed(
    broken: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer key's blocks taken out of the finished project, as the stub has them: each
    exercise is graded failed by name, the others of its milestone still pass."""
    monkeypatch.setenv("PYTHONPATH", str(broken.root / "src"))  # the copy's package, not the
    # finished project's (installed editable in the shared environment)
    _edit(broken.root / "dvc.yaml", "\n  sample:\n", "\n  not_run:\n")
    outcome = broken("exercises-m2")
    assert outcome.status == "failed", outcome
    assert "M2.3 failed: stage(s) not_run: none has `params:`" in outcome.detail
    assert "M2.4 passed" in outcome.detail
    for ref in _git(broken.root, "for-each-ref", "--format=%(refname)", "refs/exps/").split():
        _git(broken.root, "update-ref", "-d", ref)
    assert "M2.6 failed: no experiment with other parameters" in broken("exercises-m2").detail
    package = broken.root / "src" / "check_done"
    _edit(
        package / "validation.py",
        'checks.append(Check("ExpectColumnUnique',
        '(Check("ExpectColumnUnique',
    )
    exercise_tests = broken.root / "tests" / "test_exercise_m3.py"
    exercise_tests.write_text(exercise_tests.read_text().split("\ndef test_m3_4")[0])
    outcome = broken("exercises-m3")
    assert outcome.status == "failed", outcome
    assert "M3.2 failed: test_m3_2_team_checks_catch_a_target_with_a_single_value fails" in (
        outcome.detail
    )
    assert "M3.4 failed: no test test_m3_4* in tests/test_exercise_m3.py" in outcome.detail
    _edit(package / "serving" / "routes.py", '"/model/features"', '"/model"')
    assert (
        broken("exercises-m4").detail
        == "M4.2 failed: no route of your own in src/check_done/serving/"
    )
    alerts = broken.root / "deploy" / "prometheus" / "alerts.test.yml"
    _edit(alerts, "alertname: ModelApiNoTraffic", "alertname: ModelApiDown")
    dashboard = broken.root / "deploy" / "grafana" / "dashboards" / "model-api.json"
    panels = json.loads(dashboard.read_text())
    panels["panels"] = [p for p in panels["panels"] if p["title"] != "Rows predicted / s"]
    dashboard.write_text(json.dumps(panels))
    outcome = broken("exercises-m6")
    assert outcome.detail.startswith("M6.2 failed: ModelApiNoTraffic not tested"), outcome
    assert "M6.3 failed: no panel of your own in deploy/grafana/dashboards/" in outcome.detail


@pytest.mark.tier2
def test_parts_not_generated_are_not_applicable(broken: Any) -> None:
    for path in ("src/check_done/serving", "Dockerfile", "deploy", ".github"):
        target = broken.root / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    for item in ("api", "dockerfile", "workflows", "monitoring"):
        assert broken(item).status == "not applicable", item


@pytest.mark.tier2
def test_missing_linters_are_skipped_not_failed(
    broken: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    project = checker.Project(broken.root, "check_done", ["/nonexistent/python"])
    for item in ("dockerfile", "workflows"):
        (found,) = [i for i in checker.ITEMS if i.id == item]
        outcome = checker.run_item(found, project).outcome
        assert outcome.status == "skipped" and "not found" in outcome.detail


def test_default_milestone_is_the_projects_own(tmp_path: Path) -> None:
    """An M1 starter (no dvc.yaml yet) is graded on M1 only, from its .cruft.json answer."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "m-one"\n[tool.hatch.build.targets.wheel]\npackages = ["src/m_one"]\n'
    )
    (tmp_path / "src" / "m_one" / "_card_templates").mkdir(parents=True)
    (tmp_path / "src" / "m_one" / "cli.py").write_text("")
    state = {"context": {"cookiecutter": {"milestone": "M1"}}}
    (tmp_path / ".cruft.json").write_text(json.dumps(state))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "data_card.md").write_text("# Data\n")
    (tmp_path / "docs" / "scoping.md").write_text(written_card())
    result = run([CCMLOPS, "check", "--json", "--python", sys.executable], cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["milestone"] == "M1"
    assert [(item["id"], item["status"]) for item in report["items"]] == [("cards", "failed")]
    assert "docs/model_card.md missing: run `uv run m-one cards`" in report["items"][0]["detail"]
    assert result.returncode == 1
