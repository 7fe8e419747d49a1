"""The image task: class folders, file-list splits, validation naming files. Yours to edit."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from {{ cookiecutter.__package_name }}.bundle import load_bundle
from {{ cookiecutter.__package_name }}.config import Params, parse_params
from {{ cookiecutter.__package_name }}.errors import ValidationFailed
from {{ cookiecutter.__package_name }}.features import DatasetSpec
from {{ cookiecutter.__package_name }}.images import pixel_matrix
from {{ cookiecutter.__package_name }}.paths import ProjectPaths
from {{ cookiecutter.__package_name }}.stages import (
    cards,
    evaluate,
    prepare_images,
    register,
    train,
    validate_images,
)
from {{ cookiecutter.__package_name }}.stages._runner import run


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory, project_params: dict[str, Any]) -> Path:
    """The bundled digits prepared once; tests copy the folder before changing it."""
    root = tmp_path_factory.mktemp("digits")
    prepare_images.main(parse_params(project_params), ProjectPaths(root))
    return root


@pytest.fixture
def prepared_images(
    bundled: Path, tmp_path: Path, project_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Params, ProjectPaths]:
    """(params, paths) of a fresh copy of the prepared digits; stages run from the root."""
    shutil.copytree(bundled, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return parse_params(project_params), ProjectPaths(tmp_path)


def test_prepare_writes_class_folders_and_stratified_file_lists(bundled: Path) -> None:
    paths = ProjectPaths(bundled)
    folders = sorted(p.name for p in (bundled / "data" / "raw" / "images").iterdir())
    assert folders == [str(digit) for digit in range(10)]
    train, test = pd.read_csv(paths.train_data), pd.read_csv(paths.test_data)
    assert list(train.columns) == ["path", "label"]
    assert not set(train["path"]) & set(test["path"])
    assert all(Path(path).parent.name == str(label) for path, label in test.to_numpy())
    shares = test["label"].value_counts(normalize=True)
    assert shares.max() - shares.min() < 0.02  # stratified: every class in proportion
    assert DatasetSpec.load(paths.spec).image_size == 8


def test_prepare_is_reproducible(bundled: Path, tmp_path: Path, project_params: Any) -> None:
    prepare_images.main(parse_params(project_params), ProjectPaths(tmp_path))
    again = ProjectPaths(tmp_path).test_data.read_bytes()
    assert again == ProjectPaths(bundled).test_data.read_bytes()  # relative paths, same split


def test_a_user_folder_is_one_params_entry(
    bundled: Path, tmp_path: Path, project_params: dict[str, Any]
) -> None:
    source = tmp_path / "my_images"
    for label in ("cat", "dog"):
        shutil.copytree(bundled / "data" / "raw" / "images" / str(len(label)), source / label)
    params = parse_params(
        {**project_params, "data": {**project_params["data"], "source": str(source)}}
    )
    prepare_images.main(params, ProjectPaths(tmp_path / "project"))
    assert DatasetSpec.load(ProjectPaths(tmp_path / "project").spec).classes == ["cat", "dog"]


def test_pixels_are_the_features(bundled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(bundled)
    train = pd.read_csv(ProjectPaths(bundled).train_data)
    matrix = pixel_matrix(train["path"].head(5), 8)
    assert matrix.shape == (5, 64) and matrix.min() >= 0.0 and matrix.max() <= 1.0


@pytest.mark.slow  # Great Expectations on every image
def test_validate_passes_on_the_bundled_digits(
    prepared_images: tuple[Params, ProjectPaths],
) -> None:
    params, paths = prepared_images
    validate_images.main(params, paths)
    table = pd.read_csv(paths.image_metadata)
    assert {"path", "label", "format", "width", "height", "mode", "brightness", "contrast",
            "hash"} <= set(table.columns)  # fmt: skip
    assert "PASSED" in paths.validation_summary.read_text()


@pytest.mark.slow  # the validate stage over every image
def test_a_corrupt_image_stops_validation_naming_the_file(
    prepared_images: tuple[Params, ProjectPaths],
) -> None:
    params, paths = prepared_images
    broken = pd.read_csv(paths.test_data)["path"][3]
    Path(broken).write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(ValidationFailed, match="format") as info:
        validate_images.main(params, paths)
    assert broken in str(info.value)
    assert broken in paths.validation_summary.read_text()


@pytest.mark.slow  # the validate stage over every image
def test_a_duplicate_across_splits_stops_validation_naming_the_files(
    prepared_images: tuple[Params, ProjectPaths],
) -> None:
    params, paths = prepared_images
    original = pd.read_csv(paths.train_data)["path"][0]
    copy = pd.read_csv(paths.test_data)["path"][0]
    shutil.copyfile(original, copy)
    with pytest.raises(ValidationFailed, match="unique") as info:
        validate_images.main(params, paths)
    assert original in str(info.value) and copy in str(info.value)


def test_train_evaluate_register_and_cards_in_process(
    prepared_images: tuple[Params, ProjectPaths], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stages DVC runs after validate, in this process: the model passes the gate on
    pixels, is registered and exported with skops, and both cards show the run's images."""
    params, paths = prepared_images
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for stage in (validate_images, train, evaluate, register, cards):
        stage.main(params, paths)
    model, metadata = load_bundle(paths.models_dir)
    test = pd.read_csv(paths.test_data, dtype={"label": str})
    predicted = model.predict(pixel_matrix(test["path"], metadata.spec.image_size or 0))
    assert metadata.version == "1" and (predicted == test["label"]).mean() > 0.9
    data_card = paths.data_card.read_text()
    assert "| 7 |" in data_card and "brightness" in data_card
    assert "../reports/contact_sheet.png" in data_card and paths.contact_sheet.is_file()
    model_card = paths.model_card.read_text()
    wrong = int((predicted != test["label"]).sum())
    assert f"{wrong} test image(s) misclassified" in model_card
    assert "Confusion matrix" in model_card and "| Class | Precision |" in model_card
    assert paths.misclassified_sheet.is_file()


def test_stages_run_with_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """More threads only spin on small matrices: a 0.05 s fit took 10 s on a busy machine."""
    params = Path(__file__).resolve().parents[1] / "params.yaml"
    monkeypatch.setattr("sys.argv", ["stage", "--config", str(params)])
    pools: list[dict[str, Any]] = []
    run("stage", lambda *_: pools.extend(threadpool_info()))
    assert {pool["num_threads"] for pool in pools if pool["user_api"] == "blas"} == {1}
