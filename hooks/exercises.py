"""Exercise markers: stub the marked blocks up to the render's milestone, list them in README.

Why a module of its own: the post-generation hook imports it from the template's hooks/ folder
(cookiecutter copies a hook file alone), so the hook stays Git and part removal only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Exercise markers in any file with `#` comments (Python, YAML, TOML, Dockerfile, shell; see
# the instructor guide):
#     # exercise M2.1: One-line description of the task.
#     ...the reference solution...
#     # end exercise
# A Python block that ends its function becomes `raise NotImplementedError(...)`; any other
# block becomes a `# TODO exercise M2.1: ...` comment. A task may span files (same description).
EXERCISE_START = re.compile(r"^(?P<indent>[ \t]*)# exercise\b(?P<rest>.*)$")
EXERCISE_HEADER = re.compile(
    r"^ (?P<task>M(?P<milestone>[1-6])\.(?P<number>[1-9][0-9]*)): (?P<text>\S.*)$"
)
EXERCISE_END = re.compile(r"^[ \t]*# end exercise[ \t]*$")
FUNCTION_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
TASKS_PLACEHOLDER = "<!-- tasks -->"
LINE_LENGTH = 100  # the generated project's ruff line length: stubs stay format-clean
SKIPPED_DIRS = frozenset({".git", ".venv", "__pycache__"})
MARKED_SUFFIXES = (".py", ".yaml", ".yml", ".toml", ".sh", "Dockerfile")


class ExerciseError(ValueError):
    """A malformed exercise marker in the template: names the file and the line."""


@dataclass(frozen=True)
class Task:
    """One exercise: its id (M2.1), what to do, and where (``function``: None for a TODO
    comment)."""

    task_id: str
    milestone: int
    number: int
    text: str
    path: str
    function: str | None


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


def todo_lines(indent: str, task: Task) -> list[str]:
    """``# TODO exercise M2.3: ...``, wrapped between words to the line length."""
    words, lines = f"TODO exercise {task.task_id}: {task.text}".split(" "), [f"{indent}#"]
    for word in words:
        if len(lines[-1]) > len(indent) + 1 and len(f"{lines[-1]} {word}") > LINE_LENGTH:
            lines.append(f"{indent}#  ")
        lines[-1] = f"{lines[-1]} {word}" if not lines[-1].endswith("  ") else lines[-1] + word
    return lines


def enclosing_function(lines: Sequence[str], index: int, indent: str) -> tuple[str, int] | None:
    """Name and indentation of the ``def`` that the marker at ``lines[index]`` sits in (None
    at module level, e.g. in a module-level list)."""
    level = len(indent)
    for line in reversed(lines[:index]):
        depth = len(line) - len(line.lstrip())
        if not line.strip() or depth >= level:
            continue
        if found := FUNCTION_LINE.match(line):
            return found["name"], depth
        level = depth
    return None


def ends_function(lines: Sequence[str], end: int, def_indent: int) -> bool:
    """Whether the block closed at ``lines[end]`` is the rest of its function's body."""
    following = [line for line in lines[end + 1 :] if line.strip()]
    return not following or len(following[0]) - len(following[0].lstrip()) <= def_indent


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
        found = enclosing_function(lines, index, indent) if rel.endswith(".py") else None
        function = found[0] if found and ends_function(lines, end, found[1]) else None
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
            out += stub_lines(indent, task) if function else todo_lines(indent, task)
        else:
            out += lines[index + 1 : end]
        index = end + 1
    return "\n".join(out), tasks


def marked_files(root: Path) -> list[Path]:
    """Every file that may hold markers, in a stable order (no .git, no .venv)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found += [Path(folder) / name for name in sorted(files) if name.endswith(MARKED_SUFFIXES)]
    return found


def tasks_section(tasks: Sequence[Task]) -> str:
    """The README's "Tasks" section listing the stubbed tasks (a task once, with its places)."""
    places: dict[Task, list[str]] = {}
    for task in tasks:
        first = next((t for t in places if t.task_id == task.task_id), task)
        places.setdefault(first, []).append(task.path)
        if task.function:
            places[first].append(task.function)
    items = [
        f"- [ ] **{task.task_id}** {task.text} ({', '.join(f'`{p}`' for p in where)})"
        for task, where in places.items()
    ]
    return "\n".join(
        [
            "## Tasks",
            "",
            "Some functions are left for you to write: each one raises `NotImplementedError`",
            "naming its task, and the tests that need it fail with that task's id. Other tasks",
            "are `# TODO exercise` comments in the files to change (the milestone's tutorial",
            "says how each is graded).",
            "",
            *items,
            "",
            "A task is done when the tests that named it pass (`uv run pytest`) and",
            "`ccmlops check` grades it passed; all tasks are done when every test passes.",
            "",
            "",
        ]
    )


def apply_exercises(root: Path, answers: Mapping[str, Any]) -> list[Task]:
    """Remove the exercise markers; with ``exercises`` on, stub the tasks up to the render's
    milestone and list them in README.md. Returns the stubbed tasks."""
    stub_until = milestone_number(answers) if answers.get("exercises") else 0
    stubbed: list[Task] = []
    seen: dict[str, Task] = {}
    for path in marked_files(root):
        text = path.read_text(encoding="utf-8")
        if "# exercise" not in text and "# end exercise" not in text:
            continue
        rel = path.relative_to(root).as_posix()
        new_text, tasks = exercise_source(text, rel, stub_until)
        for task in tasks:
            other = seen.setdefault(task.task_id, task)
            if other is not task and (other.text != task.text or other.function or task.function):
                raise ExerciseError(f"{rel}: task {task.task_id} is also in {other.path}")
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
