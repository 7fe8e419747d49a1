"""Data checks for images: GX on the metadata table, one row per file. Yours to edit.

Why a table: GX checks columns, so each image becomes a row (format, size, mode, hash,
brightness, ...) and the same suite, results and Data Docs as the tabular task apply.
"""

from __future__ import annotations

import pandas as pd

from .config import ImagesParams
from .validation import Check


def with_class_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Add each row's class size and its share of the largest class (balance)."""
    counts = table.groupby("label")["path"].transform("count")
    return table.assign(class_count=counts, class_balance=counts / counts.max())


def build_image_checks(cfg: ImagesParams, classes: list[str], min_rows: int) -> list[Check]:
    """Every file decodes in an allowed format, mode and size; no duplicate content in or
    across splits; only known labels; enough images per class, and balanced classes."""

    def between(column: str, low: float | None = None, high: float | None = None) -> Check:
        return Check("ExpectColumnValuesToBeBetween", column, {"min_value": low, "max_value": high})

    return [
        Check("ExpectTableRowCountToBeBetween", kwargs={"min_value": min_rows}),
        Check("ExpectColumnValuesToBeInSet", "format", {"value_set": cfg.formats}),
        between("bytes", high=cfg.max_bytes),
        between("width", cfg.min_side, cfg.max_side),
        between("height", cfg.min_side, cfg.max_side),
        Check("ExpectColumnValuesToBeInSet", "mode", {"value_set": cfg.modes}),
        Check("ExpectColumnValuesToBeUnique", "hash"),
        Check("ExpectColumnValuesToBeInSet", "label", {"value_set": classes}),
        between("class_count", cfg.min_per_class),
        between("class_balance", cfg.min_balance),
        # exercise M3.3: Catch a blank (one-colour) image: expect some contrast in every image
        between("contrast", 1.0),
        # end exercise
    ]
