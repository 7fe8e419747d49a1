"""Serving benchmark of a freshly rendered project (runs the project's own benchmark).

Renders the template (serving on, no VCS) into a temporary folder and runs
``benchmarks/serving.py`` of the generated project with this interpreter, so the numbers
are those of the code a user gets. The interpreter needs the runtime dependencies
(fastapi, uvicorn, scikit-learn, skops, prometheus-client, ...) and, for the MLflow
comparison, mlflow and pandas; ``wrk`` is used when installed.

Run: ``uv run python benchmarks/serving.py [--task classification] [--duration 10]``.
Extra arguments are passed through (e.g. ``--json results.json``, ``--skip-mlflow``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def render(output: Path, task: str) -> Path:
    """Render one project with serving enabled; return its folder."""
    env = {**os.environ, "CCMLOPS_SKIP_VCS": "1"}
    subprocess.run(
        [
            str(BIN / "cookiecutter"),
            "--no-input",
            str(ROOT),
            "-o",
            str(output),
            "project_name=Serving Bench",
            f"ml_task={task}",
            "serving=true",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return output / "serving_bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--task", choices=["classification", "regression"], default="classification"
    )
    args, passthrough = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="ccmlops-serving-bench-") as tmp:
        project = render(Path(tmp), args.task)
        env = {**os.environ, "PYTHONPATH": str(project / "src")}
        return subprocess.run(
            [sys.executable, str(project / "benchmarks" / "serving.py"), *passthrough],
            cwd=project,
            env=env,
            check=False,
        ).returncode


if __name__ == "__main__":
    sys.exit(main())
