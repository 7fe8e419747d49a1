"""The demo's served prediction, against a real process. Yours to edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import free_port

from {{ cookiecutter.__package_name }}.bundle import read_metadata
from {{ cookiecutter.__package_name }}.serving.cli import serve_and_predict
from {{ cookiecutter.__package_name }}.serving.schemas import example_row

pytestmark = pytest.mark.slow


def test_serve_and_predict_answers_and_stops(iris_dir: Path) -> None:
    """The demo sends the example row, inside every range: a 422 would raise here."""
    row, answer = serve_and_predict(iris_dir, free_port())
    assert answer["model_version"] == read_metadata(iris_dir).version
    assert "prediction" in answer and row == example_row(read_metadata(iris_dir).spec)


def test_serve_and_predict_says_why_the_model_is_not_ready(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"the served model is not ready: .*metadata"):
        serve_and_predict(tmp_path / "no-model", free_port())
