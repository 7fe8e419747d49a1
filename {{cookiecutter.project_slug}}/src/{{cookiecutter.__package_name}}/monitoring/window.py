"""Read a window of logged traffic (and its late labels) from the log. Plumbing, rarely edited.

Why plain SQL on the serving app's SQLite file: the log is append-only and written by the
app's own ``prediction_log`` module; reading it needs no server, and one query with a
``LEFT JOIN`` brings each prediction together with its feedback when it has arrived.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..features import DatasetSpec
from ..prediction_log import OldLogFormat, body_rows, open_read_only

QUERY = """
SELECT r.ts, r.model_version, r.rows, r.inputs, r.predictions, o.outcomes
FROM requests AS r LEFT JOIN outcomes AS o ON o.request_id = r.request_id
WHERE r.ts >= ?
ORDER BY r.ts DESC, r.seq DESC
"""
FETCH = 2000  # requests per fetch: stop reading once the window has its rows


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
    """Decode many JSON texts in one call (one C-level parse instead of one per request)."""
    if not texts:
        return []
    return json.loads("[" + ",".join(text if text is not None else "null" for text in texts) + "]")


def _newest_first(lists: Iterable[list[Any]]) -> list[Any]:
    """Each request's rows reversed, requests already newest first: one flat list."""
    return list(itertools.chain.from_iterable(values[::-1] for values in lists))


def _read(store: Path, start: float, last: int | None) -> list[tuple[Any, ...]]:
    """The newest requests since ``start`` until they hold ``last`` rows (None: all)."""
    requests: list[tuple[Any, ...]] = []
    held = 0
    try:
        connection = open_read_only(store)
        try:
            cursor = connection.execute(QUERY, (start,))
            while last is None or held < last:
                batch = cursor.fetchmany(FETCH)
                if not batch:
                    break
                requests.extend(batch)
                held += sum(request[2] for request in batch)
        finally:
            connection.close()
    except OldLogFormat as error:
        raise DataError(str(error)) from None
    except sqlite3.DatabaseError as error:
        raise DataError(f"{store}: not a readable prediction log ({error})") from None
    return requests


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
    requests = _read(store, start, last)
    sizes = [int(request[2]) for request in requests]
    keep = slice(None) if last is None else slice(0, last)
    bodies = _parse_json_column([request[3] for request in requests])
    inputs = pd.DataFrame.from_records(
        _newest_first(body_rows(body) for body in bodies)[keep], columns=spec.feature_names
    )
    predictions = _newest_first(_parse_json_column([request[4] for request in requests]))
    outcomes = _newest_first(
        values or [None] * size
        for values, size in zip(
            _parse_json_column([request[5] for request in requests]), sizes, strict=True
        )
    )
    versions = pd.Series(np.repeat([str(r[1]) for r in requests], sizes)[keep], dtype=object)
    return Window(
        inputs=inputs.apply(pd.to_numeric, errors="coerce"),
        predictions=pd.Series(predictions[keep], dtype=object),
        outcomes=pd.Series(outcomes[keep], dtype=object),
        ts=pd.Series(np.repeat([float(r[0]) for r in requests], sizes)[keep], dtype="float64"),
        model_versions={str(k): int(v) for k, v in versions.value_counts().items()},
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
