"""JAX emitters of the convolution, pooling and resizing families: exact against the NumPy runtime (forward
and one training step) in both layouts, many cases per compiled network; networks whose feature maps change
layout; generated code passes ruff."""

from __future__ import annotations

import pytest
from jax_helpers import Group, channels_first, check_group, check_layer, groups

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


POOLING = [
    ("MaxPooling1D(2)", (9, 3)),
    ('MaxPooling1D(3, strides=2, padding="same")', (9, 3)),
    ("MaxPooling1D(3, strides=2, padding=1, ceil_mode=true)", (8, 3)),
    ("AveragePooling1D(2, padding=(0, 1), ceil_mode=true)", (8, 3)),
    ("AveragePooling1D(3, strides=2, padding=1, ceil_mode=true, count_include_pad=true)", (8, 3)),
    ("AveragePooling1D(3, strides=2, ceil_mode=true)", (8, 3)),
    ('AveragePooling1D(2, padding="same")', (9, 3)),
    ("GlobalMaxPooling1D()", (9, 3)),
    ("GlobalAveragePooling1D(keepdims=true)", (9, 3)),
    ("AdaptiveAveragePooling1D(4)", (9, 3)),
    ("AdaptiveMaxPooling1D(2)", (9, 3)),
    ("MaxPooling2D(2)", (7, 8, 3)),
    ('MaxPooling2D(3, strides=2, padding="same")', (7, 8, 3)),
    ('MaxPooling2D((2, 3), strides=1, padding="same")', (7, 8, 3)),
    ("MaxPooling2D(2, padding=((0, 1), (1, 0)))", (7, 8, 3)),
    ("MaxPooling2D(3, strides=2, ceil_mode=true)", (7, 8, 3)),
    ("AveragePooling2D(2)", (7, 8, 3)),
    ('AveragePooling2D(3, strides=2, padding="same")', (7, 8, 3)),
    ('AveragePooling2D(3, strides=2, padding="same", count_include_pad=true)', (7, 8, 3)),
    ("AveragePooling2D(3, strides=2, padding=1)", (7, 8, 3)),
    ("AveragePooling2D(3, strides=2, padding=1, count_include_pad=true)", (7, 8, 3)),
    ("AveragePooling2D(2, padding=((1, 0), (0, 1)), ceil_mode=true)", (7, 8, 3)),
    ("GlobalMaxPooling2D()", (7, 8, 3)),
    ("GlobalAveragePooling2D()", (7, 8, 3)),
    ("AdaptiveMaxPooling2D((2, None))", (7, 8, 3)),
    ("AdaptiveAveragePooling2D(3)", (7, 8, 3)),
    ("MaxPooling3D(2)", (5, 6, 5, 2)),
    ('AveragePooling3D(2, padding="same")', (5, 6, 5, 2)),
    ("GlobalMaxPooling3D(keepdims=true)", (5, 6, 5, 2)),
    ("GlobalAveragePooling3D()", (5, 6, 5, 2)),
    ("AdaptiveMaxPooling3D(2)", (5, 6, 5, 2)),
    ("AdaptiveAveragePooling3D((1, 2, 3))", (5, 6, 5, 2)),
]

RESIZING = [
    ("UpSampling1D(2)", (9, 3)),
    ('UpSampling1D(3, interpolation="linear")', (9, 3)),
    ("ZeroPadding1D((1, 2))", (9, 3)),
    ("Cropping1D((2, 1))", (9, 3)),
    ("UpSampling2D(2)", (7, 8, 3)),
    ('UpSampling2D((2, 3), interpolation="bilinear")', (7, 8, 3)),
    ("ZeroPadding2D(((1, 0), (2, 1)))", (7, 8, 3)),
    ("Cropping2D(((1, 0), (0, 2)))", (7, 8, 3)),
    ('UpSampling3D(2, interpolation="trilinear")', (5, 6, 5, 2)),
    ("UpSampling3D((1, 2, 1))", (5, 6, 5, 2)),
    ("ZeroPadding3D(1)", (5, 6, 5, 2)),
    ("Cropping3D(1)", (5, 6, 5, 2)),
]

ALL = CASES + POOLING + RESIZING


def one_per_kind(cases: list[tuple[str, tuple[int, ...]]]) -> list[tuple[str, tuple[int, ...]]]:
    """The first case of every layer kind."""
    seen: set[str] = set()
    found = []
    for layer, shape in cases:
        kind = layer.split("(")[0]
        if kind not in seen:
            seen.add(kind)
            found.append((layer, shape))
    return found


# every case channels-last; channels-first (the same code between two moveaxis, axes counted differently)
# the first case of each kind, plus every padding mode of the 2-D convolution
FIRST = one_per_kind(ALL) + [
    (layer, shape) for layer, shape in CASES if layer.startswith("Conv2D(") and "padding" in layer
]
GROUPS = groups([(layer, [shape]) for layer, shape in ALL], size=20) + groups(
    [(layer, [channels_first(shape)]) for layer, shape in dict.fromkeys(FIRST)], "channels_first", size=20
)


@pytest.mark.parametrize("group", GROUPS, ids=[g.id for g in GROUPS])
def test_spatial_emitters_match_numpy_runtime(group: Group) -> None:
    check_group(group)


# Sequences of unknown length (the DSL's `(None, None, channels)`: batch, then a run-time length): the
# outputs are compared at length 6 (`compare`'s stand-in).
UNKNOWN_LENGTH = [
    'Conv1D(4, 3, strides=2, padding="same")',
    'Conv1D(4, 3, padding="causal", dilation_rate=2)',
    'SeparableConv1D(4, 3, strides=3, padding="same")',
    'DepthwiseConv1D(3, padding="same")',
    'Conv1DTranspose(4, 3, strides=2, padding="same")',
    "Conv1DTranspose(4, 3, strides=2, padding=(2, 0))",
    'MaxPooling1D(3, strides=2, padding="same")',
    'AveragePooling1D(2, padding="same")',
    "UpSampling1D(2)",
    "ZeroPadding1D(1)",
]


def test_unknown_length_matches_numpy_runtime() -> None:
    [group] = groups([(layer, [(None, None, 3)]) for layer in UNKNOWN_LENGTH], size=len(UNKNOWN_LENGTH))
    check_group(group)


@pytest.mark.parametrize("layer", UNKNOWN_LENGTH[:2] + UNKNOWN_LENGTH[4:5])
def test_unknown_length_channels_first_matches_numpy_runtime(layer: str) -> None:
    check_layer(f"{layer}\nGlobalAveragePooling1D()\nDense(2)", (None, 3, None), layout="channels_first")


# Networks where feature maps change layout: inputs moved channels-last once (channels-first networks),
# back for Flatten/Dense and the output; branches and merges; a conv after a sequence layer.
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
