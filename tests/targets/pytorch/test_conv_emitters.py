"""PyTorch emitters of the convolution family: exact against the NumPy runtime (forward and one training
step), in both layouts; the example networks that use convolutions; generated code passes ruff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch_helpers import check_generated, check_layer, snippet_network

from neural.api import analyse, loads
from neural.compare import compare
from neural.targets.pytorch.codegen import format_code, generate
from neural.targets.pytorch.emit import support_status
from neural.testing import analyse_snippet

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def channels_first(shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """The same feature map channels first; a leading None (the DSL's batch axis, written to give a
    sample shape with an unknown length) stays in front."""
    if shape[0] is None:
        return (None, *channels_first(shape[1:]))
    return (shape[-1], *shape[:-1])


CASES = [
    # Conv1D: strides, every padding kind, dilation, groups, bias, fused activations, unknown length
    ("Conv1D(4, 3)", (9, 3)),
    ("Conv1D(4, 3, strides=2)", (9, 3)),
    ('Conv1D(4, 3, padding="same")', (9, 3)),
    ('Conv1D(4, 4, padding="same")', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="same")', (9, 3)),
    ('Conv1D(4, 4, strides=3, padding="same")', (10, 3)),
    ('Conv1D(4, 3, padding="causal")', (9, 3)),
    ('Conv1D(4, 2, padding="causal", dilation_rate=3)', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="causal")', (9, 3)),
    ("Conv1D(4, 3, padding=2)", (9, 3)),
    ("Conv1D(4, 3, padding=(1, 2))", (9, 3)),
    ("Conv1D(4, 3, strides=2, padding=(2, 0))", (9, 3)),
    ("Conv1D(4, 3, dilation_rate=2)", (9, 3)),
    ('Conv1D(4, 3, dilation_rate=2, padding="same")', (9, 3)),
    ('Conv1D(4, 2, dilation_rate=3, padding="same")', (9, 3)),
    ("Conv1D(6, 3, groups=3)", (9, 3)),
    ('Conv1D(4, 3, use_bias=false, activation="tanh")', (9, 3)),
    ('Conv1D(4, 3, activation="softmax")', (9, 3)),
    ('Conv1D(4, 3, activation="prelu")', (9, 3)),
    # Conv2D
    ("Conv2D(4, 3)", (7, 8, 3)),
    ("Conv2D(4, (3, 2), strides=(2, 1))", (7, 8, 3)),
    ('Conv2D(4, 3, padding="same", activation="relu")', (7, 8, 3)),
    ('Conv2D(4, (2, 4), padding="same")', (7, 8, 3)),
    ('Conv2D(4, 3, strides=2, padding="same")', (7, 8, 3)),
    ('Conv2D(4, (1, 4), strides=(1, 3), padding="same")', (7, 8, 3)),
    ("Conv2D(4, 3, padding=1)", (7, 8, 3)),
    ("Conv2D(4, 3, strides=2, padding=(1, 0))", (7, 8, 3)),
    ("Conv2D(4, 3, padding=((1, 2), (0, 1)))", (7, 8, 3)),
    ('Conv2D(4, 3, dilation_rate=(2, 1), padding="same")', (7, 8, 3)),
    ('Conv2D(4, 3, strides=2, dilation_rate=2, padding="same")', (9, 8, 3)),
    ("Conv2D(6, 3, groups=3, use_bias=false)", (7, 8, 3)),
    ('Conv2D(4, 1, activation="softmax")', (4, 5, 3)),
    # Conv3D
    ("Conv3D(4, 3)", (5, 6, 5, 2)),
    ('Conv3D(4, 2, strides=2, padding="same")', (5, 6, 5, 2)),
    ("Conv3D(4, (3, 1, 2), padding=((1, 1), (0, 2), (1, 0)))", (5, 6, 5, 2)),
    ('Conv3D(4, 3, padding="same", dilation_rate=(1, 2, 1), activation="relu")', (5, 6, 5, 2)),
    ("Conv3D(4, 3, groups=2, use_bias=false)", (5, 6, 5, 2)),
    # transposed: Keras output sizes for "same" and output_padding=None, explicit pads, dilation, groups
    ("Conv1DTranspose(4, 3)", (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2)", (6, 3)),
    ("Conv1DTranspose(4, 2, strides=3)", (6, 3)),
    ('Conv1DTranspose(4, 3, strides=2, padding="same")', (6, 3)),
    ('Conv1DTranspose(4, 4, strides=2, padding="same")', (6, 3)),
    ('Conv1DTranspose(4, 2, strides=3, padding="same")', (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2, output_padding=1)", (6, 3)),
    ('Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1)', (6, 3)),
    ('Conv1DTranspose(4, 4, strides=2, padding="same", output_padding=0)', (6, 3)),
    ("Conv1DTranspose(4, 3, padding=(2, 0))", (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2, padding=(0, 2), output_padding=1)", (6, 3)),
    ("Conv1DTranspose(4, 3, padding=1)", (6, 3)),
    ('Conv1DTranspose(4, 3, dilation_rate=2, padding="same")', (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2, dilation_rate=3, output_padding=2)", (6, 3)),
    ('Conv1DTranspose(6, 3, groups=3, use_bias=false, activation="relu")', (6, 3)),
    ("Conv2DTranspose(4, 2, strides=2)", (4, 5, 3)),
    ('Conv2DTranspose(4, 3, strides=2, padding="same")', (4, 5, 3)),
    ('Conv2DTranspose(4, (3, 4), strides=(2, 3), padding="same")', (4, 5, 3)),
    ("Conv2DTranspose(4, 3, strides=2, padding=((1, 0), (0, 1)), output_padding=(1, 0))", (4, 5, 3)),
    ('Conv2DTranspose(4, 5, strides=2, padding="same", output_padding=1, activation="softmax")', (4, 5, 3)),
    ('Conv3DTranspose(4, 2, strides=2, activation="prelu")', (3, 4, 3, 2)),
    ('Conv3DTranspose(4, 3, strides=(2, 1, 2), padding="same")', (3, 4, 3, 2)),
    # depthwise
    ("DepthwiseConv1D(3)", (9, 3)),
    ('DepthwiseConv1D(3, depth_multiplier=2, strides=2, padding="same")', (9, 3)),
    ('DepthwiseConv1D(3, padding="causal", dilation_rate=2)', (9, 3)),
    ('DepthwiseConv1D(3, padding=(1, 2), use_bias=false, activation="relu")', (9, 3)),
    ("DepthwiseConv2D(3)", (7, 8, 3)),
    ("DepthwiseConv2D(3, strides=2, padding=1, use_bias=false)", (7, 8, 3)),
    ('DepthwiseConv2D(3, depth_multiplier=3, padding="same")', (7, 8, 3)),
    ('DepthwiseConv2D((2, 3), strides=(2, 1), padding="same")', (7, 8, 3)),
    ("DepthwiseConv2D(3, padding=((0, 1), (2, 1)), dilation_rate=(1, 2))", (7, 8, 3)),
    # separable
    ("SeparableConv1D(5, 3)", (9, 3)),
    ('SeparableConv1D(5, 3, padding="causal", depth_multiplier=2)', (9, 3)),
    ('SeparableConv1D(5, 3, strides=2, padding="same", use_bias=false)', (9, 3)),
    ("SeparableConv2D(5, 3)", (7, 8, 3)),
    ('SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")', (7, 8, 3)),
    ("SeparableConv2D(5, (2, 3), padding=((1, 0), (1, 1)), dilation_rate=(1, 2))", (7, 8, 3)),
    ('SeparableConv2D(5, 3, padding=1, activation="prelu")', (7, 8, 3)),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "shape"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_conv_emitter_matches_numpy_runtime(layer: str, shape: tuple[int | None, ...], layout: str) -> None:
    check_layer(layer, shape if layout == "channels_last" else channels_first(shape), layout=layout)


# Sequences of unknown length (the DSL's `(None, None, channels)`: batch, then a run-time length):
# padding computed at run time. The outputs are compared at length 6 (`compare`'s stand-in).
UNKNOWN_LENGTH = [
    'Conv1D(4, 3, strides=2, padding="same")',
    'Conv1D(4, 3, padding="causal", dilation_rate=2)',
    'SeparableConv1D(4, 3, strides=3, padding="same")',
    'Conv1DTranspose(4, 3, strides=2, padding="same")',
    "Conv1DTranspose(4, 3, strides=2, padding=(2, 0))",
    'MaxPooling1D(3, strides=2, padding="same")',
    'AveragePooling1D(2, padding="same")',
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize("layer", UNKNOWN_LENGTH)
def test_unknown_length_matches_numpy_runtime(layer: str, layout: str) -> None:
    shape = (None, None, 3) if layout == "channels_last" else (None, 3, None)
    shaped = snippet_network(f"Conv1D(3, 1)\n{layer}", shape, layout=layout)
    for result in compare(shaped, ["pytorch"]):
        assert result.ok, f"outputs differ by {result.forward:.3g}, after one step by {result.step}"


# Networks where feature maps change layout: inputs moved channels-first once, back for Flatten/Dense
# and the output; branches and merges on channels-first tensors; a conv after a sequence layer.
NETWORKS = [
    ('Conv2D(4, 3, "relu")\nConv2D(5, 3, strides=2, padding="same")\nFlatten()\nDense(3)', (8, 8, 3)),
    (
        'c = Conv2D(4, 3, padding="same")\nd = Conv2D(4, 1)(c)\ne = DepthwiseConv2D(3, padding="same")(c)\nAdd()(d, e)\nGlobalAveragePooling2D()\nDense(2)',
        (6, 7, 3),
    ),
    ("Dense(4)\nConv1D(3, 3)\nConv1DTranspose(2, 3, strides=2)\nFlatten()\nDense(2)", (7, 5)),
    (
        'c = Conv2D(4, 3, padding="same")\nu = Conv2DTranspose(4, 2, strides=2)(c)\nm = MaxPooling2D(2)(u)\nConcatenate()(c, m)\nConv2D(2, 1, "sigmoid")',
        (6, 6, 2),
    ),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layers", "shape"), NETWORKS, ids=[f"network{i}" for i in range(len(NETWORKS))])
def test_conv_networks_match_numpy_runtime(layers: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(layers, shape if layout == "channels_last" else channels_first(shape), layout=layout)


def test_generated_conv_code_reads_as_pytorch() -> None:
    code = generate(analyse_snippet('Conv2D(8, 3, strides=2, padding="same", use_bias=false)', (9, 9, 3)))
    assert "self.conv2d_1 = nn.Conv2d(3, 8, 3, stride=2, bias=False)" in code
    assert "same_pad(input.movedim(-1, 1), (3, 3), (2, 2), (1, 1))" in code
    code = generate(analyse_snippet('Conv2D(8, 3, padding="same", dilation_rate=2)', (9, 9, 3)))
    assert "nn.Conv2d(3, 8, 3, padding='same', dilation=2)" in code
    code = generate(analyse_snippet("SeparableConv2D(8, 3, depth_multiplier=2)", (9, 9, 3)))
    assert "SeparableConv(3, 8, 3, depth_multiplier=2)" in code and "class SeparableConv(nn.Module):" in code


def test_weight_names_are_canonical() -> None:
    from neural.runtime.model import Model
    from neural.targets.pytorch.load import import_network

    shaped = analyse_snippet(
        'SeparableConv2D(8, 3, activation="prelu")\nConv2DTranspose(4, 3, strides=2, padding="same")', (9, 9, 3)
    )
    model = import_network(shaped).build_model()
    assert set(model.state_dict()) == set(Model(shaped).state_dict())


# --------------------------------------------------------------------------------------------
# Example networks
# --------------------------------------------------------------------------------------------

PUBLISHED = {"vgg16": 138_357_544, "resnet18": 11_689_512, "mobilenet_v2": 3_504_872}
EXAMPLE_FILES = ["lenet5", "vgg16", "resnet18", "mobilenet_v2", "unet", "inception"]


def example(name: str, *replacements: tuple[str, str]) -> object:
    text = (EXAMPLES / f"{name}.neural").read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return analyse(loads(text).network())


def needs_families(shaped: object) -> None:
    missing = sorted({layer.node.kind for layer in shaped.layers if not support_status(layer.node.kind)[0]})  # type: ignore[attr-defined]
    if missing:
        pytest.skip(f"no PyTorch emitter yet for {', '.join(missing)} (another family)")


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_full_example_builds_with_exact_parameters_and_shape(name: str) -> None:
    """The example at its real size: parameter count (published where known) and one forward pass, batch 1."""
    from neural.targets.pytorch.load import import_network

    shaped = analyse(loads((EXAMPLES / f"{name}.neural").read_text()).network())
    needs_families(shaped)
    torch.manual_seed(0)
    model = import_network(shaped).build_model().eval()
    params = sum(p.numel() for p in model.parameters())
    assert params == shaped.params
    if name in PUBLISHED:
        assert params == PUBLISHED[name]
    x = torch.randn(1, *shaped.network.inputs[0].shape)
    with torch.no_grad():
        out = model(x)
    assert tuple(out.shape) == (1, *shaped.output_shapes[0])


# Scaled-down copies of the examples (same layers, small inputs) against the NumPy runtime. Batch
# statistics of a batch of 2 over 1x1 maps make a training step ill-conditioned (float32 against
# float64 NumPy already differs), so ResNet keeps 2x2 maps at the end; Adam's first step is about
# sign(gradient), which turns rounding noise in near-zero gradients into full steps, so the U-Net and
# Inception copies step with SGD.
SCALED = {
    "lenet5": (),
    "resnet18": (("(224, 224, 3)", "(48, 48, 3)"),),
    "mobilenet_v2": (("(224, 224, 3)", "(32, 32, 3)"),),
    "unet": (("(128, 128, 1)", "(32, 32, 1)"), ("Adam(learning_rate=1e-3)", "SGD(learning_rate=0.01)")),
    "inception": (("(28, 28, 192)", "(9, 9, 192)"), ("optimizer: Adam", "optimizer: SGD(learning_rate=0.01)")),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCALED))
def test_scaled_example_matches_numpy_runtime(name: str) -> None:
    shaped = example(name, *SCALED[name])
    needs_families(shaped)
    check_generated(shaped)


VGG_32 = """
define ConvStage(filters, convs) {
  Conv2D(filters, 3, "relu", padding="same") * convs
  MaxPooling2D(2)
}
network SmallVGG16 {
  input: (32, 32, 3)
  layers:
    ConvStage(16, 2)
    ConvStage(32, 2)
    ConvStage(64, 3)
    ConvStage(128, 3)
    ConvStage(128, 3)
    Flatten()
    Dense(256, "relu")
    Dropout(0.5)
    Dense(256, "relu")
    Dropout(0.5)
    Dense(10)
  loss: SparseCategoricalCrossentropy(from_logits=true)
  optimizer: SGD(learning_rate=0.01, momentum=0.9, weight_decay=5e-4)
}
"""


@pytest.mark.slow
def test_vgg16_structure_at_32x32_matches_numpy_runtime() -> None:
    """VGG-16's stages (13 same-padded 3x3 convolutions, 5 poolings, 3 dense layers) at a quarter of the widths."""
    check_generated(analyse(loads(VGG_32).network()))


# --------------------------------------------------------------------------------------------
# Generated code with every kind of the conv, pooling and resizing families passes ruff
# --------------------------------------------------------------------------------------------

ALL_KINDS = """
network AllSpatial {
  input { a: (12, 3) b: (12, 12, 3) c: (6, 6, 6, 2) }
  layers:
    a1 = Conv1D(4, 3, padding="causal")(a)
    a2 = SeparableConv1D(4, 3, strides=2, padding="same")(a1)
    a3 = DepthwiseConv1D(3, padding=(1, 2))(a2)
    a4 = Conv1DTranspose(4, 3, strides=2, padding="same")(a3)
    a5 = MaxPooling1D(3, strides=2, padding="same")(a4)
    a6 = AveragePooling1D(2, padding=(0, 1), ceil_mode=true)(a5)
    a7 = UpSampling1D(2, interpolation="linear")(a6)
    a8 = ZeroPadding1D((1, 2))(a7)
    a9 = Cropping1D((2, 1))(a8)
    a10 = AdaptiveMaxPooling1D(3)(a9)
    a11 = AdaptiveAveragePooling1D(2)(a10)
    ga = GlobalMaxPooling1D()(a11)
    gb1 = GlobalAveragePooling1D()(a9)
    b1 = Conv2D(4, 3, strides=2, padding="same", activation="relu")(b)
    b2 = SeparableConv2D(4, 3, padding="same")(b1)
    b3 = DepthwiseConv2D(3, padding=1)(b2)
    b4 = Conv2DTranspose(4, 3, strides=2, padding="same")(b3)
    b5 = MaxPooling2D(2, padding=((0, 1), (1, 0)))(b4)
    b6 = AveragePooling2D(3, strides=2, padding="same")(b5)
    b7 = UpSampling2D(2, interpolation="bilinear")(b6)
    b8 = ZeroPadding2D(1)(b7)
    b9 = Cropping2D(((1, 0), (0, 1)))(b8)
    b10 = AdaptiveMaxPooling2D((2, None))(b9)
    b11 = AdaptiveAveragePooling2D(2)(b10)
    gb = GlobalMaxPooling2D()(b11)
    gb2 = GlobalAveragePooling2D()(b9)
    c1 = Conv3D(4, 3, padding="same")(c)
    c2 = Conv3DTranspose(4, 2, strides=2)(c1)
    c3 = MaxPooling3D(2)(c2)
    c4 = AveragePooling3D(2, padding="same")(c3)
    c5 = UpSampling3D(2)(c4)
    c6 = ZeroPadding3D(1)(c5)
    c7 = Cropping3D(1)(c6)
    c8 = AdaptiveMaxPooling3D(2)(c7)
    c9 = AdaptiveAveragePooling3D(1)(c8)
    gc = GlobalMaxPooling3D(keepdims=true)(c9)
    gc2 = GlobalAveragePooling3D()(c7)
    fc = Flatten()(gc)
    Concatenate()(ga, gb1, gb, gb2, fc, gc2)
    Dense(3)
  loss: "mse"
  optimizer: SGD(learning_rate=0.1)
}
"""


def test_every_spatial_kind_in_one_network_matches_and_passes_ruff(tmp_path: Path) -> None:
    shaped = analyse(loads(ALL_KINDS).network())
    check_generated(shaped)
    path = tmp_path / "model.py"
    path.write_text(format_code(generate(shaped)))
    for args in (["check", "--isolated"], ["format", "--isolated", "--line-length", "120", "--check"]):
        result = subprocess.run([sys.executable, "-m", "ruff", *args, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
