"""Imports every PyTorch emitter family so that each registers its emitters."""

from neural.targets.pytorch.emitters import activations, core, merge, regularization  # noqa: F401
