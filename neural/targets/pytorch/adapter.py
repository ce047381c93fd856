"""The PyTorch side of `neural compare` and of checkpoint exchange: canonical weights in and out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from neural.errors import BackendError
from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.load import import_network

BUFFERS_ONLY_IN_TORCH = ("num_batches_tracked",)


def load_canonical(model: torch.nn.Module, weights: Mapping[str, np.ndarray]) -> None:
    """Load canonical weights (PyTorch names and layouts) into a generated model; names must match."""
    state = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith(BUFFERS_ONLY_IN_TORCH)]
    if missing or unexpected:
        raise BackendError(
            f"weights do not match the PyTorch model: missing {missing[:5]}, unexpected {list(unexpected)[:5]}"
        )


def canonical_weights(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """A generated model's weights under canonical names (torch-only buffers left out)."""
    return {
        name: value.detach().cpu().numpy().copy()
        for name, value in model.state_dict().items()
        if not name.endswith(BUFFERS_ONLY_IN_TORCH)
    }


def input_tensors(shaped: ShapedNetwork, inputs: Mapping[str, np.ndarray]) -> list[torch.Tensor]:
    return [torch.as_tensor(np.asarray(inputs[spec.name])) for spec in shaped.network.inputs]


class Adapter:
    name = "pytorch"
    supports_float64 = True  # train_step follows the dtype of the weights it is given

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped
        self.module: Any = import_network(shaped)

    def model(self, weights: Mapping[str, np.ndarray]) -> torch.nn.Module:
        model: torch.nn.Module = self.module.build_model()
        if any(np.asarray(v).dtype == np.float64 for v in weights.values()):
            model = model.double()
        load_canonical(model, weights)
        return model

    def forward(self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        model = self.model(weights).eval()
        with torch.no_grad():
            out = model(*input_tensors(self.shaped, inputs))
        return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]

    def train_step(
        self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], targets: np.ndarray, training: bool
    ) -> dict[str, np.ndarray]:
        m = self.module
        model = self.model(weights).train(training)
        loss_fn = m.make_loss(m.LOSS)
        optimizer = m.make_optimizer(model.parameters(), m.OPTIMIZER, m.base_learning_rate(m.SCHEDULE, m.OPTIMIZER))
        m.make_scheduler(optimizer, m.SCHEDULE)  # sets the first step's rate (e.g. 0 at the start of a warm-up)
        loss = loss_fn(model(*input_tensors(self.shaped, inputs)), torch.as_tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return canonical_weights(model)
