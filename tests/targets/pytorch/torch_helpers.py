"""Checks every PyTorch emitter test uses: the generated module builds, has exactly the DSL's
parameter count and output shape, and computes what the NumPy runtime computes (forward and one
training step) for the same weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neural.compare import compare
from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.load import import_network
from neural.testing import analyse_snippet

TOLERANCE = 1e-4


def training_tail(loss: str = '"mse"') -> str:
    return f"  loss: {loss}\n  optimizer: SGD(learning_rate=0.1, momentum=0.9)\n"


def snippet_network(layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"') -> ShapedNetwork:
    """A network of `layers` on inputs of the given shapes, with a loss and optimizer for the step check."""
    shaped = analyse_snippet(layers, *shapes, layout=layout)
    if loss is None:
        return shaped
    from neural.api import analyse, loads
    from neural.testing import network_source

    text = network_source(layers, *shapes, layout=layout)
    text = text.rstrip().rstrip("}") + training_tail(loss) + "}\n"
    return analyse(loads(text).network())


def check_generated(shaped: ShapedNetwork, tolerance: float = TOLERANCE) -> Any:
    """Build the generated model; assert params, output shapes and numbers against the NumPy runtime."""
    module = import_network(shaped)
    model = module.build_model()
    assert sum(p.numel() for p in model.parameters()) == shaped.params
    saved = model.state_dict()  # non-persistent buffers (e.g. a fixed sinusoid table) are not state
    state = [b for name, b in model.named_buffers() if name in saved and not name.endswith("num_batches_tracked")]
    assert sum(b.numel() for b in state) == shaped.state
    inputs = [
        torch.zeros((2, *(d or 5 for d in spec.shape)), dtype=torch.long if spec.dtype == "int64" else torch.float32)
        for spec in shaped.network.inputs
    ]
    model.eval()
    with torch.no_grad():
        out = model(*inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    expected = [tuple(d or 5 for d in s) for s in shaped.output_shapes]
    assert [tuple(o.shape[1:]) for o in outputs] == expected
    for result in compare(shaped, ["pytorch"], tolerance=tolerance):
        assert result.ok, f"{result.backend}: outputs differ by {result.forward:.3g}, after one step by {result.step}"
    return module


def check_layer(layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"', tolerance: float = TOLERANCE) -> Any:
    return check_generated(snippet_network(layers, *shapes, layout=layout, loss=loss), tolerance)


def random_batch(shaped: ShapedNetwork, batch: int = 2, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, *(d or 5 for d in spec.shape))).astype(np.float32) for spec in shaped.network.inputs]
