"""TensorFlow emitters of the convolution family: exact against the NumPy runtime (forward and one training
step) in both layouts (a channels-first network moves its feature maps channels last for TensorFlow's CPU
kernels); unknown lengths; networks that change layout; the generated code."""

from __future__ import annotations

import pytest
from tf_helpers import channels_first, check_layer, snippet_network

from neural.compare import compare
from neural.targets.tensorflow.codegen import generate

CASES = [
    # Conv1D: strides, every padding kind, dilation, groups, bias, fused activations
    ("Conv1D(4, 3)", (9, 3)),
    ("Conv1D(4, 3, strides=2)", (9, 3)),
    ('Conv1D(4, 3, padding="same")', (9, 3)),
    ('Conv1D(4, 4, padding="same")', (9, 3)),
    ('Conv1D(4, 4, strides=3, padding="same")', (10, 3)),
    ('Conv1D(4, 3, padding="causal")', (9, 3)),
    ('Conv1D(4, 2, padding="causal", dilation_rate=3)', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="causal")', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="causal", dilation_rate=2)', (9, 3)),  # strides and dilation: Subsample
    ("Conv1D(4, 3, padding=(1, 2))", (9, 3)),
    ("Conv1D(4, 3, strides=2, padding=(2, 0))", (9, 3)),
    ('Conv1D(4, 2, dilation_rate=3, padding="same")', (9, 3)),
    ("Conv1D(6, 3, groups=3)", (9, 3)),
    ('Conv1D(4, 3, use_bias=false, activation="tanh")', (9, 3)),
    ('Conv1D(4, 3, activation="softmax")', (9, 3)),
    ('Conv1D(4, 3, activation="prelu")', (9, 3)),
    # Conv2D
    ("Conv2D(4, (3, 2), strides=(2, 1))", (7, 8, 3)),
    ('Conv2D(4, 3, padding="same", activation="relu")', (7, 8, 3)),
    ('Conv2D(4, (2, 4), padding="same")', (7, 8, 3)),
    ('Conv2D(4, 3, strides=2, padding="same")', (7, 8, 3)),
    ("Conv2D(4, 3, padding=1)", (7, 8, 3)),
    ("Conv2D(4, 3, padding=((1, 2), (0, 1)))", (7, 8, 3)),
    ('Conv2D(4, 3, dilation_rate=(2, 1), padding="same")', (7, 8, 3)),
    ('Conv2D(4, 3, strides=2, dilation_rate=2, padding="same")', (9, 8, 3)),
    ("Conv2D(6, 3, groups=3, use_bias=false)", (7, 8, 3)),
    ('Conv2D(4, 1, activation="log_softmax")', (4, 5, 3)),
    # Conv3D
    ('Conv3D(4, 2, strides=2, padding="same")', (5, 6, 5, 2)),
    ("Conv3D(4, (3, 1, 2), padding=((1, 1), (0, 2), (1, 0)))", (5, 6, 5, 2)),
    ("Conv3D(4, 3, groups=2, use_bias=false)", (5, 6, 5, 2)),
    # transposed: Keras output sizes for "same" and output_padding=None, explicit pads, dilation, groups
    ("Conv1DTranspose(4, 3)", (6, 3)),
    ("Conv1DTranspose(4, 2, strides=3)", (6, 3)),
    ('Conv1DTranspose(4, 3, strides=2, padding="same")', (6, 3)),
    ('Conv1DTranspose(4, 2, strides=3, padding="same")', (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2, output_padding=1)", (6, 3)),
    ('Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1)', (6, 3)),
    ('Conv1DTranspose(4, 4, strides=2, padding="same", output_padding=0)', (6, 3)),  # beyond TF's "same"
    ("Conv1DTranspose(4, 3, padding=(2, 0))", (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2, padding=(0, 2), output_padding=1)", (6, 3)),
    ('Conv1DTranspose(4, 3, dilation_rate=2, padding="same")', (6, 3)),
    ("Conv1DTranspose(4, 3, strides=2, dilation_rate=3, output_padding=2)", (6, 3)),
    ('Conv1DTranspose(6, 3, groups=3, use_bias=false, activation="relu")', (6, 3)),
    ("Conv2DTranspose(4, 2, strides=2)", (4, 5, 3)),
    ('Conv2DTranspose(4, (3, 4), strides=(2, 3), padding="same")', (4, 5, 3)),
    ("Conv2DTranspose(4, 3, strides=2, padding=((1, 0), (0, 1)), output_padding=(1, 0))", (4, 5, 3)),
    ('Conv2DTranspose(4, 5, strides=2, padding="same", output_padding=1, activation="softmax")', (4, 5, 3)),
    ('Conv2DTranspose(6, 3, strides=2, groups=2, padding="same")', (4, 5, 4)),
    ('Conv3DTranspose(4, 2, strides=2, activation="prelu")', (3, 4, 3, 2)),
    ('Conv3DTranspose(4, 3, strides=(2, 1, 2), padding="same", dilation_rate=(1, 2, 1))', (3, 4, 3, 2)),
    # depthwise
    ("DepthwiseConv1D(3)", (9, 3)),
    ('DepthwiseConv1D(3, depth_multiplier=2, strides=2, padding="same")', (9, 3)),
    ('DepthwiseConv1D(3, padding="causal", dilation_rate=2)', (9, 3)),
    ('DepthwiseConv1D(3, padding=(1, 2), use_bias=false, activation="relu")', (9, 3)),
    ("DepthwiseConv2D(3, strides=2, padding=1, use_bias=false)", (7, 8, 3)),
    ('DepthwiseConv2D(3, depth_multiplier=3, padding="same")', (7, 8, 3)),
    ('DepthwiseConv2D((2, 3), strides=(2, 1), padding="same")', (7, 8, 3)),  # unequal strides: Subsample
    ("DepthwiseConv2D(3, padding=((0, 1), (2, 1)), dilation_rate=(1, 2))", (7, 8, 3)),
    # separable
    ("SeparableConv1D(5, 3)", (9, 3)),
    ('SeparableConv1D(5, 3, padding="causal", depth_multiplier=2)', (9, 3)),
    ('SeparableConv1D(5, 3, strides=2, padding="same", use_bias=false)', (9, 3)),
    ('SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")', (7, 8, 3)),
    ("SeparableConv2D(5, (2, 3), padding=((1, 0), (1, 1)), dilation_rate=(1, 2))", (7, 8, 3)),
    ('SeparableConv2D(5, 3, strides=(1, 2), padding=1, activation="prelu")', (7, 8, 3)),
]

LAYOUTS = [(layer, shape, "channels_last") for layer, shape in CASES] + [
    (layer, channels_first(shape), "channels_first") for layer, shape in CASES[::3]
]


@pytest.mark.parametrize(("layer", "shape", "layout"), LAYOUTS, ids=[f"{c[0]} {c[2]}" for c in LAYOUTS])
def test_conv_emitter_matches_numpy_runtime(layer: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(layer, shape, layout=layout)


# Sequences of unknown length: "same" padding computed at run time (compared at length 6).
UNKNOWN_LENGTH = [
    'Conv1D(4, 3, strides=2, padding="same", dilation_rate=2)',
    'SeparableConv1D(4, 3, strides=3, padding="same")',
    "Conv1DTranspose(4, 3, strides=2, padding=(2, 0))",
    'Conv1DTranspose(4, 3, strides=2, padding="same", groups=2)',
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize("layer", UNKNOWN_LENGTH)
def test_unknown_length_matches_numpy_runtime(layer: str, layout: str) -> None:
    shape = (None, None, 4) if layout == "channels_last" else (None, 4, None)
    shaped = snippet_network(f"Conv1D(4, 1)\n{layer}", shape, layout=layout)
    for result in compare(shaped, ["tensorflow"]):
        assert result.ok, f"outputs differ by {result.forward:.3g}, after one step by {result.step}"


# Networks where feature maps change layout: moved channels last once, back for Flatten/Dense and the
# output; branches and merges; a conv after a sequence layer.
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


def test_generated_conv_code_reads_as_keras() -> None:
    code = generate(snippet_network('Conv2D(8, 3, strides=2, padding="same", use_bias=false)', (9, 9, 3)))
    assert "layers.Conv2D(8, 3, strides=2, padding='same', use_bias=False, name='conv2d_1')" in code
    assert "keras.Sequential(" in code
    code = generate(snippet_network("Conv2D(8, 3, padding=((1, 2), (0, 1)))", (9, 9, 3)))
    assert "layers.ZeroPadding2D(((1, 2), (0, 1)), name='conv2d_1_pad')" in code
    code = generate(snippet_network('Conv2D(8, 3, strides=2, dilation_rate=2, padding="same")', (9, 9, 3)))
    assert (
        "layers.Conv2D(8, 3, dilation_rate=2, name='conv2d_1')" in code
        and "Subsample((2, 2), name='conv2d_1_stride')" in code
    )
    code = generate(snippet_network("Conv2DTranspose(6, 3, groups=2)", (5, 5, 4)))
    assert (
        "class ConvTranspose(layers.Layer):" in code
        and "'conv2d_transpose_1.weight': ('conv2d_transpose_1', 'weight'" in code
    )


def test_channels_first_network_moves_feature_maps_once() -> None:
    code = generate(
        snippet_network("Conv2D(4, 3)\nReLU()\nConv2D(4, 3)\nFlatten()\nDense(2)", (3, 8, 8), layout="channels_first")
    )
    body = code[code.index("def build_model") : code.index("WEIGHTS = ")]
    assert body.count("layers.Permute((2, 3, 1)") == 1 and body.count("layers.Permute((3, 1, 2)") == 1
