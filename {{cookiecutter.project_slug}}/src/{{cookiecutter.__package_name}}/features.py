"""Feature metadata: the one source of the data card, the MLflow signature and the API schema.

Kept free of pandas and MLflow so the serving app can import it cheaply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["classification", "regression"]


class FeatureSpec(BaseModel):
    """One input column with the range seen in the training data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    dtype: Literal["float", "int"] = "float"
    minimum: float
    maximum: float
    description: str = ""


class DatasetSpec(BaseModel):
    """What a valid row looks like, and what the model predicts from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Task
    target: str
    features: list[FeatureSpec] = Field(min_length=1)
    classes: list[str] | None = None

    @property
    def feature_names(self) -> list[str]:
        """Column order the model was trained with."""
        return [feature.name for feature in self.features]

    def save(self, path: Path) -> None:
        """Write as pretty JSON (diffable in Git and DVC)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DatasetSpec:
        """Read a spec written by :meth:`save`."""
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
