"""Every example file exports to ONNX: checker with full shape inference, names, dynamic batch, and
onnxruntime within 1e-5 of the PyTorch model (fresh weights from the NumPy runtime's initialization).

The four large examples: resnet50 and transformer_seq2seq are exported at full size (slow tests);
vgg16 (553 MB of weights) and bert_base (438 MB) as scaled-down copies with the same layer
structure, and at full size too with NEURAL_ONNX_FULL_SIZE=1 (about a minute and 4.5 GB each).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from onnx_helpers import check_export, check_structure

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork
from neural.targets.onnx.export import TOLERANCE, export_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.neural"))
FULL_SIZE = {"resnet50", "transformer_seq2seq"}
# (text, replacement) pairs: narrower layers and smaller inputs, the same layers in the same order
SCALED = {
    "vgg16": [("(224, 224, 3)", "(32, 32, 3)"), ("Dense(4096", "Dense(64")],
    "bert_base": [
        ("(128,)", "(16,)"),
        ("30522, 768", "500, 32"),
        ("Embedding(2, 768)", "Embedding(2, 32)"),
        ("TransformerEncoder(12, 3072", "TransformerEncoder(4, 64"),
        ("* 12", "* 2"),
        ("Cropping1D((0, 127))", "Cropping1D((0, 15))"),
        ("Dense(768", "Dense(32"),
    ],
}
BIG = FULL_SIZE | set(SCALED)
SMALL = [p for p in ALL_EXAMPLES if p.stem not in BIG]


def networks(text: str, path: Path) -> list[ShapedNetwork]:
    return [analyse(net) for net in loads(text, str(path)).networks]


def scaled(name: str) -> str:
    text = (EXAMPLES / f"{name}.neural").read_text()
    for old, new in SCALED[name]:
        assert old in text, f"{name}: `{old}` no longer in the example"
        text = text.replace(old, new)
    return text


def test_the_large_examples_are_all_accounted_for() -> None:
    assert {p.stem for p in ALL_EXAMPLES} >= BIG
    assert len(SMALL) + len(BIG) == len(ALL_EXAMPLES)


@pytest.mark.parametrize("path", SMALL, ids=[str(p.relative_to(EXAMPLES)) for p in SMALL])
def test_example_exports(path: Path) -> None:
    for shaped in networks(path.read_text(), path):
        check_export(shaped)


@pytest.mark.parametrize("name", sorted(SCALED))
def test_scaled_large_example_exports(name: str) -> None:
    full = networks((EXAMPLES / f"{name}.neural").read_text(), EXAMPLES / f"{name}.neural")
    small = networks(scaled(name), EXAMPLES / f"{name}.neural")
    assert [layer.node.kind for layer in small[0].layers] == [layer.node.kind for layer in full[0].layers]
    check_export(small[0])


def export_full_size(name: str) -> None:
    """One export (its own verification runs at batch 1 and 3), then the checks of the written model."""
    path = EXAMPLES / f"{name}.neural"
    (shaped,) = networks(path.read_text(), path)
    exported = export_network(shaped)
    assert exported.difference is not None and exported.difference <= TOLERANCE
    check_structure(exported, shaped)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_large_example_exports_at_full_size(name: str) -> None:
    export_full_size(name)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NEURAL_ONNX_FULL_SIZE"), reason="set NEURAL_ONNX_FULL_SIZE=1 (about a minute and 4.5 GB each)")
@pytest.mark.parametrize("name", sorted(SCALED))
def test_scaled_example_exports_at_full_size(name: str) -> None:
    export_full_size(name)
