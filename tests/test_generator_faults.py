"""Fault injection for the generator: bad answers, existing folders, failing hooks, no git."""

from __future__ import annotations

import hashlib
import keyword
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, project_requirements, require, run

from hooks import pre_gen_project as rules

CCMLOPS = str(Path(sys.executable).parent / "ccmlops")
STDLIB_SAMPLE = ["json", "os", "typing", "email", "ast", "logging", "random"]


def ccmlops(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command with a private cookiecutter config (replay files in tmp)."""
    config = tmp_path / "cc-config.yaml"
    if not config.exists():
        config.write_text(
            f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cc'}\n"
        )
    base = {"COOKIECUTTER_CONFIG": str(config)}
    return run([CCMLOPS, *args], cwd=tmp_path, env={**base, **(env or {})}, timeout=120)


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


BAD_SLUGS = [
    ("my-project", "lowercase letters"),
    ("My_Project", "lowercase letters"),
    ("my project", "lowercase letters"),
    ("1project", "not start with a digit"),
    ("café", "lowercase letters"),
    ("", "must not be empty"),
    (".", "path characters"),
    ("..", "path characters"),
    ("../escape", "path characters"),
    ("a/b", "path characters"),
    ("/abs", "path characters"),
    ("a\\b", "path characters"),
    ("x" * 300, "at most 32"),
    ("test", "reserved"),
    ("tests", "reserved"),
]


@pytest.mark.parametrize(
    ("slug", "reason"), BAD_SLUGS, ids=[s[:12] or "empty" for s, _ in BAD_SLUGS]
)
def test_bad_slug_is_refused_before_anything_is_written(
    tmp_path: Path, slug: str, reason: str
) -> None:
    out = tmp_path / "out"
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(out), f"project_slug={slug}")
    assert result.returncode == 1
    assert reason in result.stderr
    assert "try '" in result.stderr  # a valid suggestion
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cc-config.yaml"]


@pytest.mark.parametrize(
    "name",
    [*keyword.kwlist, *keyword.softkwlist, *STDLIB_SAMPLE, *sorted(rules.DEPENDENCY_NAMES)],
)
def test_reserved_names_are_refused_by_the_shared_rule(name: str) -> None:
    problems = rules.validate({"project_slug": name, "project_name": "x", "author_email": "a@b.c"})
    assert len(problems) == 1
    assert name_reason(name) in problems[0]
    suggestion = problems[0].split("try '")[1].split("'")[0]
    assert rules.name_problem(suggestion) is None


def name_reason(name: str) -> str:
    if len(name) > rules.MAX_NAME_LENGTH:
        return "at most"  # a long dependency name is refused for its length first
    if not rules.NAME_PATTERN.fullmatch(name):
        return "lowercase letters"  # False, None, True fail the pattern first
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "keyword"
    if name in sys.stdlib_module_names:
        return "standard-library"
    return "dependency"


def test_generated_dependencies_are_all_reserved(bake_ccmlops: Callable[..., Path]) -> None:
    """A new dependency in the template must join the reserved names."""
    project = bake_ccmlops(dvc_remote="s3")
    import_names = {"scikit-learn": "sklearn", "pyyaml": "yaml"}
    for requirement in project_requirements(project / "pyproject.toml"):
        dist = re.split(r"[=\[<>]", requirement)[0].lower()
        if dist.startswith(("types-", "pytest-")):
            continue
        assert import_names.get(dist, dist.replace("-", "_")) in rules.DEPENDENCY_NAMES, dist


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["projct_name=x"], "did you mean 'project_name'"),
        (["licence=MIT"], "did you mean 'license'"),
        (["license=GPL"], "choose one of: MIT, Apache-2.0, BSD-3-Clause, none"),
        (["ml_task=clustering"], "choose one of: classification, regression"),
        (["serving=maybe"], "must be true or false"),
        (["serving=false", "docker=true"], "docker-needs-serving"),
        (["author_email=not an email"], "not an email address"),
        (["author_email=@"], "not an email address"),
        (['author_email=a@b"c'], "not an email address"),
        (["author_email=a@b.c."], "not an email address"),
        (["author_name=Ada\nLovelace"], "author_name must be one line"),
        (["project_name=Example"], "project_slug 'example' is the name of a dependency"),
        (["noequals"], "expected key=value"),
    ],
)
def test_bad_answers_get_one_clear_line(tmp_path: Path, words: list[str], message: str) -> None:
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(tmp_path / "out"), *words)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "answers",
    [{"project_name": "Example"}, {"project_slug": "pynvml"}, {"author_email": "@"},
     {"author_email": 'a@b"c'}, {"author_name": "Ada\nLovelace"}],
    ids=["module-of-a-dependency", "module-of-a-dependency-2", "email-at", "email-quote",
         "name-on-two-lines"],
)  # fmt: skip
def test_plain_cookiecutter_refuses_answers_that_break_setup(
    cookies: Any, answers: dict[str, str]
) -> None:
    """The same rules in the pre-generation hook: nothing is rendered."""
    result = cookies.bake(extra_context=answers)
    assert result.exit_code != 0
    assert result.project_path is None or not Path(result.project_path).exists()


@pytest.mark.tier2
def test_dependency_names_are_those_of_the_locked_environment(project_python: Path) -> None:
    """The hook's list is every top-level module and distribution of the pinned dependencies."""
    from module_names import dependency_names, hook_names_block, names_block

    fresh = names_block(dependency_names(project_python))
    assert hook_names_block() == fresh, "run: uv run python tests/module_names.py"


def test_no_question_asks_for_a_secret() -> None:
    from conftest import CONTEXT

    for key in CONTEXT:
        assert not any(word in key.lower() for word in ("token", "password", "secret", "key"))


def test_existing_target_is_untouched_without_force(tmp_path: Path) -> None:
    target = tmp_path / "out" / "my_ml_project"
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("precious")
    before = snapshot(target)
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert snapshot(target) == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["my_ml_project"]


def failing_template(tmp_path: Path, hook_body: str) -> Path:
    """A copy of the template whose post-generation hook is replaced."""
    copy = tmp_path / "template"
    shutil.copytree(
        ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "tests", "docs")
    )
    (copy / "hooks" / "post_gen_project.py").write_text(hook_body)
    return copy


def test_failing_hook_with_force_keeps_existing_files_byte_identical(tmp_path: Path) -> None:
    target = tmp_path / "out" / "my_ml_project"
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("precious")
    before = snapshot(target)
    template = failing_template(tmp_path, "import sys\nsys.exit(3)\n")
    result = ccmlops(
        tmp_path,
        "new",
        "--no-input",
        "--force",
        "-o",
        str(tmp_path / "out"),
        env={"CCMLOPS_TEMPLATE": str(template)},
    )
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert "--replay" in result.stderr
    assert snapshot(target) == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["my_ml_project"]


def test_jinja_error_leaves_nothing(tmp_path: Path) -> None:
    template = failing_template(tmp_path, "")
    (template / "{{cookiecutter.project_slug}}" / "broken.txt").write_text(
        "{{ cookiecutter.nope.deeper }}"
    )
    result = ccmlops(
        tmp_path,
        "new",
        "--no-input",
        "-o",
        str(tmp_path / "out"),
        env={"CCMLOPS_TEMPLATE": str(template)},
    )
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert not (tmp_path / "out").exists()


def test_force_replaces_and_keeps_a_backup(tmp_path: Path) -> None:
    target = tmp_path / "out" / "my_ml_project"
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("precious")
    result = ccmlops(tmp_path, "new", "--no-input", "--force", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    backups = [p for p in (tmp_path / "out").iterdir() if ".backup-" in p.name]
    assert len(backups) == 1
    assert (backups[0] / "mine.txt").read_text() == "precious"
    assert (target / "pyproject.toml").exists()


def test_ctrl_c_during_generation_leaves_nothing(tmp_path: Path) -> None:
    template = failing_template(tmp_path, "import time\ntime.sleep(60)\n")
    config = tmp_path / "cc-config.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    env = {**os.environ, "CCMLOPS_TEMPLATE": str(template), "COOKIECUTTER_CONFIG": str(config)}
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [CCMLOPS, "new", "--no-input", "-o", str(out)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".my_ml_project.ccmlops-") for p in out.iterdir()):
        assert time.monotonic() < deadline, "staging folder never appeared"
        time.sleep(0.05)
    time.sleep(1.0)  # inside the hook now
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted; nothing was written" in stderr  # (this stand-in hook's traceback too)
    assert list(out.iterdir()) == []


def test_output_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    for output in ("notes.txt", "notes.txt/sub"):
        result = ccmlops(tmp_path, "new", "--no-input", "-o", str(tmp_path / output))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "nothing was written" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def user_namespaces(cwd: Path) -> bool:
    """True when ``unshare -rm`` works here (the binary exists and namespaces are allowed)."""
    return bool(shutil.which("unshare")) and run(["unshare", "-rm", "true"], cwd).returncode == 0


def in_tmpfs(tmp_path: Path, options: str, *args: str) -> tuple[int, str, list[str]]:
    """Run ccmlops with -o inside a fresh tmpfs mounted with ``options`` (a private mount
    namespace): (exit status, stderr, what the tmpfs holds afterwards)."""
    require(user_namespaces(tmp_path), "unshare -rm (util-linux, user namespaces)")
    mount = tmp_path / "mnt"
    mount.mkdir()
    script = 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && "$@"; echo "rc=$?"; ls -A "$0"'
    config = tmp_path / "cc-config.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    result = run(
        ["unshare", "-rm", "sh", "-c", script, str(mount), options, str(mount), CCMLOPS,
         "new", "--no-input", *args],
        cwd=tmp_path, env={"COOKIECUTTER_CONFIG": str(config)}, timeout=120,
    )  # fmt: skip
    status, *left = result.stdout.split("rc=")[-1].split()
    return int(status), result.stderr, left


@pytest.mark.parametrize("output", ["", "new/deeper"])
def test_read_only_output_is_one_line(tmp_path: Path, output: str) -> None:
    status, stderr, left = in_tmpfs(tmp_path, "ro", "-o", str(tmp_path / "mnt" / output))
    assert status == 1
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Read-only file system" in stderr and "nothing was written" in stderr
    assert left == []


def test_a_disk_full_during_render_leaves_nothing(tmp_path: Path) -> None:
    status, stderr, left = in_tmpfs(tmp_path, "size=96k", "-o", str(tmp_path / "mnt" / "a" / "b"))
    assert status == 1
    assert "No space left on device" in stderr and "nothing was written" in stderr
    assert "Traceback" not in stderr
    assert left == []  # not even the parent folders a/b


def test_a_disk_full_after_render_fails_and_leaves_nothing(tmp_path: Path) -> None:
    """The files fit but git cannot write its objects: a failure, not an untracked project."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = add ]; then\n'
        '  echo "error: unable to write file: No space left on device" >&2\n'
        '  echo "fatal: adding files failed" >&2; exit 128\n'
        "fi\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    (bin_dir / "git").chmod(0o755)
    out = tmp_path / "out" / "nested"
    result = ccmlops(
        tmp_path, "new", "--no-input", "-o", str(out),
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "git add failed: fatal: adding files failed" in result.stderr
    assert "nothing was written" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_failure_removes_the_parent_folders_it_created(tmp_path: Path) -> None:
    template = failing_template(tmp_path, "import sys\nsys.exit(3)\n")
    result = ccmlops(
        tmp_path, "new", "--no-input", "-o", str(tmp_path / "out" / "a" / "b"),
        env={"CCMLOPS_TEMPLATE": str(template)},
    )  # fmt: skip
    assert result.returncode == 1
    assert not (tmp_path / "out").exists()


def interrupt(tmp_path: Path, args: list[str], ready: Callable[[Path], bool], **env: str) -> str:
    """Start ccmlops, send Ctrl-C (SIGINT to its process group) once ``ready``, and return
    its stderr after checking it exited 130 with one line and left nothing in out/."""
    config = tmp_path / "cc-config.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [CCMLOPS, "new", "-o", str(out), *args],
        env={**os.environ, "COOKIECUTTER_CONFIG": str(config), **env},
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not ready(out):
        assert time.monotonic() < deadline, "never got ready to interrupt"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "error: interrupted; nothing was written. Retry with `ccmlops new --replay`."
    ]
    assert list(out.iterdir()) == []
    return stderr


def test_ctrl_c_in_the_real_hook_is_one_line(tmp_path: Path) -> None:
    template = failing_template(tmp_path, "")
    hook = template / "hooks" / "post_gen_project.py"
    real = (ROOT / "hooks" / "post_gen_project.py").read_text(encoding="utf-8")
    marker = "    answers = json.loads(ANSWERS_JSON.strip())\n"
    assert marker in real
    pause = "    Path('HOOK_STARTED').touch()\n    __import__('time').sleep(60)\n"
    hook.write_text(real.replace(marker, marker + pause, 1))
    interrupt(
        tmp_path, ["--no-input"], lambda out: any(out.glob(".*/my_ml_project/HOOK_STARTED")),
        CCMLOPS_TEMPLATE=str(template),
    )  # fmt: skip


def test_ctrl_c_at_a_prompt_is_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    interrupt(tmp_path, [], lambda _: time.monotonic() - started > 6)


def test_ctrl_c_while_ccmlops_starts_is_one_line(tmp_path: Path) -> None:
    """Its imports take about a second: an early Ctrl-C gets the same one line, exit 130."""
    process = subprocess.Popen(
        [CCMLOPS, "new", "--no-input", "-o", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert len(stderr.strip().splitlines()) == 1 and "interrupted" in stderr, stderr
    assert not (tmp_path / "out").exists()


def test_replay_after_a_fix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "demo_proj").mkdir(parents=True)
    first = ccmlops(
        tmp_path,
        "new",
        "--no-input",
        "-o",
        str(out),
        "project_name=Demo Proj",
        "description=Kept answer",
    )
    assert first.returncode == 1
    shutil.rmtree(out / "demo_proj")  # the fix
    again = ccmlops(tmp_path, "new", "--replay", "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert "Kept answer" in (out / "demo_proj" / "README.md").read_text()


def git(project: Path, *args: str) -> str:
    return run(["git", *args], cwd=project).stdout.strip()


def test_default_generation_commits_everything_with_dvc(tmp_path: Path) -> None:
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "my_ml_project"
    assert git(project, "branch", "--show-current") == "main"
    assert git(project, "status", "--porcelain") == ""
    tracked = git(project, "ls-files").splitlines()
    assert ".dvc/config" in tracked
    config = (project / ".dvc" / "config").read_text()
    assert "analytics = false" in config
    assert "url = ../../my_ml_project-dvc-storage" in config


def test_no_git_identity_commits_per_command_without_touching_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "XDG_CONFIG_HOME": str(home),
    }
    result = ccmlops(
        tmp_path,
        "new",
        "--no-input",
        "-o",
        str(tmp_path / "out"),
        "author_name=Ada O'Brien",
        "author_email=ada@example.org",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "my_ml_project"
    log = run(["git", "log", "--format=%an <%ae>"], cwd=project, env=env).stdout.strip()
    assert log == "Ada O'Brien <ada@example.org>"
    assert not (home / ".gitconfig").exists()
    assert "user" not in (project / ".git" / "config").read_text()


def test_git_missing_keeps_the_project_and_prints_next_steps(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    result = ccmlops(
        tmp_path, "new", "--no-input", "-o", str(tmp_path / "out"), env={"PATH": str(bin_dir)}
    )
    assert result.returncode == 0, result.stderr
    assert "git was not found" in result.stderr
    assert "git init -b main" in result.stderr
    project = tmp_path / "out" / "my_ml_project"
    assert (project / "pyproject.toml").exists()
    assert not (project / ".git").exists()


def test_inside_an_existing_repo_no_nested_repo_and_dvc(tmp_path: Path) -> None:
    parent = tmp_path / "mono"
    parent.mkdir()
    run(["git", "init", "-q", "-b", "main"], cwd=parent).check_returncode()
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(parent))
    assert result.returncode == 0, result.stderr
    assert "inside the Git repository" in result.stderr
    project = parent / "my_ml_project"
    assert not (project / ".git").exists()
    assert (project / ".dvc" / "config").exists()
    assert "my_ml_project/" in git(
        parent, "status", "--porcelain", "-uall"
    ) or "my_ml_project" in git(parent, "status", "--porcelain")
    assert git(parent, "log", "--oneline") == ""  # nothing committed into the user's repo


def test_inside_an_existing_repo_its_status_only_gains_the_new_folder(tmp_path: Path) -> None:
    parent = tmp_path / "mono"
    parent.mkdir()
    run(["git", "init", "-q", "-b", "main"], cwd=parent).check_returncode()
    (parent / "mine.txt").write_text("tracked\n")
    git(parent, "add", "mine.txt")
    (parent / "mine.txt").write_text("edited\n")
    before = git(parent, "status", "--porcelain", "--ignored")
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(parent))
    assert result.returncode == 0, result.stderr
    after = git(parent, "status", "--porcelain", "--ignored")
    assert sorted(after.splitlines()) == sorted([*before.splitlines(), "?? my_ml_project/"])


def test_an_ignored_output_folder_gets_its_own_repository(tmp_path: Path) -> None:
    """The README's first command renders into the checkout's ignored demo/ folder: the
    checkout is unchanged and the project is a repository of its own with its commit."""
    parent = tmp_path / "checkout"
    parent.mkdir()
    run(["git", "init", "-q", "-b", "main"], cwd=parent).check_returncode()
    (parent / ".gitignore").write_text("/demo/\n")
    before = git(parent, "status", "--porcelain")
    result = ccmlops(tmp_path, "new", "--no-input", "-o", str(parent / "demo"))
    assert result.returncode == 0, result.stderr
    assert "inside the Git repository" not in result.stderr
    assert git(parent, "status", "--porcelain") == before
    project = parent / "demo" / "my_ml_project"
    assert git(project, "rev-parse", "--show-toplevel") == str(project)
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "log", "--format=%s") == "Initial commit from cookiecutter-mlops"


def test_readme_first_command_writes_into_an_ignored_folder() -> None:
    from test_newcomer import readme_generate_command

    output = readme_generate_command().split(" -o ")[1].split()[0]
    ignored = run(["git", "check-ignore", "-q", "--no-index", f"{output}/x"], cwd=ROOT)
    assert ignored.returncode == 0, f"{output}/ is not ignored by the checkout's .gitignore"


@pytest.mark.parametrize(("remote", "url"), [("local", None), ("s3", "s3://my-ml-project-dvc")])
def test_plain_cookiecutter_without_dvc_commits_a_dvc_repository(
    tmp_path: Path, remote: str, url: str | None
) -> None:
    """cookiecutter from pipx has no DVC beside it: the first commit is a DVC repository anyway,
    with the default remote, and `git status` is clean."""
    stub = tmp_path / "stub" / "dvc"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('DVC is not installed here')\n")
    out = tmp_path / "out"
    result = run(
        [str(Path(sys.executable).parent / "cookiecutter"), "--no-input", "-o", str(out),
         str(ROOT), f"dvc_remote={remote}"],
        cwd=tmp_path, env={"PYTHONPATH": str(stub.parent)}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    project = out / "my_ml_project"
    assert git(project, "status", "--porcelain") == ""
    assert {".dvc/config", ".dvc/.gitignore", ".dvcignore"} <= set(git(project, "ls-files").split())
    config = run(
        [sys.executable, "-c", "from dvc.repo import Repo; c = Repo('.').config; "
         "print(c['core']['remote'], c['remote'][c['core']['remote']]['url'])"],
        cwd=project, timeout=120,
    )  # fmt: skip
    assert config.returncode == 0, config.stderr
    expected = url or str(out / "my_ml_project-dvc-storage")
    assert config.stdout.split() == ["storage", expected + ("/my_ml_project" if url else "")]


def test_generation_needs_no_network(tmp_path: Path) -> None:
    """Inside a network namespace with no interfaces up, generation still completes."""
    require(user_namespaces(tmp_path), "unshare -rn (util-linux, user namespaces)")
    result = run(
        ["unshare", "-rn", CCMLOPS, "new", "--no-input", "-o", str(tmp_path / "out")], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "out" / "my_ml_project"
    assert git(project, "status", "--porcelain") == ""
    assert (project / ".dvc" / "config").exists()
