"""Helpers of the TensorFlow target tests: snippet networks, parameter counts, and a check that a generated
Keras model builds with exactly the DSL's trainable parameter count, state and output shapes, and computes
what the NumPy runtime computes (forward and one training step) for the same canonical weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from neural.api import analyse, loads
from neural.compare import compare
from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork
from neural.targets.tensorflow.load import import_network
from neural.testing import network_source

TOLERANCE = 1e-4


def snippet_network(
    layers: str,
    *shapes: Shape,
    layout: str = "channels_last",
    loss: str | None = '"mse"',
    optimizer: str = "SGD(learning_rate=0.1, momentum=0.9)",
) -> ShapedNetwork:
    """A network of `layers` on inputs of the given shapes, with a loss and optimizer for the step check."""
    text = network_source(layers, *shapes, layout=layout)
    if loss is not None:
        text = text.rstrip().rstrip("}") + f"  loss: {loss}\n  optimizer: {optimizer}\n}}\n"
    return analyse(loads(text).network())


def parameter_count(variables: Any) -> int:
    return sum(int(np.prod(v.shape)) for v in variables)


def check_generated(shaped: ShapedNetwork, tolerance: float = TOLERANCE) -> Any:
    """Build the generated model; assert parameters, state, output shapes and numbers against the NumPy runtime."""
    module = import_network(shaped)
    model = module.build_model()
    assert parameter_count(model.trainable_variables) == shaped.params
    state = [v for v in model.non_trainable_variables if "seed_generator" not in v.path]
    assert parameter_count(state) == shaped.state
    expected = [tuple(s) for s in shaped.output_shapes]
    assert [tuple(o.shape[1:]) for o in model.outputs] == expected
    for result in compare(shaped, ["tensorflow"], tolerance=tolerance):
        assert result.ok, f"{result.backend}: outputs differ by {result.forward:.3g}, after one step by {result.step}"
    return module
