"""Import generated Keras code in process (used by `neural train --backend tensorflow` and `compare`)."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.load import import_code
from neural.targets.tensorflow.codegen import generate

__all__ = ["import_code", "import_network", "keras_dtype"]


def import_network(shaped: ShapedNetwork) -> types.ModuleType:
    """Generate and import the Keras module of an analysed network."""
    return import_code(generate(shaped), f"keras_{shaped.network.name}")


@contextlib.contextmanager
def keras_dtype(name: str) -> Iterator[None]:
    """Layers and inputs built inside get dtype `name` ("float32" or "float64"): Keras' floatx and its
    global dtype policy (which Keras fixes from floatx the first time it is asked) are both set, then restored."""
    import keras

    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(name)
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
