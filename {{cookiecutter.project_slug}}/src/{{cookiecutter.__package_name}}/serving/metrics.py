"""Prometheus metrics of one app, in its own registry (two apps in a test never collide)."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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

    def observe_predictions(self, predictions: list[Any]) -> None:
        """Record one request's predictions (class labels or values)."""
        self.predicted_rows.inc(len(predictions))
        if self.classes is not None:
            for label, count in collections.Counter(predictions).items():
                self.classes.labels(label=label).inc(count)
        elif self.values is not None:
            for value in predictions:
                self.values.observe(value)
