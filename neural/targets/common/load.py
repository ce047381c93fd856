"""Import generated code in process (every target's `load.import_network`, `neural train`, `compare`)."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path


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
