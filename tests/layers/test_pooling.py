"""Pooling specs: exact shapes (no weights, no MACs); agreement with PyTorch and Keras."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from neural.errors import InvalidValueError, NameResolutionError, NeuralError, ShapeError
from neural.layers.base import Shape
from neural.layers.pooling import pool_length
from neural.layers.registry import lookup
from neural.shapes.engine import NodeShape
from neural.testing import layer_info


def info(layer: str, shape: Shape, layout: str = "channels_last") -> NodeShape:
    # A leading None in a declared input shape is read as the batch axis: declare it explicitly.
    declared = (None, *shape) if shape and shape[0] is None else shape
    return layer_info(layer, declared, layout=layout)


CASES = [
    # (layer, input, layout, output); pooling has no weights and counts 0 MACs
    # default pool 2, strides = pool_size: 28/2
    ("MaxPooling2D()", (28, 28, 8), "channels_last", (14, 14, 8)),
    # floor((7 - 2) / 2) + 1 = 3
    ("MaxPooling2D((2, 2))", (7, 7, 8), "channels_last", (3, 3, 8)),
    # positional strides: floor((7 - 3) / 2) + 1 = 3
    ("MaxPooling2D(3, 2)", (7, 7, 8), "channels_last", (3, 3, 8)),
    # positional padding "same": ceil(7 / 2) = 4
    ('MaxPooling2D(3, 2, "same")', (7, 7, 8), "channels_last", (4, 4, 8)),
    ('MaxPooling2D(2, padding="same")', (7, 7, 8), "channels_last", (4, 4, 8)),
    # ResNet stem: (112 + 2 - 3) // 2 + 1 = 56
    ("MaxPooling2D(3, 2, padding=1)", (112, 112, 64), "channels_last", (56, 56, 64)),
    # GoogLeNet, ceil_mode: ceil((112 - 3) / 2) + 1 = 56 (floor would give 55)
    ("MaxPool2D(3, 2, ceil_mode=true)", (112, 112, 64), "channels_last", (56, 56, 64)),
    ("MaxPool2D(3, 2)", (112, 112, 64), "channels_last", (55, 55, 64)),
    # ceil_mode drops a window that would start in the after-padding:
    # ceil((5 + 1 + 1 - 2) / 2) + 1 = 4, but (4 - 1) * 2 = 6 >= 5 + 1, so 3
    ("MaxPooling1D(2, 2, padding=1, ceil_mode=true)", (5, 3), "channels_last", (3, 3)),
    # asymmetric pads with ceil_mode: ceil((5 + 0 + 1 - 2) / 2) + 1 = 3; (3 - 1) * 2 = 4 < 5 + 0, kept
    ("MaxPooling1D(2, 2, padding=(0, 1), ceil_mode=true)", (5, 3), "channels_last", (3, 3)),
    # ceil_mode keeps a window that starts inside the input even when it hangs over the end (torch):
    # ceil((2 - 3) / 3) + 1 = 1
    ("MaxPooling1D(3, ceil_mode=true)", (2, 4), "channels_last", (1, 4)),
    # per-axis pool and strides: h = 5 - 2 + 1 = 4, w = (9 - 3) // 2 + 1 = 4
    ("MaxPooling2D((2, 3), strides=(1, 2))", (5, 9, 1), "channels_last", (4, 4, 1)),
    # torch spellings kernel_size / stride
    ("MaxPooling2D(kernel_size=3, stride=1)", (5, 9, 1), "channels_last", (3, 7, 1)),
    ("AveragePooling2D(2)", (3, 6, 6), "channels_first", (3, 3, 3)),
    ('AveragePooling1D(3, 1, "same")', (10, 4), "channels_last", (10, 4)),
    ("AvgPool1D(3, 2, padding=1, count_include_pad=true)", (4, 10), "channels_first", (4, 5)),
    ("MaxPooling1D()", (None, 8), "channels_last", (None, 8)),
    ("MaxPooling2D()", (3, None, 8), "channels_first", (3, None, 4)),
    ("MaxPooling3D()", (8, 8, 8, 2), "channels_last", (4, 4, 4, 2)),
    ("AveragePooling3D((1, 2, 2))", (4, 8, 8, 3), "channels_last", (4, 4, 4, 3)),
    ('AveragePooling3D(3, 2, "same")', (3, 5, 6, 7), "channels_first", (3, 3, 3, 4)),
    # global: the spatial axes go away (or stay as 1 with keepdims)
    ("GlobalAveragePooling2D()", (7, 7, 512), "channels_last", (512,)),
    ("GlobalAveragePooling2D()", (512, 7, 7), "channels_first", (512,)),
    ("GlobalAveragePooling2D(keepdims=true)", (7, 7, 512), "channels_last", (1, 1, 512)),
    ("GlobalAvgPool2D(keepdims=true)", (512, 7, 7), "channels_first", (512, 1, 1)),
    ("GlobalMaxPooling1D()", (None, 16), "channels_last", (16,)),
    ("GlobalMaxPool1D(keepdims=true)", (16, None), "channels_first", (16, 1)),
    ("GlobalMaxPooling3D()", (2, 3, 4, 5), "channels_first", (2,)),
    ("GlobalAveragePooling3D(keepdims=true)", (2, 3, 4, 5), "channels_last", (1, 1, 1, 5)),
    # adaptive: output_size replaces the spatial dims; none keeps an axis
    ("AdaptiveAveragePooling2D((7, 7))", (13, 13, 512), "channels_last", (7, 7, 512)),
    ("AdaptiveAvgPool2D(1)", (512, 13, 13), "channels_first", (512, 1, 1)),
    ("AdaptiveAvgPool2D((3, none))", (8, 7, 9), "channels_first", (8, 3, 9)),
    ("AdaptiveMaxPooling1D(4)", (None, 6), "channels_last", (4, 6)),
    ("AdaptiveMaxPooling2D(5)", (2, 3, 6), "channels_last", (5, 5, 6)),
    ("AdaptiveAveragePooling3D((2, none, 3))", (5, 6, 7, 2), "channels_last", (2, 6, 3, 2)),
    ("AdaptiveMaxPool3D(2)", (4, 5, 6, 7), "channels_first", (4, 2, 2, 2)),
]


@pytest.mark.parametrize(("layer", "shape", "layout", "out"), CASES)
def test_exact(layer: str, shape: Shape, layout: str, out: Shape) -> None:
    node = info(layer, shape, layout)
    assert node.output_shape == out
    assert node.params == 0
    assert node.state == 0
    assert dict(node.weights) == {}
    assert node.macs == 0


def test_config_is_normalized() -> None:
    assert info("MaxPooling2D()", (8, 8, 1)).node.config.strides == (2, 2)
    assert info("MaxPooling2D(3)", (8, 8, 1)).node.config.strides == (3, 3)
    assert info("MaxPooling2D(3, 1)", (8, 8, 1)).node.config.strides == (1, 1)
    assert info("MaxPooling2D(3, padding=1)", (8, 8, 1)).node.config.padding == ((1, 1), (1, 1))
    assert info("MaxPooling1D(3, padding=(0, 1))", (8, 1)).node.config.padding == ((0, 1),)
    cfg = info("AveragePooling2D()", (8, 8, 1)).node.config
    assert cfg.count_include_pad is False
    assert cfg.ceil_mode is False
    assert cfg.padding == "valid"
    assert info("AdaptiveAvgPool2D(3)", (8, 8, 1)).node.config.output_size == (3, 3)
    assert info("GlobalAvgPool2D()", (8, 8, 1)).node.config.keepdims is False


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("MaxPool2d", "MaxPooling2D"),
        ("MaxPool1D", "MaxPooling1D"),
        ("maxpool3d", "MaxPooling3D"),
        ("AvgPool2d", "AveragePooling2D"),
        ("AveragePool1D", "AveragePooling1D"),
        ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
        ("GlobalMaxPool3D", "GlobalMaxPooling3D"),
        ("AdaptiveAvgPool2d", "AdaptiveAveragePooling2D"),
        ("AdaptiveMaxPool1d", "AdaptiveMaxPooling1D"),
        ("AdaptiveAveragePool3D", "AdaptiveAveragePooling3D"),
    ],
)
def test_aliases(name: str, kind: str) -> None:
    spec = lookup(name)
    assert spec is not None and spec.kind == kind
    assert spec.family == "pooling"


def test_pool_length() -> None:
    assert pool_length(7, 3, 2, "valid") == 3
    assert pool_length(7, 3, 2, "same") == 4
    assert pool_length(7, 3, 2, "same", ceil_mode=True) == 4
    assert pool_length(8, 3, 2, "valid", ceil_mode=True) == 4
    assert pool_length(None, 3, 2, "valid", ceil_mode=True) is None
    assert pool_length(2, 3, 1, "valid", ceil_mode=True) == 0
    assert pool_length(5, 2, 2, (1, 1), ceil_mode=True) == 3


ERRORS = [
    (
        "MaxPooling2D()",
        (28, 28),
        ShapeError,
        "MaxPooling2D expects input of rank 3 (height, width, channels), received (28, 28)",
    ),
    ("MaxPooling1D()", (2, 28, 28), ShapeError, "rank 2 (steps, channels)"),
    (
        "MaxPooling2D(3)",
        (2, 2, 1),
        ShapeError,
        "spatial dims (height, width) at least as large as the pool size (3, 3), received (2, 2, 1)",
    ),
    ("MaxPooling1D(4, padding=1)", (1, 1), ShapeError, "pool size (4,) plus padding ((1, 1),)"),
    ("AveragePooling3D()", (1, 8, 8, 3), ShapeError, "pool size (2, 2, 2)"),
    ("MaxPooling2D(3, 1, ceil_mode=true)", (2, 9, 1), ShapeError, "pool size (3, 3)"),
    ("GlobalAveragePooling2D()", (7, 512), ShapeError, "rank 3 (height, width, channels)"),
    ("GlobalMaxPooling1D()", (7, 7, 512), ShapeError, "rank 2 (steps, channels)"),
    ("AdaptiveAvgPool2D(2)", (7, 512), ShapeError, "rank 3"),
    (
        "MaxPooling2D(2, padding=2)",
        (8, 8, 1),
        InvalidValueError,
        "`padding` must be at most half the pool size (pool_size=(2, 2)) on each side",
    ),
    ("MaxPooling1D(3, padding=(0, 2))", (8, 1), InvalidValueError, "at most half the pool size"),
    ("MaxPooling2D(0)", (8, 8, 1), InvalidValueError, "`pool_size` expects a positive integer"),
    ("MaxPooling2D(2, 0)", (8, 8, 1), InvalidValueError, "`strides`"),
    ('MaxPooling1D(2, padding="causal")', (8, 1), InvalidValueError, "`padding` expects"),
    ("MaxPooling2D(2, dilation=2)", (8, 8, 1), NameResolutionError, "has no argument `dilation`"),
    ("GlobalAveragePooling2D(2)", (8, 8, 1), InvalidValueError, "takes no positional arguments"),
    ("AdaptiveAvgPool2D()", (8, 8, 1), InvalidValueError, "needs the argument `output_size`"),
    ("AdaptiveAvgPool2D(0)", (8, 8, 1), InvalidValueError, "`output_size` expects a positive integer"),
    ("AdaptiveAvgPool2D((2, 2, 2))", (8, 8, 1), InvalidValueError, "tuple of 2 positive integers"),
    ("AdaptiveAvgPool2D((none, none))", (8, 8, 1), InvalidValueError, "`output_size`"),
    ("AdaptiveMaxPool1D(1.5)", (8, 1), InvalidValueError, "`output_size`"),
    ("AdaptiveMaxPool1D(2, return_indices=true)", (8, 1), NameResolutionError, "`return_indices`"),
]


@pytest.mark.parametrize(("layer", "shape", "error", "fragment"), ERRORS)
def test_errors(layer: str, shape: Shape, error: type[NeuralError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        info(layer, shape)
    assert fragment in caught.value.message


# --------------------------------------------------------------------------------------------
# Agreement with PyTorch
# --------------------------------------------------------------------------------------------


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    # TensorFlow "same": total = max((ceil(n/s) - 1) * s + k - n, 0), smaller half before
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _torch_window_pool(kind: str, cfg: Any, cf_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape (channels first, no batch) of torch's MaxPoolNd / AvgPoolNd with our arguments.

    Symmetric pads go to torch's `padding` (so `ceil_mode` follows torch exactly); "same" and
    asymmetric pads are applied with F.pad first (-inf for max), only without ceil_mode.
    """
    torch = pytest.importorskip("torch")
    spatial = cf_shape[1:]
    rank = len(spatial)
    pool, strides, padding = cfg.pool_size, cfg.strides, cfg.padding
    x = torch.randn(1, *cf_shape)
    if padding == "valid":
        pairs = [(0, 0)] * rank
    elif padding == "same":
        pairs = [_same_pads(n, k, s) for n, k, s in zip(spatial, pool, strides)]
    else:
        pairs = list(padding)
    native: Any = 0
    if all(b == a for b, a in pairs):
        native = tuple(b for b, _ in pairs)
    else:
        assert not cfg.ceil_mode
        flat = [v for pair in reversed(pairs) for v in pair]
        x = torch.nn.functional.pad(x, flat, value=float("-inf") if kind.startswith("Max") else 0.0)
    if kind.startswith("Max"):
        module = getattr(torch.nn, f"MaxPool{rank}d")(pool, strides, native, ceil_mode=cfg.ceil_mode)
    else:
        module = getattr(torch.nn, f"AvgPool{rank}d")(
            pool, strides, native, ceil_mode=cfg.ceil_mode, count_include_pad=cfg.count_include_pad
        )
    return tuple(module(x).shape[1:])


TORCH_WINDOW_CASES = [
    ("MaxPooling2D()", (3, 9, 8)),
    ("MaxPooling2D(3, 2)", (3, 9, 8)),
    ("MaxPooling2D(3, 2, padding=1)", (3, 9, 8)),
    ("MaxPooling2D(3, 2, padding=1, ceil_mode=true)", (3, 10, 9)),
    ("MaxPooling2D(3, 2, ceil_mode=true)", (3, 10, 9)),
    ("MaxPooling2D((2, 3), (1, 2), padding=((1, 1), (0, 0)))", (3, 10, 9)),
    ("MaxPooling2D((2, 3), (2, 1), padding=((0, 1), (1, 0)))", (3, 10, 9)),
    ("MaxPooling2D(3, 2, same)", (3, 10, 9)),
    ("MaxPooling2D(2, 3, same)", (3, 10, 11)),
    ("MaxPooling1D(3)", (2, 10)),
    ("MaxPooling1D(4, 3, same)", (2, 10)),
    ("MaxPooling1D(4, 3, padding=2, ceil_mode=true)", (2, 11)),
    ("MaxPooling3D()", (2, 4, 5, 6)),
    ("MaxPooling3D((1, 2, 3), padding=(0, 1, 1), ceil_mode=true)", (2, 4, 5, 6)),
    ("MaxPooling3D(3, 2, same)", (2, 4, 5, 6)),
    ("AveragePooling2D()", (3, 9, 8)),
    ("AveragePooling2D(3, 1, same)", (3, 9, 8)),
    ("AveragePooling2D(3, 2, padding=1, count_include_pad=true, ceil_mode=true)", (3, 9, 8)),
    ("AveragePooling1D(5, 2, padding=2)", (2, 12)),
    ("AveragePooling1D(2, padding=(1, 0))", (2, 12)),
    ("AveragePooling3D((2, 1, 2), padding=same)", (2, 5, 5, 5)),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "cf_shape"), TORCH_WINDOW_CASES)
def test_window_pooling_matches_torch(layer: str, cf_shape: tuple[int, ...], layout: str) -> None:
    shape = cf_shape if layout == "channels_first" else (*cf_shape[1:], cf_shape[0])
    node = info(layer, shape, layout)
    out = node.output_shape
    predicted = out if layout == "channels_first" else (out[-1], *out[:-1])
    assert predicted == _torch_window_pool(node.node.kind, node.node.config, cf_shape)


def test_pool1d_grid_matches_torch() -> None:
    """Every small length, pool, stride, padding and ceil_mode that torch can express: shape or error agree."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for n, k, s, pad, ceil in itertools.product(
        range(1, 9), range(1, 5), range(1, 4), ["valid", "same", 1, (0, 1), (1, 0)], [False, True]
    ):
        if isinstance(pad, (int, tuple)) and max(pad if isinstance(pad, tuple) else (pad,)) > k // 2:
            continue
        if isinstance(pad, tuple) and ceil:
            continue
        layer = f"MaxPooling1D({k}, {s}, padding={pad!r}, ceil_mode={str(ceil).lower()})".replace("'", '"')
        pairs = (
            {"valid": (0, 0), "same": _same_pads(n, k, s)}.get(pad)
            if isinstance(pad, str)
            else (pad if isinstance(pad, tuple) else (pad, pad))
        )
        assert pairs is not None
        native = pairs[0] if pairs[0] == pairs[1] else 0
        x = torch.zeros(1, 1, n) if native or pairs == (0, 0) else F.pad(torch.zeros(1, 1, n), list(pairs))
        try:
            node = info(layer, (n, 1))
        except ShapeError:
            with pytest.raises(RuntimeError):
                F.max_pool1d(x, k, s, native, ceil_mode=ceil)
            continue
        assert node.output_shape == (F.max_pool1d(x, k, s, native, ceil_mode=ceil).shape[-1], 1), layer


GLOBAL_CASES = [
    ("GlobalMaxPooling1D()", (4, 9)),
    ("GlobalAveragePooling1D(keepdims=true)", (4, 9)),
    ("GlobalMaxPooling2D(keepdims=true)", (4, 9, 7)),
    ("GlobalAveragePooling2D()", (4, 9, 7)),
    ("GlobalMaxPooling3D()", (4, 3, 5, 2)),
    ("GlobalAveragePooling3D(keepdims=true)", (4, 3, 5, 2)),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "cf_shape"), GLOBAL_CASES)
def test_global_pooling_matches_torch(layer: str, cf_shape: tuple[int, ...], layout: str) -> None:
    torch = pytest.importorskip("torch")
    shape = cf_shape if layout == "channels_first" else (*cf_shape[1:], cf_shape[0])
    node = info(layer, shape, layout)
    x = torch.randn(1, *shape)
    # spatial axes of the batched tensor (1, *shape)
    axes = tuple(range(1, len(shape))) if layout == "channels_last" else tuple(range(2, len(shape) + 1))
    keep = node.node.config.keepdims
    y = x.amax(dim=axes, keepdim=keep) if "Max" in node.node.kind else x.mean(dim=axes, keepdim=keep)
    assert node.output_shape == tuple(y.shape[1:])


ADAPTIVE_CASES = [
    ("AdaptiveMaxPooling1D(4)", (3, 10)),
    ("AdaptiveAveragePooling1D(7)", (3, 5)),
    ("AdaptiveAveragePooling2D((7, 7))", (3, 13, 12)),
    ("AdaptiveAveragePooling2D(1)", (3, 13, 12)),
    ("AdaptiveMaxPooling2D((2, none))", (3, 13, 12)),
    ("AdaptiveMaxPooling3D((2, 3, none))", (2, 5, 6, 7)),
    ("AdaptiveAveragePooling3D(2)", (2, 5, 6, 7)),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "cf_shape"), ADAPTIVE_CASES)
def test_adaptive_pooling_matches_torch(layer: str, cf_shape: tuple[int, ...], layout: str) -> None:
    torch = pytest.importorskip("torch")
    shape = cf_shape if layout == "channels_first" else (*cf_shape[1:], cf_shape[0])
    node = info(layer, shape, layout)
    rank = len(cf_shape) - 1
    kind = "Max" if "Max" in node.node.kind else "Avg"
    module = getattr(torch.nn, f"Adaptive{kind}Pool{rank}d")(node.node.config.output_size)
    got = tuple(module(torch.randn(1, *cf_shape)).shape[1:])
    out = node.output_shape
    assert (out if layout == "channels_first" else (out[-1], *out[:-1])) == got


# --------------------------------------------------------------------------------------------
# Agreement with Keras (channels last)
# --------------------------------------------------------------------------------------------

KERAS_CASES: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (9, 10, 3)),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": (3, 1), "padding": "same"}, (9, 10, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "valid"}, (9, 10, 3)),
    ("AveragePooling1D", {"pool_size": 4, "strides": 3, "padding": "same"}, (10, 3)),
    ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, (3, 5, 4, 2)),
    ("MaxPooling3D", {"pool_size": (1, 2, 3)}, (3, 5, 7, 2)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (5, 4, 3)),
    ("GlobalMaxPooling1D", {}, (5, 3)),
    ("AdaptiveAveragePooling2D", {"output_size": (2, 3)}, (7, 8, 3)),
    ("AdaptiveMaxPooling1D", {"output_size": 3}, (7, 3)),
]


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else repr(value)


@pytest.mark.parametrize(("kind", "kwargs", "shape"), KERAS_CASES)
def test_matches_keras(kind: str, kwargs: dict[str, Any], shape: tuple[int, ...]) -> None:
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    layer = getattr(keras.layers, kind)(**kwargs)
    y = layer(np.random.rand(1, *shape).astype("float32"))
    node = info(f"{kind}({', '.join(f'{k}={_literal(v)}' for k, v in kwargs.items())})", shape)
    assert node.output_shape == tuple(y.shape[1:])
