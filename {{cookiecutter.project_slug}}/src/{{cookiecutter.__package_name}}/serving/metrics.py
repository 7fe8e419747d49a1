"""What the app records: Prometheus metrics and the prediction log. Plumbing, rarely edited.

Metrics live in the app's own registry (two apps in a test never collide). The ``model_*``
metrics are the feedback loop: predictions recorded or dropped, live accuracy (or absolute
error) from ``POST /feedback``, and the drift share and retraining flag of the ``monitor``
command's JSON summary, read when Prometheus scrapes.

``PredictionRecorder`` records every prediction without slowing the request that made it:
a bounded queue that drops and counts rather than waits, one writer thread, a failing disk
logged once, a final flush on ``close`` (docs/serving.md, "Prediction log and feedback").
"""

from __future__ import annotations

import collections
import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..prediction_log import PredictionLog, Record, Value

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServingMetrics:
    """The model's metrics: readiness, predictions, recording and feedback.

    Requests by route and status and their latency by route are prometheus-fastapi-instrumentator's
    ``http_requests_total`` and ``http_request_duration_seconds`` (``app.py``), in the same
    registry.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.predicted_rows = Counter(
            "serving_predicted_rows", "Rows predicted.", registry=self.registry
        )
        self.ready = Gauge(
            "serving_ready", "1 when the model is loaded and verified.", registry=self.registry
        )
        self.model_info = Info("serving_model", "The served model.", registry=self.registry)
        self.classes: Counter | None = None
        self.values: Histogram | None = None
        self.predictions_recorded = Counter(
            "model_predictions_recorded",
            "Rows written to the prediction log.",
            registry=self.registry,
        )
        self.predictions_dropped = Counter(
            "model_predictions_dropped",
            "Rows not recorded: queue full, or the log could not be written.",
            ["reason"],
            registry=self.registry,
        )
        self.feedback = Counter(
            "model_feedback",
            "First outcomes per prediction on POST /feedback, against it (classification).",
            ["result"],
            registry=self.registry,
        )
        self.feedback_abs_error: Summary | None = None

    def track_model(self, labels: list[str], sample: np.ndarray) -> None:
        """Predictions per class (classification); else a histogram of predicted values with
        buckets at the deciles of the warm-up ``sample``, and the live absolute error."""
        if labels:
            self.classes = Counter(
                "serving_predicted_class",
                "Predictions per class.",
                ["label"],
                registry=self.registry,
            )
            for label in labels:
                self.classes.labels(label=label)  # every class's series from the start
            return
        edges = sorted({round(float(v), 6) for v in np.quantile(sample, np.linspace(0.1, 0.9, 9))})
        self.values = Histogram(
            "serving_predicted_value",
            "Predicted values (regression).",
            buckets=edges or (0.0,),
            registry=self.registry,
        )
        self.feedback_abs_error = Summary(  # live mean absolute error: _sum / _count
            "model_feedback_abs_error",
            "|outcome - prediction| of each row's first feedback (regression).",
            registry=self.registry,
        )

    def observe_feedback(self, predictions: list[Any], outcomes: list[Any]) -> None:
        """Count correct/wrong answers (classification) or observe absolute errors."""
        if self.feedback_abs_error is not None:
            for predicted, outcome in zip(predictions, outcomes, strict=True):
                self.feedback_abs_error.observe(abs(float(outcome) - float(predicted)))
            return
        correct = sum(p == o for p, o in zip(predictions, outcomes, strict=True))
        self.feedback.labels(result="correct").inc(correct)  # both series from the first feedback
        self.feedback.labels(result="wrong").inc(len(outcomes) - correct)

    def observe_predictions(self, predictions: list[Any]) -> None:
        """Record one request's predictions (class labels or values)."""
        self.predicted_rows.inc(len(predictions))
        if self.classes is not None:
            for label, count in collections.Counter(predictions).items():
                self.classes.labels(label=label).inc(count)
        elif self.values is not None:
            for value in predictions:
                self.values.observe(value)


class MonitorSummary(Collector):
    """``model_drift_share`` and ``model_needs_retraining`` from the monitor's summary.json.

    Read when Prometheus scrapes, so a new report shows up without restarting the app. Both
    gauges are always declared (dashboards and ``ccmlops check`` see the names) and hold a
    sample only while the file holds a finite share and a true/false flag: the app serves
    before the first monitor run, and a missing or malformed file is never an error.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Both gauges, with a sample each or none."""
        share = GaugeMetricFamily("model_drift_share", "Share of drifted features, last run.")
        retrain = GaugeMetricFamily("model_needs_retraining", "1 when the last run said retrain.")
        try:
            summary = json.loads(self.path.read_text(encoding="utf-8"))
            value, flag = float(summary["drift_share"]), summary["needs_retraining"]
        except (OSError, ValueError, TypeError, KeyError):
            value, flag = math.nan, None
        if math.isfinite(value) and isinstance(flag, bool):
            share.add_metric([], value)
            retrain.add_metric([], float(flag))
        yield share
        yield retrain


logger = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 2.0


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
        timeout_s: float = 5.0,
    ) -> None:
        self.path = path
        self.model_version = model_version
        self.max_queue = max_queue
        self.metrics = metrics
        self.max_rows, self.timeout_s = max_rows, timeout_s
        self._queue: collections.deque[Record] = collections.deque()
        # rows queued = rows_in - rows_out: each counter has one writer (the event loop,
        # the thread holding _lock), so no update is lost without a lock on the event loop
        self._rows_in = 0
        self._rows_out = 0
        self._lock = threading.Lock()  # serialises every use of the log
        self._wake = threading.Event()
        self._stopping = False
        self._failed = False
        self.log: PredictionLog | None = None
        self.flush()  # opens the log: a failure is logged at start-up, retried at each write
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def record(self, prediction_id: str, inputs: str, predictions: list[Any]) -> None:
        """Queue one request: its validated body in ``/predict/batch`` form, its predictions.

        Encoding the predictions here, on the event loop, keeps the writer thread's hold on
        the GIL short (no latency spikes).
        """
        rows = len(predictions)
        queued = self._rows_in - self._rows_out + rows
        if queued > self.max_queue or self._stopping:
            self.metrics.predictions_dropped.labels(reason="queue_full").inc(rows)
            return
        outputs = json.dumps(predictions)
        self._queue.append((prediction_id, time.time(), self.model_version, rows, inputs, outputs))
        self._rows_in += rows
        if queued >= self.max_queue // 2:  # a fast app must not fill the queue before a flush
            self._wake.set()

    def flush(self) -> None:
        """Write everything queued in one transaction (writer thread, feedback, shutdown)."""
        with self._lock:
            records = [self._queue.popleft() for _ in range(len(self._queue))]
            rows = sum(record[3] for record in records)
            self._rows_out += rows
            if self.log is not None and not records:
                return  # nothing to write proves nothing: a failed log stays failed
            try:
                if self.log is None:  # not opened yet, or it failed to open: try again
                    self.log = PredictionLog(self.path, self.max_rows, timeout_s=self.timeout_s)
                self.log.write_many(records)
            except Exception as error:  # disk full, read-only, locked, a file for a folder
                self.metrics.predictions_dropped.labels(reason="write_error").inc(rows)
                self._fail(error)
                return
            self.metrics.predictions_recorded.inc(rows)
            if self._failed:
                self._failed = False
                logger.warning(
                    "the prediction log is writable again", extra={"path": str(self.path)}
                )

    def feedback(
        self, prediction_id: str, outcomes: Sequence[Value]
    ) -> tuple[list[Value], bool] | None:
        """Store the outcomes of a logged request: ``PredictionLog.add_feedback``'s answer.

        Raises ValueError when the number of outcomes differs from the logged rows, and
        RecordingUnavailable when the log cannot be read or written.
        """
        self.flush()  # the prediction may still be waiting in the queue
        with self._lock:
            if self.log is None or self._failed:  # its prediction may be among the dropped
                raise RecordingUnavailable("the prediction log is not available")
            try:
                return self.log.add_feedback(prediction_id, outcomes)
            except sqlite3.Error as error:
                self._fail(error)
                raise RecordingUnavailable(str(error)) from error

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer, write what is still queued, close the log."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self.flush()
        if self.log is not None:
            self.log.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            if self._queue:
                self.flush()

    def _fail(self, error: Exception) -> None:
        """Log the first failure of a series only: a full disk must not flood the log."""
        if not self._failed:
            self._failed = True
            logger.error(
                "cannot write to the prediction log: %r; not recording until it works again",
                error,
                extra={"path": str(self.path)},
            )
