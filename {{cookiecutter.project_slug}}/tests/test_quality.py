"""The quality gate (``check``), no unsafe model loading, the notebooks. Yours to edit."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from {{ cookiecutter.__package_name }} import quality

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_code(path: Path) -> list[str]:
    """The source of each code cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("import pickle\npickle.load(f)", True),
        ("import joblib as jl\njl.load('m.joblib')", True),
        ("from joblib import load", True),
        ("import pandas as pd\npd.read_pickle('x')", True),
        ("import dill", True),
        ("import torch\ntorch.load('m.pt')", True),
        ("import skops.io as sio\nsio.load(p, trusted=[])", False),
    ],
)
def test_ruff_refuses_loaders_that_run_code_from_the_file(
    tmp_path: Path, source: str, refused: bool
) -> None:
    """Models load through bundle.py (skops). The project's ruff (pyproject.toml's banned-api,
    run by `check` on the code and the notebooks) refuses the loaders that run code."""
    (tmp_path / "loads.py").write_text(source + "\n", encoding="utf-8")
    config = str(ROOT / "pyproject.toml")
    ruff = quality.module("ruff", "check", "--select", "TID251", "--config", config, "loads.py")
    passed, output = ruff(tmp_path)
    assert passed is not refused, output


def _app() -> typer.Typer:
    app = typer.Typer()
    quality.register(app)

    @app.callback()
    def main() -> None:
        """Keep ``check`` a subcommand, as in the project's CLI."""

    return app


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project root to run the command in."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


@pytest.mark.parametrize(
    ("args", "exit_code", "after_ran", "shown"),
    [
        ([], 1, True, "E123 broken"),  # every check runs; the failing tool's output is shown
        (["--fail-fast"], 1, False, "FAILED"),
        (["--skip", "bad"], 0, True, "Quality gate passed"),
        (["--skip", "nope"], 2, False, "Choose from: bad, after"),
    ],
)
@pytest.mark.usefixtures("project")
def test_check_runs_the_steps_and_reports_failures(
    monkeypatch: pytest.MonkeyPatch, args: list[str], exit_code: int, after_ran: bool, shown: str
) -> None:
    marker = Path.cwd() / "ran"
    steps = {
        "bad": quality.command(*_python("print('E123 broken'); raise SystemExit(3)")),
        "after": quality.command(*_python(f"print('fine'); open({str(marker)!r}, 'w')")),
    }
    monkeypatch.setattr(quality, "default_steps", lambda: steps)
    result = CliRunner().invoke(_app(), ["check", *args])
    assert (result.exit_code, marker.exists()) == (exit_code, after_ran), result.output
    assert shown in result.output
    assert "fine" not in result.output  # a passing tool stays quiet without --verbose


def test_check_refuses_to_run_outside_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(_app(), ["check"])
    assert result.exit_code == 2
    assert "project root" in result.output


def test_default_steps_cover_every_gate_and_their_tools_are_installed() -> None:
    names = list(quality.default_steps())
    assert names == ["ruff", "ruff-format", "mypy", "bandit", "notebooks", "pylint", "pytest"]
    for module in ("ruff", "mypy", "bandit", "pylint", "pytest", "pytest_cov"):
        assert importlib.util.find_spec(module) is not None, f"{module} missing: run `uv sync`"


def test_notebook_lint_reports_findings_and_needs_uvx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert quality.lint_notebooks(tmp_path) == (True, "no notebooks")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.ipynb").write_text("{}", encoding="utf-8")
    fake = tmp_path / "fake_pynblint.py"
    fake.write_text(
        "import json, sys\n"
        "out = sys.argv[sys.argv.index('--output') + 1]\n"
        "lints = [{'slug': 'untitled-notebook', 'description': 'no title'}]\n"
        "json.dump({'lints': lints}, open(out, 'w'))\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(quality, "PYNBLINT", (sys.executable, str(fake)))
    passed, output = quality.lint_notebooks(tmp_path)
    assert not passed
    assert "a.ipynb: untitled-notebook: no title" in output
    monkeypatch.setattr(quality.shutil, "which", lambda _: None)
    passed, output = quality.lint_notebooks(tmp_path)
    assert not passed
    assert "uvx not found" in output


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert code, "a notebook without code cells"
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


@pytest.mark.slow  # a Jupyter kernel per notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_with_papermill(path: Path, tmp_path: Path) -> None:
    """Run the notebook as a user's Jupyter would (a kernel, the parameters cell injected)."""
    import papermill  # noqa: PLC0415 - only this test needs it

    code = notebook_code(path)
    assert any(f"from {quality.PACKAGE}." in cell for cell in code), "import the package"
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    output = tmp_path / path.name
    papermill.execute_notebook(
        path, output, parameters={"params_file": str(params)}, cwd=ROOT, progress_bar=False
    )
    cells = json.loads(output.read_text(encoding="utf-8"))["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert str(params) in "".join(injected[0]["source"])
    shown = "".join(
        "".join(out.get("data", {}).get("text/plain", ""))
        for cell in cells
        for out in cell.get("outputs", [])
    )
    if path.name == "01_explore.ipynb":  # the spec cell shows every feature's accepted range
        from {{ cookiecutter.__package_name }}.config import load_params  # noqa: PLC0415
        from {{ cookiecutter.__package_name }}.data import load_source, select_columns  # noqa: PLC0415

        data = load_params(params).data
        frame = select_columns(load_source(data.source, data.target)[0], data.target, data.features)
        features = [column for column in frame.columns if column != data.target]
        assert features
        assert all(f"('{name}'," in shown for name in features), shown[-2000:]
{%- if cookiecutter.ml_task == "image_classification" %}
    if path.name == "01_explore_images.ipynb":  # counts, sizes, the samples, the model's view
        outputs = [out.get("data", {}) for cell in cells for out in cell.get("outputs", [])]
        assert sum("image/png" in data for data in outputs) == 2  # contact sheet, model input
        assert all(word in shown for word in ("Name: count", "width", "brightness", "contrast"))
{%- endif %}
