"""A PyTorch network as a scikit-learn classifier: ``train.estimator: torch_mlp``. Yours to edit.

Why the learned weights are numpy arrays: the model file is a skops archive that may hold
only reviewed types (``bundle.MODEL_TYPES``); a torch tensor or module would need
pickle, which runs code on loading. Torch trains (``pip install torch==2.13.0``,
docs/pytorch.md); predicting is the same network in numpy, so serving needs no torch.
Changing the network: edit ``network`` and ``forward`` together (tests/test_torch_model.py
checks that they agree).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .errors import ParamsError


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """One hidden ReLU layer, trained with Adam on cross-entropy, in mini-batches."""

    def __init__(
        self,
        *,
        hidden_units: int = 64,
        epochs: int = 40,
        batch_size: int = 64,
        learning_rate: float = 0.01,
        threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.hidden_units = hidden_units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.threads = threads  # a small network trains fastest on one (20x on 2 busy cores)
        self.random_state = random_state

    def network(self, n_features: int, n_classes: int) -> Any:
        """The torch module that is trained; ``forward`` must compute the same."""
        from torch import nn  # noqa: PLC0415 - only training needs torch

        hidden = self.hidden_units
        return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def fit(self, features: np.ndarray, labels: np.ndarray) -> TorchMLPClassifier:
        """Train with torch, then keep the weights as numpy arrays (``weights_``)."""
        try:
            import torch  # noqa: PLC0415
        except ModuleNotFoundError:
            raise ParamsError(
                "train.estimator torch_mlp needs PyTorch: see docs/pytorch.md to install it"
            ) from None
        torch.set_num_threads(self.threads)
        torch.manual_seed(self.random_state)
        self.classes_, codes = np.unique(labels, return_inverse=True)
        x = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        y = torch.as_tensor(codes)
        net = self.network(x.shape[1], len(self.classes_))
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        for _ in range(self.epochs):
            for batch in torch.randperm(len(x)).split(self.batch_size):
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
                optimizer.step()
        self.weights_ = [v.detach().numpy().astype(np.float64) for v in net.state_dict().values()]
        self.n_features_in_ = x.shape[1]
        return self

    def forward(self, features: np.ndarray) -> np.ndarray:
        """The network's logits in numpy, from ``weights_`` (``network``'s state, in order)."""
        w1, b1, w2, b2 = self.weights_
        return np.maximum(np.asarray(features, dtype=np.float64) @ w1.T + b1, 0.0) @ w2.T + b2

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Softmax of the logits, one column per class in ``classes_``."""
        logits = self.forward(features)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The most probable class."""
        return self.classes_[self.forward(features).argmax(axis=1)]
