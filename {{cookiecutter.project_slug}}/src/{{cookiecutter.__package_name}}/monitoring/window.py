"""Read a window of logged production traffic (and its late labels) from the prediction log.

Why plain SQL on the serving app's SQLite file: the log is append-only and written by the
app's own ``prediction_log`` module; reading it needs no server, and one query with a
``LEFT JOIN`` brings each prediction together with its feedback when it has arrived.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..features import DatasetSpec

QUERY = """
SELECT p.request_id, p.row, p.ts, p.model_version, p.inputs, p.prediction, f.outcome
FROM predictions AS p LEFT JOIN feedback AS f ON f.request_id = p.request_id AND f.row = p.row
WHERE p.ts >= ?
ORDER BY p.ts DESC, p.request_id DESC, p.row DESC
LIMIT ?
"""


@dataclass(frozen=True)
class Window:
    """Logged rows, newest first: inputs in the spec's column order, output and late label."""

    inputs: pd.DataFrame
    predictions: pd.Series
    outcomes: pd.Series  # None where no feedback arrived
    ts: pd.Series
    model_versions: dict[str, int]

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def labelled(self) -> pd.Series:
        """True for the rows whose true outcome was sent back."""
        return self.outcomes.notna()


def _parse_json_column(texts: list[Any]) -> list[Any]:
    """Decode many JSON texts in one call (one C-level parse instead of one per row)."""
    if not texts:
        return []
    return json.loads("[" + ",".join(text if text is not None else "null" for text in texts) + "]")


def load_window(
    store: Path,
    spec: DatasetSpec,
    *,
    since_hours: float | None = None,
    last: int | None = None,
    now: float | None = None,
) -> Window:
    """The most recent ``last`` rows logged in the past ``since_hours`` (None: no limit)."""
    if not store.is_file():
        raise DataError(
            f"{store}: no prediction log (the serving app writes it; see docs/monitoring.md)"
        )
    start = -1.0 if since_hours is None else (now or time.time()) - since_hours * 3600.0
    limit = -1 if last is None else last  # SQLite: a negative LIMIT means none
    uri = f"{store.resolve().as_uri()}?mode=ro"
    try:
        with sqlite3.connect(uri, uri=True, timeout=30) as connection:
            rows = connection.execute(QUERY, (start, limit)).fetchall()
    except sqlite3.DatabaseError as error:
        raise DataError(f"{store}: not a readable prediction log ({error})") from None
    records = _parse_json_column([row[4] for row in rows])
    inputs = pd.DataFrame.from_records(
        [record if isinstance(record, dict) else {} for record in records],
        columns=spec.feature_names,
    )
    predictions = pd.Series(_parse_json_column([row[5] for row in rows]), dtype=object)
    outcomes = pd.Series(_parse_json_column([row[6] for row in rows]), dtype=object)
    versions = pd.Series([row[3] for row in rows], dtype=object).value_counts()
    return Window(
        inputs=inputs.apply(pd.to_numeric, errors="coerce"),
        predictions=predictions,
        outcomes=outcomes,
        ts=pd.Series([row[2] for row in rows], dtype="float64"),
        model_versions={str(k): int(v) for k, v in versions.items()},
    )


def labelled_rows(window: Window, spec: DatasetSpec) -> pd.DataFrame:
    """The window's rows with a true outcome: features plus the target, ready to train on."""
    mask = window.labelled.to_numpy()
    frame = window.inputs.loc[mask].copy()
    outcomes = window.outcomes[mask]
    frame[spec.target] = (
        outcomes.astype(str) if spec.task == "classification" else outcomes.astype("float64")
    )
    return frame.iloc[::-1].reset_index(drop=True)  # oldest first, as they were logged
