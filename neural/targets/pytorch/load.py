"""Import generated PyTorch code in process (used by `neural train --backend pytorch` and `compare`)."""

from __future__ import annotations

import types

from neural.shapes.engine import ShapedNetwork
from neural.targets.common.load import import_code
from neural.targets.pytorch.codegen import generate

__all__ = ["import_code", "import_network"]


def import_network(shaped: ShapedNetwork) -> types.ModuleType:
    """Generate and import the PyTorch module of an analysed network."""
    return import_code(generate(shaped), shaped.network.name)
