"""Stages run in process on a temporary root: outputs, failures. Yours to edit."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import bundle
from {{ cookiecutter.__package_name }}.bundle import load_bundle
from {{ cookiecutter.__package_name }}.config import Params, parse_params
from {{ cookiecutter.__package_name }}.errors import DataError, GateFailed
from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.paths import ProjectPaths
from {{ cookiecutter.__package_name }}.stages import cards, evaluate, prepare, register, train
from {{ cookiecutter.__package_name }}.stages._runner import run
from {{ cookiecutter.__package_name }}.training import build_estimator, fit, to_labels, to_matrix


def _params(raw: dict[str, Any], **changes: dict[str, Any]) -> Params:
    data = copy.deepcopy(raw)
    for section, values in changes.items():
        data[section].update(values)
    return parse_params(data)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x,label\n1,2\n1,2,3,4\n", "not a valid CSV"),
        # else validation passes and training stops with a scikit-learn traceback
        (b"x,label\n" + b"".join(b"%d,yes\n" % i for i in range(40)), "'label': 1 class"),
    ],
    ids=["corrupted", "single-class"],
)
def test_prepare_refuses_bad_data_and_writes_nothing(
    tmp_path: Path, project_params: dict[str, Any], content: bytes, message: str
) -> None:
    csv = tmp_path / "data.csv"
    csv.write_bytes(content)
    params = _params(
        project_params,
        data={"source": str(csv), "target": "label", "task": "classification"},
        train={"estimator": "logistic_regression", "hyperparameters": {}},
        evaluate={"gate_metric": "accuracy"},
    )
    with pytest.raises(DataError, match=message):
        prepare.main(params, ProjectPaths(tmp_path / "project"))
    assert not (tmp_path / "project" / "data" / "processed").exists()


def _train(params: Params, paths: ProjectPaths) -> None:
    spec = DatasetSpec.load(paths.spec)
    frame = pd.read_csv(paths.train_data, dtype={spec.target: str} if spec.classes else None)
    cfg = params.train
    model = build_estimator(cfg.estimator, dict(cfg.hyperparameters), cfg.seed)
    fitted = fit(model, to_matrix(frame, spec), to_labels(frame, spec))
    paths.trained_model.parent.mkdir(parents=True, exist_ok=True)
    paths.trained_model.write_bytes(bundle.dumps(fitted))


def test_prepare_then_evaluate_gate_and_register_refusal(
    prepared: tuple[Params, ProjectPaths], project_params: dict[str, Any]
) -> None:
    params, paths = prepared  # prepare wrote the raw data, its splits and their spec
    train, test = pd.read_csv(paths.train_data), pd.read_csv(paths.test_data)
    assert len(train) + len(test) == len(pd.read_csv(paths.raw_data))
    assert DatasetSpec.load(paths.spec).target == params.data.target
    _train(params, paths)
    evaluate.main(params, paths)
    report = json.loads(paths.metrics.read_text())
    assert report["gate"]["passed"] is True
    assert set(report["model"]) == set(report["baseline"])
    assert paths.predictions_plot.read_text().startswith("actual,predicted\n")
    strict = _params(project_params, evaluate={"min_improvement": 1000.0})
    with pytest.raises(GateFailed, match="quality gate FAILED"):
        evaluate.main(strict, paths)
    assert json.loads(paths.metrics.read_text())["gate"]["passed"] is False
    with pytest.raises(GateFailed):
        register.main(strict, paths)
    assert not paths.models_dir.exists()


@pytest.mark.slow  # about 10 s: MLflow's store, registry and model logging
def test_train_register_and_cards_in_process_and_an_experiment_leaves_the_alias(
    prepared: tuple[Params, ProjectPaths], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stages DVC runs, in this process: one MLflow run, a registered version, the bundle
    serving loads and the cards (the DVC run itself is tests/test_pipeline_e2e.py, slow).
    Then `dvc exp run` (it sets DVC_EXP_NAME): its model is no commit's, so the alias stays."""
    from mlflow import MlflowClient  # noqa: PLC0415 - 2 s import
    from mlflow.models import get_model_info  # noqa: PLC0415

    params, paths = prepared
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(tmp_path)  # MLflow's artifact root, ./mlruns
    for stage in (train, evaluate, register, cards):
        stage.main(params, paths)
    run_info = json.loads(paths.run_info.read_text())
    signature = get_model_info(run_info["model_uri"]).signature  # inferred from the spec's columns
    spec = DatasetSpec.load(paths.spec)
    assert signature.inputs.input_names() == spec.feature_names
    output = "string" if spec.task == "classification" else "double"
    assert signature.outputs.to_dict()[0]["type"] == output
    model, metadata = load_bundle(paths.models_dir)
    assert metadata.version == "1" and metadata.name == params.tracking.registered_model
    test = pd.read_csv(paths.test_data)
    assert model.predict(test.drop(columns=[params.data.target]).to_numpy()).shape == (len(test),)
    card = paths.model_card.read_text()
    assert "version 1" in card and run_info["run_id"] in card
    monkeypatch.setenv("DVC_EXP_NAME", "trial-seed")
    register.main(params, paths)
    name, alias = params.tracking.registered_model, params.tracking.alias
    client = MlflowClient(store)
    assert str(client.get_model_version_by_alias(name, alias).version) == "1"
    trial = client.get_model_version(name, "2")
    assert trial.tags["dvc_experiment"] == "trial-seed" and alias not in trial.aliases
    assert load_bundle(paths.models_dir)[1].version == "2"


def test_runner_turns_errors_into_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    project_params: dict[str, Any],
) -> None:
    broken = copy.deepcopy(project_params)
    broken["train"]["n_estimators"] = 5
    config = tmp_path / "params.yaml"
    config.write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["prepare", "--config", str(config), "--root", str(tmp_path)])
    with pytest.raises(SystemExit) as info:
        run("prepare", prepare.main)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("prepare: error: ") and "train.n_estimators: unknown key" in err
    assert err.count("\n") == 1
