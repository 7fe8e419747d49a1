"""Prometheus metrics of one app, in its own registry (two apps in a test never collide).

The ``model_*`` metrics are the feedback loop: predictions recorded or dropped, live
accuracy (or absolute error) from ``POST /feedback``, and the drift share and retraining
flag of the ``monitor`` command's JSON summary, read when Prometheus scrapes.
"""

from __future__ import annotations

import collections
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

ERROR_BUCKET_FACTORS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # x the spread
# Connections this process closed before the app saw a request (``connections.py``), by reason.
CONNECTIONS_CLOSED: collections.Counter[str] = collections.Counter()
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServingMetrics:
    """Request counts, latency, errors by kind, and the distribution of predictions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "serving_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "Time from request start to response end.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "serving_errors",
            "Refused or failed requests by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.predicted_rows = Counter(
            "serving_predicted_rows", "Rows predicted.", registry=self.registry
        )
        self.ready = Gauge(
            "serving_ready", "1 when the model is loaded and verified.", registry=self.registry
        )
        self.model_info = Gauge(
            "serving_model_info",
            "The served model (value 1).",
            ["name", "version"],
            registry=self.registry,
        )
        self.inline = Gauge(
            "serving_inline",
            "1 while single rows are predicted on the event loop (a tiny model).",
            registry=self.registry,
        )
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
            "Outcomes received on POST /feedback, compared with the prediction (classification).",
            ["result"],
            registry=self.registry,
        )
        self.feedback_abs_error: Histogram | None = None
        self.registry.register(ConnectionsClosedCollector())

    def track_classes(self, labels: list[str]) -> None:
        """Count predictions per class (classification)."""
        self.classes = Counter(
            "serving_predicted_class",
            "Predictions per class.",
            ["label"],
            registry=self.registry,
        )
        for label in labels:
            self.classes.labels(label=label)

    def track_values(self, sample: np.ndarray) -> None:
        """Histogram of predicted values with buckets at the deciles of a warm-up sample."""
        edges = sorted({round(float(v), 6) for v in np.quantile(sample, np.linspace(0.1, 0.9, 9))})
        self.values = Histogram(
            "serving_predicted_value",
            "Predicted values (regression).",
            buckets=edges or (0.0,),
            registry=self.registry,
        )
        spread = float(np.std(sample)) or 1.0
        error_edges = sorted({float(f"{spread * k:.3g}") for k in ERROR_BUCKET_FACTORS})
        self.feedback_abs_error = Histogram(
            "model_feedback_abs_error",
            "Absolute error |outcome - prediction| of rows given feedback (regression).",
            buckets=error_edges,
            registry=self.registry,
        )

    def observe_feedback(self, predictions: list[Any], outcomes: list[Any]) -> None:
        """Count correct/wrong answers (classification) or observe absolute errors."""
        if self.feedback_abs_error is not None:
            for predicted, outcome in zip(predictions, outcomes, strict=True):
                self.feedback_abs_error.observe(abs(float(outcome) - float(predicted)))
            return
        correct = sum(p == o for p, o in zip(predictions, outcomes, strict=True))
        for label in ("correct", "wrong"):
            self.feedback.labels(result=label)  # both series exist from the first feedback
        if correct:
            self.feedback.labels(result="correct").inc(correct)
        if len(outcomes) - correct:
            self.feedback.labels(result="wrong").inc(len(outcomes) - correct)

    def watch_summary(self, path: Path) -> None:
        """Expose the monitor's drift share and retraining flag, read at each scrape."""
        self.registry.register(MonitorSummaryCollector(path))

    def observe_predictions(self, predictions: list[Any]) -> None:
        """Record one request's predictions (class labels or values)."""
        self.predicted_rows.inc(len(predictions))
        if self.classes is not None:
            for label, count in collections.Counter(predictions).items():
                self.classes.labels(label=label).inc(count)
        elif self.values is not None:
            for value in predictions:
                self.values.observe(value)


class ConnectionsClosedCollector(Collector):
    """``serving_connections_closed_total``: refusals made below the app, in uvicorn."""

    def describe(self) -> list[Any]:
        """Nothing up front (the family is built at each scrape)."""
        return []

    def collect(self) -> Iterator[CounterMetricFamily]:
        """One sample per reason: idle_timeout, header_timeout, malformed_request."""
        family = CounterMetricFamily(
            "serving_connections_closed",
            "Connections closed before a request reached the app, by reason.",
            labels=["reason"],
        )
        for reason, count in sorted(CONNECTIONS_CLOSED.items()):
            family.add_metric([reason], count)
        yield family


class MonitorSummaryCollector(Collector):
    """``model_drift_share`` and ``model_needs_retraining`` from the monitor's summary.json.

    Read when Prometheus scrapes, so a new report shows up without restarting the app. A
    missing, unreadable or malformed file (or key) gives the family without a sample: the
    series is absent, never an error, since the app serves before the first monitor run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> list[Any]:
        """Nothing up front: the registry must not read the file when registering."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Both gauges; each with a sample only if the summary holds a usable value."""
        share = GaugeMetricFamily(
            "model_drift_share", "Share of drifted features in the last monitor run (0..1)."
        )
        retrain = GaugeMetricFamily(
            "model_needs_retraining", "1 when the last monitor run marked the model for retraining."
        )
        summary = self._read()
        value = summary.get("drift_share")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            share.add_metric([], float(value))
        flag = summary.get("needs_retraining")
        if isinstance(flag, bool):
            retrain.add_metric([], float(flag))
        yield share
        yield retrain

    def _read(self) -> dict[str, Any]:
        try:
            summary = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return summary if isinstance(summary, dict) else {}
