"""Real team servers on 127.0.0.1 for the scale-out tests: PostgreSQL, an S3 server, MLflow.

Why real processes: the point of these tests is that a generated project works unchanged
against the servers a team shares, so nothing is mocked in-process. PostgreSQL's own
binaries (Debian's postgresql-<N>, installed by apt-get when missing) run from a temporary
folder; MinIO is not packaged on PyPI or Debian, so moto's standalone server speaks the S3
protocol; `mlflow server` stores runs in PostgreSQL and proxies artifacts to the S3 server.

The server side (mlflow + psycopg2 + boto3 + moto) lives in its own environment under
.cache/tools, built once with uv from the pins below, so the generated project's environment
proves it needs no S3 or PostgreSQL client to log to a tracking server. Every wait is
bounded, every process is stopped by its own id, and a failure shows the server's log.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT, interpreter, run, stop_process_group

TOOLS = ROOT / ".cache" / "tools"
SERVER_ENV = TOOLS / "team-servers"
TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
MOTO = "moto[server]==5.2.5"
# Test-only credentials for servers that live for one test session on the loopback.
ACCESS_KEY = "ccmlops-test-key"
SECRET_KEY = "ccmlops-test-secret-do-not-commit"
REGION = "us-east-1"
PG_USER, PG_PASSWORD, PG_DB = "mlflow", "pg-test-password", "mlflow"


def server_requirements() -> list[str]:
    """The same MLflow and clients as the Compose image (deploy/mlflow/Dockerfile), plus moto."""
    dockerfile = (TEMPLATE / "deploy" / "mlflow" / "Dockerfile").read_text(encoding="utf-8")
    mlflow = re.search(r"mlflow/mlflow:v([\d.]+)", dockerfile)
    clients = re.findall(r"\b((?:psycopg2-binary|boto3)==[\d.]+)", dockerfile)
    assert mlflow and len(clients) == 2, "deploy/mlflow/Dockerfile no longer pins its clients"
    return [f"mlflow=={mlflow.group(1)}", *clients, MOTO]


def server_python() -> Path:
    """The server environment's interpreter; (re)built with uv when the pins change."""
    python = SERVER_ENV / "bin" / "python"
    stamp = SERVER_ENV / "requirements.txt"
    wanted = "\n".join(server_requirements()) + "\n"
    TOOLS.mkdir(parents=True, exist_ok=True)
    with (TOOLS / "team-servers.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
            made = run(
                ["uv", "venv", "-q", "--clear", "-p", interpreter("3.11"), str(SERVER_ENV)],
                cwd=TOOLS,
            )
            assert made.returncode == 0, made.stderr
            got = run(
                ["uv", "pip", "install", "-q", "--python", str(python), *wanted.split()],
                cwd=TOOLS,
            )
            assert got.returncode == 0, got.stderr
            stamp.write_text(wanted)
    return python


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class Server:
    """One server process in its own session, its log file and a bounded stop."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_in_s: float = 0.0
    stop_timeout: float = 20.0

    def start(self, ready: Callable[[], bool], timeout: float = 90) -> Server:
        """Start and wait until ``ready()``; on timeout, stop and fail with the log."""
        began = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        while not ready():
            if self.process.poll() is not None or time.monotonic() - began > timeout:
                self.stop()
                raise AssertionError(f"{self.name} did not start:\n{self.tail()}")
            time.sleep(0.2)
        self.started_in_s = time.monotonic() - began
        return self

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after ``stop_timeout`` seconds."""
        if self.process is not None:
            stop_process_group(self.process, self.stop_timeout)

    def tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# ----------------------------------------------------------------------------- S3 (moto)


def start_s3(python: Path, logs: Path, port: int | None = None) -> tuple[Server, str]:
    """moto's standalone S3 server on 127.0.0.1; returns it and its endpoint URL."""
    port = port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = Server(
        "moto_server",
        [str(python.parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        logs / f"moto-{port}.log",
    )
    server.start(lambda: http_ok(f"{endpoint}/moto-api/"), timeout=60)
    return server, endpoint


def s3_env(endpoint: str) -> dict[str, str]:
    """What an S3 client (boto3, DVC's s3fs, MLflow) needs: keys, region, endpoint."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }


def create_bucket(python: Path, endpoint: str, bucket: str) -> None:
    """Create a bucket with boto3 from the server environment (as an admin would)."""
    code = (
        "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1])"
        ".create_bucket(Bucket=sys.argv[2])"
    )
    made = run([str(python), "-c", code, endpoint, bucket], cwd=TOOLS, env=s3_env(endpoint))
    assert made.returncode == 0, made.stderr


def list_keys(python: Path, endpoint: str, bucket: str) -> list[str]:
    """Every object key in ``bucket``."""
    code = (
        "import boto3, sys\n"
        "pages = boto3.client('s3', endpoint_url=sys.argv[1]).get_paginator('list_objects_v2')\n"
        "for page in pages.paginate(Bucket=sys.argv[2]):\n"
        "    print('\\n'.join(o['Key'] for o in page.get('Contents', [])))\n"
    )
    listed = run([str(python), "-c", code, endpoint, bucket], cwd=TOOLS, env=s3_env(endpoint))
    assert listed.returncode == 0, listed.stderr
    return [line for line in listed.stdout.splitlines() if line]


# ----------------------------------------------------------------------------- PostgreSQL


def _apt_install(package: str) -> None:
    """apt-get install, refreshing the package lists once on a fresh machine."""
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    got = run(command, cwd=TOOLS, env=env, timeout=900)
    if got.returncode != 0:
        run(["apt-get", "update", "-qq"], cwd=TOOLS, timeout=300)
        got = run(command, cwd=TOOLS, env=env, timeout=900)
    assert got.returncode == 0, f"apt-get install {package} failed: {got.stderr[-2000:]}"


def postgres_bin() -> Path:
    """The folder with initdb/pg_ctl/postgres: PATH, Debian's layout, else apt-get install."""

    def found() -> Path | None:
        on_path = shutil.which("pg_ctl")
        if on_path:
            return Path(on_path).resolve().parent
        debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        return debian[-1].parent if debian else None

    TOOLS.mkdir(parents=True, exist_ok=True)
    with (TOOLS / "postgresql.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        where = found()
        if where is None:
            assert os.geteuid() == 0 and shutil.which("apt-get"), (
                "PostgreSQL server binaries are missing: install Debian's postgresql package"
            )
            _apt_install("postgresql")  # Debian's metapackage for its current major version
            where = found()
    assert where is not None and (where / "initdb").exists(), "initdb not found"
    return where


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster; ``url`` is what `mlflow server` takes."""

    bin: Path
    data: Path
    port: int
    user: str | None  # the OS user running the cluster when the tests run as root
    log: Path
    started_in_s: float = 0.0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{PG_DB}"

    def _as_owner(self, *args: str) -> list[str]:
        """initdb and postgres refuse to run as root: drop to the cluster's owner."""
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def pg_ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), *args),
            cwd=self.data.parent,
            timeout=timeout,
        )

    def stop(self) -> None:
        """Fast shutdown (active connections are closed), bounded to 30 s, then the folder."""
        self.pg_ctl("stop", "-m", "fast", "-w", "-t", "30")
        shutil.rmtree(self.data.parent, ignore_errors=True)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def start_postgres() -> Postgres:
    """initdb into a temporary folder, start on a free loopback port, create the database."""
    began = time.monotonic()
    binaries = postgres_bin()
    user = None
    if os.geteuid() == 0:
        user = "postgres" if _user_exists("postgres") else "nobody"
    # Not under pytest's tmp dir: that one is private to root and the owner must reach it.
    home = Path(tempfile.mkdtemp(prefix="ccmlops-pg-"))
    data, log, pwfile = home / "data", home / "postgres.log", home / "pwfile"
    pwfile.write_text(PG_PASSWORD + "\n", encoding="utf-8")
    if user:
        entry = pwd.getpwnam(user)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    cluster = Postgres(binaries, data, free_port(), user, log)
    init = run(
        cluster._as_owner(
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            PG_USER,
            "--pwfile",
            str(pwfile),
            "--auth",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ),
        cwd=home,
        timeout=120,
    )
    assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
    options = f"-h 127.0.0.1 -p {cluster.port} -k {home} -c fsync=off"
    try:
        started = cluster.pg_ctl(
            "-l", str(log), "-o", options, "-w", "-t", "60", "start", timeout=90
        )
        assert started.returncode == 0, (
            f"PostgreSQL did not start:\n{started.stderr}\n{cluster.tail()}"
        )
        created = run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", PG_USER,
             PG_DB],
            cwd=home,
            env={"PGPASSWORD": PG_PASSWORD},
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
    except BaseException:
        cluster.stop()  # no server left behind when start-up fails half-way
        raise
    cluster.started_in_s = time.monotonic() - began
    return cluster


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# ----------------------------------------------------------------------------- MLflow


def start_mlflow(python: Path, backend: str, artifacts: str, s3: str, logs: Path) -> Server:
    """`mlflow server` with a PostgreSQL store, proxying artifacts to the S3 bucket."""
    port = free_port()
    server = Server(
        "mlflow server",
        [
            str(python.parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            artifacts,
        ],
        logs / f"mlflow-{port}.log",
        env={**s3_env(s3), "MLFLOW_DISABLE_TELEMETRY": "true"},
        stop_timeout=10,  # its web server drains slowly on SIGTERM; nothing to save here
    )
    # The first start creates MLflow's tables in PostgreSQL: 22 s idle, 48-76 s on 2 busy cores.
    server.start(lambda: http_ok(f"http://127.0.0.1:{port}/health"), timeout=240)
    return server


def mlflow_url(server: Server) -> str:
    """The tracking URI of a started ``start_mlflow`` server."""
    return f"http://127.0.0.1:{server.command[server.command.index('--port') + 1]}"
