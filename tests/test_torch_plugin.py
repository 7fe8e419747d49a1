"""Tier 2: the image task's PyTorch plug-in (``train.estimator: torch_mlp``) trained by the
project's own pipeline and served by its own app, as docs/pytorch.md tells a user.

Why a virtual environment of its own: torch is an optional extra that other tests must not
see, and uv would fetch PyPI's multi-GB CUDA build, so the project's pins go in with uv (from
its cache) and torch with pip (the CPU build on these machines' find-links). A machine where
pip cannot install it skips; under CI=true that fails. Run once: about 3 minutes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from conftest import env_for, interpreter, project_requirements, require, run
from servers import free_port

pytestmark = pytest.mark.tier2

TORCH = "torch==2.13.0"


def test_torch_model_trains_through_the_pipeline_and_is_served(tmp_path: Path) -> None:
    ccmlops = str(Path(sys.executable).parent / "ccmlops")
    words = ["project_name=Torch Digits", "ml_task=image_classification"]
    made = run([ccmlops, "new", "--no-input", "-o", str(tmp_path / "p"), *words], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "p" / "torch_digits"
    pins = project_requirements(project / "pyproject.toml")
    assert f'torch = ["{TORCH}"]' in (project / "pyproject.toml").read_text(encoding="utf-8")
    assert not [pin for pin in pins if pin.startswith("torch")], "torch must stay optional"

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    made = run(["uv", "venv", "-q", "-p", interpreter("3.11"), str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    got = run(["uv", "pip", "install", "-q", "--python", str(python), *pins, "-e", str(project)],
              cwd=project)  # fmt: skip
    assert got.returncode == 0, got.stderr
    pip = [interpreter("3.11"), "-m", "pip", "--python", str(python), "install", "-q", TORCH]
    torch = run(pip, cwd=tmp_path, timeout=600)
    require(torch.returncode == 0, f"pip install {TORCH} (a CPU wheel): {torch.stderr[-500:]}")

    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["train"] |= {"estimator": "torch_mlp", "hyperparameters": {"epochs": 30}}
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    cli = venv / "bin" / "torch-digits"
    demo = run([str(cli), "demo", "--port", str(free_port())], cwd=project,
               env=env_for(python), timeout=600)  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
    assert "prediction: {" in demo.stdout, demo.stdout[-2000:]

    metrics = json.loads((project / "reports" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["gate"]["passed"] is True
    assert metrics["model"]["f1_macro"] > 0.9
    bundle = json.loads((project / "models" / "model.json").read_text(encoding="utf-8"))
    assert bundle["version"] == "1"  # registered in MLflow as the champion
    assert "torch_digits.torch_model.TorchMLPClassifier" in bundle["trusted_types"]
    assert not [name for name in bundle["trusted_types"] if name.startswith("torch.")]
    # the project's own plug-in tests run (not skipped) where torch is installed
    own = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
               "tests/test_torch_model.py", "tests/test_serialization.py",
               "-k", "torch and not without_torch"],
              cwd=project, env=env_for(python))  # fmt: skip
    assert own.returncode == 0, own.stdout[-3000:]
    assert "3 passed" in own.stdout and "skipped" not in own.stdout, own.stdout[-2000:]
