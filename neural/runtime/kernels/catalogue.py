"""Imports every kernel family so that each registers its kernels."""

from neural.runtime.kernels import (  # noqa: F401
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
