"""`ccmlops update` and `ccmlops diff`: a project follows its template and keeps the user's work.

Each test makes a Git repository of the template as it is in this checkout (revision A),
generates a project from it, works on the project like a student, then commits a change to
the template (revision B) or asks for other answers, and updates.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import env_for, install_project, run
from test_newcomer import fresh_copy

CCMLOPS = str(Path(sys.executable).parent / "ccmlops")
IDENTITY = ["-c", "user.name=Student", "-c", "user.email=student@example.com"]
PROJECT = "{{cookiecutter.project_slug}}"
STUDENT_STAGE = (
    '\n\ndef student_threshold() -> float:\n    """Added by the student."""\n    return 0.9\n'
)
STUDENT_TEST = (
    "from my_ml_project.training import student_threshold\n\n\n"
    "def test_student_threshold() -> None:\n    assert student_threshold() == 0.9\n"
)


def git(cwd: Path, *args: str) -> str:
    result = run(["git", *IDENTITY, *args], cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def ccmlops(template: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run([CCMLOPS, *args], cwd=cwd, env={"CCMLOPS_TEMPLATE": str(template), **env})


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """This checkout's template as a Git repository with one commit: revision A."""
    repo = fresh_copy(tmp_path / "template")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "revision A")
    return repo


def new_project(template: Path, tmp_path: Path, *words: str, **env: str) -> Path:
    out = tmp_path / "projects"
    result = ccmlops(template, tmp_path, "new", "--no-input", "-o", str(out), *words, **env)
    assert result.returncode == 0, result.stderr
    return next(p for p in out.iterdir() if not p.name.startswith("."))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def revision_b(template: Path) -> str:
    """The maintainers' next revision: a new file and a changed line the student never touched."""
    (template / PROJECT / "docs" / "faq.md").write_text(
        "# FAQ for {{ cookiecutter.project_name }}\n", encoding="utf-8"
    )
    edit(template / PROJECT / "docs" / "pipeline.md", "# The training pipeline", "# Pipeline (B)")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "revision B")
    return git(template, "rev-parse", "HEAD")


@pytest.mark.tier2
def test_update_brings_the_new_revision_and_keeps_the_students_work(
    template: Path, tmp_path: Path, project_python: Path
) -> None:
    # without serving: its timing-based tests measure the machine, not the update
    project = new_project(template, tmp_path, "serving=false", "docker=false")
    cruft = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert cruft["commit"] == git(template, "rev-parse", "HEAD")
    assert git(project, "ls-files", ".cruft.json") == ".cruft.json"  # in the first commit
    package = project / "src" / "my_ml_project"
    (package / "training.py").write_text(
        (package / "training.py").read_text(encoding="utf-8") + STUDENT_STAGE, encoding="utf-8"
    )
    (project / "tests" / "test_student.py").write_text(STUDENT_TEST, encoding="utf-8")
    card = package / "_card_templates" / "model_card.md.j2"
    card.write_text(card.read_text(encoding="utf-8") + "\nReviewed by the student.\n")
    edit(project / "README.md", "# My ML Project", "# My ML Project, by a student")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "my work")
    head = git(project, "rev-parse", "HEAD")
    commit_b = revision_b(template)

    result = ccmlops(template, project, "update", "--yes")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing was committed" in result.stdout
    assert "def student_threshold" in (package / "training.py").read_text(encoding="utf-8")
    assert (project / "tests" / "test_student.py").read_text(encoding="utf-8") == STUDENT_TEST
    assert "Reviewed by the student." in card.read_text(encoding="utf-8")
    assert "# My ML Project, by a student" in (project / "README.md").read_text(encoding="utf-8")
    assert (project / "docs" / "faq.md").read_text(encoding="utf-8") == "# FAQ for My ML Project\n"
    # the changed title, under the page's header comment
    assert "\n# Pipeline (B)\n" in (project / "docs" / "pipeline.md").read_text(encoding="utf-8")
    assert json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"] == commit_b
    assert git(project, "rev-parse", "HEAD") == head  # a change to review, not a commit
    status = run(["git", "status", "--porcelain"], cwd=project).stdout
    changed = {line[3:] for line in status.splitlines()}
    assert changed == {".cruft.json", "docs/faq.md", "docs/pipeline.md"}
    # the review docs/pages/updating.md shows: `git diff HEAD`
    assert "+# Pipeline (B)" in git(project, "diff", "HEAD")

    install_project(project_python, project)
    tests = run(
        [str(project_python), "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"],
        cwd=project,
        env=env_for(project_python),
    )
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert "test_student_threshold" not in tests.stdout  # passed quietly, with the rest

    again = ccmlops(template, project, "update", "--yes")
    assert again.returncode == 1 and "uncommitted changes" in again.stderr


def test_set_brings_an_optional_part_and_diff_changes_nothing(
    template: Path, tmp_path: Path
) -> None:
    project = new_project(template, tmp_path, "serving=false", "docker=false")
    serving = project / "src" / "my_ml_project" / "serving"
    assert not serving.exists()

    git(template, "tag", "v0.2.0")  # docs/pages/updating.md: `--checkout` a tag
    preview = ccmlops(template, project, "diff", "--checkout", "v0.2.0", "--set", "serving=true")
    assert preview.returncode == 0, preview.stderr
    assert "+++ b/src/my_ml_project/serving/app.py" in preview.stdout
    assert "would change; nothing was changed" in preview.stderr
    assert git(project, "status", "--porcelain") == ""
    assert not serving.exists()

    result = ccmlops(template, project, "update", "--yes", "--set", "serving=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (serving / "app.py").is_file()
    assert (project / "tests" / "serving").is_dir()
    assert "## Serving" in (project / "README.md").read_text(encoding="utf-8")
    answers = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert answers["context"]["cookiecutter"]["serving"] is True
    assert not (project / "Dockerfile").exists()  # docker stays false


REFUSED_SETS = [
    ("docker=true", "incompatible options (docker-needs-serving)"),
    ("servng=true", "did you mean 'serving'?"),
    ("ml_task=clustering", "choose one of: classification, regression"),
    ("project_slug=other", "project_slug cannot change in an update"),
]


def test_set_answers_are_checked_like_new(template: Path, tmp_path: Path) -> None:
    project = new_project(template, tmp_path, "serving=false", "docker=false")
    for word, message in REFUSED_SETS:
        result = ccmlops(template, project, "update", "--yes", "--set", word)
        assert result.returncode == 1, word
        assert message in result.stderr, result.stderr
    assert git(project, "status", "--porcelain") == ""


def test_a_conflict_is_reported_and_never_overwrites(template: Path, tmp_path: Path) -> None:
    project = new_project(template, tmp_path)
    edit(project / "docs" / "pipeline.md", "# The training pipeline", "# My own pipeline notes")
    git(project, "commit", "-qam", "my title")
    revision_b(template)

    result = ccmlops(template, project, "update", "--yes")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "conflicts:" in result.stderr and "docs/pipeline.md" in result.stderr
    text = (project / "docs" / "pipeline.md").read_text(encoding="utf-8")
    assert "# My own pipeline notes" in text  # kept, next to the template's line
    assert (project / "docs" / "faq.md").is_file()  # what did apply is there


def test_without_history_a_conflict_leaves_a_rej_file(template: Path, tmp_path: Path) -> None:
    """No Git history to merge with (repository made after editing): cruft writes *.rej."""
    project = new_project(template, tmp_path, CCMLOPS_SKIP_VCS="1")
    edit(project / "docs" / "pipeline.md", "# The training pipeline", "# My own pipeline notes")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated and edited")
    revision_b(template)

    result = ccmlops(template, project, "update", "--yes")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "docs/pipeline.md.rej" in result.stderr
    assert (project / "docs" / "pipeline.md.rej").is_file()
    notes = (project / "docs" / "pipeline.md").read_text(encoding="utf-8").splitlines()
    assert notes[1] == "# My own pipeline notes", notes[:2]  # under the file's header line


def test_a_dirty_tree_is_refused_and_left_alone(template: Path, tmp_path: Path) -> None:
    project = new_project(template, tmp_path)
    revision_b(template)
    (project / "params.yaml").write_text("unsaved: work\n", encoding="utf-8")
    before = (project / ".cruft.json").read_bytes()

    result = ccmlops(template, project, "update", "--yes")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "uncommitted changes" in result.stderr
    assert (project / "params.yaml").read_text(encoding="utf-8") == "unsaved: work\n"
    assert (project / ".cruft.json").read_bytes() == before
    assert not (project / "docs" / "faq.md").exists()


def test_a_folder_without_cruft_json_is_refused_with_guidance(
    template: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    git(folder, "init", "-q")
    for command in ("update", "diff"):
        result = ccmlops(template, folder, command, "--yes" if command == "update" else ".")
        assert result.returncode == 1
        assert "has no .cruft.json" in result.stderr and "cruft link" in result.stderr


CORRUPT_CRUFT = {
    "truncated": b'{"template": "x", "commit": "abc", "context": {"cookie',
    "not an object": b"[]\n",
    "no answers": b'{"template": "x", "commit": "abc"}\n',
    "answers not an object": b'{"template": "x", "commit": "abc", "context": {"cookiecutter": 1}}',
    "not UTF-8": b'{"template": "\xff"}',
    "empty": b"",
}


@pytest.mark.parametrize("content", CORRUPT_CRUFT.values(), ids=list(CORRUPT_CRUFT))
@pytest.mark.parametrize("command", ["update", "diff"])
def test_a_corrupted_cruft_json_is_one_line_naming_the_file_and_the_repair(
    tmp_path: Path, command: str, content: bytes
) -> None:
    (tmp_path / ".cruft.json").write_bytes(content)
    result = run([CCMLOPS, command, *(["--yes"] if command == "update" else []), "."], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(tmp_path / ".cruft.json") in lines[0]
    assert "git checkout HEAD -- .cruft.json" in lines[0]


def test_literal_answers_replay_identically_across_updates(template: Path, tmp_path: Path) -> None:
    name = 'Quote "x" {{ y }} {% z %}'
    description = "two\nlines {# not a comment #} \\u00e9 é"
    project = new_project(
        template, tmp_path, f"project_name={name}", f"description={description}", "project_slug=odd"
    )
    # replaying the recorded answers renders the project exactly: no pending change
    assert ccmlops(template, project, "diff").stdout == ""
    revision_b(template)
    result = ccmlops(template, project, "update", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "docs" / "faq.md").read_text(encoding="utf-8") == f"# FAQ for {name}\n"
    git(project, "add", "-A")
    git(project, "commit", "-qm", "update to B")
    assert ccmlops(template, project, "diff").stdout == ""  # still replays after cruft rewrote it
    answers = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert answers["context"]["cookiecutter"]["project_name"].startswith('{{ "')


def leftover_guards(project: Path) -> dict[str, list[str]]:
    """The CI step and the pre-commit hook that refuse update leftovers, as commands."""
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    step = next(s for s in ci["jobs"]["quality"]["steps"] if "*.rej" in s.get("name", ""))
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for r in config["repos"] for h in r["hooks"]}
    hook = hooks["no-update-leftovers"]
    assert hook["always_run"] and not hook["pass_filenames"]
    # the template commit in .cruft.json is a high-entropy hex string, not a secret
    assert re.search(hooks["detect-secrets"]["exclude"], ".cruft.json")
    return {"ci": ["bash", "-e", "-c", step["run"]], "pre-commit": shlex.split(hook["entry"])}


@pytest.mark.parametrize(
    ("leftover", "content"),
    [("src/demo/stage.py.rej", "@@ -1 +1 @@\n"), ("params.yaml", "a: 1\n<<<<<<< ours\n")],
    ids=["rej-file", "conflict-markers"],
)
def test_ci_and_pre_commit_fail_while_update_leftovers_remain(
    bake_ccmlops: Callable[..., Path], leftover: str, content: str
) -> None:
    project = bake_ccmlops(project_name="Guarded")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    for name, command in leftover_guards(project).items():
        assert run(command, cwd=project).returncode == 0, name
    (project / leftover).parent.mkdir(parents=True, exist_ok=True)
    (project / leftover).write_text(content, encoding="utf-8")
    git(project, "add", "-A")  # committed, as CI would see it
    for name, command in leftover_guards(project).items():
        result = run(command, cwd=project)
        assert result.returncode == 1, name
        assert leftover in result.stdout + result.stderr, name


@pytest.mark.parametrize(("answer", "applied"), [("y", True), ("n", False)])
def test_without_yes_the_change_is_shown_and_asked_for(
    template: Path, tmp_path: Path, answer: str, applied: bool
) -> None:
    """No --yes: the paths the update would change, then a question, on a real terminal."""
    project = new_project(template, tmp_path, "serving=false", "docker=false")
    revision_b(template)
    result = run(
        ["script", "-qec", f"{CCMLOPS} update {project}", "/dev/null"],
        cwd=project,
        env={"CCMLOPS_TEMPLATE": str(template)},
        input_text=f"{answer}\n",
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "The update would change 3 paths:" in result.stdout
    assert "docs/faq.md" in result.stdout and "Apply it?" in result.stdout
    assert (project / "docs" / "faq.md").exists() == applied
    status = run(["git", "status", "--porcelain"], cwd=project).stdout
    assert bool(status) == applied  # declined: the project is exactly as it was


def next_lines(output: str) -> list[str]:
    """The commands under "Next:" in ccmlops's output."""
    return [line.strip() for line in output.split("\nNext:\n", 1)[1].splitlines()]


def test_cruft_json_records_the_git_url_so_updates_work_on_another_machine(
    template: Path, tmp_path: Path
) -> None:
    """The instructor renders from a clone; students have the URL, not the clone's path."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(template), str(remote))
    clone = tmp_path / "instructor-clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    project = new_project(clone, tmp_path)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == str(remote)
    assert state["context"]["cookiecutter"]["_template"] == str(remote)
    revision_b(clone)
    git(clone, "push", "-q", "origin", "main")
    run(["rm", "-rf", str(clone)], cwd=tmp_path)  # the instructor's path is not on this machine
    result = ccmlops(template, project, "update", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "docs" / "faq.md").is_file()


def test_next_lines_name_only_commands_the_milestone_has(template: Path, tmp_path: Path) -> None:
    out = tmp_path / "projects"
    made = ccmlops(template, tmp_path, "new", "--no-input", "-o", str(out), "milestone=M1",
                   COLUMNS="40")  # fmt: skip
    assert made.returncode == 0, made.stderr
    lines = next_lines(made.stdout)
    assert "uv run my-ml-project cards    # the data and model cards" in lines, lines  # unwrapped
    assert not any("setup" in line or "dvc" in line for line in lines), lines
    project = out / "my_ml_project"
    result = ccmlops(template, project, "update", "--yes", "--set", "milestone=M2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.startswith("uv run dvc repro") for line in next_lines(result.stdout))
    assert (project / ".dvc" / "config").is_file()  # the pipeline arrives as a DVC repository


def test_a_project_from_the_installed_package_updates_its_answers(tmp_path: Path) -> None:
    """No Git checkout (the template inside the wheel): .cruft.json names the package and a
    snapshot commit that `ccmlops update` rebuilds from the installed copy on any machine."""
    installed = fresh_copy(tmp_path / "site-packages" / "ccmlops" / "_template")
    project = new_project(installed, tmp_path, "serving=false", "docker=false")
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == "cookiecutter-mlops"
    assert re.fullmatch("[0-9a-f]{40}", state["commit"]), state["commit"]
    elsewhere = fresh_copy(tmp_path / "student" / "venv" / "ccmlops" / "_template")
    result = ccmlops(elsewhere, project, "update", "--yes", "--set", "serving=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "src" / "my_ml_project" / "serving" / "app.py").is_file()
    after = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert (after["template"], after["commit"]) == ("cookiecutter-mlops", state["commit"])
    git(project, "add", "-A")
    git(project, "commit", "-qm", "serving")
    (elsewhere / "cookiecutter.json").write_text(
        (elsewhere / "cookiecutter.json").read_text(encoding="utf-8").replace("0.1.0", "0.2.0")
    )
    result = ccmlops(elsewhere, project, "update", "--yes", "--set", "ci=false")
    assert result.returncode == 1
    assert "generated by another version of cookiecutter-mlops" in result.stderr
