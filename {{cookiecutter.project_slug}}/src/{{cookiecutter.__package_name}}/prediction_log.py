"""The prediction log: served requests and their true outcomes. Plumbing, rarely edited.

Why SQLite and the standard library only: the serving app writes it (without pandas), the
``monitor`` command reads it, and both must run anywhere Python does. One file, WAL mode
(the ``monitor`` command reads while the app writes), and an append-only table pair keyed
by the ``prediction_id`` the server issued with the answer (column ``request_id``; never a
client's own id, so no client can overwrite another's row).

Why one database row per request, holding the request body as sent: a batch of 100 rows
is one insert of two texts instead of 100 inserts, and the inputs need no encoding at all
(formatting 400 floats as JSON cost the serving path more than the insert). The inputs
are in the ``/predict/batch`` form, ``{"rows": [{feature: value}, ...]}`` (images:
``{"images": [...]}``, their metadata).

Rotation: ``seq`` is the running count of logged rows (the request's last row), so the
span between the newest ``seq`` and the first row of the oldest request bounds the rows
held, with two index lookups. When a write passes ``max_rows``, the oldest requests are
deleted in one chunk (10 % of the bound), with their outcomes; SQLite reuses the freed
pages, so the file stops growing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROTATE_SHARE = 0.1  # delete this share of max_rows when over the bound
SCHEMA = """
    CREATE TABLE IF NOT EXISTS requests (
        seq INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        ts REAL NOT NULL,
        model_version TEXT NOT NULL,
        rows INTEGER NOT NULL,
        inputs TEXT NOT NULL,
        predictions TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS requests_by_time ON requests (ts);
    CREATE TABLE IF NOT EXISTS outcomes (
        request_id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        outcomes TEXT NOT NULL
    );
"""
Value = str | float
# (request_id, ts, model_version, rows, inputs_json, predictions_json): see ``write_many``
Record = tuple[str, float, str, int, str, str]
# Multi-row INSERT statements instead of ``executemany``: the sqlite3 module releases the
# GIL around every statement step, and a writer thread that takes the GIL back per row
# forced the serving event loop to give it up hundreds of times per flush (see
# docs/pages/design-decisions.md). 142 requests of 7 values each stay within SQLite's
# oldest limit of 999 values per statement; larger statements cost more CPU, not less.
PLACEHOLDERS = "(?, ?, ?, ?, ?, ?, ?)"  # one request: seq, then a ``Record``
REQUESTS_PER_STATEMENT = 142


def body_rows(body: Any) -> list[dict[str, Any]]:
    """The rows of a decoded ``inputs`` text, tabular or image metadata (not an object: {})."""
    rows = body.get("rows", body.get("images")) if isinstance(body, dict) else None
    return [row if isinstance(row, dict) else {} for row in rows] if isinstance(rows, list) else []


class PredictionLog:
    """Append requests and outcomes; keeps the log under ``max_rows`` predictions.

    Not thread-safe by itself: the serving app's ``PredictionRecorder`` serialises calls.
    """

    def __init__(self, path: Path, max_rows: int = 1_000_000, *, timeout_s: float = 5.0) -> None:
        self.max_rows = max_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, no fsync
            self._db.executescript(SCHEMA)
        except sqlite3.Error:
            self._db.close()
            raise

    def write_many(self, records: Sequence[Record]) -> None:
        """Insert requests in one transaction, then rotate if over the bound.

        Each record is ``(request_id, ts, model_version, rows, inputs_json, predictions_json)``
        with the inputs as the module docstring says. A reused id raises (never replaced).
        """
        if not records:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            (last,) = db.execute("SELECT coalesce(max(seq), 0) FROM requests").fetchone()
            for start in range(0, len(records), REQUESTS_PER_STATEMENT):
                chunk = records[start : start + REQUESTS_PER_STATEMENT]
                values: list[Any] = []
                for record in chunk:
                    last += record[3]  # seq: the running count of rows, this request's last
                    values.extend((last, *record))
                placeholders = ", ".join([PLACEHOLDERS] * len(chunk))
                db.execute(f"INSERT INTO requests VALUES {placeholders}", values)  # noqa: S608  # nosec B608
            (first,) = db.execute("SELECT seq - rows FROM requests ORDER BY seq LIMIT 1").fetchone()
            if last - first > self.max_rows:
                # keep the requests that end within the newest rows, and always the newest
                keep_after = last - self.max_rows + max(1, int(self.max_rows * ROTATE_SHARE))
                db.execute("DELETE FROM requests WHERE seq <= ? AND seq < ?", (keep_after, last))
                db.execute(
                    "DELETE FROM outcomes WHERE request_id NOT IN (SELECT request_id FROM requests)"
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def add_feedback(
        self, request_id: str, outcomes: Sequence[Value], ts: float | None = None
    ) -> tuple[list[Value], bool] | None:
        """Store the true outcome of each row, replacing earlier ones. Returns the request's
        logged predictions and whether this is its first feedback; None for an unknown id;
        ValueError when the number of rows differs."""
        found = self._db.execute(
            "SELECT predictions, outcomes.request_id IS NULL FROM requests"
            " LEFT JOIN outcomes USING (request_id) WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if found is None:
            return None
        predictions: list[Value] = json.loads(found[0])
        if len(predictions) != len(outcomes):
            raise ValueError(
                f"prediction {request_id} has {len(predictions)} logged row(s), "
                f"got {len(outcomes)} outcome(s)"
            )
        self._db.execute(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?)",
            (request_id, time.time() if ts is None else ts, json.dumps(list(outcomes))),
        )
        return predictions, bool(found[1])

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        self._db.close()
