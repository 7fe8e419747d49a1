"""The prediction log: served requests and their true outcomes. Plumbing, rarely edited.

Why SQLite and the standard library only: the serving app writes it (without pandas), the
``monitor`` command reads it, and both must run anywhere Python does. One file, WAL mode
(the ``monitor`` command reads while the app writes), and an
append-only table pair keyed by the ``prediction_id`` the server issued with the answer
(column ``request_id``; never a client's own id, so no client can overwrite another's row).

Why one database row per request, holding the request body as sent: a batch of 100 rows
is one insert of two texts instead of 100 inserts, and the inputs need no encoding at all
(formatting 400 floats as JSON cost the serving path more than the insert). Together the
recording CPU of a batch of 100 fell from ~440 us to ~35 us (docs/serving.md, "Benchmark").
The inputs are always in the ``/predict/batch`` form, ``{"rows": [{feature: value}, ...]}``.

Rotation: ``seq`` is the running count of logged rows (the request's last row), so the
span between the newest ``seq`` and the first row of the oldest request bounds the rows
held, with two index lookups. When a write passes ``max_rows``, the oldest requests are
deleted in one chunk (10 % of the bound), with their outcomes; SQLite reuses the freed
pages, so the file stops growing.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_MAX_ROWS = 1_000_000
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
# forced the serving event loop to give it up hundreds of times per flush (-25 % req/s
# measured). Requests per statement: 7 parameters each, within SQLite's parameter limit.
MAX_REQUESTS_PER_STATEMENT = 2000


@functools.lru_cache(maxsize=4)
def _insert_sql(requests: int) -> str:
    """``INSERT INTO requests VALUES (?, ...), ...`` for ``requests`` requests.

    Never ``OR REPLACE``: a logged request is never overwritten (a reused id is an error).
    """
    placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * requests)
    return f"INSERT INTO requests VALUES {placeholders}"  # noqa: S608  # nosec B608


def encode_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows (feature -> value) as the log stores inputs: a ``/predict/batch`` body."""
    return json.dumps({"rows": [dict(row) for row in rows]})


def body_rows(body: Any) -> list[dict[str, Any]]:
    """The rows of a decoded ``inputs`` text, tabular or image metadata (not an object: {})."""
    rows = body.get("rows", body.get("images")) if isinstance(body, dict) else None
    return [row if isinstance(row, dict) else {} for row in rows] if isinstance(rows, list) else []


def connect(path: Path, timeout_s: float = 5.0) -> sqlite3.Connection:
    """An autocommit connection in WAL mode, tables created (parent folder too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, no fsync per commit
        db.executescript(SCHEMA)
    except sqlite3.Error:
        db.close()
        raise
    return db


def _insert(db: sqlite3.Connection, records: Sequence[Record]) -> int:
    """Insert encoded requests (transaction open) numbering their rows on; the last ``seq``."""
    last = int(db.execute("SELECT coalesce(max(seq), 0) FROM requests").fetchone()[0])
    limit = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # 999 before SQLite 3.32
    step = max(1, min(MAX_REQUESTS_PER_STATEMENT, limit // 7))
    for start in range(0, len(records), step):
        chunk = records[start : start + step]
        values: list[Any] = []
        for record in chunk:
            last += record[3]
            values.append(last)
            values.extend(record)
        db.execute(_insert_sql(len(chunk)), values)
    return last


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (the ``monitor`` command never writes the log)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


class PredictionLog:
    """Append requests and outcomes; keeps the log under ``max_rows`` predictions.

    Not thread-safe by itself: the serving app's ``PredictionRecorder`` serialises calls.
    """

    def __init__(
        self, path: Path, max_rows: int = DEFAULT_MAX_ROWS, *, timeout_s: float = 5.0
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.path = path
        self.max_rows = max_rows
        self._db = connect(path, timeout_s)

    def record(
        self,
        request_id: str,
        model_version: str,
        rows: Sequence[Mapping[str, float]],
        predictions: Sequence[Value],
        ts: float | None = None,
    ) -> None:
        """Log one request's rows (feature -> value) and predictions; a reused id raises."""
        if len(rows) != len(predictions):
            raise ValueError(f"{len(rows)} rows but {len(predictions)} predictions")
        when = time.time() if ts is None else ts
        inputs, outputs = encode_rows(rows), json.dumps(list(predictions))
        self.write_many([(request_id, when, model_version, len(rows), inputs, outputs)])

    def write_many(self, records: Sequence[Record]) -> None:
        """Insert already-encoded requests in one transaction, then rotate if over the bound.

        Each record is ``(request_id, ts, model_version, rows, inputs_json, predictions_json)``
        with the inputs in the ``/predict/batch`` form (``encode_rows``, or a body as sent).
        """
        if not records:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            last = _insert(db, records)
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

    def predictions_for(self, request_id: str) -> list[Value]:
        """The logged predictions of one request in row order ([] for an unknown id)."""
        found = self._db.execute(
            "SELECT predictions FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return [] if found is None else list(json.loads(found[0]))

    def add_feedback(
        self, request_id: str, outcomes: Sequence[Value], ts: float | None = None
    ) -> bool:
        """Store the true outcome of each row; False for an unknown id, ValueError on a count.

        Sending feedback again for the same request replaces the earlier outcomes.
        """
        found = self._db.execute(
            "SELECT rows FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if found is None:
            return False
        if found[0] != len(outcomes):
            raise ValueError(
                f"request {request_id} has {found[0]} logged rows, got {len(outcomes)} outcomes"
            )
        self._db.execute(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?)",
            (request_id, time.time() if ts is None else ts, json.dumps(list(outcomes))),
        )
        return True

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        self._db.close()
