"""Feature metadata: the source of the data card, MLflow signature and API schema. Yours to edit.

Kept free of pandas and MLflow so the serving app can import it cheaply.
"""

from __future__ import annotations

import json
import math
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
    # share of each feature's training range accepted beyond it (params: data.range_tolerance)
    range_tolerance: float = Field(default=0.0, ge=0.0)
    # the image task: rows are image files, the features their size x size grayscale pixels
    image_size: int | None = None

    @property
    def feature_names(self) -> list[str]:
        """Column order the model was trained with."""
        return [feature.name for feature in self.features]

    def accepted_range(self, feature: FeatureSpec) -> tuple[float, float]:
        """The one range rule of data validation and the API: the training range widened by
        ``range_tolerance`` x its width on each side (whole numbers for int features)."""
        low, high = feature.minimum, feature.maximum
        if self.range_tolerance > 0:
            extra = (high - low) * self.range_tolerance
            # 10 significant digits: error messages show 3.94, not 3.9399999999999995
            low, high = float(f"{low - extra:.10g}"), float(f"{high + extra:.10g}")
        if feature.dtype == "int":
            return math.floor(low), math.ceil(high)
        return low, high

    def save(self, path: Path) -> None:
        """Write as pretty JSON (diffable in Git and DVC)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DatasetSpec:
        """Read a spec written by :meth:`save`."""
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
