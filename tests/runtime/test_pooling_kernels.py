"""Pooling kernels (windowed max / average, global, adaptive in 1-3 D): against PyTorch (forward and input
gradient), Keras (TensorFlow's "same" windows) and float64 finite differences.

Symmetric padding (explicit, or a "same" that splits evenly) uses torch's own `padding`, `ceil_mode`
and `count_include_pad`; an uneven "same" pads with `F.pad` (-inf for max) and, for averages that
exclude padding, divides the window sums by the pooled count of real positions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import compare_passes, model_for, nchw_to_nhwc, nhwc_to_nchw, ours_pass, random_inputs, torch_pass

from neural.layers.base import LayerContext
from neural.layers.conv import axis_padding, same_padding
from neural.runtime.gradcheck import gradient_check
from neural.runtime.model import Model

CL, CF = "channels_last", "channels_first"

WINDOW_CASES = [
    ("MaxPooling1D(2)", (9, 3), CL),
    ('MaxPooling1D(3, 2, "same")', (10, 3), CL),
    ("MaxPooling2D(2)", (8, 8, 3), CL),
    ('MaxPooling2D((3, 2), (2, 1), "same")', (7, 8, 3), CL),
    ("MaxPooling2D(3, 2, padding=1, ceil_mode=true)", (3, 8, 7), CF),
    ("MaxPooling2D(3, 1)", (6, 6, 2), CL),
    ("MaxPooling3D(2)", (4, 5, 6, 2), CL),
    ('MaxPooling3D(3, 2, "same")', (2, 5, 6, 7), CF),
    ("AveragePooling1D(2)", (9, 3), CL),
    ('AveragePooling1D(3, 2, "same")', (10, 3), CL),
    ("AveragePooling2D(3, 2, padding=1)", (8, 7, 3), CL),
    ("AveragePooling2D(3, 2, padding=1, count_include_pad=true)", (8, 7, 3), CL),
    ("AveragePooling2D(3, 2, padding=1, ceil_mode=true, count_include_pad=true)", (3, 8, 7), CF),
    ("AveragePooling2D(2, ceil_mode=true)", (7, 7, 2), CL),
    ('AveragePooling2D((2, 3), padding="same", count_include_pad=true)', (7, 8, 3), CL),
    ("AveragePooling3D(2)", (2, 4, 5, 6), CF),
    ('AveragePooling3D(3, 2, "same")', (5, 4, 6, 2), CL),
]

GLOBAL_CASES = [
    ("GlobalMaxPooling1D()", (9, 3), CL),
    ("GlobalMaxPooling2D(keepdims=true)", (3, 5, 6), CF),
    ("GlobalMaxPooling3D()", (3, 4, 5, 2), CL),
    ("GlobalAveragePooling1D(keepdims=true)", (9, 3), CL),
    ("GlobalAveragePooling2D()", (5, 6, 3), CL),
    ("GlobalAveragePooling3D()", (2, 3, 4, 5), CF),
]

ADAPTIVE_CASES = [
    ("AdaptiveAveragePooling1D(4)", (10, 3), CL),
    ("AdaptiveAveragePooling2D((3, 2))", (7, 8, 3), CL),
    ("AdaptiveAveragePooling2D((3, none))", (3, 7, 8), CF),
    ("AdaptiveAveragePooling2D(5)", (3, 4, 2), CL),
    ("AdaptiveAveragePooling3D(2)", (3, 5, 4, 2), CL),
    ("AdaptiveMaxPooling1D(4)", (10, 3), CL),
    ("AdaptiveMaxPooling2D((3, 2))", (7, 8, 3), CL),
    ("AdaptiveMaxPooling2D((none, 3))", (3, 7, 8), CF),
    ("AdaptiveMaxPooling2D(5)", (3, 4, 2), CL),
    ("AdaptiveMaxPooling3D((2, 3, 1))", (2, 3, 5, 4), CF),
]

ALL_CASES = WINDOW_CASES + GLOBAL_CASES + ADAPTIVE_CASES


def _ids(cases: list[tuple[str, tuple[int, ...], str]]) -> list[str]:
    return [f"{layer}-{'cf' if layout == CF else 'cl'}" for layer, _, layout in cases]


def _flat(pads: list[tuple[int, int]]) -> list[int]:
    return [v for pair in reversed(pads) for v in pair]


def window_reference(cfg: Any, spatial: tuple[int, ...], average: bool) -> Callable[[Any], Any]:
    """The pooling in torch, on channels-first input."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rank = len(spatial)
    strides = cfg.strides or cfg.pool_size
    pads = []
    for i, (n, k, s) in enumerate(zip(spatial, cfg.pool_size, strides)):
        mode = axis_padding(cfg.padding, i)
        pads.append(same_padding(n, k, s) if mode == "same" else (0, 0) if mode == "valid" else tuple(mode))
    max_fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
    avg_fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    if all(b == a for b, a in pads):
        padding = [b for b, _ in pads]
        if average:
            return lambda x: avg_fn(x, cfg.pool_size, strides, padding, cfg.ceil_mode, cfg.count_include_pad)
        return lambda x: max_fn(x, cfg.pool_size, strides, padding, ceil_mode=cfg.ceil_mode)
    flat = _flat(pads)  # type: ignore[arg-type]
    if not average:
        return lambda x: max_fn(F.pad(x, flat, value=-float("inf")), cfg.pool_size, strides)

    def mean_of_counted(x: Any) -> Any:
        total = avg_fn(F.pad(x, flat), cfg.pool_size, strides)
        if cfg.count_include_pad:
            return total
        counted = avg_fn(F.pad(torch.ones_like(x), flat), cfg.pool_size, strides)
        return total / counted

    return mean_of_counted


def pooling_reference(model: Model, layout: str) -> Callable[[Any], Any]:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    layer = model.shaped.layers[-1]
    kind, cfg = layer.node.kind, layer.node.config
    spatial, _ = LayerContext(layout).split(layer.input_shapes[0])
    rank = len(spatial)
    dims = tuple(range(2, 2 + rank))
    if kind.startswith(("MaxPooling", "AveragePooling")):
        return window_reference(cfg, spatial, kind.startswith("Average"))  # type: ignore[arg-type]
    if kind.startswith("GlobalMax"):
        return lambda x: torch.amax(x, dim=dims, keepdim=cfg.keepdims)
    if kind.startswith("GlobalAverage"):
        return lambda x: torch.mean(x, dim=dims, keepdim=cfg.keepdims)
    size = tuple(cfg.output_size) if rank > 1 else cfg.output_size[0]
    if kind.startswith("AdaptiveMax"):
        fn = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}[rank]
    else:
        fn = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[rank]
    return lambda x: fn(x, size)


def check_against_torch(
    model: Model, forward: Callable[[Any], Any], layout: str, inputs: dict[str, np.ndarray] | None = None
) -> None:
    torch = pytest.importorskip("torch")
    inputs = inputs or random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    expected = model.shaped.layers[-1].output_shapes[0]
    assert ours.outputs[0].shape[1:] == expected
    assert ours.outputs[0].dtype == np.float32
    channels_last_map = layout == CL and len(expected) > 1
    to_torch = nhwc_to_nchw if layout == CL else np.ascontiguousarray
    back = nchw_to_nhwc if channels_last_map else None
    upstream_torch = [to_torch(u) if channels_last_map else u for u in upstream]
    theirs = torch_pass(torch.nn.Identity(), [to_torch(inputs["input"])], upstream_torch, forward=forward)
    compare_passes(
        ours,
        theirs,
        param_names={},
        input_map={"input": "0"},
        output_transform=back,
        input_grad_transform=nchw_to_nhwc if layout == CL else None,
    )


@pytest.mark.parametrize(("layer", "shape", "layout"), ALL_CASES, ids=_ids(ALL_CASES))
def test_pooling_matches_torch(layer: str, shape: tuple[int, ...], layout: str) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    check_against_torch(model, pooling_reference(model, layout), layout)


@pytest.mark.parametrize(("layer", "shape", "layout"), ALL_CASES, ids=_ids(ALL_CASES))
def test_pooling_gradients(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = model_for(layer, shape, layout=layout, dtype=np.float64)
    gradient_check(model, random_inputs(model), rtol=1e-6, limit=30)


@pytest.mark.parametrize(
    "layer", ["MaxPooling2D(2)", "MaxPooling2D(3, 1, padding=1)", "MaxPooling2D(3, 2, padding=1, ceil_mode=true)"]
)
def test_max_pooling_ties_go_to_the_first_maximum_like_torch(layer: str) -> None:
    """After a ReLU many windows hold equal values: the gradient goes to the first in window order."""
    pytest.importorskip("torch")
    model = model_for(layer, (3, 7, 7), layout=CF)
    rng = np.random.default_rng(0)
    ties = rng.integers(0, 3, size=(2, 3, 7, 7)).astype(np.float32)
    check_against_torch(model, pooling_reference(model, CF), CF, {"input": ties})


KERAS_CASES = [
    ('MaxPooling2D(3, 2, "same")', (7, 8, 3), "MaxPooling2D", (3, 2)),
    ('AveragePooling2D(3, 2, "same")', (7, 8, 3), "AveragePooling2D", (3, 2)),
    ('AveragePooling1D(4, 3, "same")', (10, 2), "AveragePooling1D", (4, 3)),
]


@pytest.mark.parametrize(("layer", "shape", "keras_kind", "args"), KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_same_windows_match_keras(layer: str, shape: tuple[int, ...], keras_kind: str, args: tuple[int, int]) -> None:
    """The "same" pooling is TensorFlow's: extra padding after, averages over real positions only."""
    keras = pytest.importorskip("keras")
    model = model_for(layer, shape)
    x = random_inputs(model)["input"]
    reference = getattr(keras.layers, keras_kind)(*args, padding="same")
    np.testing.assert_allclose(model({"input": x}).data, np.asarray(reference(x)), rtol=1e-5, atol=1e-6)
