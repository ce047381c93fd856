"""The ONNX layer tests' cases: the shared catalog's (tests/catalog), all of them or a few per layer kind.
`uncovered_kinds()` names every kind the PyTorch backend generates (the exporter's source) that no case uses."""

from __future__ import annotations

from functools import cache

from catalog import CASES, Case, case_kinds

from neural.layers.base import LayerContext
from neural.layers.registry import all_specs
from neural.shapes.engine import ShapedNetwork
from neural.targets.onnx.support import onnx_problem
from neural.targets.pytorch.emit import support_status
from neural.testing import analyse_snippet

__all__ = ["Case", "cases", "selected", "shaped", "uncovered_kinds"]


def cases() -> list[Case]:
    return list(CASES)


@cache
def shaped(case: Case) -> ShapedNetwork:
    """The case's network without its loss: what the exporter sees."""
    return analyse_snippet(case.layers, *case.shapes, layout=case.layout)


def kinds(case: Case) -> set[str]:
    return case_kinds(shaped(case))


def refused(case: Case) -> bool:
    ctx = LayerContext(case.layout)
    return any(onnx_problem(n.node.kind, n.node.config, n.input_shapes, ctx) for n in shaped(case).layers)


def open_length(case: Case) -> bool:
    """An input with an axis of open size besides the batch: the exported graph must keep it dynamic."""
    return any(None in shape[1:] for shape in case.shapes if shape and shape[0] is None)


def uncovered_kinds(all_cases: list[Case]) -> set[str]:
    supported = {spec.kind for spec in all_specs() if support_status(spec.kind)[0]}
    return supported - set().union(*(kinds(c) for c in all_cases))


def selected(all_cases: list[Case], per_kind: int = 3) -> list[Case]:
    """A case is kept while one of its kinds has fewer than `per_kind` kept cases, or, of open length, none
    of open length yet: every kind stays covered, with dynamic sizes where it takes them. Cases the ONNX rules
    refuse are always kept."""
    counts: dict[str, int] = {}
    kept: list[Case] = []
    for case in all_cases:
        quota = dict.fromkeys(kinds(case), per_kind)
        if open_length(case):
            quota |= dict.fromkeys((f"{kind} of open length" for kind in kinds(case)), 1)
        if refused(case) or any(counts.get(key, 0) < most for key, most in quota.items()):
            kept.append(case)
            for key in quota:
                counts[key] = counts.get(key, 0) + 1
    return kept
