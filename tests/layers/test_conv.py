"""Convolution specs: exact shapes, parameters and MACs; agreement with PyTorch (and Keras for "same" rules)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from neural.errors import InvalidValueError, NameResolutionError, NeuralError, ShapeError
from neural.layers.base import Shape
from neural.layers.conv import conv_length, conv_transpose_length, same_padding
from neural.layers.registry import lookup
from neural.shapes.engine import NodeShape
from neural.testing import analyse_snippet, layer_info


def info(layer: str, shape: Shape, layout: str = "channels_last") -> NodeShape:
    # A leading None in a declared input shape is read as the batch axis, so declare it explicitly
    # when the first sample dimension is unknown.
    declared = (None, *shape) if shape and shape[0] is None else shape
    return layer_info(layer, declared, layout=layout)


# --------------------------------------------------------------------------------------------
# Exact numbers, computed by hand
# --------------------------------------------------------------------------------------------

CASES = [
    # (layer, input, layout, output, params, macs)
    # 3x3 on 28x28x1: 26x26; params 32*1*9 + 32; MACs 9*1*32 per position * 676 positions
    ('Conv2D(32, (3, 3), "relu")', (28, 28, 1), "channels_last", (26, 26, 32), 320, 194_688),
    # same, stride 2: ceil(28/2) = 14; params 32*3*9 + 32 = 896; MACs 27*32*196
    ('Conv2D(32, 3, strides=2, padding="same")', (28, 28, 3), "channels_last", (14, 14, 32), 896, 169_344),
    # same, stride 2 on odd size: ceil(7/2) = 4; params 64*16*9 + 64; MACs 144*64*16
    ("Conv2D(64, 3, strides=2, padding=same)", (7, 7, 16), "channels_last", (4, 4, 64), 9_280, 147_456),
    # per-axis kernel and stride: h = (10-3)//2 + 1 = 4, w = 12-5+1 = 8; params 8*4*15 + 8; MACs 15*4*8*32
    ("Conv2D(8, (3, 5), strides=(2, 1))", (10, 12, 4), "channels_last", (4, 8, 8), 488, 15_360),
    # dilation 2: effective kernel 5, 9-5+1 = 5; params 4*2*9 + 4; MACs 9*2*4*25
    ("Conv2D(4, 3, dilation_rate=2)", (9, 9, 2), "channels_last", (5, 5, 4), 76, 1_800),
    # groups 2: weight (8, 2, 3, 3), no bias; MACs 9*(4/2)*8*16
    ("Conv2D(8, 3, groups=2, use_bias=false)", (6, 6, 4), "channels_last", (4, 4, 8), 144, 2_304),
    # explicit pairs: h = 5+1+2-3+1 = 6, w = 5+0+1-3+1 = 4; params 6*3*9 + 6; MACs 27*6*24
    ("Conv2D(6, 3, padding=((1, 2), (0, 1)))", (5, 5, 3), "channels_last", (6, 4, 6), 168, 3_888),
    # padding=1 (torch style): 5+2-3+1 = 5; MACs 27*6*25
    ("Conv2D(6, 3, padding=1)", (5, 5, 3), "channels_last", (5, 5, 6), 168, 4_050),
    # padding=(1, 0): symmetric per axis: h = 7, w = 3
    ("Conv2D(2, 3, padding=(1, 0))", (5, 5, 1), "channels_last", (5, 3, 2), 20, 9 * 2 * 15),
    # channels_first: (3, 9, 9) -> (8, 4, 4); params 8*27 + 8; MACs 27*8*16
    ("Conv2D(8, 3, strides=2)", (3, 9, 9), "channels_first", (8, 4, 4), 224, 3_456),
    # torch spellings: out_channels, stride, dilation, bias
    ("Conv2D(out_channels=8, kernel_size=3, stride=2, bias=false)", (3, 9, 9), "channels_first", (8, 4, 4), 216, 3_456),
    # unknown spatial dims stay unknown; MACs unknown
    ("Conv2D(8, 3)", (3, None, None), "channels_first", (8, None, None), 224, None),
    # fused PReLU adds one slope parameter: 4*9 + 4 + 1
    ('Conv2D(4, 3, "prelu")', (5, 5, 1), "channels_last", (3, 3, 4), 41, 9 * 4 * 9),
    # Conv1D: 100-5+1 = 96; params 16*8*5 + 16; MACs 5*8*16*96
    ("Conv1D(16, 5)", (100, 8), "channels_last", (96, 16), 656, 61_440),
    # causal with dilation keeps the length (None stays None)
    ('Conv1D(8, 3, padding="causal", dilation_rate=2)', (None, 4), "channels_last", (None, 8), 104, None),
    # causal with stride 2: ceil(10/2) = 5; MACs 3*4*8*5
    ('Conv1D(8, 3, strides=2, padding="causal")', (10, 4), "channels_last", (5, 8), 104, 480),
    # 1-D (before, after) pair: 10+2+0-3+1 = 10
    ("Conv1D(8, 3, padding=(2, 0))", (10, 4), "channels_last", (10, 8), 104, 960),
    ("Conv1D(8, 3, padding=1)", (4, 10), "channels_first", (8, 10), 104, 960),
    # Conv3D: 8-3+1 = 6 per axis; params 4*2*27 + 4; MACs 27*2*4*216
    ("Conv3D(4, 3)", (8, 8, 8, 2), "channels_last", (6, 6, 6, 4), 220, 46_656),
    # (1, 3, 3) kernel, strides (1, 2, 2), same: (4, 5, 5); params 4*2*9 + 4; MACs 9*2*4*100
    ('Conv3D(4, (1, 3, 3), strides=(1, 2, 2), padding="same")', (4, 9, 9, 2), "channels_last", (4, 5, 5, 4), 76, 7_200),
    ("Conv3D(4, 3, groups=2)", (2, 5, 5, 5), "channels_first", (4, 3, 3, 3), 4 * 1 * 27 + 4, 27 * 1 * 4 * 27),
    # --- transposed: MACs = k-volume * in * out/groups * input positions ---
    # same, stride 2: 7*2 = 14; weight (8, 16, 3, 3) + 16; MACs 9*8*16*49
    ('Conv2DTranspose(16, 3, strides=2, padding="same")', (7, 7, 8), "channels_last", (14, 14, 16), 1_168, 56_448),
    # valid: (7-1)*2 + 3 = 15
    ("Conv2DTranspose(16, 3, strides=2)", (7, 7, 8), "channels_last", (15, 15, 16), 1_168, 56_448),
    # valid, kernel 2 < stride 3 (Keras): (5-1)*3 + max(2, 3) = 15; weight (2, 4, 2, 2) + 4
    ("Conv2DTranspose(4, 2, strides=3)", (5, 5, 2), "channels_last", (15, 15, 4), 36, 4 * 2 * 4 * 25),
    # ... and with output_padding=0 given (torch default): (5-1)*3 + 2 = 14
    ("Conv2DTranspose(4, 2, strides=3, output_padding=0)", (5, 5, 2), "channels_last", (14, 14, 4), 36, 4 * 2 * 4 * 25),
    # same with output_padding (Keras): (7-1)*2 + 3%2 + op
    (
        'Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=0)',
        (7, 7, 2),
        "channels_last",
        (13, 13, 4),
        76,
        9 * 2 * 4 * 49,
    ),
    (
        'Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)',
        (7, 7, 2),
        "channels_last",
        (14, 14, 4),
        76,
        9 * 2 * 4 * 49,
    ),
    # even kernel: (7-1)*2 + 4%2 + 1 = 13
    (
        'Conv2DTranspose(4, 4, strides=2, padding="same", output_padding=1)',
        (7, 7, 2),
        "channels_last",
        (13, 13, 4),
        132,
        16 * 2 * 4 * 49,
    ),
    # explicit (DCGAN): (8-1)*2 + 4 - 1 - 1 = 16; weight (3, 4, 4, 4) + 4; MACs 16*3*4*64
    ("Conv2DTranspose(4, 4, strides=2, padding=1)", (8, 8, 3), "channels_last", (16, 16, 4), 196, 12_288),
    # explicit pairs with output_padding: h = 2*4 + 3 + 1 - 0 - 2 = 10, w = 8 + 3 + 1 - 0 - 0 = 12
    (
        "Conv2DTranspose(4, 3, strides=2, padding=((0, 2), (0, 0)), output_padding=1)",
        (5, 5, 3),
        "channels_last",
        (10, 12, 4),
        112,
        9 * 3 * 4 * 25,
    ),
    # groups: weight (4, 8/2, 3, 3) + 8; 5+3-1 = 7; MACs 9*4*4*25
    ("Conv2DTranspose(8, 3, groups=2)", (5, 5, 4), "channels_last", (7, 7, 8), 152, 3_600),
    # dilation: 9 + 5 = 14; weight (3, 2, 3) + 2; MACs 3*3*2*10
    ("Conv1DTranspose(2, 3, dilation_rate=2)", (10, 3), "channels_last", (14, 2), 20, 180),
    ("Conv1DTranspose(2, 3, strides=2, padding=same)", (None, 3), "channels_last", (None, 2), 20, None),
    # 3-D: 4*2 = 8 per axis; weight (3, 2, 2, 2, 2) + 2; MACs 8*3*2*64
    ("Conv3DTranspose(2, 2, strides=2)", (4, 4, 4, 3), "channels_last", (8, 8, 8, 2), 50, 3_072),
    (
        'Conv2DTranspose(4, 3, strides=2, padding="same")',
        (8, 5, 6),
        "channels_first",
        (4, 10, 12),
        8 * 4 * 9 + 4,
        9 * 8 * 4 * 30,
    ),
    # --- depthwise: weight (in*dm, 1, *k), bias (in*dm); MACs k-volume * in*dm * output positions ---
    ("DepthwiseConv2D(3)", (7, 7, 8), "channels_last", (5, 5, 8), 80, 1_800),
    (
        'DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, use_bias=false)',
        (8, 8, 4),
        "channels_last",
        (4, 4, 8),
        72,
        1_152,
    ),
    ('DepthwiseConv2D(3, "relu", padding=1)', (4, 6, 6), "channels_first", (4, 6, 6), 40, 9 * 4 * 36),
    ('DepthwiseConv1D(5, padding="causal")', (20, 6), "channels_last", (20, 6), 36, 600),
    # --- separable: depthwise (in*dm, 1, *k), pointwise (filters, in*dm, 1..), pointwise bias ---
    # 72 + 128 + 16; MACs 9*8*25 + 8*16*25
    ("SeparableConv2D(16, 3)", (7, 7, 8), "channels_last", (5, 5, 16), 216, 5_000),
    # dm 2: 6*9 + 32*6 + 32; MACs 9*6*100 + 6*32*100
    (
        'SeparableConv2D(32, 3, padding="same", depth_multiplier=2)',
        (10, 10, 3),
        "channels_last",
        (10, 10, 32),
        278,
        24_600,
    ),
    # (11-3)//2 + 1 = 5; 4*3 + 8*4 + 8; MACs 3*4*5 + 4*8*5
    ("SeparableConv1D(8, 3, strides=2)", (11, 4), "channels_last", (5, 8), 52, 220),
    (
        'SeparableConv1D(8, 3, "relu", use_bias=false, dilation_rate=2)',
        (4, 9),
        "channels_first",
        (8, 5),
        44,
        3 * 4 * 5 + 4 * 8 * 5,
    ),
]


@pytest.mark.parametrize(("layer", "shape", "layout", "out", "params", "macs"), CASES)
def test_exact(layer: str, shape: Shape, layout: str, out: Shape, params: int, macs: int | None) -> None:
    node = info(layer, shape, layout)
    assert node.output_shape == out
    assert node.params == params
    assert node.state == 0
    assert node.macs == macs


def test_weight_names_and_layouts() -> None:
    conv = info("Conv2D(8, (3, 5), groups=2)", (9, 9, 4))
    assert {k: w.shape for k, w in conv.weights.items()} == {"weight": (8, 2, 3, 5), "bias": (8,)}
    tconv = info("Conv2DTranspose(6, (2, 3), groups=3)", (4, 4, 9))
    assert {k: w.shape for k, w in tconv.weights.items()} == {"weight": (9, 2, 2, 3), "bias": (6,)}
    sep = info("SeparableConv1D(8, 3, depth_multiplier=3)", (11, 4))
    assert {k: w.shape for k, w in sep.weights.items()} == {
        "depthwise.weight": (12, 1, 3),
        "pointwise.weight": (8, 12, 1),
        "pointwise.bias": (8,),
    }
    dw = info("DepthwiseConv2D((3, 1), depth_multiplier=2)", (5, 5, 3))
    assert {k: w.shape for k, w in dw.weights.items()} == {"weight": (6, 1, 3, 1), "bias": (6,)}
    prelu = info('Conv1D(2, 1, "prelu", use_bias=false)', (5, 3))
    assert {k: w.shape for k, w in prelu.weights.items()} == {"weight": (2, 3, 1), "activation.weight": (1,)}


def test_config_is_normalized() -> None:
    cfg = info('Conv2D(32, 3, "relu")', (8, 8, 1)).node.config
    assert cfg.kernel_size == (3, 3)
    assert cfg.strides == (1, 1)
    assert cfg.dilation_rate == (1, 1)
    assert cfg.padding == "valid"
    assert cfg.activation == "relu"
    assert info("Conv2D(4, 3, padding=SAME)", (8, 8, 1)).node.config.padding == "same"
    assert info("Conv2D(4, 3, padding=(1, 2))", (8, 8, 1)).node.config.padding == ((1, 1), (2, 2))
    assert info("Conv1D(4, 3, padding=(1, 2))", (8, 1)).node.config.padding == ((1, 2),)
    assert info("Conv1D(4, 3, padding=1)", (8, 1)).node.config.padding == ((1, 1),)
    assert info("Conv2DTranspose(4, 3)", (8, 8, 1)).node.config.output_padding is None
    assert info("Conv2DTranspose(4, 3, strides=2, output_padding=1)", (8, 8, 1)).node.config.output_padding == (1, 1)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Conv2d", "Conv2D"),
        ("Convolution2D", "Conv2D"),
        ("Conv1d", "Conv1D"),
        ("conv3d", "Conv3D"),
        ("ConvTranspose2d", "Conv2DTranspose"),
        ("ConvTranspose1D", "Conv1DTranspose"),
        ("Deconv3D", "Conv3DTranspose"),
        ("SeparableConvolution2D", "SeparableConv2D"),
        ("DepthwiseConv2D", "DepthwiseConv2D"),
    ],
)
def test_aliases(name: str, kind: str) -> None:
    spec = lookup(name)
    assert spec is not None and spec.kind == kind
    assert spec.family == "conv"


def test_shared_axis_rules() -> None:
    # valid, same (TensorFlow ceil), causal, explicit; None stays None; too small -> <= 0
    assert conv_length(10, 3, 1, 1, "valid") == 8
    assert conv_length(10, 3, 3, 1, "same") == 4
    assert conv_length(10, 3, 3, 2, "causal") == 4
    assert conv_length(10, 3, 2, 1, (1, 0)) == 5
    assert conv_length(None, 3, 2, 1, "valid") is None
    assert conv_length(2, 3, 1, 1, "valid") == 0
    assert conv_length(4, 3, 2, 2, "valid") is not None and conv_length(4, 3, 2, 2, "valid") <= 0  # type: ignore[operator]
    assert conv_transpose_length(7, 3, 2, 1, "same", None) == 14
    assert conv_transpose_length(7, 3, 2, 1, "valid", None) == 15
    assert conv_transpose_length(None, 3, 2, 1, "valid", None) is None
    # TensorFlow "same" pads: total = (ceil(n/s) - 1) * s + k - n, smaller half first
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(8, 3, 2) == (0, 1)
    assert same_padding(8, 4, 1) == (1, 2)
    assert same_padding(5, 1, 3) == (0, 0)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

ERRORS = [
    ("Conv2D(8, 3)", (28, 28), ShapeError, "expects input of rank 3 (height, width, channels), received (28, 28)"),
    ("Conv2D(8, 3)", (1, 28, 28, 1), ShapeError, "rank 3"),
    ("Conv1D(8, 3)", (28, 28, 1), ShapeError, "rank 2 (steps, channels)"),
    ("Conv3D(8, 3)", (28, 28, 1), ShapeError, "rank 4 (depth, height, width, channels)"),
    ("Conv2D(8, 5)", (3, 3, 1), ShapeError, "at least as large as the kernel (5, 5), received (3, 3, 1)"),
    ("Conv2D(8, 3, dilation_rate=3)", (6, 6, 1), ShapeError, "dilated kernel (7, 7)"),
    ("Conv2D(8, 5, padding=1)", (2, 9, 1), ShapeError, "plus padding ((1, 1), (1, 1))"),
    ("Conv1D(8, 4)", (3, 2), ShapeError, "(steps,) at least as large as the kernel (4,)"),
    ("DepthwiseConv2D(5)", (4, 9, 1), ShapeError, "kernel (5, 5)"),
    ("SeparableConv1D(4, 5)", (4, 3), ShapeError, "kernel (5,)"),
    ("Conv1D(8, 3)", (None, None), ShapeError, "a known number of channels"),
    ("Conv2D(8, 3, groups=4)", (6, 6, 6), ShapeError, "input channels divisible by groups=4, received (6, 6, 6)"),
    ("Conv2DTranspose(8, 3, groups=4)", (6, 6, 6), ShapeError, "divisible by groups=4"),
    ('Conv2DTranspose(4, 4, padding="same", output_padding=0)', (1, 1, 1), ShapeError, "positive output size"),
    ("Conv2DTranspose(4, 3, padding=2)", (1, 1, 1), ShapeError, "output would be (-1, -1)"),
    ("Conv2D(8, 3, groups=3)", (6, 6, 6), InvalidValueError, "`groups` must divide filters=8; received 3"),
    ("Conv2DTranspose(8, 3, groups=3)", (6, 6, 6), InvalidValueError, "must divide filters=8"),
    (
        'Conv2D(8, 3, padding="causal")',
        (6, 6, 1),
        InvalidValueError,
        '`Conv2D` argument `padding` expects "valid", "same"',
    ),
    ('Conv2DTranspose(8, 3, padding="causal")', (6, 6, 1), InvalidValueError, "argument `padding`"),
    ('Conv2D(8, 3, padding="sme")', (6, 6, 1), InvalidValueError, "argument `padding`"),
    ("Conv2D(8, 3, padding=-1)", (6, 6, 1), InvalidValueError, "argument `padding`"),
    ("Conv2D(8, 3, padding=(1, 2, 3))", (6, 6, 1), InvalidValueError, "argument `padding`"),
    ("Conv1D(8, 3, padding=(1, 2, 3))", (6, 1), InvalidValueError, "(before, after) pair"),
    ("Conv2D(8, 0)", (6, 6, 1), InvalidValueError, "`kernel_size` expects a positive integer"),
    ("Conv2D(8, (3, 3, 3))", (6, 6, 1), InvalidValueError, "`kernel_size` expects"),
    ("Conv2D(0, 3)", (6, 6, 1), InvalidValueError, "`filters` expects a positive integer"),
    ("Conv2D(8, 3, strides=0)", (6, 6, 1), InvalidValueError, "`strides`"),
    ('Conv2D(8, 3, "rellu")', (6, 6, 1), InvalidValueError, "`activation`"),
    ("Conv2D(8)", (6, 6, 1), InvalidValueError, "needs the argument `kernel_size`"),
    ("Conv2D(8, 3, strides=2, filtrs=3)", (6, 6, 1), NameResolutionError, "has no argument `filtrs`"),
    ("DepthwiseConv2D(3, groups=2)", (6, 6, 1), NameResolutionError, "has no argument `groups`"),
    (
        "Conv2DTranspose(4, 3, strides=2, output_padding=2)",
        (6, 6, 1),
        InvalidValueError,
        "smaller than the stride or the dilation",
    ),
    ("Conv2DTranspose(4, 3, output_padding=1)", (6, 6, 1), InvalidValueError, "`output_padding`"),
    ("Conv2DTranspose(4, 3, output_padding=-1)", (6, 6, 1), InvalidValueError, "non-negative"),
    ("DepthwiseConv2D(3, depth_multiplier=0)", (6, 6, 1), InvalidValueError, "`depth_multiplier`"),
]


@pytest.mark.parametrize(("layer", "shape", "error", "fragment"), ERRORS)
def test_errors(layer: str, shape: Shape, error: type[NeuralError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        info(layer, shape)
    assert fragment in caught.value.message


def test_shape_error_names_layer_kind() -> None:
    with pytest.raises(ShapeError) as caught:
        info("Conv2D(8, 5)", (3, 3, 1))
    assert caught.value.message.startswith("Conv2D expects spatial dims (height, width)")
    with pytest.raises(ShapeError) as caught:
        info("Conv2D(8, 3)", (28, 28), "channels_first")
    assert "(channels, height, width)" in caught.value.message


def test_output_padding_below_dilation_is_allowed() -> None:
    # torch allows output_padding < max(stride, dilation): (4-1)*1 + 5 + 1 = 9
    assert info("Conv1DTranspose(2, 3, dilation_rate=2, output_padding=1)", (4, 3)).output_shape == (9, 2)


# --------------------------------------------------------------------------------------------
# Agreement with PyTorch (shapes, trainable parameters and their names/layouts)
# --------------------------------------------------------------------------------------------


def _same_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    # TensorFlow "same": total = max((ceil(n/s) - 1) * s + d*(k-1) + 1 - n, 0), smaller half before
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _flat_pads(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """(before, after) per spatial axis, first axis first -> F.pad order (last axis first)."""
    flat: list[int] = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


def _forward_pads(cfg: Mapping[str, Any], spatial: Sequence[int]) -> list[tuple[int, int]]:
    pairs = []
    for i, n in enumerate(spatial):
        k, s, d = cfg["kernel_size"][i], cfg["strides"][i], cfg["dilation_rate"][i]
        if cfg["padding"] == "valid":
            pairs.append((0, 0))
        elif cfg["padding"] == "same":
            pairs.append(_same_pads(n, k, s, d))
        elif cfg["padding"] == "causal":
            pairs.append((d * (k - 1), 0))
        else:
            pairs.append(cfg["padding"][i])
    return pairs


def _transpose_crops(cfg: Mapping[str, Any], i: int) -> tuple[int, int]:
    """What to cut (negative: add) at each end of torch's padding-free transposed output along axis i.

    Keras's own rule (backend_utils): valid keeps everything and adds output_padding (default
    max(k_eff, s) - k_eff) at the end; same pads the dilated input by pad_len =
    s + k_eff - 2 (no output_padding) or k_eff + k_eff % 2 - 2 + op, left half rounded up.
    """
    k, s, d = cfg["kernel_size"][i], cfg["strides"][i], cfg["dilation_rate"][i]
    op = None if cfg["output_padding"] is None else cfg["output_padding"][i]
    k_eff = d * (k - 1) + 1
    if cfg["padding"] == "valid":
        return 0, -(max(k_eff, s) - k_eff if op is None else op)
    if cfg["padding"] == "same":
        pad_len = s + k_eff - 2 if op is None else k_eff + k_eff % 2 - 2 + op
        left = min(pad_len // 2 + pad_len % 2, k_eff - 1)
        right = pad_len - left
        return k_eff - 1 - left, k_eff - 1 - right
    before, after = cfg["padding"][i]
    return before, after - (op or 0)


def _torch_run(
    kind: str, cfg: Mapping[str, Any], cf_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], dict[str, tuple[int, ...]]]:
    """Run the PyTorch equivalent on a random (1, C, *spatial) tensor: (output shape without batch, param shapes)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    channels, spatial = cf_shape[0], cf_shape[1:]
    rank = len(spatial)
    x = torch.randn(1, *cf_shape)
    conv = getattr(torch.nn, f"Conv{rank}d")
    module = torch.nn.Module()
    common = {"stride": cfg["strides"], "dilation": cfg["dilation_rate"]}
    if "Transpose" in kind:
        module.conv = getattr(torch.nn, f"ConvTranspose{rank}d")(
            channels, cfg["filters"], cfg["kernel_size"], groups=cfg["groups"], bias=cfg["use_bias"], **common
        )
        y = module.conv(x)
        crops = [_transpose_crops(cfg, i) for i in range(rank)]
        y = F.pad(y, [-c for c in _flat_pads(crops)])
    else:
        x = F.pad(x, _flat_pads(_forward_pads(cfg, spatial)))
        if kind.startswith("Conv"):
            module.conv = conv(
                channels, cfg["filters"], cfg["kernel_size"], groups=cfg["groups"], bias=cfg["use_bias"], **common
            )
            y = module.conv(x)
        else:
            inner = channels * cfg["depth_multiplier"]
            separable = kind.startswith("Separable")
            depthwise = conv(
                channels, inner, cfg["kernel_size"], groups=channels, bias=cfg["use_bias"] and not separable, **common
            )
            y = depthwise(x)
            if separable:
                module.depthwise = depthwise
                module.pointwise = conv(inner, cfg["filters"], 1, bias=cfg["use_bias"])
                y = module.pointwise(y)
            else:
                module.conv = depthwise
    names = {name.removeprefix("conv."): tuple(p.shape) for name, p in module.named_parameters()}
    return tuple(y.shape[1:]), names


def _expected_macs(kind: str, cfg: Mapping[str, Any], cf_in: Shape, cf_out: Sequence[int]) -> int:
    """MACs from first principles on torch's shapes: a forward conv costs k-volume * in/groups per
    output element, a transposed conv k-volume * out/groups per input element, a depthwise conv
    k-volume per output element, and a separable conv adds in*dm per pointwise output element."""
    k_vol = math.prod(cfg["kernel_size"])
    channels = cf_in[0]
    assert channels is not None
    if "Transpose" in kind:
        return (
            k_vol * (cfg["filters"] // cfg["groups"]) * math.prod(d for d in cf_in if d is not None)
        )  # in * positions
    if kind.startswith("Conv"):
        return k_vol * (channels // cfg["groups"]) * math.prod(cf_out)
    inner = channels * cfg["depth_multiplier"]
    positions = math.prod(cf_out[1:])
    return k_vol * inner * positions + (inner * cfg["filters"] * positions if kind.startswith("Separable") else 0)


def _check_against_torch(layer: str, cf_shape: tuple[int, ...], layout: str) -> None:
    shape = cf_shape if layout == "channels_first" else (*cf_shape[1:], cf_shape[0])
    node = info(layer, shape, layout)
    out = node.output_shape
    predicted = out if layout == "channels_first" else (out[-1], *out[:-1])
    got, names = _torch_run(node.node.kind, node.node.config, cf_shape)
    assert predicted == got, f"{layer} on {shape}: predicted {out}, torch gives {got} (channels first)"
    assert {k: w.shape for k, w in node.weights.items()} == names
    assert node.params == sum(math.prod(s) for s in names.values())
    assert node.macs == _expected_macs(node.node.kind, node.node.config, cf_shape, got)


TORCH_CASES = [
    # (layer, channels-first input shape)
    ("Conv2D(8, 3)", (3, 12, 12)),
    ("Conv2D(8, 3, strides=2)", (3, 12, 13)),
    ("Conv2D(8, 3, strides=2, padding=same)", (3, 12, 13)),
    ("Conv2D(8, 4, strides=3, padding=same)", (3, 11, 10)),
    ("Conv2D(8, (1, 4), strides=(2, 3), padding=same, dilation_rate=(1, 2))", (3, 11, 10)),
    ("Conv2D(8, 3, dilation_rate=(2, 3))", (3, 12, 13)),
    ("Conv2D(8, 3, padding=((1, 0), (2, 3)), strides=2)", (3, 9, 9)),
    ("Conv2D(8, 5, padding=2, strides=(1, 2))", (3, 9, 9)),
    ("Conv2D(12, 3, groups=3, use_bias=false)", (6, 7, 7)),
    ("Conv2D(6, 1, groups=6)", (6, 7, 7)),
    ("Conv2D(8, 7, strides=2, padding=3, use_bias=false)", (3, 32, 32)),
    ("Conv1D(8, 3)", (4, 20)),
    ("Conv1D(8, 3, strides=3, padding=same)", (4, 20)),
    ("Conv1D(8, 4, padding=causal, dilation_rate=3)", (4, 20)),
    ("Conv1D(8, 4, strides=2, padding=causal)", (4, 21)),
    ("Conv1D(8, 4, padding=(3, 1), groups=2)", (4, 21)),
    ("Conv3D(4, 3)", (2, 6, 7, 8)),
    ("Conv3D(4, (3, 1, 2), strides=(1, 2, 3), padding=same)", (2, 6, 7, 8)),
    ("Conv3D(4, 3, padding=1, groups=2, dilation_rate=(1, 2, 1))", (2, 6, 7, 8)),
    ("Conv1DTranspose(4, 3)", (2, 9)),
    ("Conv1DTranspose(4, 3, strides=2, padding=same)", (2, 9)),
    ("Conv1DTranspose(4, 2, strides=3)", (2, 9)),
    ("Conv1DTranspose(4, 3, strides=2, padding=1, output_padding=1)", (2, 9)),
    ("Conv1DTranspose(4, 3, dilation_rate=2, groups=2)", (2, 9)),
    ("Conv2DTranspose(8, 3, strides=2, padding=same)", (4, 7, 8)),
    ("Conv2DTranspose(8, 4, strides=2, padding=same)", (4, 7, 8)),
    ("Conv2DTranspose(8, 5, strides=(2, 3), padding=same, output_padding=(1, 2))", (4, 7, 8)),
    ("Conv2DTranspose(8, 4, strides=2, padding=1, use_bias=false)", (4, 7, 8)),
    ("Conv2DTranspose(8, 3, padding=((0, 1), (2, 0)))", (4, 7, 8)),
    ("Conv2DTranspose(6, 3, strides=2, groups=2)", (4, 5, 5)),
    ("Conv3DTranspose(2, 2, strides=2)", (3, 4, 4, 4)),
    ("Conv3DTranspose(2, 3, strides=(1, 2, 2), padding=same)", (3, 4, 5, 3)),
    ("DepthwiseConv2D(3)", (4, 9, 9)),
    ("DepthwiseConv2D(3, strides=2, padding=same, depth_multiplier=3)", (4, 9, 8)),
    ("DepthwiseConv2D((3, 5), dilation_rate=2, use_bias=false)", (2, 12, 12)),
    ("DepthwiseConv1D(5, padding=causal, depth_multiplier=2)", (3, 11)),
    ("DepthwiseConv1D(3, strides=2, padding=same)", (3, 11)),
    ("SeparableConv2D(8, 3)", (4, 9, 9)),
    ("SeparableConv2D(8, 3, strides=2, padding=same, depth_multiplier=2)", (4, 9, 8)),
    ("SeparableConv2D(8, 3, padding=1, use_bias=false)", (4, 9, 8)),
    ("SeparableConv1D(5, 3, dilation_rate=2, padding=causal)", (4, 13)),
    ("SeparableConv1D(5, 4, strides=3, padding=same, depth_multiplier=2)", (4, 13)),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "cf_shape"), TORCH_CASES)
def test_matches_torch(layer: str, cf_shape: tuple[int, ...], layout: str) -> None:
    _check_against_torch(layer, cf_shape, layout)


def _torch_conv1d_length(n: int, k: int, s: int, d: int, pads: tuple[int, int]) -> int:
    torch = pytest.importorskip("torch")
    x = torch.nn.functional.pad(torch.zeros(1, 1, n), list(pads))
    return int(torch.nn.functional.conv1d(x, torch.zeros(1, 1, k), stride=s, dilation=d).shape[-1])


def _torch_conv_transpose1d_length(n: int, k: int, s: int, d: int, crops: tuple[int, int]) -> int:
    torch = pytest.importorskip("torch")
    y = torch.nn.functional.conv_transpose1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, dilation=d)
    return int(torch.nn.functional.pad(y, [-crops[0], -crops[1]]).shape[-1])


def test_conv1d_grid_matches_torch() -> None:
    """Every small combination of length, kernel, stride, dilation and padding: shape or error agree."""
    pytest.importorskip("torch")
    paddings = ["valid", "same", "causal", (1, 2), 1]
    for n, k, s, d, pad in itertools.product(range(1, 8), range(1, 5), range(1, 4), range(1, 3), paddings):
        layer = f"Conv1D(2, {k}, strides={s}, dilation_rate={d}, padding={pad!r})".replace("'", '"')
        cfg = {"kernel_size": (k,), "strides": (s,), "dilation_rate": (d,), "padding": _norm(pad)}
        pads = _forward_pads(cfg, (n,))[0]
        try:
            node = info(layer, (n, 3))
        except ShapeError:
            assert n + sum(pads) < d * (k - 1) + 1, layer
            with pytest.raises(RuntimeError):
                _torch_conv1d_length(n, k, s, d, pads)
            continue
        assert node.output_shape == (_torch_conv1d_length(n, k, s, d, pads), 2), layer


def test_conv_transpose1d_grid_matches_torch() -> None:
    pytest.importorskip("torch")
    paddings: list[Any] = ["valid", "same", (1, 0), 1]
    for n, k, s, d, pad, op in itertools.product(
        range(1, 6), range(1, 5), range(1, 4), range(1, 3), paddings, [None, 0, 1, 2]
    ):
        if op is not None and op >= max(s, d):
            continue
        extra = "" if op is None else f", output_padding={op}"
        layer = f"Conv1DTranspose(2, {k}, strides={s}, dilation_rate={d}, padding={pad!r}{extra})".replace("'", '"')
        cfg = {
            "kernel_size": (k,),
            "strides": (s,),
            "dilation_rate": (d,),
            "padding": _norm(pad),
            "output_padding": None if op is None else (op,),
        }
        crops = _transpose_crops(cfg, 0)
        try:
            node = info(layer, (n, 3))
        except ShapeError:
            assert (n - 1) * s + d * (k - 1) + 1 - sum(crops) < 1, layer
            continue
        assert node.output_shape == (_torch_conv_transpose1d_length(n, k, s, d, crops), 2), layer


def _norm(pad: Any) -> Any:
    if isinstance(pad, str):
        return pad
    if isinstance(pad, int):
        return ((pad, pad),)
    return (tuple(pad),)


# --------------------------------------------------------------------------------------------
# Agreement with Keras on its own padding words (channels last)
# --------------------------------------------------------------------------------------------

KERAS_CASES = [
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (9, 8, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": (2, 4), "strides": 3, "padding": "same"}, (10, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "causal"}, (11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"}, (11, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (5, 6, 3)),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1},
        (5, 6, 3),
    ),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 0},
        (5, 6, 3),
    ),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 2, "strides": 3, "padding": "valid"}, (5, 6, 3)),
    (
        "Conv2DTranspose",
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "valid", "output_padding": 1},
        (5, 6, 3),
    ),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 5, "strides": 3, "padding": "same"}, (7, 3)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": (1, 2, 3), "padding": "same"}, (3, 4, 5, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}, (9, 8, 3)),
    (
        "SeparableConv2D",
        {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2},
        (9, 8, 3),
    ),
    ("SeparableConv1D", {"filters": 5, "kernel_size": 3, "padding": "valid", "dilation_rate": 2}, (9, 3)),
]


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


@pytest.mark.parametrize(("kind", "kwargs", "shape"), KERAS_CASES)
def test_matches_keras(kind: str, kwargs: dict[str, Any], shape: Shape) -> None:
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    layer = getattr(keras.layers, kind)(**kwargs)
    y = layer(np.zeros((1, *shape), dtype="float32"))
    node = info(f"{kind}({', '.join(f'{k}={_literal(v)}' for k, v in kwargs.items())})", shape)
    assert node.output_shape == tuple(y.shape[1:])
    assert node.params == layer.count_params()


# --------------------------------------------------------------------------------------------
# Published models (shared/reference/published-models.md): conv, pooling and dense layers only
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_lenet5(layout: str) -> None:
    layers = """
Conv2D(6, 5, "relu")
AveragePooling2D(2)
Conv2D(16, 5, "relu")
AveragePooling2D(2)
Flatten()
Dense(120, "relu")
Dense(84, "relu")
Dense(10)
"""
    net = analyse_snippet(layers, (32, 32, 1) if layout == "channels_last" else (1, 32, 32), layout=layout)
    assert (net.params, net.macs) == (61_706, 416_520)


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_vgg16(layout: str) -> None:
    plan: list[Any] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    lines = ["MaxPooling2D(2)" if c == "M" else f'Conv2D({c}, 3, "relu", padding="same")' for c in plan]
    lines += [
        "AdaptiveAveragePooling2D((7, 7))",
        "Flatten()",
        'Dense(4096, "relu")',
        'Dense(4096, "relu")',
        "Dense(1000)",
    ]
    net = analyse_snippet(
        "\n".join(lines), (224, 224, 3) if layout == "channels_last" else (3, 224, 224), layout=layout
    )
    assert (net.params, net.macs) == (138_357_544, 15_470_264_320)


def test_mobilenet_v2_without_batch_norm() -> None:
    """MobileNetV2 (width 1.0) as a chain, batch norms and residual additions left out (they add
    no MACs and do not change shapes): MACs are torchvision's 0.301 G; parameters are torchvision's
    3,504,872 minus the batch norms' weight and bias (2 per normalized channel)."""
    lines = ['Conv2D(32, 3, "relu6", strides=2, padding=1, use_bias=false)']
    bn_channels = 32
    cin = 32
    for t, c, n, s in [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]:
        for i in range(n):
            if t != 1:
                lines.append(f'Conv2D({cin * t}, 1, "relu6", use_bias=false)')
                bn_channels += cin * t
            lines.append(f'DepthwiseConv2D(3, "relu6", strides={s if i == 0 else 1}, padding=1, use_bias=false)')
            lines.append(f"Conv2D({c}, 1, use_bias=false)")
            bn_channels += cin * t + c
            cin = c
    lines += ['Conv2D(1280, 1, "relu6", use_bias=false)', "GlobalAveragePooling2D()", "Dense(1000)"]
    bn_channels += 1280
    net = analyse_snippet("\n".join(lines), (224, 224, 3))
    assert net.params + 2 * bn_channels == 3_504_872
    assert net.macs == 300_774_272
