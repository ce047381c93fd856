"""Resizing specs (UpSampling, ZeroPadding, Cropping): exact shapes; agreement with PyTorch and Keras."""

from __future__ import annotations

from typing import Any

import pytest

from neural.errors import InvalidValueError, NameResolutionError, NeuralError, ShapeError
from neural.layers.base import Shape
from neural.layers.registry import lookup
from neural.shapes.engine import NodeShape
from neural.testing import layer_info


def info(layer: str, shape: Shape, layout: str = "channels_last") -> NodeShape:
    # A leading None in a declared input shape is read as the batch axis: declare it explicitly.
    declared = (None, *shape) if shape and shape[0] is None else shape
    return layer_info(layer, declared, layout=layout)


CASES = [
    # (layer, input, layout, output); no weights, 0 MACs
    # UpSampling: each spatial axis times size
    ("UpSampling2D()", (7, 7, 3), "channels_last", (14, 14, 3)),
    ("UpSampling2D((2, 3))", (4, 5, 3), "channels_last", (8, 15, 3)),
    ('UpSampling2D(2, interpolation="bilinear")', (3, 4, 5), "channels_first", (3, 8, 10)),
    ('UpSampling2D(scale_factor=2, mode="nearest")', (3, 4, 5), "channels_first", (3, 8, 10)),
    ("UpSampling1D(3)", (None, 4), "channels_last", (None, 4)),
    ("UpSampling1D(3, interpolation=linear)", (5, 4), "channels_last", (15, 4)),
    ("UpSampling1D()", (4, 5), "channels_first", (4, 10)),
    ("UpSampling3D((1, 2, 2))", (2, 3, 4, 5), "channels_last", (2, 6, 8, 5)),
    ('UpSampling3D(2, interpolation="trilinear")', (5, 2, 3, 4), "channels_first", (5, 4, 6, 8)),
    ("UpSampling2D(2)", (None, 8, 3), "channels_last", (None, 16, 3)),
    # ZeroPadding (Keras): int = every side; 2-D tuple of ints = symmetric per axis; pairs = (before, after)
    ("ZeroPadding2D()", (28, 28, 1), "channels_last", (30, 30, 1)),
    ("ZeroPadding2D((1, 2))", (28, 28, 1), "channels_last", (30, 32, 1)),
    ("ZeroPadding2D(((1, 2), (3, 4)))", (28, 28, 1), "channels_last", (31, 35, 1)),
    ("ZeroPadding2D(((1, 2), (3, 4)))", (1, 28, 28), "channels_first", (1, 31, 35)),
    ("ZeroPadding1D(2)", (10, 4), "channels_last", (14, 4)),
    # 1-D tuple is (before, after) as in Keras
    ("ZeroPadding1D((1, 2))", (10, 4), "channels_last", (13, 4)),
    ("ZeroPadding1D()", (None, 4), "channels_last", (None, 4)),
    ("ZeroPadding3D(((1, 0), (0, 2), (3, 3)))", (4, 4, 4, 2), "channels_last", (5, 6, 10, 2)),
    ("ZeroPadding3D(1)", (2, 4, 4, 4), "channels_first", (2, 6, 6, 6)),
    # Cropping: Keras defaults 1-D (1, 1), 2-D none, 3-D (1, 1) per axis
    ("Cropping1D()", (10, 4), "channels_last", (8, 4)),
    ("Cropping1D((2, 3))", (10, 4), "channels_last", (5, 4)),
    ("Cropping1D(1)", (4, 10), "channels_first", (4, 8)),
    ("Cropping2D()", (28, 28, 3), "channels_last", (28, 28, 3)),
    ("Cropping2D(((2, 2), (4, 4)))", (28, 28, 3), "channels_last", (24, 20, 3)),
    ("Cropping2D((1, 2))", (10, 10, 3), "channels_last", (8, 6, 3)),
    ("Cropping2D(((0, 1), (2, 3)))", (3, 10, 10), "channels_first", (3, 9, 5)),
    ("Cropping3D()", (4, 5, 6, 2), "channels_last", (2, 3, 4, 2)),
    ("Cropping3D(((1, 0), (0, 0), (2, 1)))", (2, 4, 5, 6), "channels_first", (2, 3, 5, 3)),
    ("Cropping1D((1, 1))", (None, 4), "channels_last", (None, 4)),
]


@pytest.mark.parametrize(("layer", "shape", "layout", "out"), CASES)
def test_exact(layer: str, shape: Shape, layout: str, out: Shape) -> None:
    node = info(layer, shape, layout)
    assert node.output_shape == out
    assert node.params == 0
    assert node.state == 0
    assert node.macs == 0


def test_config_is_normalized() -> None:
    assert info("UpSampling2D()", (4, 4, 1)).node.config.size == (2, 2)
    assert info("UpSampling2D()", (4, 4, 1)).node.config.interpolation == "nearest"
    assert info('UpSampling2D(interpolation="linear")', (4, 4, 1)).node.config.interpolation == "bilinear"
    assert info('UpSampling3D(interpolation="Linear")', (4, 4, 4, 1)).node.config.interpolation == "trilinear"
    assert info("ZeroPadding2D()", (4, 4, 1)).node.config.padding == ((1, 1), (1, 1))
    assert info("ZeroPadding2D((1, 2))", (4, 4, 1)).node.config.padding == ((1, 1), (2, 2))
    assert info("ZeroPadding1D((1, 2))", (4, 1)).node.config.padding == ((1, 2),)
    assert info("Cropping1D()", (4, 1)).node.config.cropping == ((1, 1),)
    assert info("Cropping2D()", (4, 4, 1)).node.config.cropping == ((0, 0), (0, 0))
    assert info("Cropping3D()", (4, 4, 4, 1)).node.config.cropping == ((1, 1),) * 3


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Upsampling2D", "UpSampling2D"),
        ("UpSample1D", "UpSampling1D"),
        ("ZeroPad2d", "ZeroPadding2D"),
        ("ZeroPad3D", "ZeroPadding3D"),
        ("Crop1D", "Cropping1D"),
        ("cropping3d", "Cropping3D"),
    ],
)
def test_aliases(name: str, kind: str) -> None:
    spec = lookup(name)
    assert spec is not None and spec.kind == kind
    assert spec.family == "resizing"


ERRORS = [
    (
        "Cropping2D(((5, 5), (0, 0)))",
        (10, 10, 3),
        ShapeError,
        "Cropping2D expects spatial dims (height, width) larger than the cropping ((5, 5), (0, 0)) (total (10, 0))",
    ),
    ("Cropping1D(5)", (10, 3), ShapeError, "received (10, 3)"),
    ("Cropping3D(((0, 0), (0, 0), (3, 3)))", (3, 4, 5, 6), ShapeError, "(depth, height, width)"),
    ("Cropping2D(1)", (2, 8, 8), ShapeError, "larger than the cropping"),
    (
        "UpSampling2D()",
        (7, 3),
        ShapeError,
        "UpSampling2D expects input of rank 3 (height, width, channels), received (7, 3)",
    ),
    ("ZeroPadding1D()", (7, 3, 3), ShapeError, "rank 2 (steps, channels)"),
    ("Cropping3D()", (7, 3, 3), ShapeError, "rank 4"),
    (
        'ZeroPadding2D("same")',
        (8, 8, 1),
        InvalidValueError,
        "`ZeroPadding2D` argument `padding` expects a non-negative integer",
    ),
    ("ZeroPadding2D(same)", (8, 8, 1), InvalidValueError, "`padding` expects"),
    ("ZeroPadding2D(-1)", (8, 8, 1), InvalidValueError, "`padding` expects"),
    ("ZeroPadding3D((1, 2))", (8, 8, 8, 1), InvalidValueError, "tuple of 3 such integers"),
    ("ZeroPadding1D((1, 2, 3))", (8, 1), InvalidValueError, "(before, after) pair"),
    ("Cropping2D(((1, 2, 3), (1, 1)))", (8, 8, 1), InvalidValueError, "`cropping` expects"),
    ('Cropping1D("valid")', (8, 1), InvalidValueError, "`cropping` expects"),
    ("UpSampling2D(0)", (8, 8, 1), InvalidValueError, "`size` expects a positive integer"),
    ("UpSampling2D(1.5)", (8, 8, 1), InvalidValueError, "`size`"),
    (
        'UpSampling1D(2, interpolation="bilinear")',
        (8, 1),
        InvalidValueError,
        '`interpolation` expects one of "nearest", "linear"',
    ),
    ('UpSampling3D(interpolation="bicubic")', (8, 8, 8, 1), InvalidValueError, "`interpolation`"),
    ("UpSampling2D(align_corners=true)", (8, 8, 1), NameResolutionError, "has no argument `align_corners`"),
]


@pytest.mark.parametrize(("layer", "shape", "error", "fragment"), ERRORS)
def test_errors(layer: str, shape: Shape, error: type[NeuralError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        info(layer, shape)
    assert fragment in caught.value.message


# --------------------------------------------------------------------------------------------
# Agreement with PyTorch
# --------------------------------------------------------------------------------------------

TORCH_CASES = [
    ("UpSampling1D(3)", (2, 5)),
    ('UpSampling1D(2, interpolation="linear")', (2, 5)),
    ("UpSampling2D((2, 3))", (2, 4, 5)),
    ('UpSampling2D(2, interpolation="bilinear")', (2, 4, 5)),
    ("UpSampling3D((1, 2, 3))", (2, 3, 4, 5)),
    ('UpSampling3D(2, interpolation="trilinear")', (2, 3, 4, 5)),
    ("ZeroPadding1D((1, 3))", (2, 5)),
    ("ZeroPadding2D((1, 2))", (2, 4, 5)),
    ("ZeroPadding2D(((0, 1), (2, 3)))", (2, 4, 5)),
    ("ZeroPadding3D(((1, 0), (0, 2), (3, 1)))", (2, 3, 4, 5)),
    ("Cropping1D((1, 2))", (2, 6)),
    ("Cropping2D(((1, 0), (2, 1)))", (2, 4, 5)),
    ("Cropping3D(((0, 1), (1, 1), (2, 0)))", (2, 3, 4, 5)),
]


def _torch_shape(kind: str, cfg: Any, cf_shape: tuple[int, ...]) -> tuple[int, ...]:
    torch = pytest.importorskip("torch")
    x = torch.randn(1, *cf_shape)
    rank = len(cf_shape) - 1
    if kind.startswith("UpSampling"):
        module = torch.nn.Upsample(scale_factor=tuple(float(s) for s in cfg.size), mode=cfg.interpolation)
        return tuple(module(x).shape[1:])
    pairs = cfg.padding if kind.startswith("ZeroPadding") else cfg.cropping
    flat = [v for pair in reversed(pairs) for v in pair]  # torch order: last axis first
    if kind.startswith("ZeroPadding"):
        return tuple(getattr(torch.nn, f"ZeroPad{rank}d")(tuple(flat))(x).shape[1:])
    return tuple(torch.nn.functional.pad(x, [-v for v in flat]).shape[1:])


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "cf_shape"), TORCH_CASES)
def test_matches_torch(layer: str, cf_shape: tuple[int, ...], layout: str) -> None:
    shape = cf_shape if layout == "channels_first" else (*cf_shape[1:], cf_shape[0])
    node = info(layer, shape, layout)
    out = node.output_shape
    predicted = out if layout == "channels_first" else (out[-1], *out[:-1])
    assert predicted == _torch_shape(node.node.kind, node.node.config, cf_shape)


def test_nearest_upsampling_repeats_like_keras() -> None:
    """ "nearest" with an integer size is plain repetition (Keras), which torch's nearest mode reproduces."""
    torch = pytest.importorskip("torch")
    x = torch.arange(6.0).view(1, 1, 2, 3)
    y = torch.nn.Upsample(scale_factor=(2.0, 3.0), mode="nearest")(x)
    assert torch.equal(y, x.repeat_interleave(2, dim=2).repeat_interleave(3, dim=3))


# --------------------------------------------------------------------------------------------
# Agreement with Keras (channels last)
# --------------------------------------------------------------------------------------------

KERAS_CASES: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("UpSampling1D", {"size": 3}, (5, 2)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (4, 5, 2)),
    ("UpSampling3D", {"size": (1, 2, 3)}, (3, 4, 5, 2)),
    ("ZeroPadding1D", {"padding": (1, 3)}, (5, 2)),
    ("ZeroPadding2D", {"padding": (1, 2)}, (4, 5, 2)),
    ("ZeroPadding2D", {"padding": ((0, 1), (2, 3))}, (4, 5, 2)),
    ("ZeroPadding3D", {"padding": 2}, (3, 4, 5, 2)),
    ("Cropping1D", {}, (5, 2)),
    ("Cropping1D", {"cropping": (2, 1)}, (5, 2)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (4, 5, 2)),
    ("Cropping2D", {"cropping": (1, 2)}, (4, 5, 2)),
    ("Cropping3D", {}, (3, 4, 5, 2)),
]


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


@pytest.mark.parametrize(("kind", "kwargs", "shape"), KERAS_CASES)
def test_matches_keras(kind: str, kwargs: dict[str, Any], shape: tuple[int, ...]) -> None:
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    y = getattr(keras.layers, kind)(**kwargs)(np.random.rand(1, *shape).astype("float32"))
    node = info(f"{kind}({', '.join(f'{k}={_literal(v)}' for k, v in kwargs.items())})", shape)
    assert node.output_shape == tuple(y.shape[1:])
