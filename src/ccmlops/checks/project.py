"""The project under check: its root, package and interpreter, outcomes, the API probe.

Why a command prefix for the interpreter: the checks that need the project's packages run
in its own environment (``--python``, its ``.venv`` or ``uv run``), never in ccmlops's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

PASSED, FAILED, SKIPPED, NOT_APPLICABLE = "passed", "failed", "skipped", "not applicable"
SERVER_TIMEOUT_S = 60.0
NOT_READY_GRACE_S = 5.0  # a live server that stays not-ready this long has said why


class NotAProject(Exception):
    """The folder is not a generated project; the message says what is missing."""


@dataclass(frozen=True)
class Outcome:
    """What one check found: a status and one line (what is missing and how to fix it)."""

    status: str
    detail: str


def passed(detail: str) -> Outcome:
    return Outcome(PASSED, detail)


def failed(detail: str) -> Outcome:
    return Outcome(FAILED, detail)


def skipped(detail: str) -> Outcome:
    return Outcome(SKIPPED, detail)


def not_applicable(detail: str) -> Outcome:
    return Outcome(NOT_APPLICABLE, detail)


class UsageError(Exception):
    """Bad milestone, item or interpreter; the message lists the valid choices."""


@dataclass
class Project:
    """A generated project and the interpreter of its environment (a command prefix)."""

    root: Path
    package: str
    python: list[str]
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # results items share
    selected: frozenset[str] = frozenset()  # the item ids being checked (set by the runner)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def find(cls, root: Path, python: str | None = None) -> Project:
        """A generated project: pyproject.toml naming ``src/<pkg>``, its stages, dvc.yaml."""
        root = root.absolute()
        pyproject = root / "pyproject.toml"
        if not pyproject.is_file():
            raise NotAProject(f"{root} has no pyproject.toml: run from a generated project's root")
        try:
            config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise NotAProject(f"{pyproject} does not parse: {error}") from None
        packages = config.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        packages = packages.get("wheel", {}).get("packages", [])
        package = Path(packages[0]).name if packages else ""
        marker = root / "src" / package / "cli.py"  # every milestone's project has its task runner
        if not package or not marker.is_file():
            missing = marker.relative_to(root) if package else "src/<package> in pyproject.toml"
            raise NotAProject(f"{root} is not a cookiecutter-mlops project (missing {missing})")
        return cls(root, package, python_command(root, python))

    @cached_property
    def milestone(self) -> str | None:
        """The course milestone the project was rendered for (.cruft.json), None for all."""
        try:
            state = json.loads((self.root / ".cruft.json").read_text(encoding="utf-8"))
            answer = str(state["context"]["cookiecutter"].get("milestone", "all")).upper()
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return answer if answer.startswith("M") else None

    @property
    def cli(self) -> str:
        """The project's task runner as typed: ``uv run <cli> <task>``."""
        return str(self.config.get("project", {}).get("name", self.package)).replace("_", "-")

    @cached_property
    def config(self) -> dict[str, Any]:
        return tomllib.loads((self.root / "pyproject.toml").read_text(encoding="utf-8"))

    def setting(self, *keys: str, default: Any = None) -> Any:
        """A value of pyproject.toml's [tool] tables: ("coverage", "report", "fail_under")."""
        value: Any = self.config.get("tool", {})
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        return value

    def env(self) -> dict[str, str]:
        """The environment for the project's tools: its interpreter's folder first on PATH."""
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
        env.setdefault("CODECARBON_LOG_LEVEL", "error")
        if len(self.python) == 1:
            bin_dir = Path(self.python[0]).parent
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
            env["VIRTUAL_ENV"] = str(bin_dir.parent)
        return env

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in the project's environment, from its root; never raises on exit."""
        return self.command([*self.python, *args], timeout=timeout)

    def command(
        self, args: list[str], cwd: Path | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """Any command (a linter binary) in the project's environment; never raises on exit."""
        try:
            return subprocess.run(
                args,
                cwd=cwd or self.root,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 124, "", f"timed out after {timeout:.0f} s")

    def tool(self, name: str) -> str | None:
        """A linter binary: from ccmlops's environment, the project's, then PATH."""
        folders = [Path(sys.executable).parent]
        if len(self.python) == 1:
            folders.append(Path(self.python[0]).parent)
        path = os.pathsep.join([*map(str, folders), os.environ.get("PATH", "")])
        return shutil.which(name, path=path)

    def shared(self, key: str, compute: Callable[[], Any]) -> Any:
        """A result several items need (the API probe, the MLflow query), computed once even
        when the items run at the same time (``ccmlops check`` runs them in threads)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self.cache:
                self.cache[key] = compute()
        return self.cache[key]

    def server(self) -> dict[str, Any]:
        """Start ``<project> serve`` once, probe health, OpenAPI and /metrics, stop it."""
        return dict(self.shared("server", lambda: probe_server(self)))


def python_command(root: Path, python: str | None) -> list[str]:
    """--python, else the project's .venv, else ``uv run --frozen`` (which creates the .venv)."""
    if python:
        if not Path(python).is_file():
            raise UsageError(f"--python {python}: no such interpreter")
        return [str(Path(python).absolute())]  # absolute, not resolved: a venv's python is a link
    venv = root / ".venv" / "bin" / "python"
    if venv.exists():
        return [str(venv)]
    if shutil.which("uv") is None:
        raise UsageError(f"no environment for {root}: create it with `uv sync`, or pass --python")
    return ["uv", "run", "--frozen", "--project", str(root), "python"]


def findings(text: str, shown: int = 2) -> str:
    """A linter's finding count and its first findings, on one line."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    more = f" (+{len(kept) - shown} more)" if len(kept) > shown else ""
    return f"{len(kept)} finding(s): " + " | ".join(kept[:shown]) + more


def tail(text: str, lines: int = 3) -> str:
    """The last non-empty lines of a tool's output, joined on one line."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, or {} when it is missing or broken."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


# ----------------------------------------------------------------------------- the API probe


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str) -> tuple[int, str]:
    """(status, body) of a GET; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return 0, ""


def as_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def probe_server(project: Project) -> dict[str, Any]:
    """Run the project's ``serve`` on a free port until ready (or why not), then SIGTERM it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*project.python, "-m", f"{project.package}.cli", "serve", "--port", str(port)]
    start = time.monotonic()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=project.root, env=project.env(), stdout=log, stderr=log
        )
        try:
            live_since = None
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    return {"error": f"`serve` exited with {process.returncode}: {tail(output)}"}
                status, body = http_get(f"{base}/health/ready")
                now = time.monotonic()
                said_why = status and live_since and now - live_since > NOT_READY_GRACE_S
                if status == 200 or said_why:
                    break
                if status and live_since is None:
                    live_since = now
                if now - start > SERVER_TIMEOUT_S:
                    waited = f"{SERVER_TIMEOUT_S:.0f} s"
                    return {"error": f"no answer on {base}/health/ready in {waited}"}
                time.sleep(0.2)
            result: dict[str, Any] = {
                "seconds": time.monotonic() - start,
                "ready": {"status": status, "body": as_json(body)},
            }
            if status == 200:
                result["openapi"] = as_json(http_get(f"{base}/openapi.json")[1]) or {}
                result["metrics"] = http_get(f"{base}/metrics")[1]
            if not isinstance(result.get("openapi", {}), dict):
                result["openapi"] = {}
            return result
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
