"""dvc.yaml agrees with the code: thin stages, deps, paths. Yours to edit."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

import {{ cookiecutter.__package_name }}
from {{ cookiecutter.__package_name }}.paths import ProjectPaths

ROOT = Path(__file__).resolve().parents[1]
PKG = {{ cookiecutter.__package_name }}.__name__
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
# The stages that run a stage module of the package; a stage of your own may run any command
# (exercise M2.3's `sample` is a `python -c` one-liner) and is held to the checks of all stages.
STAGES: dict[str, Any] = {
    name: stage
    for name, stage in DVC["stages"].items()
    if stage["cmd"].startswith(f"python -m {PKG}.stages.")
}
PLUMBING = {"config", "errors", "paths", "_runner"}  # parse params and report: no effect on outputs


def _names(entries: list[Any]) -> list[str]:
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]


def _outputs() -> set[str]:
    found: set[str] = set()
    for stage in STAGES.values():
        for kind in ("outs", "metrics", "plots"):
            found |= set(_names(stage.get(kind, [])))
    return found


def _module(name: str) -> str:
    """The stage's module: its name, or a task's variant of it (``prepare_images``)."""
    return STAGES[name]["cmd"].removeprefix(f"python -m {PKG}.stages.")


def test_every_stage_is_a_thin_module_listed_as_its_own_dep() -> None:
    for name, stage in STAGES.items():
        assert _module(name).startswith(name)
        assert stage["cmd"] == f"python -m {PKG}.stages.{_module(name)}"
        module = f"src/{PKG}/stages/{_module(name)}.py"
        assert (ROOT / module).is_file()
        assert module in stage["deps"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_library_modules_a_stage_imports_are_deps(name: str) -> None:
    tree = ast.parse((ROOT / f"src/{PKG}/stages/{_module(name)}.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 2:
            imported |= {node.module} if node.module else {a.name for a in node.names}
    deps = set(STAGES[name]["deps"])
    # An optional module of a later course milestone (emissions before M3) is not here to matter.
    present = {m for m in imported - PLUMBING if (ROOT / f"src/{PKG}/{m}.py").is_file()}
    missing = [m for m in present if f"src/{PKG}/{m}.py" not in deps]
    assert not missing


def test_params_listed_exist_and_metrics_and_plots_are_not_cached(
    project_params: dict[str, Any],
) -> None:
    for stage in DVC["stages"].values():
        for entry in [*stage.get("metrics", []), *stage.get("plots", [])]:
            assert next(iter(entry.values()))["cache"] is False
        for dotted in stage.get("params", []):
            node: Any = project_params
            for part in dotted.split("."):
                assert part in node, dotted
                node = node[part]


def test_paths_module_and_dvc_yaml_agree() -> None:
    paths = ProjectPaths()
    not_outputs = {"root", "params", "models_dir", "monitoring"}
    declared = {str(path) for name, path in vars(paths).items() if name not in not_outputs}
    if "validate" not in STAGES:  # data checks arrive with course milestone M3
        declared -= {
            str(paths.validation_report),
            str(paths.validation_summary),
            str(paths.validation_results),
            str(paths.gx_suite),
            str(paths.data_docs),
            str(paths.image_metadata),
        }
    images = [
        paths.raw_images,
        paths.image_metadata,
        paths.contact_sheet,
        paths.misclassified_sheet,
    ]
    if (ROOT / f"src/{PKG}/images.py").is_file():  # the image task: folders, not a CSV
        declared -= {str(paths.raw_data)}
    else:
        declared -= {str(path) for path in images}
    expected = {str(paths.models_dir / "model.skops"), str(paths.models_dir / "model.json")}
    assert _outputs() - {"reports/split.json"} == declared | expected  # minus M2.5's metric
