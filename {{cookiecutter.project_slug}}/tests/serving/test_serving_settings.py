"""SERVING_* settings are read, cached, and unsafe values refused. Yours to edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from {{ cookiecutter.__package_name }}.serving.settings import Settings, get_settings


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODEL_DIR", "DOCS_ENABLED", "CORS_ORIGINS", "MAX_BATCH"):
        monkeypatch.delenv(f"SERVING_{name}", raising=False)
    settings = Settings()
    assert settings.model_dir == Path("models")
    assert settings.cors_origins == []
    assert settings.docs_enabled is True
    assert settings.max_batch >= 1 and settings.max_body_bytes >= 1024


def test_environment_overrides_and_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVING_MAX_BATCH", "17")
    monkeypatch.setenv("SERVING_DOCS_ENABLED", "false")
    monkeypatch.setenv("SERVING_CORS_ORIGINS", '["https://app.example"]')
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.max_batch == 17
        assert settings.docs_enabled is False
        assert settings.cors_origins == ["https://app.example"]
        assert get_settings() is settings
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("name", "value"),
    [("cors_origins", ["*"]), ("max_batch", 0), ("timeout_s", 0), ("log_level", "LOUD")],
)
def test_unsafe_or_invalid_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})  # type: ignore[arg-type]
