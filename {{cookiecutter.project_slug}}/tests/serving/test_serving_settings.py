"""Unsafe or invalid SERVING_* values are refused at start-up. Yours to edit.

Reading the variables is pydantic-settings' job: not re-tested here.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from {{ cookiecutter.__package_name }}.cli import app
from {{ cookiecutter.__package_name }}.serving.settings import Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [("cors_origins", ["*"]), ("max_batch", 0), ("timeout_s", 0), ("log_level", "LOUD")],
)
def test_unsafe_or_invalid_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})  # type: ignore[arg-type]


def test_serve_runs_one_process_so_feedback_sees_every_prediction() -> None:
    """RELIABILITY H4: one worker per process; scale with replicas, each with its own log."""
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "No such option" in result.output
