"""The TensorFlow/Keras target: `generate(shaped)` returns one readable, runnable Keras 3 module."""

from neural.targets.tensorflow.codegen import generate

__all__ = ["generate"]
