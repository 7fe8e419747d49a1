"""The feedback loop: predictions recorded, outcomes matched later. Yours to edit.

Through the real app (TestClient runs the lifespan, so shutdown flushes for real), a real
SQLite file, and one real uvicorn process stopped with SIGTERM.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import app_client, running_server, valid_row
from fastapi.testclient import TestClient

from {{ cookiecutter.__package_name }}.bundle import read_metadata
from {{ cookiecutter.__package_name }}.prediction_log import PredictionLog, body_rows
from {{ cookiecutter.__package_name }}.serving import metrics as recorder_module
from {{ cookiecutter.__package_name }}.serving.metrics import PredictionRecorder, ServingMetrics

ROW = '{"rows": [{"a": 1.0}]}'  # one row, as the app hands it to the recorder
JSON = {"Content-Type": "application/json"}
UNKNOWN = "f" * 32  # well-formed, never issued
OVERFLOW = '{"prediction_id": "' + UNKNOWN + '", "outcomes": [1e400]}'  # json.dumps cannot write it


def metric(client: TestClient, name: str) -> float | None:
    """The value of one sample in /metrics (None if absent)."""
    for line in client.get("/metrics").text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == name:
            return float(value)
    return None


def rows_of(path: Path) -> list[dict[str, Any]]:
    """Every logged row, oldest first, with its outcome (None without one)."""
    if not path.exists():
        return []
    with closing(sqlite3.connect(path)) as db:
        requests = db.execute(
            "SELECT r.request_id, r.ts, r.model_version, r.inputs, r.predictions, o.outcomes "
            "FROM requests AS r LEFT JOIN outcomes AS o USING (request_id) ORDER BY r.seq"
        ).fetchall()
    keys = ("request_id", "row", "ts", "model_version", "inputs", "prediction", "outcome")
    found = []
    for request_id, ts, version, inputs, predictions, outcomes in requests:
        answers = json.loads(predictions)
        truths = json.loads(outcomes) if outcomes else [None] * len(answers)
        rows = zip(body_rows(json.loads(inputs)), answers, truths, strict=True)
        for row, (values, prediction, outcome) in enumerate(rows):
            logged = (request_id, row, ts, version, values, prediction, outcome)
            found.append(dict(zip(keys, logged, strict=True)))
    return found


# a recorder of model version 1 keeping 1,000 rows; the queue limits vary by test
make_recorder = partial(PredictionRecorder, model_version="1", max_rows=1000, max_queue=100)


def dropped_rows(metrics: ServingMetrics, reason: str) -> float | None:
    """``model_predictions_dropped_total`` for one reason, read from a recorder's metrics."""
    return metrics.registry.get_sample_value("model_predictions_dropped_total", {"reason": reason})


def outcome_for(prediction: Any) -> Any:
    """A valid outcome of the model's kind: the same label, or the value plus 10."""
    return prediction if isinstance(prediction, str) else prediction + 10.0


@pytest.fixture(name="slow_writer")
def slow_writer_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer thread sleeps for a minute: only feedback or shutdown write the queue."""
    monkeypatch.setattr(recorder_module, "FLUSH_INTERVAL_S", 60.0)


@pytest.mark.usefixtures("slow_writer")
def test_predictions_are_recorded_feedback_finds_a_queued_one_shutdown_writes_the_rest(
    any_model_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "monitoring" / "predictions.sqlite"
    row = valid_row(any_model_dir)
    started = time.time()
    with app_client(any_model_dir, prediction_log=log) as client:
        answers = [client.post("/predict", json=row).json() for _ in range(3)]
        assert not rows_of(log)  # still queued: the writer sleeps
        first_id, outcome = answers[0]["prediction_id"], outcome_for(answers[0]["prediction"])
        response = client.post("/feedback", json={"prediction_id": first_id, "outcomes": [outcome]})
        assert response.json() == {"prediction_id": first_id, "rows": 1}
        if isinstance(outcome, str):
            assert metric(client, 'model_feedback_total{result="correct"}') == 1.0
            assert metric(client, 'model_feedback_total{result="wrong"}') == 0.0
        else:
            assert metric(client, "model_feedback_abs_error_count") == 1.0
            assert metric(client, "model_feedback_abs_error_sum") == pytest.approx(10.0)
        answers.append(client.post("/predict", json=row).json())  # queued until shutdown
        assert len(rows_of(log)) == 3
    recorded = rows_of(log)
    assert [r["request_id"] for r in recorded] == [a["prediction_id"] for a in answers]
    first = recorded[0]
    assert list(first["inputs"]) == read_metadata(any_model_dir).spec.feature_names
    assert first["inputs"] == pytest.approx(row) and first["row"] == 0
    assert first["prediction"] == answers[0]["prediction"]
    assert first["model_version"] == answers[0]["model_version"]
    assert [r["outcome"] for r in recorded] == [outcome, None, None, None]
    assert started <= first["ts"] <= time.time()


def test_a_batch_is_recorded_under_one_prediction_id_and_gets_feedback_per_row(
    iris_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "predictions.sqlite"
    row = valid_row(iris_dir)
    first = next(iter(row))
    rows = [{**row, first: row[first] + delta} for delta in (-0.5, 0.0, 0.5)]
    padded = json.dumps({"rows": rows}, indent=2) + " " * 100_000  # must not fill the disk
    with app_client(iris_dir, prediction_log=log) as client:
        response = client.post("/predict/batch", content=padded, headers=JSON)
        prediction_id = response.json()["prediction_id"]
        predicted = [p["prediction"] for p in response.json()["predictions"]]
        other = next(c for c in read_metadata(iris_dir).spec.classes or [] if c != predicted[1])
        outcomes = [predicted[0], other, predicted[2]]  # one wrong label
        body = {"prediction_id": prediction_id, "outcomes": outcomes}
        for _ in range(2):  # a replay replaces the stored outcomes and counts nothing more
            assert client.post("/feedback", json=body).status_code == 200
        assert metric(client, 'model_feedback_total{result="correct"}') == 2.0
        assert metric(client, 'model_feedback_total{result="wrong"}') == 1.0
        mismatch = client.post("/feedback", json={**body, "outcomes": outcomes[:1]})
        assert mismatch.status_code == 422
        assert "3 logged row(s), got 1 outcome(s)" in mismatch.json()["detail"]
        unknown = {"prediction_id": UNKNOWN, "outcomes": [predicted[0]]}
        missing = client.post("/feedback", json=unknown, headers={"X-Request-ID": "fb-1"})
    assert missing.status_code == 404 and missing.json()["request_id"] == "fb-1"
    assert UNKNOWN in missing.json()["detail"]
    recorded = rows_of(log)
    assert [(r["request_id"], r["row"]) for r in recorded] == [(prediction_id, i) for i in range(3)]
    assert [r["inputs"][first] for r in recorded] == pytest.approx([r[first] for r in rows])
    assert [r["prediction"] for r in recorded] == predicted
    assert [r["outcome"] for r in recorded] == outcomes
    with closing(sqlite3.connect(log)) as db:  # one database row per request, compact JSON
        stored = db.execute("SELECT rows, inputs FROM requests").fetchall()
    assert [(n, json.loads(text)) for n, text in stored] == [(3, {"rows": rows})]
    assert len(stored[0][1]) < len(json.dumps({"rows": rows})) + 20


def test_a_reused_client_request_id_never_overwrites_a_prediction(
    iris_dir: Path, tmp_path: Path, serving_logs: pytest.LogCaptureFixture
) -> None:
    """RELIABILITY H3: two clients send the same X-Request-ID; both predictions stay, and
    feedback names one by the ``prediction_id`` the server issued, never by the client's id."""
    log = tmp_path / "p.sqlite"
    row = valid_row(iris_dir)
    name = next(iter(row))
    other = {**row, name: row[name] + 0.5}
    with app_client(iris_dir, prediction_log=log) as client:
        answers = [
            client.post("/predict", json=body, headers={"X-Request-ID": "same"})
            for body in (row, other)
        ]
        assert [a.headers["X-Request-ID"] for a in answers] == ["same", "same"]  # correlation
        ids = [answer.json()["prediction_id"] for answer in answers]
        assert ids[0] != ids[1]
        label = answers[0].json()["prediction"]
        sent = client.post("/feedback", json={"prediction_id": ids[0], "outcomes": [label]})
        assert sent.json() == {"prediction_id": ids[0], "rows": 1}  # "same" is refused: 422 table
    recorded = [(r["request_id"], r["inputs"][name], r["outcome"]) for r in rows_of(log)]
    assert recorded == [(ids[0], row[name], label), (ids[1], other[name], None)]
    access = [r for r in serving_logs.records if getattr(r, "path", None) == "/predict"]
    assert [(r.correlation_id, r.prediction_id) for r in access] == [("same", i) for i in ids]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("model", "body", "loc"),
    [
        ("iris", {"prediction_id": UNKNOWN, "outcomes": ["not-a-class"]}, ["body", "outcomes", 0]),
        ("iris", {"prediction_id": UNKNOWN, "outcomes": []}, ["body", "outcomes"]),
        ("iris", {"prediction_id": UNKNOWN, "outcomes": None}, ["body", "outcomes"]),
        ("iris", {"prediction_id": UNKNOWN}, ["body", "outcomes"]),
        ("iris", {"prediction_id": UNKNOWN, "outcome": "setosa"}, ["body"]),  # one shape only
        ("iris", {"prediction_id": "same", "outcomes": ["setosa"]}, ["body", "prediction_id"]),
        ("iris", {"prediction_id": UNKNOWN, "outcomes": ["setosa"], "extra": 1}, ["body", "extra"]),
        ("diabetes", {"prediction_id": UNKNOWN, "outcomes": ["12"]}, ["body", "outcomes", 0]),
        ("diabetes", {"prediction_id": UNKNOWN, "outcomes": [1.0, True]}, ["body", "outcomes", 1]),
        ("diabetes", OVERFLOW, ["body", "outcomes", 0]),
    ],
)
def test_invalid_feedback_is_422(
    model: str, body: dict[str, Any] | str, loc: list[Any], request: pytest.FixtureRequest
) -> None:
    model_dir: Path = request.getfixturevalue(f"{model}_dir")
    content = body if isinstance(body, str) else json.dumps(body)
    with app_client(model_dir) as client:
        response = client.post("/feedback", content=content, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc


def test_recording_off_writes_nothing_and_feedback_says_why(iris_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "off" / "predictions.sqlite"
    with app_client(iris_dir, record_predictions=False, prediction_log=log) as client:
        answer = client.post("/predict", json=valid_row(iris_dir)).json()
        body = {"prediction_id": answer["prediction_id"], "outcomes": ["setosa"]}
        response = client.post("/feedback", json=body)
    assert response.status_code == 409
    assert "SERVING_RECORD_PREDICTIONS=false" in response.json()["detail"]
    assert not log.parent.exists()


def test_rotation_keeps_the_log_under_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    log = PredictionLog(path, max_rows=100)
    other_worker = PredictionLog(path, max_rows=100)  # e.g. a replica sharing the file
    for i in range(35):
        writer = log if i % 2 else other_worker
        body = json.dumps({"rows": [{"a": float(i)}] * 10})
        writer.write_many([(f"r{i}", float(i), "1", 10, body, json.dumps(["x"] * 10))])
        assert len(rows_of(path)) <= 100
        if i == 0:
            assert log.add_feedback("r0", ["x"] * 10)
    log.add_feedback("r34", ["y"] * 10)
    log.close()
    other_worker.close()
    kept = rows_of(path)
    assert 90 <= len(kept) <= 100
    assert kept[-1]["request_id"] == "r34" and kept[-1]["outcome"] == "y"
    assert kept[0]["request_id"] != "r0"  # the oldest went first
    with closing(sqlite3.connect(path)) as db:  # and their feedback with them
        orphans = db.execute("SELECT COUNT(*) FROM outcomes WHERE request_id = 'r0'").fetchone()
    assert orphans == (0,)


def test_the_log_writes_in_chunks_and_never_replaces_a_request(tmp_path: Path) -> None:
    """Feedback counts and unknown ids are checked through the API (batch feedback test)."""
    path = tmp_path / "p.sqlite"
    log = PredictionLog(path)
    log._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # pylint: disable=protected-access
    log.write_many([(f"r{i}", 1.0, "1", 1, ROW, '["x"]') for i in range(300)])  # 2,100 values
    log.write_many([("a", 1.0, "1", 2, '{"rows": [{"x": 1.0}, {"x": 2.0}]}', "[0.5, 0.7]")])
    with pytest.raises(sqlite3.IntegrityError):
        log.write_many([("a", 2.0, "1", 1, ROW, '["second"]')])
    log.close()
    assert [r["prediction"] for r in rows_of(path)] == ["x"] * 300 + [0.5, 0.7]
    with closing(sqlite3.connect(path)) as db:  # seq counts rows: the window reads by it
        assert db.execute("SELECT max(seq) FROM requests").fetchone() == (302,)


def test_unwritable_log_path_keeps_serving_logs_once_and_recovers(
    iris_dir: Path, tmp_path: Path, serving_logs: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be", encoding="utf-8")
    with app_client(iris_dir, prediction_log=blocker / "predictions.sqlite") as client:
        assert client.get("/health/ready").status_code == 200
        for _ in range(3):
            answer = client.post("/predict", json=valid_row(iris_dir)).json()
        body = {"prediction_id": answer["prediction_id"], "outcomes": ["setosa"]}
        feedback = client.post("/feedback", json=body)
        assert feedback.status_code == 503
        assert feedback.json()["detail"] == "the prediction log is unavailable"
        assert metric(client, 'model_predictions_dropped_total{reason="write_error"}') == 3.0
        blocker.unlink()  # the disk comes back: the next write opens the log
        answer = client.post("/predict", json=valid_row(iris_dir)).json()
        body = {"prediction_id": answer["prediction_id"], "outcomes": ["setosa"]}
        assert client.post("/feedback", json=body).status_code == 200
    failures = [r for r in serving_logs.records if "cannot write" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR


def test_a_failing_write_is_counted_logged_once_and_recovers(
    tmp_path: Path, serving_logs: pytest.LogCaptureFixture
) -> None:
    """Another process holds the write lock (as a full or read-only disk would fail writes)."""
    path = tmp_path / "p.sqlite"
    metrics = ServingMetrics()
    recorder = make_recorder(path, metrics=metrics, timeout_s=0.05)
    try:
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        for i in range(2):
            recorder.record(f"r{i}", ROW, ["x"])
            recorder.flush()
        recorder.record("r2", ROW, ["x"])
        for _ in range(2):  # the second with nothing queued: still 503, not an unknown id
            with pytest.raises(recorder_module.RecordingUnavailable):
                recorder.feedback("r0", ["x"])
        locker.execute("ROLLBACK")
        locker.close()
        recorder.record("r3", ROW, ["y"])
        recorder.flush()
    finally:
        recorder.close()
    assert dropped_rows(metrics, "write_error") == 3.0
    assert [r["request_id"] for r in rows_of(path)] == ["r3"]
    messages = [r.getMessage() for r in serving_logs.records]
    assert sum("cannot write" in m for m in messages) == 1
    assert any("writable again" in m for m in messages)


def test_a_full_queue_drops_and_counts_rows_instead_of_blocking(tmp_path: Path) -> None:
    """The queue holds SERVING_PREDICTION_QUEUE_MAX rows: a stuck disk neither fills the
    memory nor makes requests wait; once written, the queue has room again."""
    metrics = ServingMetrics()
    batch = json.dumps({"rows": [{"a": 1.0}] * 100})
    recorder = make_recorder(tmp_path / "p.sqlite", metrics=metrics, max_queue=250)
    try:
        with recorder._lock:  # pylint: disable=protected-access  # a stuck writer (slow disk)
            started = time.perf_counter()
            for i in range(3):
                recorder.record(f"r{i}", batch, ["x"] * 100)
            recorder.record("r3", ROW, ["x"])
            assert time.perf_counter() - started < 0.1
        recorder.flush()
        recorder.record("r4", batch, ["x"] * 100)
    finally:
        recorder.close()
    assert dropped_rows(metrics, "queue_full") == 100.0
    ids = sorted({r["request_id"] for r in rows_of(tmp_path / "p.sqlite")})
    assert ids == ["r0", "r1", "r3", "r4"]


@pytest.mark.usefixtures("slow_writer")
def test_a_half_full_queue_wakes_the_writer_before_its_interval(tmp_path: Path) -> None:
    """A fast app must not fill the queue (and drop rows) while the writer sleeps."""
    recorder = make_recorder(tmp_path / "p.sqlite", metrics=ServingMetrics(), max_queue=10)
    try:
        for i in range(4):  # below half: stays queued for the whole (60 s) interval
            recorder.record(f"r{i}", ROW, ["x"])
        time.sleep(0.3)
        assert rows_of(tmp_path / "p.sqlite") == []
        for i in range(4, 6):  # the sixth row finds five queued: half of max_queue
            recorder.record(f"r{i}", ROW, ["x"])
        deadline = time.monotonic() + 5.0
        while len(rows_of(tmp_path / "p.sqlite")) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(rows_of(tmp_path / "p.sqlite")) == 6
    finally:
        recorder.close()


def test_monitor_summary_gauges_are_read_at_scrape_time(iris_dir: Path, tmp_path: Path) -> None:
    summary = tmp_path / "reports" / "summary.json"
    with app_client(iris_dir, monitor_summary=summary) as client:
        assert metric(client, "model_drift_share") is None  # no monitor run yet
        assert "# TYPE model_drift_share gauge" in client.get("/metrics").text  # named already
        assert metric(client, "model_predictions_recorded_total") is not None
        summary.parent.mkdir(parents=True)
        summary.write_text(json.dumps({"drift_share": 0.4, "needs_retraining": True}))
        assert metric(client, "model_drift_share") == 0.4
        assert metric(client, "model_needs_retraining") == 1.0
        nan = '{"drift_share": NaN, "needs_retraining": true}'  # json.loads reads NaN
        for broken in ("{not json", "[0.4]", '{"drift_share": 0.4}', nan):
            summary.write_text(broken)
            assert client.get("/metrics").status_code == 200
            assert metric(client, "model_drift_share") is None, broken


@pytest.mark.slow
def test_sigterm_loses_no_recorded_prediction(iris_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "served.sqlite"
    env = {"SERVING_MODEL_DIR": str(iris_dir), "SERVING_PREDICTION_LOG": str(log)}
    with running_server(tmp_path, env) as server, httpx.Client(base_url=server.url) as http:
        for _ in range(40):
            response = http.post("/predict", json=valid_row(iris_dir))
            assert response.status_code == 200
        body = {"prediction_id": response.json()["prediction_id"], "outcomes": ["setosa"]}
        assert http.post("/feedback", json=body).status_code == 200
    assert server.process.returncode in (0, -15)
    recorded = rows_of(log)
    assert len(recorded) == 40
    assert recorded[-1]["outcome"] == "setosa"
