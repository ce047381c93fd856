"""The JAX side of `neural compare` and of checkpoint exchange: canonical weights in and out."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from neural.shapes.engine import ShapedNetwork
from neural.targets.jax.load import import_network


def abstract_model(build: Any) -> tuple[Any, Any]:
    """The graph definition and the shapes of the state of the model `build()` makes, without running it."""
    return nnx.split(nnx.eval_shape(build))


def without_initializers(abstract: tuple[Any, Any]) -> nnx.Module:
    """A model from `abstract_model(build)`, with zeros (and fresh random keys) where its initializers would run.

    Weights loaded next replace them; skipping the initializers skips compiling one XLA program per
    weight shape (flax's truncated-normal initializers), which dominates building a small model on a CPU.
    """
    graphdef, state = abstract
    keys = itertools.count()

    def materialize(leaf: jax.ShapeDtypeStruct) -> jax.Array:
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            return jax.random.key(next(keys))
        # device_put copies the host zeros; jnp.zeros would compile and run one XLA program per shape.
        return jax.device_put(np.zeros(leaf.shape, leaf.dtype))

    model: nnx.Module = nnx.merge(graphdef, jax.tree.map(materialize, state))
    return model


def input_arrays(shaped: ShapedNetwork, inputs: Mapping[str, np.ndarray]) -> list[Any]:
    return [jnp.asarray(np.asarray(inputs[spec.name])) for spec in shaped.network.inputs]


class Adapter:
    name = "jax"

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped
        self.module: Any = import_network(shaped)

    @functools.cached_property
    def abstract(self) -> tuple[Any, Any]:
        """`abstract_model` of the network, traced once: tracing costs as much as a small forward pass."""
        return abstract_model(self.module.build_model)

    def model(self, weights: Mapping[str, np.ndarray]) -> nnx.Module:
        model = without_initializers(self.abstract)
        self.module.load_canonical(model, weights)
        return model

    def forward(self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        model = self.model(weights)
        model.eval()
        out = nnx.jit(lambda model, arrays: model(*arrays))(model, tuple(input_arrays(self.shaped, inputs)))
        return [np.asarray(o) for o in (out if isinstance(out, tuple) else (out,))]

    def train_step(
        self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], targets: np.ndarray, training: bool
    ) -> dict[str, np.ndarray]:
        m = self.module
        model = self.model(weights)
        if training:
            model.train()
        else:
            model.eval()
        optimizer = nnx.Optimizer(model, m.make_optimizer(m.OPTIMIZER, m.SCHEDULE), wrt=nnx.Param)
        train_step, _ = m.make_steps(m.make_loss(m.LOSS))
        train_step(model, optimizer, tuple(input_arrays(self.shaped, inputs)), jnp.asarray(targets))
        found: dict[str, np.ndarray] = m.canonical_weights(model)
        return found
