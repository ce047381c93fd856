"""Regularization layers: shape-preserving, parameter-free; argument ranges; agreement with PyTorch."""

from __future__ import annotations

import pytest

from neural.errors import InvalidValueError, NameResolutionError, ShapeError
from neural.layers.base import Shape
from neural.layers.registry import lookup
from neural.shapes.engine import NodeShape
from neural.testing import layer_info


def info(layer: str, *shape: int | None, layout: str = "channels_last") -> NodeShape:
    """`layer` on one input of `shape` (written with an explicit batch axis so None dims stay)."""
    return layer_info(layer, (None, *shape), layout=layout)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Dropout", "Dropout"),
        ("SpatialDropout1D", "SpatialDropout1D"),
        ("SpatialDropout2D", "SpatialDropout2D"),
        ("SpatialDropout3D", "SpatialDropout3D"),
        ("Dropout1d", "SpatialDropout1D"),
        ("Dropout2d", "SpatialDropout2D"),
        ("Dropout3d", "SpatialDropout3D"),
        ("GaussianNoise", "GaussianNoise"),
        ("GaussianDropout", "GaussianDropout"),
        ("AlphaDropout", "AlphaDropout"),
    ],
)
def test_names_resolve(name: str, kind: str) -> None:
    spec = lookup(name)
    assert spec is not None and spec.kind == kind
    assert spec.family == "regularization"
    assert spec.shape_rule and spec.doc != spec.kind


@pytest.mark.parametrize(
    ("layer", "shape", "layout"),
    [
        ("Dropout(0.5)", (128,), "channels_last"),
        ("Dropout(0)", (28, 28, 1), "channels_last"),
        ("Dropout(rate=0.25)", (None, 64), "channels_last"),
        ("Dropout(p=0.1)", (3, 4, 5, 6, 7), "channels_last"),
        ("SpatialDropout1D(0.2)", (None, 16), "channels_last"),
        ("SpatialDropout1D(0.2)", (16, 50), "channels_first"),
        ("SpatialDropout2D(0.3)", (32, 32, 8), "channels_last"),
        ("Dropout2d(0.3)", (8, 32, 32), "channels_first"),
        ("SpatialDropout2D(0.3)", (None, None, 8), "channels_last"),
        ("SpatialDropout3D(0.1)", (4, 8, 8, 2), "channels_last"),
        ("Dropout3d(p=0.1)", (2, 4, 8, 8), "channels_first"),
        ("GaussianNoise(0.1)", (10, 3), "channels_last"),
        ("GaussianNoise(stddev=0)", (10,), "channels_last"),
        ("GaussianDropout(0.4)", (5, 5, 5), "channels_last"),
        ("AlphaDropout(0.05)", (100,), "channels_last"),
        ("AlphaDropout(p=0.2)", (None, 12), "channels_last"),
    ],
)
def test_shape_preserving_without_parameters(layer: str, shape: Shape, layout: str) -> None:
    node = info(layer, *shape, layout=layout)
    assert node.output_shapes == (shape,)
    assert (node.params, node.state, node.macs) == (0, 0, 0)
    assert dict(node.weights) == {}


def test_rate_is_stored_under_its_keras_name() -> None:
    assert info("Dropout(p=0.3)", 4).node.config.rate == 0.3
    assert info("GaussianNoise(std=0.2)", 4).node.config.stddev == 0.2


def test_in_a_network() -> None:
    from neural.testing import analyse_snippet

    net = analyse_snippet("Dense(32)\nDropout(0.5)\nDense(10)", (20,))
    assert net.output_shapes == ((10,),)
    # 20*32 + 32 + 32*10 + 10: dropout adds nothing
    assert net.params == 20 * 32 + 32 + 32 * 10 + 10


@pytest.mark.parametrize(
    ("layer", "shape", "error", "fragment"),
    [
        ("Dropout(1)", (4,), InvalidValueError, "`rate` expects a number in [0, 1); received 1"),
        ("Dropout(1.5)", (4,), InvalidValueError, "`rate` expects a number in [0, 1)"),
        ("Dropout(-0.1)", (4,), InvalidValueError, "`rate` expects a number in [0, 1)"),
        ('Dropout("half")', (4,), InvalidValueError, "`rate` expects a number"),
        ("Dropout()", (4,), InvalidValueError, "`Dropout` needs the argument `rate`"),
        ("Dropout(0.1, 0.2)", (4,), InvalidValueError, "takes 1 positional argument"),
        ("Dropout(0.1, seed_value=3)", (4,), NameResolutionError, "has no argument `seed_value`"),
        (
            "SpatialDropout1D(0.2)",
            (16,),
            ShapeError,
            "SpatialDropout1D expects input of rank 2 (steps, channels), received (16,)",
        ),
        (
            "SpatialDropout2D(0.2)",
            (8, 8),
            ShapeError,
            "SpatialDropout2D expects input of rank 3 (height, width, channels), received (8, 8)",
        ),
        ("SpatialDropout3D(0.2)", (8, 8, 3), ShapeError, "rank 4 (depth, height, width, channels)"),
        ("SpatialDropout2D(1.0)", (8, 8, 3), InvalidValueError, "`rate` expects a number in [0, 1)"),
        ("GaussianNoise(-1)", (4,), InvalidValueError, "`stddev` expects a number >= 0"),
        ("GaussianNoise()", (4,), InvalidValueError, "needs the argument `stddev`"),
        ("GaussianDropout(1)", (4,), InvalidValueError, "`rate` expects a number in [0, 1)"),
        ("AlphaDropout(2)", (4,), InvalidValueError, "`rate` expects a number in [0, 1)"),
    ],
)
def test_errors(layer: str, shape: Shape, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        info(layer, *shape)
    assert fragment in str(caught.value)


def test_spatial_dropout_names_channels_first_layout() -> None:
    with pytest.raises(ShapeError, match=r"rank 3 \(channels, height, width\)"):
        info("SpatialDropout2D(0.2)", 8, 8, layout="channels_first")


@pytest.mark.parametrize(
    ("layer", "shape", "module", "rate"),
    [
        ("Dropout(0.5)", (7, 3), "Dropout", 0.5),
        ("Dropout1d(0.5)", (4, 9), "Dropout1d", 0.5),
        ("SpatialDropout2D(0.5)", (4, 6, 6), "Dropout2d", 0.5),
        ("SpatialDropout3D(0.5)", (2, 3, 3, 3), "Dropout3d", 0.5),
        ("AlphaDropout(0.2)", (11,), "AlphaDropout", 0.2),
    ],
)
def test_matches_torch(layer: str, shape: tuple[int, ...], module: str, rate: float) -> None:
    torch = pytest.importorskip("torch")
    mod = getattr(torch.nn, module)(p=rate)
    mod.train()
    y = mod(torch.randn(2, *shape))  # channels-first shapes: torch's Dropout1d/2d/3d layout
    node = info(layer, *shape, layout="channels_first")
    assert node.output_shape == tuple(y.shape[1:])
    assert node.params == sum(p.numel() for p in mod.parameters()) == 0
    assert node.node.config.rate == mod.p
