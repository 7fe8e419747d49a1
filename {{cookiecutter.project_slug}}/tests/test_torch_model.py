"""The PyTorch plug-in (docs/pytorch.md): trained by torch, served as numpy. Yours to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from {{ cookiecutter.__package_name }} import serialization
from {{ cookiecutter.__package_name }}.torch_model import TorchMLPClassifier

torch = pytest.importorskip("torch", reason="the plug-in trains with torch: docs/pytorch.md")


@pytest.fixture(scope="module")
def fitted() -> tuple[TorchMLPClassifier, np.ndarray, np.ndarray]:
    digits = load_digits()
    features, labels = digits.data / 16, digits.target.astype(str).astype(object)
    return TorchMLPClassifier(epochs=10).fit(features, labels), features, labels


def test_numpy_forward_computes_the_torch_network(fitted: Any) -> None:
    model, features, _ = fitted
    net = model.network(features.shape[1], len(model.classes_))
    state = zip(net.state_dict(), model.weights_, strict=True)
    net.load_state_dict({name: torch.as_tensor(value) for name, value in state})
    with torch.no_grad():
        expected = net(torch.as_tensor(features, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(model.forward(features), expected, atol=1e-4)


def test_the_model_file_holds_plain_data_and_predicts_the_same(fitted: Any, tmp_path: Path) -> None:
    model, features, labels = fitted
    assert model.score(features, labels) > 0.9
    path = tmp_path / "model.skops"
    serialization.save(model, path)  # refused, naming the type, if it held a torch object
    loaded = serialization.load(path)
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
