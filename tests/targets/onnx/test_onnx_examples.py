"""Every example file exports to ONNX: checker with full shape inference, names, dynamic batch, and
onnxruntime within 1e-5 of the PyTorch model (fresh weights from the NumPy runtime's initialization)
in the export's own verification runs (batch 1 and 3; the model is traced with batch 2).

The four large examples (vgg16: 553 MB of weights, bert_base: 438 MB, transformer_seq2seq: 226 MB,
resnet50: 102 MB) are exported once each, at full size, in slow tests: about 10 to 20 s each on
an idle 2-core machine, 4.4 GB of memory at the peak (vgg16).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx_helpers import check_structure

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork
from neural.targets.onnx.export import TOLERANCE, export_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.neural"))
LARGE = ["bert_base", "resnet50", "transformer_seq2seq", "vgg16"]
SMALL = [p for p in ALL_EXAMPLES if p.stem not in LARGE]


def networks(path: Path) -> list[ShapedNetwork]:
    return [analyse(net) for net in loads(path.read_text(), str(path)).networks]


def check_example(shaped: ShapedNetwork) -> None:
    """One export (its own verification runs at batch 1 and 3), then the checks of the written model."""
    exported = export_network(shaped)
    assert exported.difference is not None and exported.difference <= TOLERANCE
    check_structure(exported, shaped)


def test_the_large_examples_are_all_accounted_for() -> None:
    assert {p.stem for p in ALL_EXAMPLES} >= set(LARGE)
    assert len(SMALL) + len(LARGE) == len(ALL_EXAMPLES)


@pytest.mark.parametrize("path", SMALL, ids=[str(p.relative_to(EXAMPLES)) for p in SMALL])
def test_example_exports(path: Path) -> None:
    for shaped in networks(path):
        check_example(shaped)


@pytest.mark.slow
@pytest.mark.parametrize("name", LARGE)
def test_large_example_exports_at_full_size(name: str) -> None:
    for shaped in networks(EXAMPLES / f"{name}.neural"):
        check_example(shaped)
