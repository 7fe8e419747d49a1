"""Docs that work as written: every shell command in the docs is run by a named test, or the
doc says, right before its block, why it is not run here (``<!-- not run: reason -->``).

The docs are the site (``docs/pages``), the root README and the generated project's README
and ``docs/``, read as rendered for the default answers, a course starter (M1) and the image
task (about 3 s). Blocks marked ``<!-- example: … -->`` are copies of a generated doc's block
(``test_docs_site.py`` checks they match), so their commands are checked at the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT

TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+)(?:bash|sh|console|shell)[ \t]*\n(?P<body>.*?)"
    r"^(?P=indent)(?P=fence)[ \t]*$",
    flags=re.MULTILINE | re.DOTALL,
)
NOT_RUN = re.compile(r"<!-- not run: (?P<reason>\S[^\n]*?) -->$")
COMMENT = re.compile(r"(^|\s)#\s.*$")  # a trailing `# comment` (none of our commands quote one)

# A command (as the user types it, with the default project's names) -> the tests that run
# it: "tests/FILE.py::NAME" (the template's suite) or "project/tests/FILE.py::NAME" (the
# generated project's own). Each pattern must match a whole command.
NEWCOMER = "tests/test_newcomer.py::test_readme_generate_and_run_command_works_on_a_fresh_copy"
CHAIN = "tests/test_milestones.py::test_a_student_moves_from_m1_to_m6_by_updates_alone"
NAMED = "tests/test_projects.py::test_named_project_passes_its_own_tests_and_lint"
PIPELINE = "tests/test_pipeline_project.py::test_repro_push_and_no_op_in_the_generated_project"
E2E = "project/tests/test_pipeline_e2e.py::"
TEAM = "tests/test_team_servers.py::"
UPDATE = "tests/test_update.py::"
CHECKER = "tests/test_checker.py::"
QUALITY = "project/tests/test_quality.py::"
MONITOR = "project/tests/test_monitoring.py::"
SERVE = "project/tests/serving/test_serving_process.py::"
REGISTRY: dict[str, tuple[str, ...]] = {
    # the template
    r"python3 -m pip install uv==[\d.]+": (NEWCOMER,),
    r"uv run (--frozen )?pytest -n 2": (
        "tests/test_docs.py::test_ci_runs_exactly_the_readme_test_command",
    ),
    r"uv run (--frozen )?ccmlops new": (
        "tests/test_entrypoints.py::test_ccmlops_interactive_takes_typed_answers",
    ),
    r"uv run (--frozen )?ccmlops new --no-input( -o \S+)?( \w+=(\w+|\"[^\"]*\"))*": (
        NEWCOMER,
        NAMED,
        "tests/test_milestones.py::test_milestone_starter_passes_its_own_tests_and_lint",
    ),
    r"uv run (--frozen )?ccmlops options": (
        "tests/test_docs_site.py::test_examples_match_a_fresh_render",
    ),
    r"uv run (--frozen )?ccmlops (update|diff) \S+( --yes)?( --set \w+=\w+| --checkout \S+)?": (
        f"{UPDATE}test_update_brings_the_new_revision_and_keeps_the_students_work",
        f"{UPDATE}test_set_brings_an_optional_part_and_diff_changes_nothing",
        CHAIN,
    ),
    r"(uv run )?ccmlops check( --project \S+| (-m|--milestone) M\d| --json( > \S+)?"
    r"| --only \w+| --skip \w+| --python \S+)*": (
        f"{CHECKER}test_exit_codes_and_json_only_on_stdout",
        f"{CHECKER}test_finished_project_passes_every_item",
        f"{CHECKER}test_default_milestone_is_the_projects_own",
        CHAIN,
    ),
    r"uv run (--frozen )?ccmlops grade .*": (
        "tests/test_grade.py::test_a_class_is_graded_from_fresh_clones_into_one_table",
    ),
    r"cookiecutter \S+": ("tests/test_entrypoints.py::test_plain_cookiecutter_with_key_values",),
    r"cruft create \S+": ("tests/test_entrypoints.py::test_cruft_create_records_the_template",),
    r"uv run mkdocs build --strict -f docs/mkdocs\.yml": (
        "tests/test_docs_site.py::test_site_builds_with_strict",
    ),
    # the generated project
    r"uv run my-ml-project (demo|plots)": (NEWCOMER,),
    r"uv run my-ml-project setup": (
        "tests/test_projects.py::test_setup_makes_the_repository_when_generation_could_not",
        "project/tests/test_workflow.py::test_setup_makes_a_git_repository_once",
    ),
    r"uv run my-ml-project cards": (
        "project/tests/test_cli.py::test_cards_task_writes_both_cards",
        CHAIN,
    ),
    r"uv run my-ml-project check( -x| -v| --skip \w+)*": (
        f"{QUALITY}test_check_runs_the_steps_and_reports_failures",
    ),
    r"uv run my-ml-project serve( --host \S+)?": (
        f"{SERVE}test_serve_command_answers_and_logs_json",
        "tests/test_serving_project.py::test_generated_api_serves_its_bundle",
    ),
    r"uv run my-ml-project monitor( --since \d+| --last \d+| --export \S+| --store \S+)*": (
        f"{MONITOR}test_command_exit_codes",
        f"{MONITOR}test_command_since_filters_by_time",
        f"{MONITOR}test_command_exports_training_data_with_labelled_rows",
    ),
    r"uv run pytest( tests/serving)?( -m \"not slow\")?": (
        NAMED,
        "tests/test_projects.py::test_other_python_versions_run_the_projects_tests",
    ),
    r"uv run ruff check": (
        "tests/test_milestones.py::test_milestone_starter_passes_its_own_tests_and_lint",
    ),
    r"uv run pre-commit run --all-files": (
        "tests/test_tools.py::test_pre_commit_passes_on_a_fresh_render",
    ),
    r"(uv run )?dvc repro": (PIPELINE, CHAIN, f"{E2E}test_outputs_and_metrics"),
    r"(uv run )?dvc push": (PIPELINE, f"{E2E}test_clone_pull_gives_the_same_model"),
    r"(uv run )?dvc (pull|status)": (
        f"{E2E}test_clone_pull_gives_the_same_model",
        f"{TEAM}test_fresh_clone_pulls_the_same_data_model_and_metrics",
    ),
    r"(uv run )?dvc (dag|metrics show)": (f"{E2E}test_diff_commands_work",),
    r"uv run dvc add data/retrain\.csv": (
        "tests/test_monitoring_project.py::test_feedback_loop_real_app_real_prometheus_and_a_drift_report",
    ),
    r"(uv run )?dvc (params|metrics|plots) diff": (f"{E2E}test_diff_commands_work",),
    r"uv run dvc remote modify --local storage \w+ \S+": (
        f"{TEAM}test_credentials_stay_out_of_git",
    ),
    r"export MLFLOW_TRACKING_URI=\S+": (f"{TEAM}test_run_and_registered_model_are_on_the_server",),
    r"promtool (check|test) rules \S+": (
        "tests/test_monitoring_project.py::test_alert_rules_pass_promtool_and_their_unit_tests",
    ),
    r"uv lock": (
        "tests/test_container.py::test_container_predicts_as_in_process_and_finishes_in_flight_requests_on_sigterm",
    ),
    r"git (add|commit) .*": (CHAIN, PIPELINE),
    r"python3 -m pip --python \.venv/bin/python install torch==[\d.]+": (
        "tests/test_torch_plugin.py::test_torch_model_trains_through_the_pipeline_and_is_served",
    ),
    r"uv run dvc repro validate": (
        "tests/test_docs_site.py::test_project_examples_match_real_output",
    ),
    r"cat reports/validation\.md": (f"{E2E}test_outputs_and_metrics",),
    r"uv run uvicorn --factory my_ml_project\.serving\.app:create_app --no-access-log": (
        "project/tests/serving/test_serving_feedback.py::test_sigterm_loses_no_recorded_prediction",
    ),
    r"uv run pre-commit install": (
        "tests/test_tools.py::test_pre_commit_passes_on_a_fresh_render",
    ),
    r"git diff HEAD": (f"{UPDATE}test_update_brings_the_new_revision_and_keeps_the_students_work",),
    r"git status": (f"{UPDATE}test_update_brings_the_new_revision_and_keeps_the_students_work",),
}


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a doc, with its not-run reason if it has one."""

    doc: str
    line: int
    body: str
    reason: str | None

    def commands(self) -> Iterator[str]:
        """Each command: a logical line (continuations joined), comment and `cd` parts left
        out, split at `&&`, `;` and `|`."""
        for line in re.sub(r"\s*\\\n\s*", " ", self.body).splitlines():
            line = COMMENT.sub("", line).strip()
            for part in re.split(r"\s*(?:&&|;|\|\|?)\s*", line):
                if part and not part.startswith(("cd ", "#")):
                    yield part


def shell_blocks(path: Path, name: str) -> Iterator[Block]:
    """The shell blocks of one Markdown file, example copies left out."""
    text = path.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before.startswith("<!-- example:"):
            continue
        reason = NOT_RUN.match(before)
        line = text.count("\n", 0, match.start()) + 1
        yield Block(name, line, match["body"], reason["reason"] if reason else None)


def render(out: Path, **answers: str) -> Path:
    """A project rendered through ccmlops, without the VCS work (about 0.3 s)."""
    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context
    from ccmlops.generate import render as render_project

    context = build_context(parse_answers([f"{k}={v}" for k, v in answers.items()]), no_input=True)
    return render_project(context, out, force=False).path


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Block]]:
    """Every shell block of the site, the README and three renders' docs (deduplicated)."""
    found = [
        *shell_blocks(ROOT / "README.md", "README.md"),
        *(
            block
            for page in sorted((ROOT / "docs" / "pages").rglob("*.md"))
            for block in shell_blocks(page, page.relative_to(ROOT).as_posix())
        ),
    ]
    seen: set[tuple[str, str]] = set()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CCMLOPS_SKIP_VCS", "1")
        projects = [
            render(tmp_path_factory.mktemp("default")),
            render(tmp_path_factory.mktemp("m1"), milestone="M1"),  # a starter's own text
            render(
                tmp_path_factory.mktemp("image"),
                ml_task="image_classification",
                serving="false",
                docker="false",
            ),
        ]
    for project in projects:
        for doc in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
            name = f"project/{doc.relative_to(project).as_posix()}"
            for block in shell_blocks(doc, name):
                if (name, block.body) not in seen:
                    seen.add((name, block.body))
                    found.append(block)
    yield found


def registered_file(test: str) -> Path:
    """The file a registry entry names."""
    file = test.split("::")[0]
    return TEMPLATE / file.removeprefix("project/") if file.startswith("project/") else ROOT / file


def test_every_registered_test_exists() -> None:
    missing = [
        test
        for tests in REGISTRY.values()
        for test in tests
        if not registered_file(test).is_file()
        or not re.search(
            rf"^\s*def {test.split('::')[1]}\(", registered_file(test).read_text(), re.M
        )
    ]
    assert not missing, f"registered tests that do not exist: {missing}"


@dataclass
class Tally:
    """What the docs' commands are: run by tests, not run (a reason given), or neither."""

    run_by_tests: int = 0
    not_run: int = 0
    unaccounted: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # a "not run" block whose commands all run


def tally(blocks: list[Block]) -> Tally:
    result = Tally()
    for block in blocks:
        commands = list(block.commands())
        ran = [any(re.fullmatch(p, command) for p in REGISTRY) for command in commands]
        result.run_by_tests += sum(ran)
        if block.reason:
            result.not_run += ran.count(False)
            if all(ran):
                result.stale.append(f"{block.doc}:{block.line}: {block.reason}")
        else:
            result.unaccounted += [
                f"{block.doc}:{block.line}: {command}"
                for command, done in zip(commands, ran, strict=True)
                if not done
            ]
    return result


def test_every_doc_command_is_run_by_a_test_or_says_why_not(docs: list[Block]) -> None:
    found = tally(docs)
    print(
        f"doc commands: {found.run_by_tests} run by tests, {found.not_run} not run (with a reason)"
    )
    assert not found.unaccounted, (
        "each command needs a test in REGISTRY (tests/test_doc_commands.py) or a line "
        "`<!-- not run: reason -->` right before its block:\n" + "\n".join(found.unaccounted)
    )
    assert not found.stale, f"'not run' markers on blocks whose commands all run: {found.stale}"
    assert found.run_by_tests and found.not_run


def test_a_command_without_a_test_or_a_reason_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```bash\nuv run dvc repro && rm -rf build  # clean\n```\n\n"
        "<!-- not run: needs a cloud bucket -->\n```sh\nuv run dvc push\n```\n",
        encoding="utf-8",
    )
    unmarked, marked = shell_blocks(page, "page.md")
    assert list(unmarked.commands()) == ["uv run dvc repro", "rm -rf build"]
    assert (unmarked.reason, marked.reason) == (None, "needs a cloud bucket")
    found = tally([unmarked, marked])
    assert (found.run_by_tests, found.not_run) == (2, 0)
    assert found.unaccounted == ["page.md:3: rm -rf build"]
    assert found.stale == ["page.md:8: needs a cloud bucket"]  # dvc push runs in a test
