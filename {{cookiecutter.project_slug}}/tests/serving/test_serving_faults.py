"""Server-side faults: a failing, NaN-returning or slow model; a bad bundle. Yours to edit.

RELIABILITY rows S9, S11, S13, S14.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import PACKAGE, app_client, valid_row
from serving_fakes import LEAK_MARKER, faking_loader

from {{ cookiecutter.__package_name }}.bundle import (
    METADATA_FILE,
    MODEL_FILE,
    ModelMetadata,
    load_bundle,
)
from {{ cookiecutter.__package_name }}.features import FeatureSpec


@pytest.mark.parametrize(
    ("model", "fault", "cause"),
    [
        ("iris", {"fail_after": 2}, LEAK_MARKER),
        ("iris", {"nan_after": 2, "seconds": 0.003}, "NaN or infinity"),  # in the thread
        ("diabetes", {"nan_after": 2}, "NaN or infinity"),
    ],
    ids=["iris-raises", "iris-nan", "diabetes-nan"],
)
def test_a_failing_model_gives_a_generic_500_and_logs_the_cause(
    model: str, fault: dict[str, int], cause: str, request: pytest.FixtureRequest, serving_logs
) -> None:
    model_dir: Path = request.getfixturevalue(f"{model}_dir")
    with app_client(model_dir, loader=faking_loader(**fault)) as client:
        row = valid_row(model_dir)
        response = client.post("/predict", json=row, headers={"X-Request-ID": "r-42"})
        assert client.get("/health/live").status_code == 200
    assert response.status_code == 500 and cause not in response.text
    assert response.json() == {"detail": "prediction failed", "request_id": "r-42"}
    failures = [r for r in serving_logs.records if r.getMessage().startswith("prediction failed")]
    assert failures and cause in failures[0].getMessage()
    assert failures[0].request_ids == ["r-42"]  # type: ignore[attr-defined]


def _assert_never_ready(model_dir: Path, reason: str, loader: Any = None) -> None:
    """Alive but never ready: predictions 503, the reason matches and hides the folder."""
    with app_client(model_dir, loader=loader) as client:
        live = client.head("/health/live")  # HEAD, as uptime checkers send it
        ready = client.get("/health/ready")
        predict = client.post("/predict", json={"x": 1.0})
        model = client.get("/model")
    assert live.status_code == 200 and ready.status_code == 503
    assert re.search(reason, ready.json()["reason"]), ready.json()
    assert str(model_dir.parent) not in ready.json()["reason"]
    assert predict.status_code == 503 and model.status_code == 503


def test_model_failing_its_warm_up_is_never_ready(iris_dir: Path) -> None:
    _assert_never_ready(iris_dir, "warm-up", loader=faking_loader(fail_after=0))


@pytest.mark.parametrize("name", ["model.skops", "/etc/ssl/certs/ca.pem"])
def test_an_unreadable_file_is_named_in_the_reason(iris_dir: Path, name: str) -> None:
    """A bundle or CA file mounted with mode 0600 for another user: the reason names it."""

    def unreadable(directory: Path) -> tuple[object, object]:
        raise PermissionError(13, "Permission denied", str(directory / name))

    reason = f"^cannot read .*{re.escape(name)}: Permission denied$"
    _assert_never_ready(iris_dir, reason, loader=unreadable)


def test_slow_inference_answers_504_at_the_deadline_and_503_when_overloaded(
    iris_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model turning slow is answered at the deadline, not when it returns (S10, S11)."""
    monkeypatch.setattr(f"{PACKAGE}.serving.model.INLINE_WARM_UP_S", 1.0)  # however busy
    batch = {"rows": [valid_row(iris_dir)]}
    with app_client(iris_dir, loader=faking_loader(), timeout_s=0.2, max_concurrency=1) as client:
        model = client.app.state.service.model  # type: ignore[attr-defined]
        assert client.post("/predict", json=valid_row(iris_dir)).status_code == 200
        assert not model.thread.startswith("inference")  # a fast model's row: the event loop
        assert client.post("/predict/batch", json=batch).status_code == 200
        assert model.thread.startswith("inference")  # a batch: the thread, with its deadline
        model.seconds = 0.6
        started = time.perf_counter()
        timed_out = client.post("/predict/batch", json=batch)
        waited = time.perf_counter() - started
        time.sleep(0.6)  # let the abandoned prediction finish
        with ThreadPoolExecutor(4) as pool:
            sent = [pool.submit(client.post, "/predict/batch", json=batch) for _ in "abcd"]
            time.sleep(0.1)  # one prediction is in the inference thread for 0.6 s
            started = time.perf_counter()
            assert client.get("/health/live").status_code == 200
            live_s = time.perf_counter() - started
            statuses = [answer.result() for answer in sent]
    assert live_s < 0.3  # the event loop answers while the model works
    assert timed_out.status_code == 504 and waited < 0.5
    assert timed_out.json()["detail"] == "prediction timed out"
    codes = sorted(response.status_code for response in statuses)
    assert 503 in codes and set(codes) <= {503, 504}, codes
    assert next(r for r in statuses if r.status_code == 503).headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("file", "damage", "words"),
    [
        (None, None, "not found"),  # no models/ folder at all
        (MODEL_FILE, None, "not found"),
        (MODEL_FILE, lambda data: data[:100], "checksum"),  # truncated
        (MODEL_FILE, lambda data: data[:-1] + bytes([data[-1] ^ 1]), "checksum"),  # tampered
        (METADATA_FILE, lambda data: b"{not json", "invalid"),
    ],
    ids=["no-folder", "no-model-file", "truncated", "tampered", "corrupt-metadata"],
)
def test_a_missing_or_damaged_bundle_is_never_ready(
    iris_dir: Path, tmp_path: Path, file: str | None, damage: Any, words: str
) -> None:
    model_dir = tmp_path / "models"
    if file is not None:
        shutil.copytree(iris_dir, model_dir)
        path = model_dir / file
        if damage is None:
            path.unlink()
        else:
            path.write_bytes(damage(path.read_bytes()))
    _assert_never_ready(model_dir, words)


def _crafted(data: bytes, node: dict[str, Any]) -> bytes:
    """The real archive with one parameter replaced by ``node`` in its schema.json."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    schema = json.loads(members["schema.json"])
    schema["content"]["content"]["solver"] = node
    members["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, payload in members.items():
            target.writestr(name, payload)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("refused", "loader"),
    [("builtins.getattr", "TypeNode"), ("numpy.load", "FunctionNode"),
     ("scipy.io.loadmat", "FunctionNode"), ("subprocess.Popen", "TypeNode")],
)  # fmt: skip
def test_crafted_model_file_is_refused_naming_the_type(
    iris_dir: Path, tmp_path: Path, refused: str, loader: str, serving_logs
) -> None:
    """Whoever can write models/ also rewrites model.json: the checksum matches, yet the
    file is refused because it names a type training never produces."""
    model_dir = shutil.copytree(iris_dir, tmp_path / "models")
    module, _, name = refused.rpartition(".")
    node = {"__class__": name, "__module__": module, "__loader__": loader}
    data = _crafted((model_dir / MODEL_FILE).read_bytes(), node)
    (model_dir / MODEL_FILE).write_bytes(data)
    metadata = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    metadata["sha256"] = hashlib.sha256(data).hexdigest()
    metadata["trusted_types"] = sorted({*metadata["trusted_types"], refused})
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    _assert_never_ready(model_dir, refused)
    assert any(refused in record.getMessage() for record in serving_logs.records)


@pytest.mark.parametrize(
    ("spec", "classes", "reason"),
    [
        ({"classes": ["a", "b", "c"]}, None, r"classes \['setosa'.*differ from spec\.classes"),
        ({}, [0, 1, 2], r"classes \['0', '1', '2'\] differ from spec\.classes"),  # indices
        ({"features": [FeatureSpec(name="x", minimum=0, maximum=1)]}, None, "expects 4 features"),
    ],
    ids=["other-labels", "class-indices", "feature-count"],
)
def test_model_that_does_not_match_its_spec_is_never_ready(
    iris_dir: Path, spec: dict[str, Any], classes: list[int] | None, reason: str
) -> None:
    def load(directory: Path) -> tuple[Any, ModelMetadata]:
        model, metadata = load_bundle(directory)
        if classes is not None:
            model.classes_ = np.array(classes)  # as if fitted on class indices
        changed = metadata.spec.model_copy(update=spec)
        return model, metadata.model_copy(update={"spec": changed})

    _assert_never_ready(iris_dir, "does not match its spec: .*" + reason, loader=load)
