"""Import generated Keras code in process (used by `neural train --backend tensorflow` and `compare`)."""

from __future__ import annotations

import types

from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.load import import_code
from neural.targets.tensorflow.codegen import generate

__all__ = ["import_code", "import_network"]


def import_network(shaped: ShapedNetwork) -> types.ModuleType:
    """Generate and import the Keras module of an analysed network."""
    return import_code(generate(shaped), f"keras_{shaped.network.name}")
