"""Import generated Keras code in process (used by `neural train --backend tensorflow` and `compare`)."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

from neural.shapes.engine import ShapedNetwork
from neural.targets.common.load import import_code
from neural.targets.tensorflow.codegen import generate

__all__ = ["float32_only", "import_code", "import_network", "keras_dtype"]

# TensorFlow's CPU kernels of 3-D windowed pooling take float32 only
FLOAT32_ONLY = frozenset(f"{kind}Pooling3D" for kind in ("Max", "Average", "AdaptiveMax", "AdaptiveAverage"))


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


def float32_only(shaped: ShapedNetwork) -> list[str]:
    """The kinds of the network (wrapped ones included) that TensorFlow runs in float32 only."""
    found = set()
    for layer in shaped.layers:
        found.add(layer.node.kind)
        inner = layer.node.config.get("layer")
        while inner is not None and hasattr(inner, "kind"):
            found.add(inner.kind)
            inner = inner.config.get("layer")
    return sorted(found & FLOAT32_ONLY)
