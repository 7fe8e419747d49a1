"""Canonical skops bytes and allow-listed loading. Yours to edit."""

from __future__ import annotations

import importlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from {{ cookiecutter.__package_name }} import bundle
from {{ cookiecutter.__package_name }}.config import ESTIMATOR_TASKS
from {{ cookiecutter.__package_name }}.training import build_estimator, fit


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    return LogisticRegression().fit(features, np.where(features[:, 0] > 0, "a", "b"))


def test_canonical_bytes_are_stable_idempotent_and_load_back(
    model: LogisticRegression, tmp_path: Path
) -> None:
    canonical = bundle.canonicalize(sio.dumps(model))
    assert canonical == bundle.dumps(model) == bundle.canonicalize(canonical)
    archive = zipfile.ZipFile(io.BytesIO(canonical))
    assert archive.namelist()[-1] == "schema.json"
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    path = tmp_path / "model.skops"
    path.write_bytes(canonical)
    probe = np.array([[0.5, 0.0, 1.0], [-1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(bundle.load(path).predict(probe), model.predict(probe))


class Planted:
    """A type outside the allow-list, standing in for a malicious object."""

    def __init__(self) -> None:
        self.payload = "x"


def _edited(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The archive with its schema.json changed by ``edit``, as an attacker would craft it."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    schema = json.loads(members["schema.json"])
    edit(schema)
    members["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, payload in members.items():
            target.writestr(name, payload)
    return buffer.getvalue()


def _set_param(name: str, node: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(schema: dict[str, Any]) -> None:
        schema["content"]["content"][name] = node

    return edit


CRAFTED = {
    "builtins callable": ("builtins.eval", {"__class__": "eval", "__module__": "builtins",
                                            "__loader__": "TypeNode"}),
    "numpy callable": ("numpy.load", {"__class__": "load", "__module__": "numpy",
                                      "__loader__": "FunctionNode"}),
    "scipy callable": ("scipy.io.loadmat", {"__class__": "loadmat", "__module__": "scipy.io",
                                            "__loader__": "FunctionNode"}),
    "listed name as a function": ("builtins.dict (as FunctionNode)", {
        "__class__": "dict", "__module__": "builtins", "__loader__": "FunctionNode"}),
    "unexpected class": ("collections.OrderedDict", {
        "__class__": "OrderedDict", "__module__": "collections", "__loader__": "ObjectNode",
        "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                    "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
                                                 "__loader__": "ListNode", "content": []}}}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_archives_are_refused_before_loading(
    model: LogisticRegression, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused, node = CRAFTED[case]
    data = _edited(bundle.dumps(model), _set_param("solver", node))

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("skops was asked to load a refused archive")

    monkeypatch.setattr(sio, "loads", never)
    with pytest.raises(bundle.UntrustedModel, match=re.escape(refused)):
        bundle.trusted_types(data)


def test_an_archive_whose_root_is_not_a_training_estimator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps({"model": Planted()}))
    with pytest.raises(bundle.UntrustedModel, match=r"builtins\.dict"):
        bundle.load(path)
    # a part of a trusted estimator is not a model on its own
    tree = DecisionTreeClassifier().fit([[0.0], [1.0]], ["a", "b"])
    with pytest.raises(bundle.UntrustedModel, match="DecisionTreeClassifier"):
        bundle.trusted_types(sio.dumps(tree))
    with pytest.raises(bundle.BundleError, match="dvc repro"):  # a missing file says how to get it
        bundle.load(tmp_path / "missing.skops")


def test_every_trusted_name_is_a_class_not_a_function() -> None:
    for names in bundle.MODEL_TYPES.values():
        for name in names:
            module, _, attribute = name.rpartition(".")
            assert isinstance(getattr(importlib.import_module(module), attribute), type), name


TRAINING_DATA = {"classification": load_iris, "regression": load_diabetes}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", sorted(ESTIMATOR_TASKS))
def test_every_estimator_training_can_produce_loads(estimator: str, tmp_path: Path) -> None:
{%- if cookiecutter.ml_task == "image_classification" %}
    if estimator == "torch_mlp":  # the PyTorch plug-in trains where torch is installed
        pytest.importorskip("torch", reason="docs/pytorch.md")
{%- endif %}
    task = ESTIMATOR_TASKS[estimator]
    data = TRAINING_DATA[task]()
    labels = data.target.astype(str).astype(object) if task == "classification" else data.target
    small = {"n_estimators": 5} if "forest" in estimator else {}  # the types, not the size
    fitted = fit(build_estimator(estimator, small, seed=0), data.data, labels)
    path = tmp_path / "model.skops"
    path.write_bytes(bundle.dumps(fitted))
    loaded = bundle.load(path)  # fails, naming the type, if the reviewed list misses one
    np.testing.assert_array_equal(loaded.predict(data.data[:5]), fitted.predict(data.data[:5]))
