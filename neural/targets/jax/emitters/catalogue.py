"""Imports every JAX emitter family so that each registers its emitters."""

from neural.targets.jax.emitters import (  # noqa: F401
    activations,
    attention,
    conv,
    core,
    merge,
    normalization,
    pooling,
    recurrent,
    regularization,
    resizing,
    structure,
)
