"""Every example file checks, and the reference architectures match their published numbers exactly.

Published numbers: ../shared/reference/published-models.md (trainable parameters as torch counts
them; MACs of matrix products and convolutions for one sample, as torchvision's tables count them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neural.api import analyse, check, load
from neural.shapes.engine import ShapedNetwork

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.neural"))


def shaped(name: str) -> ShapedNetwork:
    return analyse(load(EXAMPLES / name).network())


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=[str(p.relative_to(EXAMPLES)) for p in ALL_EXAMPLES])
def test_every_example_checks(path: Path) -> None:
    results = check(path)
    assert results and all(r.params > 0 for r in results)


def test_there_are_compat_examples() -> None:
    assert len(list((EXAMPLES / "compat").glob("*.neural"))) >= 6


# (file, trainable params, non-trainable state, MACs, output shape)
GOLDEN = [
    ("lenet5.neural", 61_706, 0, 416_520, (10,)),
    ("vgg16.neural", 138_357_544, 0, 15_470_264_320, (1000,)),
    ("resnet18.neural", 11_689_512, 9_600, 1_814_073_344, (1000,)),
    ("resnet50.neural", 25_557_032, 53_120, 4_089_184_256, (1000,)),
    ("mobilenet_v2.neural", 3_504_872, 34_112, 300_774_272, (1000,)),
    ("transformer_encoder.neural", 3_152_384, 0, None, (128, 512)),
    ("bert_base.neural", 109_482_240, 0, None, (768,)),
]


@pytest.mark.parametrize(("name", "params", "state", "macs", "output"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_architecture(name: str, params: int, state: int, macs: int | None, output: tuple[int, ...]) -> None:
    net = shaped(name)
    assert net.params == params
    assert net.state == state
    if macs is not None:
        assert net.macs == macs
    assert net.output_shapes == (output,)


def test_published_mac_figures_round_to_the_tables() -> None:
    """torchvision publishes rounded GMACs; ours are exact and round to the same figures."""
    assert round(shaped("resnet18.neural").macs / 1e9, 3) == 1.814  # type: ignore[operator]
    assert round(shaped("resnet50.neural").macs / 1e9, 3) == 4.089  # type: ignore[operator]
    assert round(shaped("mobilenet_v2.neural").macs / 1e9, 3) == 0.301  # type: ignore[operator]
    assert round(shaped("vgg16.neural").macs / 1e9, 2) == 15.47  # type: ignore[operator]


def test_transformer_encoder_layer_mac_count() -> None:
    # projections 4 * T * d^2, scores and weighted sum 2 * T^2 * d, feed-forward 2 * T * d * ff
    t, d, ff = 128, 512, 2048
    assert shaped("transformer_encoder.neural").macs == 4 * t * d * d + 2 * t * t * d + 2 * t * d * ff


def test_seq2seq_is_torch_transformer_plus_embeddings_and_head() -> None:
    transformer = 44_140_544  # torch.nn.Transformer(512, 8, 6, 6, 2048)
    embeddings = 2 * 8000 * 512
    head = 512 * 8000 + 8000
    net = shaped("transformer_seq2seq.neural")
    assert net.params == transformer + embeddings + head
    assert net.output_shapes == ((32, 8000),)
    decoders = [layer for layer in net.layers if layer.node.kind == "TransformerDecoder"]
    assert len(decoders) == 6
    assert all(layer.node.inputs[1].node == "memory" for layer in decoders)


def test_seq2seq_matches_torch_transformer() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Transformer(512, 8, 6, 6, 2048, batch_first=True)
    expected = sum(p.numel() for p in model.parameters())
    expected += 2 * sum(p.numel() for p in torch.nn.Embedding(8000, 512).parameters())
    expected += sum(p.numel() for p in torch.nn.Linear(512, 8000).parameters())
    assert shaped("transformer_seq2seq.neural").params == expected


def test_inception_block_concatenates_branches() -> None:
    net = shaped("inception.neural")
    concats = [layer for layer in net.layers if layer.node.kind == "Concatenate"]
    assert [c.output_shape for c in concats] == [(28, 28, 256), (28, 28, 480)]
    assert all(len(c.node.inputs) == 4 for c in concats)


def test_unet_long_skips() -> None:
    net = shaped("unet.neural")
    concats = [layer for layer in net.layers if layer.node.kind == "Concatenate"]
    assert [[ref.node for ref in c.node.inputs] for c in concats] == [
        ["up3", "enc3_relu_2"],
        ["up2", "enc2_relu_2"],
        ["up1", "enc1_relu_2"],
    ]
    assert net.output_shapes == ((128, 128, 1),)


def test_two_input_model() -> None:
    net = shaped("two_inputs.neural")
    assert [i.name for i in net.network.inputs] == ["image", "features"]
    assert net.output_shapes == ((1,),)


def test_resnet_residual_structure() -> None:
    net = shaped("resnet18.neural")
    adds = [layer for layer in net.layers if layer.node.kind == "Add"]
    assert len(adds) == 8
    convs = [layer for layer in net.layers if layer.node.kind == "Conv2D"]
    assert all(not c.node.config.use_bias for c in convs)
    shortcuts = [c for c in convs if c.node.config.kernel_size == (1, 1)]
    assert len(shortcuts) == 3
