"""Import generated PyTorch code in process (used by `neural train --backend pytorch` and `compare`)."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.codegen import generate


def import_code(code: str, name: str, path: Path | None = None) -> types.ModuleType:
    """Execute generated module text as a fresh module (registered in sys.modules under a unique name)."""
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()[:12]
    module_name = f"neural_generated_{name}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    module = types.ModuleType(module_name)
    module.__file__ = str(path) if path else f"<neural generated {name}>"
    sys.modules[module_name] = module
    try:
        exec(compile(code, module.__file__, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def import_network(shaped: ShapedNetwork) -> types.ModuleType:
    """Generate and import the PyTorch module of an analysed network."""
    return import_code(generate(shaped), shaped.network.name)
