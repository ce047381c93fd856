"""What the training loop needs from a backend, and the NumPy runtime's implementation.

The loop (loop.py) owns epochs, batching, metrics, validation, early stopping, checkpoints and the
run directory; a backend owns the model, the loss, the optimizer (with its learning-rate schedule)
and gradient clipping. Weights cross the boundary under their canonical names and PyTorch layouts,
so a checkpoint written through one backend loads into another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from neural.errors import BackendError, NeuralError
from neural.runtime.model import Model
from neural.runtime.tensor import Tensor, no_grad
from neural.shapes.engine import ShapedNetwork
from neural.training.clipping import clip_grad_norm, clip_grad_value
from neural.training.losses import Loss, build_loss
from neural.training.optimizers import Optimizer, build_optimizer

Batch = Mapping[str, np.ndarray]


class TrainingBackend(Protocol):
    name: str

    def train_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        """One optimizer step; returns the batch loss and the predictions (before the step)."""
        ...

    def evaluate_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]: ...

    def predict(self, x: Batch) -> np.ndarray: ...

    def weights(self) -> dict[str, np.ndarray]: ...

    def load_weights(self, weights: Mapping[str, np.ndarray]) -> None: ...

    def optimizer_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

    def load_optimizer_state(self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None: ...

    def rng_state(self) -> dict[str, Any]: ...

    def set_rng_state(self, state: Mapping[str, Any]) -> None: ...

    def learning_rate(self) -> float: ...

    def on_epoch_end(self, monitored: float) -> None: ...


def require_single_output(shaped: ShapedNetwork) -> None:
    if len(shaped.network.outputs) != 1:
        raise NeuralError(
            f"network {shaped.network.name} has {len(shaped.network.outputs)} outputs; "
            "training needs one output (one loss) for now",
            shaped.network.span,
        )


def require_training_setup(shaped: ShapedNetwork) -> None:
    net = shaped.network
    if net.loss is None:
        raise NeuralError(
            f"network {net.name} has no `loss:`; training needs one",
            net.span,
            hint='add e.g. loss: "sparse_categorical_crossentropy"',
        )
    if net.optimizer is None:
        raise NeuralError(
            f"network {net.name} has no `optimizer:`; training needs one",
            net.span,
            hint="add e.g. optimizer: Adam(learning_rate=0.001)",
        )
    require_single_output(shaped)


class NumpyBackend:
    """Training on the built-in NumPy runtime."""

    name = "numpy"

    def __init__(
        self,
        shaped: ShapedNetwork,
        *,
        seed: int = 0,
        dtype: Any = np.float32,
        clip_norm: float | None = None,
        clip_value: float | None = None,
    ) -> None:
        require_training_setup(shaped)
        net = shaped.network
        self.model = Model(shaped, dtype=dtype, seed=seed)
        assert net.loss is not None and net.optimizer is not None
        self.loss: Loss = build_loss(net.loss)
        self.optimizer: Optimizer = build_optimizer(net.optimizer, self.model.params)
        self.clip_norm = clip_norm
        self.clip_value = clip_value

    def _forward(self, x: Batch, training: bool) -> Tensor:
        out = self.model(dict(x), training=training)
        if isinstance(out, tuple):
            raise BackendError("training needs a single-output network")
        return out

    def train_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        self.model.zero_grad()
        pred = self._forward(x, training=True)
        loss = self.loss(pred, y)
        value = float(loss.data)
        if not np.isfinite(value):
            return value, pred.data
        loss.backward()
        params = self.model.parameters()
        if self.clip_norm is not None:
            clip_grad_norm(params, self.clip_norm)
        if self.clip_value is not None:
            clip_grad_value(params, self.clip_value)
        self.optimizer.step()
        return value, pred.data

    def evaluate_batch(self, x: Batch, y: np.ndarray) -> tuple[float, np.ndarray]:
        with no_grad():
            pred = self._forward(x, training=False)
            return float(self.loss(pred, y).data), pred.data

    def predict(self, x: Batch) -> np.ndarray:
        with no_grad():
            return self._forward(x, training=False).data

    def weights(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        self.model.load_state_dict(weights)

    def optimizer_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.optimizer.state_dict()

    def load_optimizer_state(self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.optimizer.load_state_dict(scalars, arrays)

    def rng_state(self) -> dict[str, Any]:
        return dict(self.model.rng.bit_generator.state)

    def set_rng_state(self, state: Mapping[str, Any]) -> None:
        self.model.rng.bit_generator.state = dict(state)

    def learning_rate(self) -> float:
        return float(self.optimizer.lr)

    def on_epoch_end(self, monitored: float) -> None:
        self.optimizer.schedule.on_epoch_end(monitored)
