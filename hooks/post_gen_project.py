"""Post-generation hook: drop switched-off parts, apply exercise markers, record the template,
then Git and the first commit (DVC's files are template files: no DVC needed here).

Missing tools are not fatal to the project: when git or a git identity is missing, the
project is kept, a warning says what was skipped, and the next commands are printed. A git
step that fails (a full disk) or a malformed exercise marker (a template bug) stops
generation with one line, so no half-committed project is reported as a success.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSWERS_JSON = r"""
{{ cookiecutter | tojson }}
"""
# The answers' keys in cookiecutter.json order (``tojson`` sorts keys), as cruft writes them.
ANSWER_ORDER_JSON = r"""
{{ cookiecutter | list | tojson }}
"""

# Which parts these answers include (milestone and options), from hooks/parts.py's table.
PARTS_JSON = r"""
{{ cookiecutter | parts | tojson }}
"""

# The one table of optional parts: part -> paths removed when the answers leave it out.
REMOVED_PATHS: dict[str, list[str]] = {
    "pipeline": [
        "MLproject",
        "dvc.yaml",
        ".dvc",
        ".dvcignore",
        "src/{package}/stages",
        "src/{package}/workflow.py",
        "tests/test_workflow.py",
        "src/{package}/training.py",
        "src/{package}/evaluation.py",
        "src/{package}/tracking.py",
        "src/{package}/registry.py",
        "src/{package}/bundle.py",
        "src/{package}/serialization.py",
        "tests/test_training.py",
        "tests/test_evaluation.py",
        "tests/test_serialization.py",
        "tests/test_stages.py",
        "tests/test_tracking.py",
        "tests/test_pipeline_definition.py",
        "tests/test_pipeline_e2e.py",
        "benchmarks",
        "docs/pipeline.md",
        "docs/team.md",
    ],
    "quality": [
        "src/.bandit",
        "src/{package}/validation.py",
        "src/{package}/stages/validate.py",
        "src/{package}/emissions.py",
        "src/{package}/quality.py",
        "tests/test_validation.py",
        "tests/test_emissions.py",
        "tests/test_quality.py",
        "tests/test_stage_validate.py",
        ".pre-commit-config.yaml",
        "docs/delivery.md",
    ],
    "serving": [
        "src/{package}/serving",
        "src/{package}/prediction_log.py",
        "tests/serving",
        "benchmarks/serving.py",
        "docs/serving.md",
    ],
    "docker": [
        "Dockerfile",
        ".dockerignore",
        "compose.yaml",
        "deploy",
        ".env.example",
        ".github/workflows/cd.yml",
    ],
    "ci": [".github"],
    "monitoring": [
        "src/{package}/monitoring",
        "tests/test_monitoring.py",
        "benchmarks/monitoring.py",
        "docs/monitoring.md",
        ".github/workflows/uptime.yml",
    ],
    "dashboards": ["deploy/prometheus", "deploy/grafana", "deploy/blackbox"],
    "license": ["LICENSE"],
}
COMMIT_MESSAGE = "Initial commit from cookiecutter-mlops"
CRUFT_FILE = ".cruft.json"
# Where this run's cookiecutter happened to be: true only on this machine, today.
MACHINE_KEYS = frozenset({"_output_dir", "_repo_dir", "_checkout"})
# The three Jinja openers, spelt so that this file (rendered by Jinja itself) keeps them.
JINJA_MARKERS = ("{" + "{", "{" + "%", "{" + "#")
# Set by the template's own structure tests, which bake hundreds of projects.
SKIP_VCS_ENV = "CCMLOPS_SKIP_VCS"
# Exercise markers in the template's Python source (see the instructor guide):
#     # exercise M2.1: One-line description of the task.
#     ...the reference solution...
#     # end exercise
EXERCISE_START = re.compile(r"^(?P<indent>[ \t]*)# exercise\b(?P<rest>.*)$")
EXERCISE_HEADER = re.compile(
    r"^ (?P<task>M(?P<milestone>[1-6])\.(?P<number>[1-9][0-9]*)): (?P<text>\S.*)$"
)
EXERCISE_END = re.compile(r"^[ \t]*# end exercise[ \t]*$")
FUNCTION_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
TASKS_PLACEHOLDER = "<!-- tasks -->"
LINE_LENGTH = 100  # the generated project's ruff line length: stubs stay format-clean
SKIPPED_DIRS = frozenset({".git", ".venv", "__pycache__"})


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def included_parts(answers: Mapping[str, Any]) -> dict[str, bool]:
    """Part -> included, as rendered from hooks/parts.py; the licence is the one plain answer."""
    parts: dict[str, bool] = json.loads(PARTS_JSON)
    return {**parts, "license": answers.get("license") != "none"}


def remove_optional_parts(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """Delete the parts the answers leave out; return their relative paths."""
    removed = []
    parts = included_parts(answers)
    for part, patterns in REMOVED_PATHS.items():
        if parts[part]:
            continue
        for pattern in patterns:
            rel = pattern.format(package=answers["__package_name"])
            path = root / rel
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            removed.append(rel)
    return removed


class ExerciseError(ValueError):
    """A malformed exercise marker in the template: names the file and the line."""


@dataclass(frozen=True)
class Task:
    """One exercise: its id (M2.1), what to do, and where."""

    task_id: str
    milestone: int
    number: int
    text: str
    path: str
    function: str


def milestone_number(answers: Mapping[str, Any]) -> int:
    """The render's milestone as a number: ``all`` (and no answer) is the last one, M6."""
    value = str(answers.get("milestone", "all"))
    return 6 if value == "all" else int(value.lstrip("M"))


def stub_lines(indent: str, task: Task) -> list[str]:
    """``raise NotImplementedError(...)`` as ruff format writes it: on one line when it fits,
    else the message on its own line(s); a long description goes on lines of its own, split
    between words into implicitly joined strings (which ruff format keeps as written)."""
    prefix = f"Task {task.task_id} (README.md, section Tasks):"
    message = f"{prefix} {task.text}"
    one_line = f"{indent}raise NotImplementedError({json.dumps(message)})"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    inner = indent + "    "
    chunks = [message]
    if len(inner + json.dumps(message)) > LINE_LENGTH:
        chunks, line = [prefix + " "], ""
        for word in task.text.split(" "):
            if line and len(inner + json.dumps(f"{line} {word} ")) > LINE_LENGTH:
                chunks.append(line + " ")
                line = word
            else:
                line = f"{line} {word}" if line else word
        chunks.append(line)
    body = [inner + json.dumps(chunk) for chunk in chunks]
    if any(len(line) > LINE_LENGTH for line in body):
        raise ExerciseError(f"{task.path}: task {task.task_id}: a word is too long for one line")
    return [f"{indent}raise NotImplementedError(", *body, f"{indent})"]


def enclosing_function(lines: Sequence[str], index: int, indent: str) -> str | None:
    """Name of the ``def`` that the marker at ``lines[index]`` sits in."""
    for line in reversed(lines[:index]):
        found = FUNCTION_LINE.match(line)
        if found and len(found["indent"]) < len(indent):
            return found["name"]
    return None


def exercise_source(text: str, rel: str, stub_until: int) -> tuple[str, list[Task]]:
    """The file without markers; bodies of tasks up to milestone ``stub_until`` (0: none)
    replaced by a stub. Returns the new text and every task of the file."""
    lines = text.split("\n")
    out: list[str] = []
    tasks: list[Task] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        start = EXERCISE_START.match(line)
        if start is None:
            if EXERCISE_END.match(line):
                raise ExerciseError(f"{rel}:{index + 1}: `# end exercise` without `# exercise`")
            out.append(line)
            index += 1
            continue
        where = f"{rel}:{index + 1}"
        header = EXERCISE_HEADER.match(start["rest"])
        if header is None:
            raise ExerciseError(
                f"{where}: malformed exercise marker {line.strip()!r} "
                "(expected `# exercise M<1-6>.<n>: <one-line description>`)"
            )
        indent = start["indent"]
        function = enclosing_function(lines, index, indent)
        if function is None:
            raise ExerciseError(f"{where}: exercise {header['task']} is not inside a function")
        end = index + 1
        while end < len(lines) and not EXERCISE_END.match(lines[end]):
            if EXERCISE_START.match(lines[end]):
                raise ExerciseError(
                    f"{where}: exercise {header['task']} is not closed before "
                    f"the next `# exercise` (line {end + 1})"
                )
            end += 1
        if end == len(lines):
            raise ExerciseError(f"{where}: exercise {header['task']} has no `# end exercise`")
        if lines[end][: len(lines[end]) - len(lines[end].lstrip())] != indent:
            raise ExerciseError(
                f"{rel}:{end + 1}: `# end exercise` must be indented like its `# exercise`"
            )
        task = Task(
            header["task"],
            int(header["milestone"]),
            int(header["number"]),
            header["text"].strip(),
            rel,
            function,
        )
        tasks.append(task)
        if task.milestone <= stub_until:
            out += stub_lines(indent, task)
        else:
            out += lines[index + 1 : end]
        index = end + 1
    return "\n".join(out), tasks


def python_files(root: Path) -> list[Path]:
    """Every ``*.py`` of the project, in a stable order (no .git, no .venv)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found += [Path(folder) / name for name in sorted(files) if name.endswith(".py")]
    return found


def tasks_section(tasks: Sequence[Task]) -> str:
    """The README's "Tasks" section listing the stubbed tasks."""
    items = [
        f"- [ ] **{task.task_id}** {task.text} (`{task.path}`, `{task.function}`)" for task in tasks
    ]
    return "\n".join(
        [
            "## Tasks",
            "",
            "Some functions are left for you to write: each one raises `NotImplementedError`",
            "naming its task, and the tests that need it fail with that task's id.",
            "",
            *items,
            "",
            "A task is done when the tests that named it pass (`uv run pytest`); all tasks are",
            "done when every test passes.",
            "",
            "",
        ]
    )


def apply_exercises(root: Path, answers: Mapping[str, Any]) -> list[Task]:
    """Remove the exercise markers; with ``exercises`` on, stub the tasks up to the render's
    milestone and list them in README.md. Returns the stubbed tasks."""
    stub_until = milestone_number(answers) if answers.get("exercises") else 0
    stubbed: list[Task] = []
    seen: dict[str, str] = {}
    for path in python_files(root):
        text = path.read_text(encoding="utf-8")
        if "# exercise" not in text and "# end exercise" not in text:
            continue
        rel = path.relative_to(root).as_posix()
        new_text, tasks = exercise_source(text, rel, stub_until)
        for task in tasks:
            if task.task_id in seen:
                raise ExerciseError(f"{rel}: task {task.task_id} is also in {seen[task.task_id]}")
            seen[task.task_id] = rel
        stubbed += [task for task in tasks if task.milestone <= stub_until]
        if new_text != text:
            path.write_text(new_text, encoding="utf-8")
    stubbed.sort(key=lambda task: (task.milestone, task.number))
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        section = tasks_section(stubbed) if stubbed else ""
        new_text = re.sub(
            "^" + re.escape(TASKS_PLACEHOLDER) + "\n\n?", lambda _: section, text, flags=re.M
        )
        if new_text != text:
            readme.write_text(new_text, encoding="utf-8")
    return stubbed


def run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command quietly, never raising for a non-zero exit."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def enclosing_repo(root: Path) -> Path | None:
    """The Git work tree that already contains ``root``, if any; a folder it ignores (such as
    the template checkout's demo/) is not part of it and gets a repository of its own."""
    result = run(["git", "rev-parse", "--show-toplevel"], cwd=root.parent)
    ignored = run(["git", "check-ignore", "-q", str(root)], cwd=root.parent).returncode == 0
    if result.returncode != 0 or ignored:
        return None
    return Path(result.stdout.strip())


def git_identity_args(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """Per-command identity when none is configured: global git config is never written."""
    name = run(["git", "config", "user.name"], cwd=root).stdout.strip()
    email = run(["git", "config", "user.email"], cwd=root).stdout.strip()
    if name and email:
        return []
    return [
        "-c",
        f"user.name={name or answers.get('author_name') or 'cookiecutter-mlops'}",
        "-c",
        f"user.email={email or answers.get('author_email') or 'noreply@example.com'}",
    ]


def jinja_literal(text: str) -> str:
    """Text that cookiecutter's rendering of answers gives back unchanged (as ccmlops.answers).

    cruft re-renders the recorded answers as Jinja on every update: an answer holding Jinja
    markers is stored as a Jinja string literal so the re-render reproduces it byte for byte.
    """
    if not any(marker in text for marker in JINJA_MARKERS):
        return text
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return "{" + '{ "' + escaped + '" }' + "}"


def git_output(args: Sequence[str], cwd: Path) -> str | None:
    """stdout of a git command, or None when git or the repository is missing."""
    if shutil.which("git") is None or not cwd.is_dir():
        return None
    result = run(["git", *args], cwd=cwd)
    return result.stdout.strip() if result.returncode == 0 else None


def template_folder(text: str) -> Path | None:
    """The template folder ``text`` names on this machine, if it names one."""
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute():  # relative to where cookiecutter was started
        path = Path(os.environ.get("PWD", ".")) / path
    return path.resolve() if (path / "cookiecutter.json").is_file() else None


def template_source(answers: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """(template, commit, checkout) in cruft's terms: where `cruft update` clones from."""
    if answers.get("_commit"):  # rendered by cruft, which resolved both itself
        return str(answers["_template"]), str(answers["_commit"]), None
    checkout = answers.get("_checkout") or None
    named = str(answers.get("_template") or "")
    local = template_folder(str(answers.get("_repo_dir") or "")) or template_folder(named)
    if local is None:
        return named, None, checkout
    top = git_output(["rev-parse", "--show-toplevel"], local)
    # only the template's own repository, not one it merely sits in (a venv inside a project)
    own = top is not None and Path(top).resolve() == local
    commit = git_output(["rev-parse", "HEAD"], local) if own else None
    template = str(local)
    if template_folder(named) is None and own:
        # a remote template (gh:…, https://…) that cookiecutter cloned: cruft needs the URL
        template = git_output(["remote", "get-url", "origin"], local) or named
    return template, commit, checkout


def cruft_state(answers: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """The .cruft.json content: what `cruft create` writes, so cruft and ccmlops can update."""
    template, commit, checkout = template_source(answers)
    context: dict[str, Any] = {}
    for key in [*order, *(k for k in answers if k not in order)]:
        if key in MACHINE_KEYS or key in {"_template", "_commit"}:
            continue
        value = answers[key]
        context[key] = jinja_literal(value) if isinstance(value, str) and key[0] != "_" else value
    context["_template"] = template
    context["_commit"] = commit
    return {
        "template": template,
        "commit": commit,
        "checkout": checkout,
        "context": {"cookiecutter": context},
        "directory": None,
    }


def write_cruft_state(root: Path, answers: Mapping[str, Any], order: Sequence[str]) -> None:
    """Write .cruft.json byte for byte as cruft does (cruft create then rewrites the same)."""
    state = cruft_state(answers, order)
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
    (root / CRUFT_FILE).write_text(text + "\n", encoding="utf-8")
    if state["commit"] is None:
        warn(
            "the template is not a Git checkout: .cruft.json records no commit, so "
            "`ccmlops update` cannot update this project (docs/updating.md)."
        )


class GitError(RuntimeError):
    """A git step of the first commit failed; the message is its last line of output."""


def init_vcs(root: Path, answers: Mapping[str, Any]) -> list[str]:
    """git init and the first commit (DVC's files are template files); returns the commands
    the user still has to run. A repository that already holds ``root`` is never written."""
    if shutil.which("git") is None:
        warn("git was not found: the project was created without a Git repository.")
        return ["git init -b main", "git add -A", 'git commit -m "Initial commit"']
    if (root / ".git").exists():  # plain `cookiecutter -f` over an earlier project
        warn("the folder already has a Git repository: nothing was committed (see git status).")
        return []
    parent_repo = enclosing_repo(root)
    if parent_repo is not None:
        warn(
            f"{root.name} is inside the Git repository {parent_repo}: no nested repository was "
            "created and nothing was committed."
        )
        return [f"git add {root.name}", f'git commit -m "Add {root.name}"']
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*git_identity_args(root, answers), "commit", "-q", "-m", COMMIT_MESSAGE],
    ):
        result = run(["git", *args], cwd=root)
        if result.returncode != 0:  # a full disk, a broken git set-up: not a project to keep
            step = next(arg for arg in args if arg in {"init", "add", "commit"})
            lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
            raise GitError(f"git {step} failed: {lines[-1]}")
    return []


def main() -> int:
    """Entry point run by cookiecutter inside the new project folder."""
    answers = json.loads(ANSWERS_JSON.strip())
    root = Path.cwd()
    remove_optional_parts(root, answers)
    try:
        apply_exercises(root, answers)
    except ExerciseError as error:
        print(f"ERROR: exercise markers: {error}", file=sys.stderr)
        return 1
    write_cruft_state(root, answers, json.loads(ANSWER_ORDER_JSON.strip()))
    try:
        todo = [] if os.environ.get(SKIP_VCS_ENV) else init_vcs(root, answers)
    except GitError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    if todo:
        slug = answers["project_slug"].replace("_", "-")
        print("Still to do, inside the project:", file=sys.stderr)
        for command in todo:
            print(f"    {command.format(slug=slug)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C reaches the hook too: the caller says what happened
        sys.exit(130)
