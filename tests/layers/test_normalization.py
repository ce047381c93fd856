"""Normalization layers: shapes, parameters, state, MACs, errors, and agreement with PyTorch."""

from __future__ import annotations

import pytest

from neural.errors import InvalidValueError, NameResolutionError, ShapeError
from neural.layers.base import Shape
from neural.layers.normalization import DEFAULT_EPSILON, DEFAULT_MOMENTUM, torch_momentum
from neural.layers.registry import lookup
from neural.shapes.engine import NodeShape
from neural.testing import layer_info


def info(layer: str, *shape: int | None, layout: str = "channels_last") -> NodeShape:
    """`layer` on one input of `shape` (written with an explicit batch axis so None dims stay)."""
    return layer_info(layer, (None, *shape), layout=layout)


def counts(node: NodeShape) -> tuple[Shape, int, int, int | None]:
    return node.output_shape, node.params, node.state, node.macs


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("BatchNormalization", "BatchNormalization"),
        ("BatchNorm", "BatchNormalization"),
        ("BatchNorm1d", "BatchNormalization"),
        ("BatchNorm2d", "BatchNormalization"),
        ("BatchNorm3d", "BatchNormalization"),
        ("BatchNorm2D", "BatchNormalization"),
        ("LayerNormalization", "LayerNormalization"),
        ("LayerNorm", "LayerNormalization"),
        ("InstanceNormalization", "InstanceNormalization"),
        ("InstanceNorm", "InstanceNormalization"),
        ("InstanceNorm1d", "InstanceNormalization"),
        ("InstanceNorm2d", "InstanceNormalization"),
        ("InstanceNorm3d", "InstanceNormalization"),
        ("GroupNormalization", "GroupNormalization"),
        ("GroupNorm", "GroupNormalization"),
    ],
)
def test_names_resolve(name: str, kind: str) -> None:
    spec = lookup(name)
    assert spec is not None and spec.kind == kind
    assert spec.family == "normalization"
    assert spec.shape_rule and spec.doc != spec.kind


def test_documented_defaults() -> None:
    assert DEFAULT_EPSILON == 1e-5
    assert DEFAULT_MOMENTUM == 0.9
    assert torch_momentum(DEFAULT_MOMENTUM) == pytest.approx(0.1)  # PyTorch's default
    cfg = info("BatchNormalization()", 4, 4, 8).node.config
    assert (cfg.momentum, cfg.epsilon, cfg.center, cfg.scale, cfg.axis) == (0.9, 1e-5, True, True, None)


# --- BatchNormalization ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "expected"),
    [
        # C = 3 (last axis): weight + bias = 2*3 trainable, running_mean + running_var = 2*3 state
        ("BatchNormalization()", (28, 28, 3), "channels_last", ((28, 28, 3), 6, 6, 0)),
        # channels-first: C is the first axis (16)
        ("BatchNormalization()", (16, 28, 28), "channels_first", ((16, 28, 28), 32, 32, 0)),
        # dense features (C = 64)
        ("BatchNorm1d(64)", (64,), "channels_last", ((64,), 128, 128, 0)),
        # sequence (steps, C) channels-last: C = 5
        ("BatchNorm(5)", (10, 5), "channels_last", ((10, 5), 10, 10, 0)),
        # volume channels-first C = 2
        ("BatchNorm3d(2)", (2, 4, 4, 4), "channels_first", ((2, 4, 4, 4), 4, 4, 0)),
        # explicit axis: axis 0 of a channels-last input (C = 7)
        ("BatchNormalization(axis=0)", (7, 5), "channels_last", ((7, 5), 14, 14, 0)),
        # scale only: weight (C,) only
        ("BatchNormalization(center=false)", (4, 4, 8), "channels_last", ((4, 4, 8), 8, 16, 0)),
        # affine=false (PyTorch) removes both weight and bias; the state stays
        ("BatchNorm2d(8, affine=false)", (4, 4, 8), "channels_last", ((4, 4, 8), 0, 16, 0)),
        # unknown spatial dims are fine: only C must be known
        (
            "BatchNormalization(momentum=0.99, epsilon=1e-3)",
            (None, None, 3),
            "channels_last",
            ((None, None, 3), 6, 6, 0),
        ),
    ],
)
def test_batch_norm(layer: str, shape: Shape, layout: str, expected: tuple[Shape, int, int, int]) -> None:
    assert counts(info(layer, *shape, layout=layout)) == expected


def test_batch_norm_weight_names() -> None:
    weights = info("BatchNormalization()", 4, 4, 8).weights
    assert {k: (w.shape, w.trainable) for k, w in weights.items()} == {
        "weight": ((8,), True),
        "bias": ((8,), True),
        "running_mean": ((8,), False),
        "running_var": ((8,), False),
    }


def test_affine_is_normalized_into_center_and_scale() -> None:
    cfg = info("BatchNorm2d(8, affine=false)", 4, 4, 8).node.config
    assert (cfg.center, cfg.scale, cfg.affine) == (False, False, None)
    cfg = info("InstanceNorm2d(8, affine=true)", 4, 4, 8).node.config
    assert (cfg.center, cfg.scale, cfg.affine) == (True, True, None)


def test_eps_alias() -> None:
    assert info("BatchNorm2d(3, eps=0.001)", 4, 4, 3).node.config.epsilon == 0.001


# --- LayerNormalization ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [
        # last axis (512): weight + bias = 2*512
        ("LayerNormalization()", (10, 512), ((10, 512), 1024, 0, 0)),
        # variable sequence length is fine
        ("LayerNormalization()", (None, 64), ((None, 64), 128, 0, 0)),
        # PyTorch style normalized_shape
        ("LayerNorm(512)", (10, 512), ((10, 512), 1024, 0, 0)),
        # two trailing axes: weight and bias (10, 512) each
        ("LayerNorm((10, 512))", (10, 512), ((10, 512), 10240, 0, 0)),
        ("LayerNormalization(axis=(-2, -1))", (10, 512), ((10, 512), 10240, 0, 0)),
        ("LayerNormalization(axis=(1, 2))", (3, 4, 5), ((3, 4, 5), 40, 0, 0)),
        ("LayerNormalization(axis=1)", (3, 4), ((3, 4), 8, 0, 0)),
        # no bias (PyTorch bias=False / Keras center=false): weight only
        ("LayerNorm(16, bias=false)", (16,), ((16,), 16, 0, 0)),
        ("LayerNormalization(center=false)", (16,), ((16,), 16, 0, 0)),
        ("LayerNorm(16, elementwise_affine=false)", (16,), ((16,), 0, 0, 0)),
    ],
)
def test_layer_norm(layer: str, shape: Shape, expected: tuple[Shape, int, int, int]) -> None:
    assert counts(info(layer, *shape)) == expected


def test_layer_norm_weights_over_normalized_shape() -> None:
    weights = info("LayerNorm((4, 6))", 3, 4, 6).weights
    assert {k: w.shape for k, w in weights.items()} == {"weight": (4, 6), "bias": (4, 6)}


def test_layer_norm_ignores_layout() -> None:
    # layer norm normalizes the trailing axes whatever the layout
    assert info("LayerNormalization()", 8, 5, 5, layout="channels_first").params == 10


# --- InstanceNormalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "expected"),
    [
        # PyTorch default affine=false: nothing learned
        ("InstanceNormalization()", (32, 32, 3), "channels_last", ((32, 32, 3), 0, 0, 0)),
        ("InstanceNorm2d(3, affine=true)", (32, 32, 3), "channels_last", ((32, 32, 3), 6, 0, 0)),
        ("InstanceNorm2d(3, affine=true)", (3, 32, 32), "channels_first", ((3, 32, 32), 6, 0, 0)),
        # 1-D and 3-D spatial ranks
        ("InstanceNorm1d(4, affine=true)", (20, 4), "channels_last", ((20, 4), 8, 0, 0)),
        ("InstanceNorm3d(2, affine=true)", (2, 4, 4, 4), "channels_first", ((2, 4, 4, 4), 4, 0, 0)),
        # Keras/tfa spelling
        ("InstanceNormalization(center=true, scale=true)", (8, 8, 5), "channels_last", ((8, 8, 5), 10, 0, 0)),
        # running statistics are state (C each)
        ("InstanceNorm2d(3, track_running_stats=true)", (8, 8, 3), "channels_last", ((8, 8, 3), 0, 6, 0)),
        # unknown dims are fine without affine parameters
        ("InstanceNormalization()", (None, None, None), "channels_last", ((None, None, None), 0, 0, 0)),
    ],
)
def test_instance_norm(layer: str, shape: Shape, layout: str, expected: tuple[Shape, int, int, int]) -> None:
    assert counts(info(layer, *shape, layout=layout)) == expected


# --- GroupNormalization ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "expected"),
    [
        # weight + bias over C = 64
        ("GroupNormalization(8)", (16, 16, 64), "channels_last", ((16, 16, 64), 128, 0, 0)),
        ("GroupNorm(4, 8)", (8, 8, 8), "channels_last", ((8, 8, 8), 16, 0, 0)),
        ("GroupNorm(num_groups=2, num_channels=6)", (6, 5, 5), "channels_first", ((6, 5, 5), 12, 0, 0)),
        # Keras default groups=32
        ("GroupNormalization()", (4, 4, 64), "channels_last", ((4, 4, 64), 128, 0, 0)),
        # groups == channels (instance-norm-like) and groups == 1 (layer-norm-like)
        ("GroupNorm(6)", (10, 6), "channels_last", ((10, 6), 12, 0, 0)),
        ("GroupNorm(1)", (10, 6), "channels_last", ((10, 6), 12, 0, 0)),
        ("GroupNorm(2, affine=false)", (10, 6), "channels_last", ((10, 6), 0, 0, 0)),
        ("GroupNormalization(2, epsilon=1e-3, scale=false)", (10, 6), "channels_last", ((10, 6), 6, 0, 0)),
    ],
)
def test_group_norm(layer: str, shape: Shape, layout: str, expected: tuple[Shape, int, int, int]) -> None:
    assert counts(info(layer, *shape, layout=layout)) == expected


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "error", "fragment"),
    [
        ("BatchNorm2d(4)", (28, 28, 3), ShapeError, "4 channels (num_features=4)"),
        ("BatchNormalization()", (None, None), ShapeError, "known channel count"),
        ("BatchNormalization(axis=3)", (28, 28, 3), ShapeError, "axis 3"),
        ("BatchNormalization(momentum=1.5)", (3,), InvalidValueError, "`momentum` expects a number in [0, 1]"),
        ("BatchNormalization(epsilon=0)", (3,), InvalidValueError, "`epsilon` expects a number > 0"),
        ("BatchNormalization(0)", (3,), InvalidValueError, "`num_features` expects a positive integer"),
        ("BatchNormalization(gamma=1)", (3,), NameResolutionError, "has no argument `gamma`"),
        ("BatchNormalization(center=1)", (3,), InvalidValueError, "`center` expects true or false"),
        ("LayerNormalization(axis=0)", (10, 512), ShapeError, "trailing axes"),
        ("LayerNormalization(axis=(0, 2))", (3, 4, 5), ShapeError, "trailing axes"),
        ("LayerNormalization(axis=(-1, -1))", (3, 4, 5), ShapeError, "trailing axes"),
        ("LayerNormalization(axis=(0, 1, 2))", (4, 5), ShapeError, "rank at least 3"),
        ('LayerNormalization(axis="x")', (4, 5), InvalidValueError, "`axis` expects an integer or a tuple of integers"),
        ("LayerNorm(256)", (10, 512), ShapeError, "normalized_shape"),
        ("LayerNormalization()", (10, None), ShapeError, "known sizes on the normalized axes"),
        ("InstanceNormalization()", (8,), ShapeError, "rank at least 2"),
        ("InstanceNorm2d(3, affine=true)", (8, 8, None), ShapeError, "known channel count"),
        ("InstanceNorm2d(4)", (8, 8, 3), ShapeError, "4 channels"),
        ("GroupNorm(3)", (8, 8, 8), ShapeError, "divisible by groups=3"),
        ("GroupNorm(2, 16)", (8, 8, 8), ShapeError, "16 channels (num_channels=16)"),
        ("GroupNorm(0)", (8, 8, 8), InvalidValueError, "`groups` expects a positive integer"),
        ("GroupNorm(2)", (8, None), ShapeError, "known channel count"),
    ],
)
def test_errors(layer: str, shape: Shape, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        info(layer, *shape)
    assert fragment in str(caught.value)


def test_shape_error_names_input() -> None:
    with pytest.raises(
        ShapeError, match=r"GroupNormalization expects .* received \(8, 8, 8\) \(8 channels on axis 2\)"
    ):
        info("GroupNorm(3)", 8, 8, 8)


# --- agreement with PyTorch ------------------------------------------------------------------------


def _to_torch(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """Channels-last sample shape -> PyTorch's channels-first (batch 2 prepended)."""
    if layout == "channels_first" or len(shape) == 1:
        return (2, *shape)
    return (2, shape[-1], *shape[:-1])


def _from_torch(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    body = shape[1:]
    if layout == "channels_first" or len(body) == 1:
        return body
    return (*body[1:], body[0])


def _torch_counts(module: object) -> tuple[int, int]:
    import torch

    assert isinstance(module, torch.nn.Module)
    params = sum(p.numel() for p in module.parameters())
    state = sum(b.numel() for name, b in module.named_buffers() if name in ("running_mean", "running_var"))
    return params, state


def _check_against_torch(layer: str, shape: tuple[int, ...], layout: str, module: object) -> None:
    import torch

    node = info(layer, *shape, layout=layout)
    torch.manual_seed(0)
    x = torch.randn(*_to_torch(shape, layout))
    assert isinstance(module, torch.nn.Module)
    module.train()
    y = module(x)
    assert node.output_shape == _from_torch(tuple(y.shape), layout)
    assert (node.params, node.state) == _torch_counts(module)


BATCH_NORM_CASES = [
    ("BatchNorm1d(6)", (6,), "channels_last", "BatchNorm1d", 6, {}),
    ("BatchNorm1d(6)", (9, 6), "channels_last", "BatchNorm1d", 6, {}),
    ("BatchNormalization()", (6, 9), "channels_first", "BatchNorm1d", 6, {}),
    ("BatchNormalization()", (5, 5, 4), "channels_last", "BatchNorm2d", 4, {}),
    ("BatchNorm2d(4)", (4, 5, 5), "channels_first", "BatchNorm2d", 4, {}),
    ("BatchNorm2d(4, affine=false)", (5, 5, 4), "channels_last", "BatchNorm2d", 4, {"affine": False}),
    (
        "BatchNorm3d(3, eps=1e-3, momentum=0.8)",
        (3, 3, 3, 3),
        "channels_last",
        "BatchNorm3d",
        3,
        {"eps": 1e-3, "momentum": 0.2},
    ),
]


@pytest.mark.parametrize(("layer", "shape", "layout", "cls", "channels", "kwargs"), BATCH_NORM_CASES)
def test_batch_norm_matches_torch(
    layer: str, shape: tuple[int, ...], layout: str, cls: str, channels: int, kwargs: dict[str, object]
) -> None:
    torch = pytest.importorskip("torch")
    module = getattr(torch.nn, cls)(channels, **kwargs)
    _check_against_torch(layer, shape, layout, module)
    node = info(layer, *shape, layout=layout)
    assert torch_momentum(node.node.config.momentum) == pytest.approx(module.momentum)
    assert node.node.config.epsilon == pytest.approx(module.eps)
    torch_shapes = {
        n: tuple(t.shape)
        for n, t in [*module.named_parameters(), *module.named_buffers()]
        if n != "num_batches_tracked"
    }
    assert {k: w.shape for k, w in node.weights.items()} == torch_shapes


@pytest.mark.parametrize(
    ("layer", "shape", "kwargs"),
    [
        ("LayerNorm(8)", (8,), {"normalized_shape": 8}),
        ("LayerNormalization()", (5, 8), {"normalized_shape": 8}),
        ("LayerNormalization(axis=(-2, -1))", (5, 8), {"normalized_shape": (5, 8)}),
        ("LayerNorm((3, 4))", (2, 3, 4), {"normalized_shape": (3, 4)}),
        ("LayerNorm(8, bias=false)", (5, 8), {"normalized_shape": 8, "bias": False}),
        ("LayerNorm(8, elementwise_affine=false)", (5, 8), {"normalized_shape": 8, "elementwise_affine": False}),
    ],
)
def test_layer_norm_matches_torch(layer: str, shape: tuple[int, ...], kwargs: dict[str, object]) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.LayerNorm(**kwargs)
    node = info(layer, *shape)
    y = module(torch.randn(2, *shape))
    assert node.output_shape == tuple(y.shape[1:])
    assert node.params == sum(p.numel() for p in module.parameters())
    assert {k: w.shape for k, w in node.weights.items()} == {n: tuple(p.shape) for n, p in module.named_parameters()}


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "cls", "channels", "kwargs"),
    [
        ("InstanceNorm1d(4)", (10, 4), "channels_last", "InstanceNorm1d", 4, {}),
        ("InstanceNorm1d(4, affine=true)", (4, 10), "channels_first", "InstanceNorm1d", 4, {"affine": True}),
        ("InstanceNormalization()", (6, 6, 3), "channels_last", "InstanceNorm2d", 3, {}),
        ("InstanceNorm2d(3, affine=true)", (6, 6, 3), "channels_last", "InstanceNorm2d", 3, {"affine": True}),
        (
            "InstanceNorm2d(3, track_running_stats=true)",
            (3, 6, 6),
            "channels_first",
            "InstanceNorm2d",
            3,
            {"track_running_stats": True},
        ),
        ("InstanceNorm3d(2, affine=true)", (4, 4, 4, 2), "channels_last", "InstanceNorm3d", 2, {"affine": True}),
    ],
)
def test_instance_norm_matches_torch(
    layer: str, shape: tuple[int, ...], layout: str, cls: str, channels: int, kwargs: dict[str, object]
) -> None:
    torch = pytest.importorskip("torch")
    _check_against_torch(layer, shape, layout, getattr(torch.nn, cls)(channels, **kwargs))


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "groups", "channels", "affine"),
    [
        ("GroupNorm(2)", (10, 4), "channels_last", 2, 4, True),
        ("GroupNorm(4, 8)", (6, 6, 8), "channels_last", 4, 8, True),
        ("GroupNormalization(groups=8)", (8, 6, 6), "channels_first", 8, 8, True),
        ("GroupNorm(1, affine=false)", (3, 3, 3, 6), "channels_last", 1, 6, False),
        ("GroupNorm(3)", (6,), "channels_last", 3, 6, True),
    ],
)
def test_group_norm_matches_torch(
    layer: str, shape: tuple[int, ...], layout: str, groups: int, channels: int, affine: bool
) -> None:
    torch = pytest.importorskip("torch")
    _check_against_torch(layer, shape, layout, torch.nn.GroupNorm(groups, channels, affine=affine))
