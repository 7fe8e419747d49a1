"""The PyTorch plug-in (docs/pytorch.md): trained by torch, served as numpy. Yours to edit."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits

from {{ cookiecutter.__package_name }} import bundle
from {{ cookiecutter.__package_name }}.errors import ParamsError
from {{ cookiecutter.__package_name }}.torch_model import TorchMLPClassifier

NO_TORCH = importlib.util.find_spec("torch") is None
needs_torch = pytest.mark.skipif(NO_TORCH, reason="the plug-in trains with torch: docs/pytorch.md")


@pytest.mark.skipif(not NO_TORCH, reason="torch is installed")
def test_without_torch_training_says_where_to_get_it() -> None:
    with pytest.raises(ParamsError, match=r"needs PyTorch: see docs/pytorch\.md"):
        TorchMLPClassifier().fit(np.zeros((4, 2)), np.array(["a", "b", "a", "b"], dtype=object))


@pytest.fixture(scope="module")
def fitted() -> tuple[TorchMLPClassifier, np.ndarray, np.ndarray]:
    digits = load_digits()
    features, labels = digits.data / 16, digits.target.astype(str).astype(object)
    return TorchMLPClassifier(epochs=10).fit(features, labels), features, labels


@needs_torch
def test_numpy_forward_computes_the_torch_network(fitted: Any) -> None:
    import torch  # noqa: PLC0415

    model, features, _ = fitted
    net = model.network(features.shape[1], len(model.classes_))
    state = zip(net.state_dict(), model.weights_, strict=True)
    net.load_state_dict({name: torch.as_tensor(value) for name, value in state})
    with torch.no_grad():
        expected = net(torch.as_tensor(features, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(model.forward(features), expected, atol=1e-4)


@needs_torch
def test_the_model_file_holds_plain_data_and_predicts_the_same(fitted: Any, tmp_path: Path) -> None:
    model, features, labels = fitted
    assert model.score(features, labels) > 0.9
    path = tmp_path / "model.skops"
    path.write_bytes(bundle.dumps(model))
    loaded = bundle.load(path)  # refused, naming the type, if it held a torch object
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
