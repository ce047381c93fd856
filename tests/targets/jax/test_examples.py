"""The example networks through the JAX target: at their real size the generated model has exactly the DSL's
parameter and state counts (and the published ones) and the predicted output shapes (checked abstractly,
nnx.eval_shape: nothing is compiled); scaled-down copies compute what the NumPy runtime computes."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from jax_helpers import check_generated, count

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork
from neural.targets.jax.load import import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FILES = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.neural"))
PUBLISHED = {"vgg16": 138_357_544, "resnet18": 11_689_512, "mobilenet_v2": 3_504_872, "bert_base": 109_482_240}


def example(name: str, *replacements: tuple[str, str]) -> ShapedNetwork:
    text = (EXAMPLES / name).read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return analyse(loads(text, str(EXAMPLES / name)).network())


@pytest.mark.parametrize("name", FILES)
def test_full_size_example_has_exact_counts_and_shapes(name: str) -> None:
    shaped = example(name)
    module = import_network(shaped)
    model = nnx.eval_shape(module.build_model)
    assert count(model, nnx.Param) == shaped.params
    assert count(model, nnx.BatchStat) == shaped.state
    if Path(name).stem in PUBLISHED:
        assert shaped.params == PUBLISHED[Path(name).stem]
    model.eval()
    inputs = [
        jax.ShapeDtypeStruct((1, *(d or 7 for d in spec.shape)), jnp.int32 if spec.dtype == "int64" else jnp.float32)
        for spec in shaped.network.inputs
    ]
    out = nnx.eval_shape(lambda m, *xs: m(*xs), model, *inputs)
    outputs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape[1:]) for o in outputs] == [tuple(d or 7 for d in s) for s in shaped.output_shapes]
    assert set(module.WEIGHTS) == {f"{layer.node.name}.{w}" for layer in shaped.layers for w in layer.weights}


# Scaled-down copies (same layers, small inputs and widths) against the NumPy runtime. Batch statistics of a
# batch of 2 over 1x1 maps make a training step ill-conditioned, so ResNet keeps 2x2 maps at the end; Adam's
# first step is about sign(gradient), which turns rounding noise in near-zero gradients into full steps, so
# some copies step with SGD.
SGD = "optimizer: SGD(learning_rate=0.01)"
SCALED = {
    "lenet5.neural": (),
    "digits_cnn.neural": (),
    "two_inputs.neural": (("(32, 32, 3)", "(8, 8, 3)"),),
    "transformer_encoder.neural": (
        ("(128, 512)", "(6, 16)"),
        ("num_heads=8, ff_dim=2048", "num_heads=2, ff_dim=32"),
        ("Adam(learning_rate=1e-4)", "SGD(learning_rate=0.1)"),
    ),
    "compat/sentiment.neural": (
        ("(100,)", "(7,)"),
        ("10000, output_dim=300", "50, output_dim=8"),
        ("units=128", "units=6"),
        ("units=64", "units=5"),
    ),
    "mobilenet_v2.neural": (("(224, 224, 3)", "(32, 32, 3)"),),
    "unet.neural": (("(128, 128, 1)", "(32, 32, 1)"), ("Adam(learning_rate=1e-3)", "SGD(learning_rate=0.01)")),
    "inception.neural": (("(28, 28, 192)", "(9, 9, 192)"), ("optimizer: Adam", SGD)),
    "resnet18.neural": (("(224, 224, 3)", "(48, 48, 3)"),),
    "transformer_seq2seq.neural": (
        ("(32,)", "(7,)"),
        ("Embedding(8000, 512)", "Embedding(50, 16)"),
        ("(8, 2048)", "(2, 32)"),
        ("Dense(8000)", "Dense(50)"),
        ("* 6", "* 2"),  # two of each layer: compiling twelve takes minutes on a CPU
        (
            "optimizer: Adam(learning_rate=CosineDecay(5e-4, decay_steps=20000, warmup_steps=1000))",
            "optimizer: SGD(learning_rate=0.1)",
        ),
    ),
    "bert_base.neural": (
        ("(128,)", "(9,)"),
        ("Embedding(30522, 768)", "Embedding(40, 16)"),
        ("Embedding(2, 768)", "Embedding(2, 16)"),
        ("TransformerEncoder(12, 3072,", "TransformerEncoder(4, 32,"),
        ("* 12", "* 2"),
        ("Cropping1D((0, 127))", "Cropping1D((0, 8))"),
        ('Dense(768, "tanh")', 'Dense(16, "tanh")\n  loss: "mse"\n  optimizer: SGD(learning_rate=0.1)'),
    ),
}
LARGE = {
    "mobilenet_v2.neural",
    "unet.neural",
    "inception.neural",
    "resnet18.neural",
    "transformer_seq2seq.neural",
    "bert_base.neural",
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in LARGE else n for n in SCALED])
def test_scaled_example_matches_numpy_runtime(name: str) -> None:
    check_generated(example(name, *SCALED[name]))
