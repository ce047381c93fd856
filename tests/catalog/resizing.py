"""UpSampling, ZeroPadding and Cropping in both layouts, after a 1x1 convolution (the training step checks
the gradient through the layer); cropping also straight on the input; sequences of open length."""

from __future__ import annotations

from catalog.base import after_conv, both_layouts

SHAPES = {1: (5, 2), 2: (4, 5, 2), 3: (3, 4, 3, 2)}

LAYERS = [
    ("UpSampling1D()", SHAPES[1]),
    ("UpSampling1D(3)", SHAPES[1]),
    ('UpSampling1D(3, interpolation="linear")', SHAPES[1]),
    ("UpSampling2D()", SHAPES[2]),
    ("UpSampling2D((2, 3))", SHAPES[2]),
    ('UpSampling2D(2, interpolation="bilinear")', SHAPES[2]),
    ('UpSampling2D((3, 2), interpolation="bilinear")', SHAPES[2]),
    ('UpSampling2D((3, 2), interpolation="linear")', SHAPES[2]),
    ("UpSampling3D(2)", SHAPES[3]),
    ("UpSampling3D((1, 2, 1))", SHAPES[3]),
    ('UpSampling3D(2, interpolation="trilinear")', SHAPES[3]),
    ('UpSampling3D((1, 2, 3), interpolation="trilinear")', SHAPES[3]),
    ("ZeroPadding1D()", SHAPES[1]),
    ("ZeroPadding1D((2, 0))", SHAPES[1]),
    ("ZeroPadding1D((1, 2))", SHAPES[1]),
    ("ZeroPadding2D(1)", SHAPES[2]),
    ("ZeroPadding2D((1, 2))", SHAPES[2]),
    ("ZeroPadding2D(((1, 2), (0, 3)))", SHAPES[2]),
    ("ZeroPadding3D(1)", SHAPES[3]),
    ("ZeroPadding3D(((1, 0), (0, 2), (1, 1)))", SHAPES[3]),
]

CROPPING = [
    ("Cropping1D()", SHAPES[1]),
    ("Cropping1D((2, 0))", SHAPES[1]),
    ("Cropping1D((2, 1))", SHAPES[1]),
    ("Cropping2D()", SHAPES[2]),
    ("Cropping2D(1)", SHAPES[2]),
    ("Cropping2D((1, 2))", SHAPES[2]),
    ("Cropping2D(((1, 0), (0, 2)))", SHAPES[2]),
    ("Cropping3D()", SHAPES[3]),
    ("Cropping3D(((1, 0), (0, 2), (1, 1)))", SHAPES[3]),
]

OPEN_LENGTH = ["UpSampling1D(2)", "ZeroPadding1D(1)", "Cropping1D(1)"]

CASES = [
    *[c for layer, shape in LAYERS + CROPPING for c in both_layouts(after_conv(layer, shape), shape)],
    *[c for layer, shape in CROPPING for c in both_layouts(f"{layer}\nFlatten()\nDense(3)", shape)],
    *[c for layer in OPEN_LENGTH for c in both_layouts(after_conv(layer, (None, None, 3)), (None, None, 3))],
]
