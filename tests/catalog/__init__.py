"""One catalog of layer cases for every backend: each case is DSL statements on inputs of given shapes,
in a layout, with a loss for the training step (tests/catalog/base.py). One module per layer family
(the registry's families) and one of small networks; `CASES` is all of them, exact duplicates dropped.

The conformance suite (tests/conformance/test_conformance.py) runs every case on every backend; the
target tests use the same cases where they check something of their own (code text, ONNX export rules).
"""

from __future__ import annotations

from dataclasses import replace

from catalog import (
    activations,
    attention,
    conv,
    core,
    merge,
    networks,
    normalization,
    pooling,
    recurrent,
    regularization,
    resizing,
    structure,
)
from catalog.base import Case, case, case_kinds, channels_first

FAMILIES = {
    "core": core.CASES,
    "activations": activations.CASES,
    "merge": merge.CASES,
    "regularization": regularization.CASES,
    "conv": conv.CASES,
    "pooling": pooling.CASES,
    "resizing": resizing.CASES,
    "normalization": normalization.CASES,
    "recurrent": recurrent.CASES,
    "attention": attention.CASES,
    "structure": structure.CASES,
    "networks": networks.CASES,
}


def _all_cases() -> list[Case]:
    unique: dict[tuple[object, ...], Case] = {}
    for family, cases in FAMILIES.items():
        for found in cases:
            key = (found.layers, found.shapes, found.layout, found.loss)
            unique.setdefault(key, replace(found, family=family))
    return list(unique.values())


CASES = _all_cases()

__all__ = ["CASES", "FAMILIES", "Case", "case", "case_kinds", "channels_first"]
