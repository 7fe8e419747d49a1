"""Unsafe or invalid SERVING_* values are refused at start-up. Yours to edit.

Reading the variables is pydantic-settings' job: not re-tested here.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from {{ cookiecutter.__package_name }}.serving.settings import Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [("cors_origins", ["*"]), ("max_batch", 0), ("timeout_s", 0), ("log_level", "LOUD")],
)
def test_unsafe_or_invalid_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})  # type: ignore[arg-type]
