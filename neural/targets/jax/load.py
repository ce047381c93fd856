"""Import generated JAX code in process (used by `neural train --backend jax` and `compare`)."""

from __future__ import annotations

import types

from neural.shapes.engine import ShapedNetwork
from neural.targets.common.load import import_code
from neural.targets.jax.codegen import generate


def import_network(shaped: ShapedNetwork) -> types.ModuleType:
    """Generate and import the JAX module of an analysed network."""
    return import_code(generate(shaped), f"jax_{shaped.network.name}")


__all__ = ["import_code", "import_network"]
