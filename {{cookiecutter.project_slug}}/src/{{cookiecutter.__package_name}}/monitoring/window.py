"""Read a window of logged traffic (and its late labels) from the log. Plumbing, rarely edited.

Why plain SQL on the serving app's SQLite file: the log is append-only and written by the
app's own ``prediction_log`` module; reading it needs no server. One query brings the
requests holding the newest ``last`` rows (``seq`` counts logged rows: a range of the primary
key) with their feedback (``LEFT JOIN``). Inputs are columns by name: a tabular row's
features, or an image's logged metadata (``{"images": [...]}``); the monitor picks which.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..prediction_log import body_rows

QUERY = """
SELECT r.ts, r.model_version, r.rows, r.inputs, r.predictions, o.outcomes
FROM requests AS r LEFT JOIN outcomes AS o ON o.request_id = r.request_id
WHERE r.ts >= ? AND r.seq > (SELECT max(seq) FROM requests) - coalesce(?, 1e18) ORDER BY r.seq
"""


@dataclass(frozen=True)
class Window:
    """Logged rows, oldest first: the inputs' monitored columns, output and late label."""

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


def _flat(texts: tuple[str, ...], sizes: tuple[int, ...], gap: Any = None) -> list[Any]:
    """Each request's rows (a body's under its key), ``gap`` for none or a damaged value."""
    flat: list[Any] = []
    try:
        values = json.loads("[" + ",".join(text or "null" for text in texts) + "]")
        for value, size in zip(values, sizes, strict=True):
            found = body_rows(value) if isinstance(value, dict) else value or []
            flat.extend(found if len(found) == size else [gap] * size)
    except (TypeError, ValueError) as error:  # not JSON, not a list, or several values
        raise DataError(f"the prediction log holds a damaged logged value ({error})") from None
    return flat


def load_window(
    store: Path,
    columns: list[str],
    *,
    since_hours: float | None = None,
    last: int | None = None,
    now: float | None = None,
) -> Window:
    """The most recent ``last`` rows logged in the past ``since_hours`` (None: no limit),
    with these input ``columns`` (a column a request did not log is missing there)."""
    if not store.is_file():
        raise DataError(
            f"{store}: no prediction log (the serving app writes it; see docs/monitoring.md)"
        )
    start = -1.0 if since_hours is None else (now or time.time()) - since_hours * 3600.0
    read_only = f"{store.resolve().as_uri()}?mode=ro"  # the monitor never writes the log
    try:
        with contextlib.closing(sqlite3.connect(read_only, uri=True, timeout=30)) as connection:
            requests = connection.execute(QUERY, (start, last)).fetchall()
    except sqlite3.DatabaseError as error:
        raise DataError(f"{store}: not a readable prediction log ({error})") from None
    ts, versions, sizes, inputs, answers, truths = list(zip(*requests, strict=True)) or [()] * 6
    keep = slice(-last if last else None, None)  # the oldest request may hold older rows
    frame = pd.DataFrame.from_records(_flat(inputs, sizes, {})[keep], columns=columns)
    return Window(
        inputs=frame.apply(pd.to_numeric, errors="coerce"),
        predictions=pd.Series(_flat(answers, sizes)[keep], dtype=object),
        outcomes=pd.Series(_flat(truths, sizes)[keep], dtype=object),
        ts=pd.Series(np.repeat(ts, sizes)[keep], dtype="float64"),
        model_versions=dict(Counter(np.repeat(versions, sizes)[keep].tolist())),
    )
