"""The PyTorch target: `generate(shaped)` returns one readable, runnable module."""

from neural.targets.pytorch.codegen import generate

__all__ = ["generate"]
