"""Helpers of the JAX target tests: a snippet network with a loss and an optimizer; parameter counts of an nnx
module; a check that the generated module builds, has exactly the DSL's parameter and state counts and output
shapes, and computes what the NumPy runtime computes (forward and one training step) for the same weights."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from neural.api import analyse, loads
from neural.compare import compare
from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork
from neural.targets.jax.load import import_network
from neural.testing import network_source

TOLERANCE = 1e-4


def snippet_network(
    layers: str, *shapes: Shape, layout: str = "channels_last", loss: str | None = '"mse"'
) -> ShapedNetwork:
    """A network of `layers` on inputs of the given shapes, with a loss and SGD with momentum for the step check."""
    text = network_source(layers, *shapes, layout=layout)
    if loss is not None:
        text = text.rstrip().rstrip("}") + f"  loss: {loss}\n  optimizer: SGD(learning_rate=0.1, momentum=0.9)\n}}\n"
    return analyse(loads(text).network())


def count(model: nnx.Module, kind: type) -> int:
    return sum(int(np.prod(v.get_value().shape)) for _, v in nnx.to_flat_state(nnx.state(model, kind)))


def check_generated(shaped: ShapedNetwork) -> Any:
    """Build the generated model; assert parameter and state counts, output shapes, and outputs and one training
    step against the NumPy runtime."""
    module = import_network(shaped)
    model = nnx.eval_shape(module.build_model)  # shapes only: no initializer runs
    assert count(model, nnx.Param) == shaped.params
    assert count(model, nnx.BatchStat) == shaped.state
    model.eval()
    inputs = [
        jax.ShapeDtypeStruct((2, *(d or 5 for d in spec.shape)), jnp.int32 if spec.dtype == "int64" else jnp.float32)
        for spec in shaped.network.inputs
    ]
    out = nnx.eval_shape(lambda m, *xs: m(*xs), model, *inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    expected = [tuple(d or 5 for d in s) for s in shaped.output_shapes]
    assert [tuple(o.shape[1:]) for o in outputs] == expected
    for result in compare(shaped, ["jax"], tolerance=TOLERANCE):
        assert result.ok, f"{result.backend}: outputs differ by {result.forward:.3g}, after one step by {result.step}"
    return module
