"""How long the pipeline takes, and what MLflow, GX and CodeCarbon cost. Plumbing, rarely edited.

Run from the project root: ``python benchmarks/pipeline.py``. It works on a temporary
copy (own Git repo, DVC cache and MLflow store), so your workspace is not touched.
It prints numbers only: no timed assertions (machines differ too much).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["prepare", "validate", "train", "evaluate", "register", "cards"]
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "mlflow.db", "mlruns", "data", "models", "artifacts", "reports",
    "dvc.lock", "cache", "tmp", "__pycache__", ".pytest_cache", ".ruff_cache", "dvc_plots",
)  # fmt: skip

# Measured in a fresh interpreter so import costs count, as they do in a DVC stage.
OVERHEAD_SCRIPT = r"""
import json, sys, time, warnings
import pandas
from pathlib import Path
t = time.perf_counter
pkg = sys.argv[1]
config = __import__(f"{pkg}.config", fromlist=["x"])
data = __import__(f"{pkg}.data", fromlist=["x"])
features = __import__(f"{pkg}.features", fromlist=["x"])
training = __import__(f"{pkg}.training", fromlist=["x"])
params = config.load_params(Path("params.yaml"))
spec = features.DatasetSpec.load(Path("data/processed/spec.json"))
frame = data.read_split(Path("data/processed/train.csv"), spec)
X, y = training.to_matrix(frame, spec), training.to_labels(frame, spec)
def fit():
    est = training.build_estimator(params.train.estimator, dict(params.train.hyperparameters), 0)
    return training.fit(est, X, y)
fit()
fits = []
for _ in range(5):
    s = t(); model = fit(); fits.append(t() - s)
out = {"fit": sorted(fits)[2]}
s = t(); train = __import__(f"{pkg}.stages.train", fromlist=["x"])
with train.measure_emissions(params):  # as the train stage does
    fit()
tracked = params.emissions is not None and params.emissions.enabled
out["codecarbon"] = t() - s - out["fit"] if tracked else None  # off: only an import
validation = __import__(f"{pkg}.validation", fromlist=["x"])
s = t()
v = params.validation
if spec.image_size is None:
    checks, table = validation.build_checks(spec, v.min_rows), frame
else:  # the image task checks its metadata table
    quality = __import__(f"{pkg}.image_quality", fromlist=["x"])
    images = __import__(f"{pkg}.images", fromlist=["x"])
    table = quality.with_class_counts(images.metadata(frame))
    checks = quality.build_image_checks(params.images, spec.classes, v.min_rows)
validation.run_checks({"train": table}, checks)
out["gx"] = t() - s
bundle = __import__(f"{pkg}.bundle", fromlist=["x"])
tracking = __import__(f"{pkg}.tracking", fromlist=["x"])
s = t()
tracking.log_training_run(experiment="benchmark", model=model, params={"k": 1},
    metrics={"m": 1.0}, tags={}, input_example=frame[spec.feature_names].head(3)
    if spec.image_size is None else pandas.DataFrame(X[:3], columns=spec.feature_names),
    trusted_types=bundle.trusted_types(bundle.dumps(model)))
out["mlflow"] = t() - s
print(json.dumps(out))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PYTHONPATH": "src", "DVC_NO_ANALYTICS": "1", "CODECARBON_LOG_LEVEL": "error"}


def _run(cwd: Path, *args: str) -> float:
    """Run a command, fail loudly, return its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - fixed commands
        list(args), cwd=cwd, env=_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - start


def _module(project: Path, stage: str) -> str:
    """The module a stage runs (dvc.yaml's ``python -m <module>``; the image task has its own)."""
    stages = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return str(stages[stage]["cmd"].split()[-1])


def _package() -> str:
    return next(p.parent.parent.name for p in (ROOT / "src").glob("*/stages/__init__.py"))


def main() -> None:
    """Copy the project, run the pipeline, time it, and print the table."""
    pkg = _package()
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        work = Path(tmp) / "project"
        shutil.copytree(ROOT, work, ignore=IGNORED)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        _run(work, "git", "init", "-q", "-b", "main")
        if not (work / ".dvc" / "config").exists():
            _run(work, sys.executable, "-m", "dvc", "init", "-q")
        _run(work, *git, "add", "-A")
        _run(work, *git, "commit", "-q", "-m", "bench")
        dvc = [sys.executable, "-m", "dvc"]
        total = _run(work, *dvc, "repro")
        noop = statistics.median(_run(work, *dvc, "repro") for _ in range(3))
        stages = {s: _run(work, sys.executable, "-m", _module(work, s)) for s in STAGES}
        overhead = json.loads(
            subprocess.run(  # noqa: S603
                [sys.executable, "-c", OVERHEAD_SCRIPT, pkg],
                cwd=work, env=_env(), capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]
        )  # fmt: skip
    summed = sum(stages.values())
    print(f"dvc repro (first run, all stages): {total:6.1f} s")
    for name, seconds in stages.items():
        print(f"  {name:<9} {seconds:6.1f} s  {seconds / summed:6.1%}")
    print(f"  DVC's own share: {max(total - summed, 0):.1f} s")
    print(f"dvc repro (nothing changed, median of 3): {noop:.2f} s")
    fit = overhead["fit"]
    print(f"bare training (fit only, median of 5): {fit * 1000:.1f} ms")
    for tool, key in (
        ("MLflow run + model", "mlflow"),
        ("Great Expectations", "gx"),
        ("CodeCarbon", "codecarbon"),
    ):
        cost = overhead[key]
        if cost is None:
            print(f"  {tool:<20} {'off':>6}   (params.yaml: emissions disabled)")
            continue
        print(f"  {tool:<20} {cost:6.2f} s = {cost / fit:8.0f} x bare training (import included)")


if __name__ == "__main__":
    main()
