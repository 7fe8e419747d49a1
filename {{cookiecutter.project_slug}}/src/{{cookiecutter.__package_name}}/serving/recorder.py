"""Records every prediction to the prediction log without slowing the request that made it.

Why a queue and one writer thread: the request only appends a tuple to a bounded deque
(a few microseconds, no lock: its body as received and its predictions as JSON); the
writer wakes every 2 s (or as soon as the queue is half full) and inserts the waiting
requests with a few multi-row statements in one transaction. Fewer, larger flushes cost
the event loop less (0.80-0.88x of the requests/s without recording when flushing every
0.5 s), and the writer formats nothing, so it holds the GIL only briefly. A full queue
(the disk cannot keep up), in requests or in bytes of bodies, drops the new requests and
counts their rows rather than making requests wait; a failing disk (full, read-only,
locked) is logged once, counted, and the app keeps serving. ``close`` writes what is
still queued, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..prediction_log import PredictionLog, Record, Value
from .metrics import ServingMetrics

logger = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 2.0
WRITE_MARGIN_S = 1.0  # time a flush may take on a busy machine
MAX_REQUESTS_PER_TRANSACTION = 5000


def new_prediction_id() -> str:
    """The id feedback refers to: 32 hex digits, the issue time in ms (12) then 80 random bits.

    Issued by the server, never taken from the client, so nobody can overwrite another
    client's prediction or guess its id; the time says how long another worker may still
    hold it in its queue (``written_by``).
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def written_by(prediction_id: str) -> float:
    """Unix time by which whichever worker issued ``prediction_id`` has written it.

    Each worker queues its own predictions and writes them every FLUSH_INTERVAL_S, so
    feedback reaching another worker may have to wait that long (read-your-writes across
    workers at no cost to the prediction path). An issue time in the future counts as now.
    """
    issued = int(prediction_id[:12], 16) / 1000
    return min(issued, time.time()) + FLUSH_INTERVAL_S + WRITE_MARGIN_S


class RecordingUnavailable(RuntimeError):
    """The prediction log could not be opened or written (details are in the log)."""


class PredictionRecorder:
    """The request side (``record``), the writer thread, feedback and the final flush."""

    def __init__(
        self,
        path: Path,
        *,
        model_version: str,
        metrics: ServingMetrics,
        max_rows: int,
        max_queue: int,
        max_queue_bytes: int = 64 * 1024 * 1024,
        timeout_s: float = 5.0,
    ) -> None:
        self.path = path
        self.model_version = model_version
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.metrics = metrics
        self._queue: collections.deque[Record] = collections.deque()
        # queued body size = bytes_in - bytes_out: each counter has one writer (the event
        # loop, the thread holding _lock), so no update is lost without a lock on the loop
        self._bytes_in = 0
        self._bytes_out = 0
        self._lock = threading.Lock()  # serialises every use of the log
        self._wake = threading.Event()
        self._stopping = False
        self._failed = False
        self.log: PredictionLog | None = None
        try:
            self.log = PredictionLog(path, max_rows, timeout_s=timeout_s)
        except Exception as error:  # sqlite3.Error, OSError (a file where a folder should be)
            self._fail("cannot open the prediction log", error)
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    @property
    def available(self) -> bool:
        """False once the log could not be opened or a write failed (until one succeeds)."""
        return self.log is not None and not self._failed

    def record(self, prediction_id: str, inputs: str, predictions: list[Any]) -> None:
        """Queue one request: its validated body in ``/predict/batch`` form, its predictions.

        The body is stored as sent: formatting the rows' floats again would cost more than
        the rest of recording (see ``prediction_log``). Encoding the predictions here, on the
        event loop, keeps the writer thread's hold on the GIL short (no latency spikes).
        """
        queued, held, size = len(self._queue), self._bytes_in - self._bytes_out, len(inputs)
        if queued >= self.max_queue or held + size > self.max_queue_bytes or self._stopping:
            self.metrics.predictions_dropped.labels(reason="queue_full").inc(len(predictions))
            return
        outputs = json.dumps(predictions)
        self._queue.append(
            (prediction_id, time.time(), self.model_version, len(predictions), inputs, outputs)
        )
        self._bytes_in += size
        # a fast app must not fill the queue before the next flush
        if queued == self.max_queue // 2 or held < self.max_queue_bytes // 2 <= held + size:
            self._wake.set()

    def flush(self) -> None:
        """Write everything queued so far (called by feedback and at shutdown)."""
        with self._lock:
            self._write_queued()

    def feedback(self, prediction_id: str, outcomes: Sequence[Value]) -> list[Value] | None:
        """Store the outcomes of a logged request; its predictions, or None if unknown.

        Raises ValueError when the number of outcomes differs from the logged rows, and
        RecordingUnavailable when the log cannot be read or written.
        """
        with self._lock:
            self._write_queued()  # the prediction may still be waiting in the queue
            if self.log is None or self._failed:  # its prediction may be among the dropped
                raise RecordingUnavailable("the prediction log is not available")
            try:
                predictions = self.log.predictions_for(prediction_id)
                if not predictions:
                    return None
                self.log.add_feedback(prediction_id, outcomes)
            except ValueError:
                raise
            except Exception as error:
                self._fail("cannot write feedback to the prediction log", error)
                raise RecordingUnavailable(str(error)) from error
        return predictions

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer after it wrote the queue; close the log."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        with self._lock:
            self._write_queued()
            if self.log is not None:
                self.log.close()
                self.log = None

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            if self._queue:
                with self._lock:
                    self._write_queued()

    def _write_queued(self) -> None:
        """Insert the queued requests, a bounded transaction at a time (lock held)."""
        queue = self._queue
        while queue:
            count = min(len(queue), MAX_REQUESTS_PER_TRANSACTION)
            records = [queue.popleft() for _ in range(count)]
            self._bytes_out += sum(len(record[4]) for record in records)
            self._write(records)

    def _write(self, records: list[Record]) -> None:
        rows = sum(record[3] for record in records)
        if self.log is None:
            self.metrics.predictions_dropped.labels(reason="write_error").inc(rows)
            return
        try:
            self.log.write_many(records)
        except Exception as error:  # disk full, read-only, locked by another process
            self.metrics.predictions_dropped.labels(reason="write_error").inc(rows)
            self._fail("cannot write to the prediction log", error)
            return
        self.metrics.predictions_recorded.inc(rows)
        if self._failed:
            self._failed = False
            logger.warning("the prediction log is writable again", extra={"path": str(self.path)})

    def _fail(self, message: str, error: BaseException) -> None:
        """Log the first failure of a series only: a full disk must not flood the log."""
        if not self._failed:
            self._failed = True
            logger.error(
                "%s: %s: %s; predictions are not recorded until it works again",
                message,
                type(error).__name__,
                error,
                extra={"path": str(self.path)},
            )
