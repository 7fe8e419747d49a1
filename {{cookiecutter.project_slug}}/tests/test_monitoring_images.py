"""The monitor on image uploads: drift on their metadata and the classes. Yours to edit.

The reference is the metadata table the validate stage writes (reports/images.csv); the log
holds the same metadata for every upload (``images.decode``), never the image itself. The
traffic goes through the serving app, its prediction log and ``POST /feedback``.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from {{ cookiecutter.__package_name }}.bundle import save_bundle
from {{ cookiecutter.__package_name }}.cli import app
from {{ cookiecutter.__package_name }}.config import MonitorParams, parse_params
from {{ cookiecutter.__package_name }}.data import read_split
from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.images import decode
from {{ cookiecutter.__package_name }}.monitoring import cli as monitor_cli
from {{ cookiecutter.__package_name }}.monitoring.report import build_summary
from {{ cookiecutter.__package_name }}.paths import ProjectPaths
from {{ cookiecutter.__package_name }}.serving.app import create_app
from {{ cookiecutter.__package_name }}.serving.settings import Settings
from {{ cookiecutter.__package_name }}.stages import prepare_images, validate_images
from {{ cookiecutter.__package_name }}.training import build_estimator, fit, to_labels, to_matrix

PARAMS = MonitorParams(
    store="monitoring/predictions.sqlite", min_rows=50, p_value=0.05, max_drift_share=0.5,
    min_feedback=20,
)  # fmt: skip
METADATA = ["width", "height", "brightness", "contrast"]
pytestmark = pytest.mark.slow  # the prepare and validate stages over every image, once


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory, project_params: dict[str, Any]) -> Path:
    """The bundled digits prepared and validated (reports/images.csv), and a model bundle."""
    root = tmp_path_factory.mktemp("monitored-digits")
    params, paths = parse_params(project_params), ProjectPaths(root)
    with contextlib.chdir(root):  # the stages run from the project root
        prepare_images.main(params, paths)
        validate_images.main(params, paths)
        spec = DatasetSpec.load(paths.spec)
        train = read_split(paths.train_data, spec)
        model = fit(
            build_estimator("logistic_regression", {"max_iter": 500}, 0),
            to_matrix(train, spec),
            to_labels(train, spec),
        )
    save_bundle(
        model, paths.models_dir, name="digits", version="3", spec=spec, metrics={},
        trained_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    return root


@pytest.fixture
def project(digits: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(digits)
    yield digits
    (digits / PARAMS.store).unlink(missing_ok=True)


def upload(path: str, darker: bool) -> bytes:
    """The file as a client sends it; ``darker``: a third of the light, a smaller camera."""
    buffer = io.BytesIO()
    with Image.open(path) as image:
        sent = image.resize((48, 48)).point(lambda value: value // 3) if darker else image
        sent.save(buffer, format="PNG")
    return buffer.getvalue()


def log_uploads(root: Path, *, darker: bool = False) -> None:
    """200 test images sent to the app in batches of 10, as a client sends them; the true
    classes go back to ``POST /feedback`` for every other batch."""
    paths = ProjectPaths(root)
    test = pd.read_csv(paths.test_data, dtype=str).head(200)
    settings = Settings(model_dir=paths.models_dir, prediction_log=root / PARAMS.store)
    with TestClient(create_app(settings)) as client:
        for number, start in enumerate(range(0, len(test), 10)):
            block = test.iloc[start : start + 10]
            files = [("files", (path, upload(path, darker), "image/png")) for path in block["path"]]
            answer = client.post("/predict/batch", files=files).json()
            if number % 2 == 0:
                outcomes = list(block["label"])
                feedback = {"prediction_id": answer["prediction_id"], "outcomes": outcomes}
                assert client.post("/feedback", json=feedback).status_code == 200


def test_logged_metadata_is_measured_as_the_validate_stage_measures_it(project: Path) -> None:
    """Same file, same numbers: otherwise resizing alone would look like drift."""
    table = pd.read_csv(ProjectPaths(project).image_metadata).head(20)
    for _, row in table.iterrows():
        _, logged = decode(Path(row["path"]).read_bytes(), 8)
        assert logged["hash"] == row["hash"]
        for name in METADATA:
            assert logged[name] == pytest.approx(row[name], abs=1e-6), name
        assert not {"pixels", "image", "data"} & set(logged)  # metadata only, never the image


def test_uploads_like_the_training_images_do_not_drift(project: Path) -> None:
    log_uploads(project)
    summary, window = build_summary(PARAMS, ProjectPaths(project), project / PARAMS.store)
    assert list(summary["features"]) == METADATA
    assert summary["needs_retraining"] is False and summary["drifted_features"] == []
    assert summary["prediction_drift"]["test"] == "chi2"  # the predicted class distribution
    assert summary["prediction_drift"]["drifted"] is False
    assert "digits v3" in summary["reference"]["predictions"]
    train = pd.read_csv(ProjectPaths(project).train_data)
    assert summary["reference"]["rows"] == len(train) and len(window) == 200
    live = summary["live"]  # feedback works as for tabular data
    assert live["labelled"] == 100 and live["metrics"]["accuracy"] > 0.9


def test_darker_smaller_uploads_drift_and_the_command_says_retrain(
    project: Path, project_params: dict[str, Any]
) -> None:
    monitor = project_params["monitor"] | {"min_rows": 50, "window_hours": None}
    (project / "params.yaml").write_text(json.dumps(project_params | {"monitor": monitor}))
    log_uploads(project, darker=True)
    result = CliRunner().invoke(app, ["monitor"])
    assert result.exit_code == monitor_cli.EXIT_RETRAIN, result.output
    summary = json.loads((project / "reports/monitoring/summary.json").read_text())
    assert summary["drifted_features"] == METADATA and summary["drift_share"] == 1.0
    html = (project / "reports/monitoring/report.html").read_text()
    assert "brightness" in html and "Needs retraining" in html
    export = CliRunner().invoke(app, ["monitor", "--export", "retrain.csv"])
    assert export.exit_code == monitor_cli.EXIT_ERROR
    assert "no images" in export.output and not (project / "retrain.csv").exists()
