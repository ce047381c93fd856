"""Imports every layer family so that each registers its kinds."""

from neural.layers import (  # noqa: F401
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
