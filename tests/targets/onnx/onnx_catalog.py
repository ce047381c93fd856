"""Small networks, one (or a few) layers each, for every layer kind the PyTorch backend generates.

Most cases are the PyTorch emitter tests' own CASES lists (tests/targets/pytorch/test_*_emitters.py),
read from those modules and normalized to (layers, input shapes, layout); EXTRA adds variants that
matter for ONNX. `uncovered_kinds()` names every PyTorch-supported kind no case uses.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from neural.layers.base import Shape
from neural.layers.nested import NestedLayer
from neural.layers.registry import all_specs
from neural.targets.pytorch.emit import support_status
from neural.testing import analyse_snippet

PYTORCH_TESTS = Path(__file__).resolve().parents[1] / "pytorch"

# module stem -> names of its case lists
SOURCES: dict[str, tuple[str, ...]] = {
    "test_core_emitters": ("CASES",),
    "test_conv_emitters": ("CASES", "UNKNOWN_LENGTH", "NETWORKS"),
    "test_pooling_emitters": ("WINDOWED", "GLOBAL_AND_ADAPTIVE"),
    "test_resizing_emitters": ("CASES",),
    "test_normalization_emitters": ("CASES",),
    "test_recurrent_emitters": ("CASES",),
    "test_attention_emitters": ("CASES",),
    "test_structure_emitters": ("CASES",),
}

# variants the emitter lists do not have: ONNX-specific concerns (open sizes, several outputs, layouts)
EXTRA: list[tuple[str, list[Shape], str]] = [
    ('Conv2D(4, 3, padding="same")\nMaxPooling2D(2)\nFlatten()\nDense(3)', [(6, 6, 3)], "channels_first"),
    # a leading None is the batch axis: (None, None, 5) is a sequence of open length
    ("Dense(4)", [(None, None, 5)], "channels_last"),
    ("Embedding(30, 4)\nGlobalAveragePooling1D()\nDense(2)", [(None, None)], "channels_last"),
    ("LSTM(4, return_sequences=true)\nDense(2)", [(None, None, 3)], "channels_last"),
    ("SpatialDropout1D(0.3)\nFlatten()\nDense(2)", [(5, 3)], "channels_last"),
    ("SpatialDropout2D(0.3)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_first"),
    ("SpatialDropout3D(0.3)\nFlatten()\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
]


@dataclass(frozen=True)
class Case:
    layers: str
    shapes: tuple[Shape, ...]
    layout: str
    origin: str

    @property
    def id(self) -> str:
        shapes = " ".join(str(s).replace(" ", "") for s in self.shapes)
        return f"{self.layers.replace(chr(10), ' | ')} {shapes} {self.layout}"


def _load(stem: str) -> ModuleType:
    if str(PYTORCH_TESTS) not in sys.path:
        sys.path.insert(0, str(PYTORCH_TESTS))  # their `torch_helpers`
    name = f"onnx_catalog_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PYTORCH_TESTS / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value)


def _normalized(entry: Any, origin: str) -> Case:
    """(layers, shape), (layers, [shapes]), (layers, shapes, layout), or a bare Conv1D-stack line."""
    if isinstance(entry, str):  # test_conv_emitters.UNKNOWN_LENGTH: a layer on a sequence of open length
        return Case(f"Conv1D(3, 1)\n{entry}", ((None, None, 3),), "channels_last", origin)
    layers, shapes, *rest = entry
    shapes = (shapes,) if _is_shape(shapes) else tuple(shapes)
    return Case(layers, shapes, rest[0] if rest else "channels_last", origin)


def cases() -> list[Case]:
    found: list[Case] = []
    for stem, names in SOURCES.items():
        module = _load(stem)
        for name in names:
            found += [_normalized(entry, f"{stem}.{name}") for entry in getattr(module, name)]
    found += [Case(layers, tuple(shapes), layout, "onnx EXTRA") for layers, shapes, layout in EXTRA]
    unique: dict[str, Case] = {}
    for case in found:
        unique.setdefault(case.id, case)
    return list(unique.values())


def _kinds(kind: str, config: Any) -> Iterator[str]:
    yield kind
    inner = config.get("layer")
    if isinstance(inner, NestedLayer):
        yield from _kinds(inner.kind, inner.config)


def case_kinds(case: Case) -> set[str]:
    shaped = analyse_snippet(case.layers, *case.shapes, layout=case.layout)
    return {kind for layer in shaped.layers for kind in _kinds(layer.node.kind, layer.node.config)}


def supported_kinds() -> set[str]:
    return {spec.kind for spec in all_specs() if support_status(spec.kind)[0]}


def uncovered_kinds(all_cases: list[Case]) -> set[str]:
    covered: set[str] = set()
    for case in all_cases:
        covered |= case_kinds(case)
    return supported_kinds() - covered


def selected(all_cases: list[Case], per_kind: int = 3) -> list[Case]:
    """A case is kept while one of its kinds has fewer than `per_kind` kept cases (every kind stays covered;
    cases that trip an ONNX rule and the EXTRA ones are always kept)."""
    from neural.layers.base import LayerContext
    from neural.targets.onnx.support import onnx_problem

    counts: dict[str, int] = {}
    kept: list[Case] = []
    for case in all_cases:
        shaped = analyse_snippet(case.layers, *case.shapes, layout=case.layout)
        ctx = LayerContext(case.layout)
        refused = any(onnx_problem(n.node.kind, n.node.config, n.input_shapes, ctx) for n in shaped.layers)
        kinds = case_kinds(case)
        if refused or case.origin == "onnx EXTRA" or any(counts.get(k, 0) < per_kind for k in kinds):
            kept.append(case)
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + 1
    return kept
