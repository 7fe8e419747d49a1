"""Canonical skops bytes and allow-listed loading."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.__package_name }} import serialization


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    return LogisticRegression().fit(features, np.where(features[:, 0] > 0, "a", "b"))


def test_canonical_bytes_are_stable_and_idempotent(model: LogisticRegression) -> None:
    raw_a, raw_b = sio.dumps(model), sio.dumps(model)
    canonical = serialization.canonicalize(raw_a)
    assert canonical == serialization.canonicalize(raw_b)
    assert serialization.canonicalize(canonical) == canonical
    names = zipfile.ZipFile(io.BytesIO(canonical)).namelist()
    assert names[-1] == "schema.json"
    assert all(
        info.date_time == (1980, 1, 1, 0, 0, 0)
        for info in zipfile.ZipFile(io.BytesIO(canonical)).infolist()
    )


def test_save_and_load_round_trip(model: LogisticRegression, tmp_path: Path) -> None:
    path = tmp_path / "m" / "model.skops"
    serialization.save(model, path)
    loaded = serialization.load(path)
    probe = np.array([[0.5, 0.0, 1.0], [-1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(loaded.predict(probe), model.predict(probe))
    raw = sio.dumps(model)
    assert serialization.canonicalize(raw) == path.read_bytes()
    assert serialization.canonicalize(serialization.canonicalize(raw)) == path.read_bytes()


class Planted:
    """A type outside the allow-list, standing in for a malicious object."""

    def __init__(self) -> None:
        self.payload = "x"


def test_types_outside_the_allow_list_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps({"model": Planted()}))
    with pytest.raises(ValueError, match="allow-list"):
        serialization.load(path)


def test_missing_file_says_how_to_get_it(tmp_path: Path) -> None:
    from {{ cookiecutter.__package_name }}.errors import DataError  # noqa: PLC0415

    with pytest.raises(DataError, match="dvc repro"):
        serialization.load(tmp_path / "model.skops")
