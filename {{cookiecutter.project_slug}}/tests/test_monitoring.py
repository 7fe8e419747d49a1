"""The monitor on simulated traffic: drift, live metrics, reports, exit codes. Yours to edit.

Both tasks run in every project (the ``dataset`` fixture is iris and diabetes). The
traffic is resampled from the whole dataset: in-distribution traffic must not drift,
traffic shifted by a few standard deviations must.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from {{ cookiecutter.__package_name }}.bundle import save_bundle
from {{ cookiecutter.__package_name }}.cli import app
from {{ cookiecutter.__package_name }}.config import MonitorParams
from {{ cookiecutter.__package_name }}.data import write_csv
from {{ cookiecutter.__package_name }}.errors import DataError
from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.monitoring import cli as monitor_cli
from {{ cookiecutter.__package_name }}.monitoring.drift import column_drift
from {{ cookiecutter.__package_name }}.monitoring.report import (
    build_summary,
    write_reports,
)
from {{ cookiecutter.__package_name }}.monitoring.window import load_window
from {{ cookiecutter.__package_name }}.paths import ProjectPaths
from {{ cookiecutter.__package_name }}.prediction_log import PredictionLog
from {{ cookiecutter.__package_name }}.training import build_estimator, fit, to_labels, to_matrix

Frames = tuple[pd.DataFrame, pd.DataFrame, DatasetSpec]
PARAMS = MonitorParams(
    store="monitoring/predictions.sqlite",
    min_rows=50,
    p_value=0.05,
    max_drift_share=0.5,
    min_feedback=20,
)
NOW = 1_800_000_000.0


def make_reference(root: Path, frames: Frames) -> Any:
    """data/processed/{train.csv,spec.json}, data/raw/dataset.csv and a model bundle."""
    train, test, spec = frames
    paths = ProjectPaths(root)
    write_csv(train, paths.train_data)
    write_csv(pd.concat([train, test]), paths.raw_data)
    spec.save(paths.spec)
    name = "logistic_regression" if spec.task == "classification" else "ridge"
    model = fit(build_estimator(name, {}, 0), to_matrix(train, spec), to_labels(train, spec))
    save_bundle(
        model,
        paths.models_dir,
        name="monitored",
        version="7",
        spec=spec,
        metrics={},
        trained_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return model


def log_traffic(
    store: Path,
    model: Any,
    frames: Frames,
    *,
    rows: int = 300,
    shift: float = 0.0,
    feedback_every: int = 3,
    start: float = NOW - 3600,
    prefix: str = "req",
) -> None:
    """Requests of 10 rows resampled from the whole dataset (features moved by ``shift`` std).

    Every ``feedback_every``-th request gets its true outcome back, as a client would send.
    """
    train, test, spec = frames
    rng = np.random.default_rng(0)
    population = pd.concat([train, test], ignore_index=True)
    sample = population.sample(rows, replace=True, random_state=1).reset_index(drop=True)
    matrix = to_matrix(sample, spec) + shift * to_matrix(population, spec).std(axis=0)
    truth = to_labels(sample, spec)
    predicted = model.predict(matrix + rng.normal(0, 1e-6, matrix.shape))
    log = PredictionLog(store, max_rows=100_000)
    for number, first in enumerate(range(0, rows, 10)):
        block = slice(first, first + 10)
        inputs = pd.DataFrame(matrix[block], columns=spec.feature_names).to_dict("records")
        request = f"{prefix}-{number}"
        ts = start + first
        answers = json.dumps(predicted[block].tolist())
        log.write_many([(request, ts, "7", len(inputs), json.dumps({"rows": inputs}), answers)])
        if number % feedback_every == 0:
            log.add_feedback(request, truth[block].tolist(), ts=ts + 60)
    log.close()


@pytest.fixture
def project(tmp_path: Path, dataset: Frames) -> tuple[Path, Any, Frames]:
    """A project root with the reference and a model (iris and diabetes)."""
    return tmp_path, make_reference(tmp_path, dataset), dataset


def test_calm_traffic_does_not_drift_and_live_metrics_come_from_feedback(
    project: tuple[Path, Any, Frames],
) -> None:
    root, model, frames = project
    store = root / PARAMS.store
    log_traffic(store, model, frames, feedback_every=2)
    summary, window = build_summary(PARAMS, ProjectPaths(root), store, now=NOW)
    assert len(window) == 300
    assert summary["needs_retraining"] is False
    assert summary["drift_share"] < PARAMS.max_drift_share
    assert summary["prediction_drift"]["drifted"] is False
    assert set(summary["features"]) == set(frames[2].feature_names)
    assert summary["window"]["model_versions"] == {"7": 300}
    assert summary["reference"]["rows"] == len(frames[0])
    assert "monitored v7" in summary["reference"]["predictions"]
    live = summary["live"]  # metrics from the outcomes clients sent back
    assert live["labelled"] == 150 == int(window.labelled.sum())
    predicted = window.predictions[window.labelled]
    actual = window.outcomes[window.labelled]
    if frames[2].task == "classification":
        hits = [str(p) == str(a) for p, a in zip(predicted, actual, strict=True)]
        expected = float(np.mean(hits))
        assert live["metrics"]["accuracy"] == pytest.approx(expected, abs=1e-6)
    else:
        errors = np.abs(np.asarray(predicted, float) - np.asarray(actual, float))
        assert live["metrics"]["mae"] == pytest.approx(errors.mean(), rel=1e-5)


def test_shifted_traffic_drifts_and_the_reports_say_so(project: tuple[Path, Any, Frames]) -> None:
    root, model, frames = project
    store = root / PARAMS.store
    log_traffic(store, model, frames, shift=3.0)
    summary, _ = build_summary(PARAMS, ProjectPaths(root), store, now=NOW)
    assert summary["drift_share"] == 1.0
    assert summary["drifted_features"] == frames[2].feature_names
    assert summary["needs_retraining"] is True
    assert summary["prediction_drift"]["drifted"] is True
    for feature in summary["features"].values():
        assert feature["p_value"] < PARAMS.p_value
        assert feature["psi"] > 0.2
    summary_path, html_path = write_reports(summary, ProjectPaths(root).monitoring)
    assert summary_path == root / "reports" / "monitoring" / "summary.json"
    written = json.loads(summary_path.read_text(encoding="utf-8"))
    assert {"from", "to", "rows"} <= set(written["window"])
    assert {"labelled", "metrics"} <= set(written["live"])
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "Needs retraining" in html
    assert all(name in html for name in frames[2].feature_names)
    for external in ("http://", "https://", "<script", "<link"):
        assert external not in html  # opens offline, nothing loaded from elsewhere
    assert not list(summary_path.parent.glob(".*"))  # no temporary file left behind


def test_live_metrics_wait_for_feedback_and_the_verdict_for_rows(
    project: tuple[Path, Any, Frames],
) -> None:
    root, model, frames = project
    store = root / PARAMS.store
    log_traffic(store, model, frames, rows=60, feedback_every=10)  # one labelled request
    summary, _ = build_summary(PARAMS, ProjectPaths(root), store, now=NOW)
    assert summary["live"]["labelled"] == 10
    assert summary["live"]["metrics"] is None
    with pytest.raises(DataError, match=r"40 logged prediction\(s\).*min_rows is 50"):
        build_summary(PARAMS, ProjectPaths(root), store, last=40, now=NOW)


def test_a_missing_or_corrupt_log_or_damaged_values_are_missing_rows_or_a_clear_error(
    project: tuple[Path, Any, Frames],
) -> None:
    root, model, frames = project  # no log at all: test_command_exit_codes
    (root / "broken.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(DataError, match="not a readable prediction log"):
        load_window(root / "broken.sqlite", frames[2].feature_names)
    store = root / PARAMS.store
    log_traffic(store, model, frames, rows=30)  # three requests of 10 rows
    with sqlite3.connect(store) as db:
        db.execute("""UPDATE requests SET inputs = '{"rows": 5}' WHERE request_id = 'req-0'""")
        db.execute("""UPDATE requests SET predictions = '{"a": 1}' WHERE request_id = 'req-1'""")
    window = load_window(store, frames[2].feature_names)
    assert len(window) == 30 and window.inputs.iloc[:10].isna().all().all()
    assert window.predictions.iloc[10:20].isna().all()
    assert window.predictions.iloc[20:].notna().all()
    for damaged in ("not json", "5", "[1], [2]"):
        with sqlite3.connect(store) as db:
            db.execute("UPDATE requests SET predictions = ? WHERE request_id = 'req-2'", [damaged])
        with pytest.raises(DataError, match="damaged logged value"):
            load_window(store, frames[2].feature_names)


def test_categorical_drift_sees_a_new_value_and_missing_inputs_are_counted() -> None:
    reference = np.array(["a", "b"] * 50, dtype=object)
    same = column_drift("flag", reference, np.array(["b", "a"] * 40, dtype=object), 0.05, True)
    assert same.test == "chi2" and not same.drifted
    new = column_drift("flag", reference, np.array(["a", "c"] * 40, dtype=object), 0.05, True)
    assert new.drifted and any(b["label"] == "c" and b["reference"] == 0 for b in new.bins)
    rng = np.random.default_rng(3)
    current = rng.normal(size=200)
    current[:20] = np.nan
    result = column_drift("x", rng.normal(size=200), current, 0.05, False)
    assert result.missing == 20 and not result.drifted


@pytest.fixture
def cli_project(
    project: tuple[Path, Any, Frames],
    project_params: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Any, Frames]:
    """The command runs from the project root with the project's params.yaml."""
    root, _, _ = project
    params = copy.deepcopy(project_params)
    params["monitor"].update(min_rows=50, min_feedback=20, window_hours=None)
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(root)
    return project


def test_command_exit_codes(cli_project: tuple[Path, Any, Frames]) -> None:
    root, model, frames = cli_project
    runner = CliRunner()
    missing = runner.invoke(app, ["monitor"])  # too few rows: test_command_since_filters_by_time
    assert missing.exit_code == monitor_cli.EXIT_ERROR
    assert "no prediction log" in missing.output
    assert not (root / "reports" / "monitoring" / "summary.json").exists()
    log_traffic(root / PARAMS.store, model, frames, rows=200)
    calm = runner.invoke(app, ["monitor"])
    assert calm.exit_code == 0, calm.output
    assert "No retraining needed" in calm.output
    summary = json.loads((root / "reports" / "monitoring" / "summary.json").read_text())
    assert summary["needs_retraining"] is False
    log_traffic(root / PARAMS.store, model, frames, shift=3.0, start=NOW, prefix="shifted")
    drifted = runner.invoke(app, ["monitor", "--last", "100"])  # the newest rows: shifted ones
    assert drifted.exit_code == monitor_cli.EXIT_RETRAIN, drifted.output
    summary = json.loads((root / "reports" / "monitoring" / "summary.json").read_text())
    assert summary["needs_retraining"] is True and summary["window"]["rows"] == 100


def test_command_since_filters_by_time(cli_project: tuple[Path, Any, Frames]) -> None:
    root, model, frames = cli_project
    now = time.time()
    log_traffic(root / PARAMS.store, model, frames, rows=200, start=now - 5 * 3600)
    result = CliRunner().invoke(app, ["monitor", "--since", "1"])
    assert result.exit_code == monitor_cli.EXIT_ERROR
    assert "0 logged prediction(s)" in result.output
    assert CliRunner().invoke(app, ["monitor", "--since", "6"]).exit_code == 0


def test_command_exports_training_data_with_labelled_rows(
    cli_project: tuple[Path, Any, Frames],
) -> None:
    root, model, frames = cli_project
    train, test, spec = frames
    log_traffic(root / PARAMS.store, model, frames, rows=200, feedback_every=4)
    out = root / "data" / "retrain.csv"
    result = CliRunner().invoke(app, ["monitor", "--export", str(out)])
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(out)
    assert list(exported.columns) == [*spec.feature_names, spec.target]
    assert len(exported) == len(train) + len(test) + 50  # every 4th request of 10 rows
    assert exported[spec.target].notna().all()
    with sqlite3.connect(root / PARAMS.store) as db:
        labelled = db.execute("SELECT sum(json_array_length(outcomes)) FROM outcomes")
        assert labelled.fetchone() == (50,)
