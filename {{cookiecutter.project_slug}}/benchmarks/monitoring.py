"""How long ``monitor`` takes on a large prediction log. Plumbing, rarely edited.

Run from the project root: ``python benchmarks/monitoring.py [--rows 100000]``. It works in
a temporary folder (its own reference data, model bundle and prediction log written with
the serving app's ``PredictionLog``), so your workspace is not touched. It prints numbers
only: no timed assertions (machines differ too much); compare the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PACKAGE = next(
    p.name for p in sorted((HERE.parent / "src").iterdir()) if (p / "monitoring").is_dir()
)


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value the serving app would log."""
    return value.item() if hasattr(value, "item") else value


def make_project(root: Path, rows: int, batch: int = 1, feedback_share: float = 0.3) -> Path:
    """Reference data, a model bundle and ``rows`` logged predictions (a third labelled).

    ``batch`` rows per request: 1 as ``/predict`` logs them, more as ``/predict/batch``.
    """
    data, training, bundle = _module("data"), _module("training"), _module("bundle")
    paths = _module("paths").ProjectPaths(root)
    task = _module("config").load_params(HERE.parent / "params.yaml").data.task
    source = "iris" if task == "classification" else "diabetes"  # the project's own task
    frame, descriptions = data.load_bundled(source)
    target = data.BUNDLED_TARGETS[source]
    train, test = data.split(frame, target, task, 0.25, 42)
    spec = data.derive_spec(train, target, task, descriptions)
    data.write_csv(train, paths.train_data)
    spec.save(paths.spec)
    name = "logistic_regression" if task == "classification" else "ridge"
    model = training.fit(
        training.build_estimator(name, {}, 0),
        training.to_matrix(train, spec),
        training.to_labels(train, spec),
    )
    bundle.save_bundle(
        model, paths.models_dir, name="bench", version="1", spec=spec, metrics={},
        trained_at=datetime.now(UTC),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    base = training.to_matrix(test, spec)
    matrix = base[rng.integers(0, len(base), rows)] * rng.normal(1.0, 0.02, (rows, base.shape[1]))
    predicted = model.predict(matrix)
    labels = training.to_labels(test, spec)
    now = time.time()
    store = root / "monitoring" / "predictions.sqlite"
    prediction_log = _module("prediction_log")
    log = prediction_log.PredictionLog(store, max_rows=rows * 2)
    names = spec.feature_names
    starts = range(0, rows, batch)
    log.write_many(
        [
            (
                f"req-{i}", now - rows + i, "1", len(matrix[i : i + batch]),
                json.dumps({"rows": [
                    dict(zip(names, row, strict=True)) for row in matrix[i : i + batch].tolist()
                ]}),
                json.dumps([_plain(v) for v in predicted[i : i + batch]]),
            )
            for i in starts
        ]
    )  # fmt: skip
    log.close()
    step = round(1 / feedback_share)
    with sqlite3.connect(store) as db:  # bulk: add_feedback is one transaction per request
        db.executemany(
            "INSERT INTO outcomes VALUES (?, ?, ?)",
            [
                (f"req-{i}", now, json.dumps([_plain(labels[j % len(labels)]) for j in rows_of]))
                for number, i in enumerate(starts) if number % step == 0
                for rows_of in [range(i, min(i + batch, rows))]
            ],
        )  # fmt: skip
    return store


def best_of(runs: int, job: Callable[[], object]) -> float:
    """Median wall time of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print: rows, read-only time, in-process monitor time, their ratio, the command's time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1, help="rows per logged request")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    config, report = _module("config"), _module("monitoring.report")
    window = _module("monitoring.window")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = make_project(root, args.rows, args.batch)
        paths = _module("paths").ProjectPaths(root)
        spec = _module("features").DatasetSpec.load(paths.spec)
        params = config.MonitorParams(
            store=str(store), min_rows=100, p_value=0.05, max_drift_share=0.5, min_feedback=30
        )

        def read_rows() -> object:
            with sqlite3.connect(store) as db:
                return db.execute(window.QUERY, (-1.0, None)).fetchall()

        def load() -> object:
            return window.load_window(store, spec.feature_names)

        def monitor() -> object:
            summary, _ = report.build_summary(params, paths, store)
            report.write_reports(summary, paths.monitoring)
            return summary

        monitor()  # warm-up: imports scipy, skops, jinja2
        read_s = best_of(args.runs, read_rows)
        load_s = best_of(args.runs, load)
        monitor_s = best_of(args.runs, monitor)
        start = time.perf_counter()
        command = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-c", f"from {PACKAGE}.cli import app; app()", "monitor",
             "--store", str(store), "--since", "0",
             "--config", str(HERE.parent / "params.yaml")],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        command_s = time.perf_counter() - start
    print(f"rows logged                       {args.rows} ({args.batch} per request)")
    print(f"read the rows (SQL only)          {read_s:.3f} s")
    print(f"read + decode the window          {load_s:.3f} s")
    print(f"monitor (in process, reports)     {monitor_s:.3f} s")
    print(f"monitor / read                    {monitor_s / read_s:.1f}x")
    print(f"`monitor` command (fresh process) {command_s:.3f} s (exit code {command.returncode})")


if __name__ == "__main__":
    main()
