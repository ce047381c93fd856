"""Convolutions in both layouts: strides, every padding kind, dilation, groups, bias, fused activations;
transposed sizes (Keras' "same" and output_padding); depthwise and separable; sequences of open length."""

from __future__ import annotations

from catalog.base import after_conv, both_layouts

LAYERS = [
    # Conv1D
    ("Conv1D(4, 3)", (9, 3)),
    ("Conv1D(4, 3, strides=2)", (9, 3)),
    ('Conv1D(4, 3, padding="same")', (9, 3)),
    ('Conv1D(4, 4, padding="same")', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="same")', (9, 3)),
    ('Conv1D(4, 4, strides=3, padding="same")', (10, 3)),
    ('Conv1D(4, 3, padding="causal")', (9, 3)),
    ('Conv1D(4, 2, padding="causal", dilation_rate=3)', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="causal")', (9, 3)),
    ('Conv1D(4, 3, strides=2, padding="causal", dilation_rate=2)', (9, 3)),
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
    ('Conv2D(4, 1, activation="log_softmax")', (4, 5, 3)),
    # Conv3D
    ("Conv3D(4, 3)", (5, 6, 5, 2)),
    ('Conv3D(4, 2, strides=2, padding="same")', (5, 6, 5, 2)),
    ("Conv3D(4, (3, 1, 2), padding=((1, 1), (0, 2), (1, 0)))", (5, 6, 5, 2)),
    ('Conv3D(4, 3, padding="same", dilation_rate=(1, 2, 1), activation="relu")', (5, 6, 5, 2)),
    ("Conv3D(4, 3, groups=2, use_bias=false)", (5, 6, 5, 2)),
    # transposed
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
    ('Conv2DTranspose(6, 3, strides=2, groups=2, padding="same")', (4, 5, 4)),
    ('Conv3DTranspose(4, 2, strides=2, activation="prelu")', (3, 4, 3, 2)),
    ('Conv3DTranspose(4, 3, strides=(2, 1, 2), padding="same")', (3, 4, 3, 2)),
    ('Conv3DTranspose(4, 3, strides=(2, 1, 2), padding="same", dilation_rate=(1, 2, 1))', (3, 4, 3, 2)),
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
    ('SeparableConv2D(5, 3, strides=(1, 2), padding=1, activation="prelu")', (7, 8, 3)),
]

# sequences of open length: padding computed at run time (compare() runs them at length 6)
OPEN_LENGTH = [
    'Conv1D(4, 3, strides=2, padding="same")',
    'Conv1D(4, 3, padding="causal", dilation_rate=2)',
    'Conv1D(4, 3, strides=2, padding="same", dilation_rate=2)',
    'SeparableConv1D(4, 3, strides=3, padding="same")',
    'DepthwiseConv1D(3, padding="same")',
    'Conv1DTranspose(4, 3, strides=2, padding="same")',
    "Conv1DTranspose(4, 3, strides=2, padding=(2, 0))",
    'Conv1DTranspose(6, 3, strides=2, padding="same", groups=3)',
]

CASES = [
    *[c for layer, shape in LAYERS for c in both_layouts(layer, shape)],
    *[c for layer in OPEN_LENGTH for c in both_layouts(after_conv(layer, (None, None, 3)), (None, None, 3))],
]
