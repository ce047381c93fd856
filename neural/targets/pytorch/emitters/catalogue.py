"""Imports every PyTorch emitter family so that each registers its emitters."""

from neural.targets.pytorch.emitters import (  # noqa: F401
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
