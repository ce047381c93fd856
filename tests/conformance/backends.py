"""Which backends this environment can run, for the conformance suite."""

from __future__ import annotations

import importlib
from functools import cache

from catalog.frameworks import REQUIRES

from neural.compare import ADAPTERS

CANDIDATES = ("pytorch", "tensorflow", "jax", "onnx")


@cache
def available(name: str) -> str | None:
    """None when `name` can run here, else the reason it cannot."""
    if name not in ADAPTERS:
        return f"no {name} adapter registered yet"
    for module in REQUIRES.get(name, ()):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{module} is not installed"
    return None


def runnable() -> list[str]:
    return [name for name in CANDIDATES if available(name) is None]
