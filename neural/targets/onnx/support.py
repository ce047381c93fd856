"""Which layers the ONNX export cannot express, beyond what the PyTorch backend cannot generate.

The export goes through the PyTorch backend, so every kind it generates is a candidate; the layer
kinds (or argument variants) that torch's ONNX exporter cannot write correctly are declared here
with a reason, so that exporting a network that uses one is a positioned error before any work.
Failures this table does not foresee are still positioned errors (see export.py), never a
silently different model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Rule = Callable[[Mapping[str, Any]], str | None]
_RULES: dict[str, list[Rule]] = {}


def rule(*kinds: str) -> Callable[[Rule], Rule]:
    """Register `fn(config) -> reason or None` for layer kinds."""

    def register(fn: Rule) -> Rule:
        for kind in kinds:
            _RULES.setdefault(kind, []).append(fn)
        return fn

    return register


def onnx_problem(kind: str, config: Mapping[str, Any]) -> str | None:
    """Why a layer of `kind` with `config` cannot be exported to ONNX, or None when it can."""
    for check in _RULES.get(kind, ()):
        reason = check(config)
        if reason:
            return reason
    return None
