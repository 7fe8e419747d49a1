"""Serving settings, read from ``SERVING_*`` environment variables. Yours to edit.

Why pydantic-settings behind a cached function: one validated object per process, and
tests build their own ``Settings`` (or clear the cache) instead of patching globals.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Limits and switches of the serving app (see docs/serving.md for each one)."""

    model_config = SettingsConfigDict(env_prefix="SERVING_", extra="ignore", frozen=True)

    model_dir: Path = Path("models")
    docs_enabled: bool = True
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    timeout_s: float = Field(default=5.0, gt=0)
    max_concurrency: int = Field(default=64, ge=1)
    max_in_flight: int = Field(default=256, ge=1)
    read_timeout_s: int = Field(default=5, ge=1, le=300)
    cors_origins: list[str] = Field(default_factory=list)
    drain_s: float = Field(default=2.0, ge=0.0, le=300.0)
    blas_threads: int = Field(default=1, ge=1)
    # any case; a typo fails at start-up rather than logging at an unexpected level
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(str.upper)
    ] = "INFO"
    access_log: bool = True
    record_predictions: bool = True
    prediction_log: Path = Path("monitoring/predictions.sqlite")
    prediction_log_max_rows: int = Field(default=1_000_000, ge=10)
    prediction_queue_max: int = Field(default=100_000, ge=1)  # rows waiting to be written
    monitor_summary: Path = Path("reports/monitoring/summary.json")

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, origins: list[str]) -> list[str]:
        """Refuse ``*``: list the origins that may call the API from a browser."""
        # exercise M4.1: Refuse a wildcard CORS origin
        if "*" in origins:
            raise ValueError("'*' is not allowed; list the exact origins")
        return origins
        # end exercise


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` or pass their own."""
    return Settings()
