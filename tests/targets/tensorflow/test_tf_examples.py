"""Every example file through the TensorFlow backend: the generated model builds with exactly the DSL's
parameter count and output shape (full size, slow), and scaled-down copies (same layers, small inputs)
compute what the NumPy runtime computes, forward and after one training step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tf_helpers import check_generated, parameter_count

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork
from neural.targets.tensorflow.load import import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.neural"))
PUBLISHED = {
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "bert_base": 109_482_240,
}


def example(name: str, *replacements: tuple[str, str]) -> ShapedNetwork:
    text = (EXAMPLES / f"{name}.neural").read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return analyse(loads(text).network())


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=[str(p.relative_to(EXAMPLES)) for p in ALL_EXAMPLES])
def test_example_builds_with_exact_parameters_and_shape(path: Path) -> None:
    """The example at its real size: parameter count (published where known), output shapes, one forward pass."""
    shaped = analyse(loads(path.read_text()).network())
    model = import_network(shaped).build_model()
    params = parameter_count(model.trainable_variables)
    assert params == shaped.params
    if path.stem in PUBLISHED:
        assert params == PUBLISHED[path.stem]
    assert [tuple(o.shape[1:]) for o in model.outputs] == [tuple(s) for s in shaped.output_shapes]
    if shaped.params < 5_000_000:
        inputs = [
            np.zeros((1, *(d or 4 for d in spec.shape)), dtype=np.int64 if spec.dtype == "int64" else np.float32)
            for spec in shaped.network.inputs
        ]
        out = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
        outputs = out if isinstance(out, (list, tuple)) else [out]
        assert np.isfinite(np.asarray(outputs[0])).all()


# Scaled-down copies. Batch statistics of a batch of 2 over 1x1 maps make a training step ill-conditioned,
# so ResNet keeps 2x2 maps at the end. compare() checks the training step in float64 (Adam's first step is
# about sign(gradient), which would turn float32 rounding noise in zero gradients into full steps); the
# sequence-to-sequence copies step with SGD to keep them quick.
SGD = "optimizer: SGD(learning_rate=0.1)"
SCALED: dict[str, tuple[tuple[str, str], ...]] = {
    "lenet5": (),
    "digits_cnn": (),
    "two_inputs": (),
    "resnet18": (("(224, 224, 3)", "(48, 48, 3)"),),
    "mobilenet_v2": (("(224, 224, 3)", "(32, 32, 3)"),),
    "unet": (("(128, 128, 1)", "(32, 32, 1)"),),
    "inception": (("(28, 28, 192)", "(9, 9, 192)"),),
    "transformer_encoder": (("(128, 512)", "(7, 16)"), ("num_heads=8, ff_dim=2048", "num_heads=4, ff_dim=32")),
    "transformer_seq2seq": (
        ("(32,)", "(5,)"),
        ("Embedding(8000, 512)", "Embedding(30, 8)"),
        ("(8, 2048)", "(2, 16)"),
        ("Dense(8000)", "Dense(30)"),
        ("TransformerEncoder(2, 16) * 6", "TransformerEncoder(2, 16) * 2"),
        ("TransformerDecoder(2, 16)(decoded, memory) * 6", "TransformerDecoder(2, 16)(decoded, memory) * 2"),
        ("optimizer: Adam(learning_rate=CosineDecay(5e-4, decay_steps=20000, warmup_steps=1000))", SGD),
    ),
    "bert_base": (
        ("(128,)", "(9,)"),
        ("Embedding(30522, 768)", "Embedding(40, 16)"),
        ("Embedding(2, 768)", "Embedding(2, 16)"),
        ("TransformerEncoder(12, 3072,", "TransformerEncoder(4, 32,"),
        ("* 12", "* 2"),
        ("Cropping1D((0, 127))", "Cropping1D((0, 8))"),
        ('Dense(768, "tanh")', f'Dense(16, "tanh")\n  loss: "mse"\n  {SGD}'),
    ),
}
SLOW = {"resnet18", "mobilenet_v2", "unet", "inception", "transformer_seq2seq", "bert_base"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in SCALED])
def test_scaled_example_matches_numpy_runtime(name: str) -> None:
    check_generated(example(name, *SCALED[name]))
