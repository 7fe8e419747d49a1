"""Examples in the docs site, regenerated from real rendered projects so they cannot drift.

A page marks a code block as an example with an HTML comment on the line just before it::

    <!-- example: file params.yaml -->
    ```yaml
    ...
    ```

The words after ``example:`` name what produces the block (``EXAMPLES`` below) and its
arguments. ``tests/test_docs_site.py`` compares every block with a fresh render; run
``uv run python tests/docs_examples.py`` to rewrite the blocks after a template change
(``--check`` only lists the blocks that differ). Examples marked ``project_env`` run
inside a generated project and need its dependencies: the shared environment of the
tier-2 tests (``tests/conftest.py``), built on first use.

Output is normalised in one place (``Workspace.clean``): the output folder appears as
``/home/you/projects``, and the generation time as ``… s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs" / "pages"
MARKER = re.compile(
    r"^<!-- example: (?P<spec>[^\n]*?) -->\n"
    r"(?P<fence>```+)(?P<lang>[^\n]*)\n(?P<body>.*?)^(?P=fence)$",
    flags=re.DOTALL | re.MULTILINE,
)
FAKE_PROJECTS = "/home/you/projects"
PROBE = Path(__file__).with_name("docs_serving_probe.py")
SENTINEL = "--- answers ---"  # docs_serving_probe.SENTINEL
DEFAULT_PACKAGE = "my_ml_project"


@dataclass(frozen=True)
class Block:
    """One marked code block of a page."""

    page: Path
    spec: str
    body: str
    start: int
    end: int

    @property
    def words(self) -> list[str]:
        return shlex.split(self.spec)

    def __str__(self) -> str:
        return f"{self.page.name}: example: {self.spec}"


def blocks(page: Path) -> list[Block]:
    """Every marked block of a page, in order."""
    text = page.read_text(encoding="utf-8")
    return [
        Block(page, m["spec"].strip(), m["body"], m.start("body"), m.end("body"))
        for m in MARKER.finditer(text)
    ]


def all_blocks() -> list[Block]:
    """Every marked block of every page of the site."""
    return [block for page in sorted(PAGES.rglob("*.md")) for block in blocks(page)]


@dataclass
class Workspace:
    """A temporary folder with rendered projects, reused by every example of one run."""

    tmp: Path
    project_python: Path | None = None
    _projects: dict[tuple[str, ...], Path] = field(default_factory=dict)
    _outputs: dict[tuple[str, ...], str] = field(default_factory=dict)
    _installed: set[Path] = field(default_factory=set)
    runs: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        """A stable environment: fixed width, no colour, a git identity, no telemetry, and a
        cookiecutter config of its own (no user defaults; replay files stay in ``tmp``)."""
        config = self.tmp / "cookiecutter-config.yaml"
        if not config.exists():
            config.write_text(
                f"replay_dir: {json.dumps(str(self.tmp / 'replay'))}\n"
                f"cookiecutters_dir: {json.dumps(str(self.tmp / 'cookiecutters'))}\n",
                encoding="utf-8",
            )
        env = {
            **os.environ,
            "COOKIECUTTER_CONFIG": str(config),
            "COLUMNS": "100",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "GIT_AUTHOR_NAME": "Docs",
            "GIT_AUTHOR_EMAIL": "docs@example.org",
            "GIT_COMMITTER_NAME": "Docs",
            "GIT_COMMITTER_EMAIL": "docs@example.org",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "CODECARBON_LOG_LEVEL": "error",
        }
        env.pop("VIRTUAL_ENV", None)
        return {**env, **extra}

    def clean(self, text: str) -> str:
        """Normalise what changes from run to run: the folder and the timing."""
        # every command writes into <tmp>/<case>/projects: shown as the user's ~/projects
        text = re.sub(re.escape(str(self.tmp)) + r"(?:/[^/\s]+)*?/projects", FAKE_PROJECTS, text)
        text = text.replace(str(self.tmp), FAKE_PROJECTS)
        text = re.sub(r"(\d+ files), \d+\.\d s\)", r"\1, … s)", text)
        return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"

    def ccmlops(
        self, *args: str, out: Path, env: dict[str, str] | None = None, stderr_only: bool = False
    ) -> str:
        """Run ``ccmlops`` in ``out``; stdout and stderr together (or stderr alone)."""
        out.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ccmlops"), *args],
            cwd=out,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return result.stderr if stderr_only else result.stdout + result.stderr

    def project(self, *answers: str) -> Path:
        """A project rendered with ``ccmlops new --no-input <answers>`` (git, DVC, first commit)."""
        key = tuple(sorted(answers))
        if key not in self._projects:
            out = self.tmp / f"render-{len(self._projects)}" / "projects"
            output = self.ccmlops("new", "--no-input", "-o", str(out), *answers, out=out)
            project = next((p for p in out.iterdir() if not p.name.startswith(".")), None)
            assert project is not None, output
            self._projects[key] = project
            self._outputs[key] = output
        return self._projects[key]

    def generation_output(self, *answers: str) -> str:
        """What ``ccmlops new`` printed when it rendered that project."""
        self.project(*answers)
        return self._outputs[tuple(sorted(answers))]

    def python(self) -> Path:
        """The generated projects' shared environment (tier 2), built on first use."""
        if self.project_python is None:
            sys.path.insert(0, str(Path(__file__).parent))
            from conftest import shared_env

            self.project_python = shared_env("3.11")
        return self.project_python

    def installed(self, *answers: str) -> Path:
        """A project installed (editable, no dependency changes) into the shared environment."""
        project = self.project(*answers)
        python = self.python()
        if project in self._installed:
            return project
        result = subprocess.run(
            ["uv", "pip", "install", "-q", "--python", str(python), "--no-deps", "-e", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        self._installed.add(project)
        return project

    def in_project(self, project: Path, *args: str, stdout_only: bool = False) -> str:
        """Run a command of the project's environment in the project; output as the user sees it."""
        python = self.python()
        env = self.env(PATH=f"{python.parent}{os.pathsep}{os.environ['PATH']}")
        env["VIRTUAL_ENV"] = str(python.parent.parent)
        result = subprocess.run(
            args, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        return result.stdout if stdout_only else result.stdout + result.stderr


def tree_lines(root: Path, prefix: str = "") -> Iterator[str]:
    """``tree``-style lines, directories first; Git's and DVC's internals left out."""
    skip = {".git", "__pycache__"}
    children = sorted(
        (p for p in root.iterdir() if p.name not in skip),
        key=lambda p: (not p.is_dir(), p.name),
    )
    for i, child in enumerate(children):
        last = i == len(children) - 1
        branch, indent = ("└── ", "    ") if last else ("├── ", "│   ")
        if child.is_dir():
            yield f"{prefix}{branch}{child.name}/"
            if child.name != ".dvc":
                yield from tree_lines(child, prefix + indent)
        else:
            yield f"{prefix}{branch}{child.name}"


# -- the examples: spec words -> text ---------------------------------------------------------


def ex_tree(ws: Workspace, *answers: str) -> str:
    """The file tree of a rendered project."""
    project = ws.project(*answers)
    return ws.clean("\n".join([f"{project.name}/", *tree_lines(project)]))


def ex_file(ws: Workspace, path: str, *answers: str) -> str:
    """A whole file of a rendered project."""
    return ws.clean((ws.project(*answers) / path).read_text(encoding="utf-8"))


def ex_grep(ws: Workspace, path: str, text: str, *answers: str) -> str:
    """The lines of a rendered file that contain ``text``."""
    lines = (ws.project(*answers) / path).read_text(encoding="utf-8").splitlines()
    found = [line for line in lines if text in line]
    assert found, f"{text!r} not in {path}"
    return ws.clean("\n".join(found))


def ex_section(ws: Workspace, path: str, heading: str, *answers: str) -> str:
    """The first code block under a ``## heading`` of a rendered Markdown file."""
    text = (ws.project(*answers) / path).read_text(encoding="utf-8")
    after = text.split(f"\n## {heading}\n", 1)[1]
    match = re.search(r"^```[^\n]*\n(.*?)^```$", after, flags=re.DOTALL | re.MULTILINE)
    assert match, f"no code block under '## {heading}' in {path}"
    return ws.clean(match[1])


def ex_new(ws: Workspace, *answers: str) -> str:
    """What ``ccmlops new --no-input [answers]`` prints, success or error."""
    key = "-".join(answers) or "default"
    out = ws.tmp / "new" / re.sub(r"[^a-z0-9_-]+", "_", key.lower()) / "projects"
    return ws.clean(ws.ccmlops("new", "--no-input", "-o", str(out), *answers, out=out))


def ex_new_summary(ws: Workspace) -> str:
    """The summary ``ccmlops new --no-input`` prints for the default project."""
    return ws.clean(ws.generation_output())


def ex_exists(ws: Workspace) -> str:
    """``ccmlops new`` again into the folder where the default project was just created."""
    out = ws.project().parent
    return ws.clean(ws.ccmlops("new", "--no-input", "-o", str(out), out=out))


def ex_inside_repo(ws: Workspace) -> str:
    """The warning of ``ccmlops new`` into a folder that is already inside a Git repository."""
    out = ws.tmp / "inside-repo" / "projects"
    out.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(out)], check=True)
    return ws.clean(ws.ccmlops("new", "--no-input", "-o", str(out), out=out, stderr_only=True))


def ex_no_git(ws: Workspace) -> str:
    """The warning of ``ccmlops new`` without git: only the interpreter's folder on PATH."""
    out = ws.tmp / "no-git" / "projects"
    env = ws.env(PATH=str(Path(sys.executable).parent))
    return ws.clean(
        ws.ccmlops("new", "--no-input", "-o", str(out), out=out, env=env, stderr_only=True)
    )


def ex_options(ws: Workspace) -> str:
    """The table ``ccmlops options`` prints."""
    return ws.clean(ws.ccmlops("options", out=ws.tmp / "options"))


def ex_dvc_repro(ws: Workspace, old: str, new: str, *stage: str) -> str:
    """``dvc repro [stage]`` in a fresh copy of the default project whose params.yaml had
    ``old`` replaced with ``new`` (each run starts from the rendered state)."""
    project = ws.installed()
    ws.runs += 1
    copy = ws.tmp / f"repro-{ws.runs}" / project.name
    shutil.copytree(project, copy, symlinks=True)
    params = copy / "params.yaml"
    original = params.read_text(encoding="utf-8")
    assert old in original, f"{old!r} not in params.yaml"
    params.write_text(original.replace(old, new, 1), encoding="utf-8")
    output = ws.in_project(copy, "dvc", "repro", *stage)
    shutil.rmtree(copy.parent, ignore_errors=True)
    return ws.clean(output)


def ex_project_command(ws: Workspace, *args: str) -> str:
    """A command of the default project's environment, run in the project (slug replaced)."""
    return ws.clean(ws.in_project(ws.installed(), *args))


def ex_serving(ws: Workspace, case: str) -> str:
    """Status and body of the serving app's answer to one bad request (docs_serving_probe.py)."""
    project = ws.installed()
    key = ("serving-probe",)
    if key not in ws._outputs:
        ws._outputs[key] = ws.in_project(
            project, str(ws.python()), str(PROBE), DEFAULT_PACKAGE, stdout_only=True
        )
    answers = json.loads(ws._outputs[key].split(SENTINEL + "\n", 1)[1])
    return ws.clean(answers[case])


@dataclass(frozen=True)
class Example:
    """How to produce one kind of example, and whether it needs the project's environment."""

    make: Callable[..., str]
    project_env: bool = False


EXAMPLES: dict[str, Example] = {
    "tree": Example(ex_tree),
    "file": Example(ex_file),
    "grep": Example(ex_grep),
    "section": Example(ex_section),
    "new": Example(ex_new),
    "new-summary": Example(ex_new_summary),
    "exists": Example(ex_exists),
    "inside-repo": Example(ex_inside_repo),
    "no-git": Example(ex_no_git),
    "options": Example(ex_options),
    "dvc-repro": Example(ex_dvc_repro, project_env=True),
    "project": Example(ex_project_command, project_env=True),
    "serving": Example(ex_serving, project_env=True),
}


def produce(ws: Workspace, block: Block) -> str:
    """The text a block should hold, from a real render."""
    name, *args = block.words
    return EXAMPLES[name].make(ws, *args)


def needs_project_env(block: Block) -> bool:
    return EXAMPLES[block.words[0]].project_env


def rewrite(page: Path, fresh: dict[int, str]) -> None:
    """Replace the bodies of a page's blocks (keyed by start offset) with fresh text."""
    text = page.read_text(encoding="utf-8")
    for block in sorted(blocks(page), key=lambda b: b.start, reverse=True):
        if block.start in fresh:
            text = text[: block.start] + fresh[block.start] + text[block.end :]
    page.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def workspace_dir() -> Iterator[Path]:
    """A temporary folder whose path has the same length wherever it is made.

    rich wraps the ``ccmlops new`` summary at the terminal width before the folder is
    replaced by ``FAKE_PROJECTS``, so a longer path (pytest's, under xdist) would wrap it.
    """
    with tempfile.TemporaryDirectory(prefix="ccmlops-docs-", dir="/tmp") as tmp:
        yield Path(tmp)


def main(argv: list[str]) -> int:
    """Regenerate every example (``--check``: only report the ones that differ)."""
    check_only = "--check" in argv
    stale = 0
    with workspace_dir() as tmp:
        ws = Workspace(tmp)
        by_page: dict[Path, dict[int, str]] = {}
        for block in all_blocks():
            started = time.perf_counter()
            fresh = produce(ws, block)
            if "--time" in argv:
                print(f"{time.perf_counter() - started:6.1f} s  {block}")
            if fresh != block.body:
                stale += 1
                print(f"{'stale' if check_only else 'updated'}: {block}")
                by_page.setdefault(block.page, {})[block.start] = fresh
        if not check_only:
            for page, fresh_blocks in by_page.items():
                rewrite(page, fresh_blocks)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{stale} example(s) {'stale' if check_only else 'rewritten'}")
    return 1 if check_only and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
