"""The JAX/Flax (NNX) target: `generate(shaped)` returns one readable, runnable module."""

from neural.targets.jax.codegen import generate

__all__ = ["generate"]
