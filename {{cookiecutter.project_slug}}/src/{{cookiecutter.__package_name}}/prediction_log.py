"""The prediction log: every served prediction, and the true outcome when it arrives later.

Why SQLite and the standard library only: the serving app writes it (without pandas), the
``monitor`` command reads it, and both must run anywhere Python does. One file, WAL mode
(readers never block the writer; several ``serve`` workers can share the file), and an
append-only table pair keyed by the request id the client saw in ``X-Request-ID``.

Rotation: the ``predictions`` table holds at most ``max_rows`` rows. When a write passes
the bound, the oldest rows (insertion order) are deleted in one chunk, 10 % of the bound
at least, with the feedback that belonged to them; SQLite reuses the freed pages, so the
file stops growing at roughly ``max_rows`` rows.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_MAX_ROWS = 1_000_000
ROTATE_SHARE = 0.1  # delete this share of max_rows (at least the excess) when over the bound
SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    ts REAL NOT NULL,
    model_version TEXT NOT NULL,
    inputs TEXT NOT NULL,
    prediction TEXT NOT NULL,
    PRIMARY KEY (request_id, row)
);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    ts REAL NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (request_id, row)
);
"""
Value = str | float
# Multi-row INSERT statements instead of ``executemany``: the sqlite3 module releases the
# GIL around every statement step, and a writer thread that takes the GIL back per row
# forced the serving event loop to give it up hundreds of times per flush (-25 % req/s
# measured). Rows per statement: 6 parameters each, within SQLite's parameter limit.
MAX_ROWS_PER_STATEMENT = 2000


@functools.lru_cache(maxsize=4)
def _insert_sql(rows: int) -> str:
    """``INSERT OR REPLACE INTO predictions VALUES (?, ...), ...`` for ``rows`` rows."""
    placeholders = ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)
    return f"INSERT OR REPLACE INTO predictions VALUES {placeholders}"  # noqa: S608 - only ?s


def connect(path: Path, timeout_s: float = 5.0) -> sqlite3.Connection:
    """An autocommit connection in WAL mode with the tables created (parent folder too)."""
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


class PredictionLog:
    """Append predictions and feedback; keeps the predictions table under ``max_rows``.

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
        parameters = self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._rows_per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, parameters // 6))

    def record(
        self,
        request_id: str,
        model_version: str,
        rows: Sequence[Mapping[str, float]],
        predictions: Sequence[Value],
        ts: float | None = None,
    ) -> None:
        """Log one request's rows (row 0..n-1) and predictions; a reused id replaces it."""
        if len(rows) != len(predictions):
            raise ValueError(f"{len(rows)} rows but {len(predictions)} predictions")
        when = time.time() if ts is None else ts
        self.write_many(
            [
                (request_id, index, when, model_version, json.dumps(dict(row)), json.dumps(value))
                for index, (row, value) in enumerate(zip(rows, predictions, strict=True))
            ]
        )

    def write_many(self, records: Sequence[tuple[str, int, float, str, str, str]]) -> None:
        """Insert already-encoded rows in one transaction, then rotate if over the bound.

        Each record is ``(request_id, row, ts, model_version, inputs_json, prediction_json)``.
        """
        if not records:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(records), self._rows_per_statement):
                chunk = records[start : start + self._rows_per_statement]
                db.execute(_insert_sql(len(chunk)), [value for row in chunk for value in row])
            # rowids grow with every insert (from any process sharing the file), so their
            # span bounds the row count: two index lookups instead of counting every row
            span = db.execute("SELECT max(rowid) - min(rowid) + 1 FROM predictions").fetchone()
            if span[0] is not None and span[0] > self.max_rows:
                self._rotate()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _rotate(self) -> None:
        """Delete the oldest rows (and their feedback) down to the bound minus one chunk."""
        db = self._db
        rows = int(db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
        if rows <= self.max_rows:  # gaps left by replaced ids
            return
        excess = rows - self.max_rows + int(self.max_rows * ROTATE_SHARE)
        db.execute(
            "DELETE FROM predictions WHERE rowid IN "
            "(SELECT rowid FROM predictions ORDER BY rowid LIMIT ?)",
            (excess,),
        )
        db.execute(
            "DELETE FROM feedback WHERE NOT EXISTS (SELECT 1 FROM predictions AS p "
            "WHERE p.request_id = feedback.request_id AND p.row = feedback.row)"
        )

    def predictions_for(self, request_id: str) -> list[Value]:
        """The logged predictions of one request in row order ([] for an unknown id)."""
        cursor = self._db.execute(
            "SELECT prediction FROM predictions WHERE request_id = ? ORDER BY row", (request_id,)
        )
        return [json.loads(text) for (text,) in cursor]

    def add_feedback(
        self, request_id: str, outcomes: Sequence[Value], ts: float | None = None
    ) -> bool:
        """Store the true outcome of each row; False for an unknown id, ValueError on a count.

        Sending feedback again for the same request replaces the earlier outcomes.
        """
        logged = len(self.predictions_for(request_id))
        if not logged:
            return False
        if logged != len(outcomes):
            raise ValueError(
                f"request {request_id} has {logged} logged rows, got {len(outcomes)} outcomes"
            )
        when = time.time() if ts is None else ts
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                [(request_id, i, when, json.dumps(value)) for i, value in enumerate(outcomes)],
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return True

    def count(self) -> int:
        """Rows in the predictions table."""
        return int(self._db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        self._db.close()


def iter_predictions(path: Path, since: float | None = None) -> Iterator[dict[str, Any]]:
    """Logged predictions (oldest first) joined with their outcome (None until feedback).

    Each item: ``request_id``, ``row``, ``ts``, ``model_version``, ``inputs`` (dict feature
    -> value), ``prediction`` and ``outcome``. Opens the file read-only; yields nothing if
    it does not exist. ``since`` keeps rows with ``ts >= since`` (unix seconds).
    """
    if not path.exists():
        return
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        cursor = db.execute(
            "SELECT p.request_id, p.row, p.ts, p.model_version, p.inputs, p.prediction, "
            "f.outcome FROM predictions AS p LEFT JOIN feedback AS f "
            "ON f.request_id = p.request_id AND f.row = p.row "
            "WHERE p.ts >= ? ORDER BY p.rowid",
            (float("-inf") if since is None else since,),
        )
        for request_id, row, ts, version, inputs, prediction, outcome in cursor:
            yield {
                "request_id": request_id,
                "row": row,
                "ts": ts,
                "model_version": version,
                "inputs": json.loads(inputs),
                "prediction": json.loads(prediction),
                "outcome": None if outcome is None else json.loads(outcome),
            }
    finally:
        db.close()
