"""Resizing kernels (UpSampling, ZeroPadding, Cropping in 1-3 D): against PyTorch (`F.interpolate` with
align_corners=False, `F.pad` with positive and negative widths), Keras bilinear upsampling, and float64
finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import compare_passes, model_for, nchw_to_nhwc, nhwc_to_nchw, ours_pass, random_inputs, torch_pass

from neural.runtime.gradcheck import gradient_check
from neural.runtime.model import Model

CL, CF = "channels_last", "channels_first"

CASES = [
    ("UpSampling1D(2)", (5, 3), CL),
    ('UpSampling1D(3, interpolation="linear")', (5, 3), CL),
    ("UpSampling2D(2)", (4, 5, 3), CL),
    ("UpSampling2D((2, 3))", (3, 4, 5), CF),
    ('UpSampling2D(2, interpolation="bilinear")', (4, 5, 3), CL),
    ('UpSampling2D((3, 2), interpolation="bilinear")', (3, 4, 5), CF),
    ('UpSampling2D((1, 4), interpolation="bilinear")', (1, 3, 2), CL),
    ("UpSampling3D(2)", (2, 3, 4, 2), CL),
    ('UpSampling3D((1, 2, 3), interpolation="trilinear")', (2, 2, 3, 4), CF),
    ("ZeroPadding1D((1, 2))", (5, 3), CL),
    ("ZeroPadding2D(1)", (4, 5, 3), CL),
    ("ZeroPadding2D(((1, 0), (2, 1)))", (3, 4, 5), CF),
    ("ZeroPadding3D((1, 2, 0))", (2, 3, 4, 2), CL),
    ("Cropping1D((1, 2))", (6, 3), CL),
    ("Cropping2D(((1, 0), (2, 1)))", (5, 6, 3), CL),
    ("Cropping2D(1)", (3, 5, 6), CF),
    ("Cropping3D((1, 0, 1))", (4, 3, 5, 2), CL),
]


def _ids() -> list[str]:
    return [f"{layer}-{'cf' if layout == CF else 'cl'}" for layer, _, layout in CASES]


def resizing_reference(model: Model) -> Callable[[Any], Any]:
    """The layer in torch, on channels-first input."""
    pytest.importorskip("torch")
    import torch.nn.functional as F

    layer = model.shaped.layers[-1]
    kind, cfg = layer.node.kind, layer.node.config
    if kind.startswith("UpSampling"):
        scale = tuple(float(s) for s in cfg.size)
        if cfg.interpolation == "nearest":
            return lambda x: F.interpolate(x, scale_factor=scale, mode="nearest")
        return lambda x: F.interpolate(x, scale_factor=scale, mode=cfg.interpolation, align_corners=False)
    pairs = cfg.padding if kind.startswith("ZeroPadding") else tuple((-b, -a) for b, a in cfg.cropping)
    flat = [v for pair in reversed(pairs) for v in pair]
    return lambda x: F.pad(x, flat)


@pytest.mark.parametrize(("layer", "shape", "layout"), CASES, ids=_ids())
def test_resizing_matches_torch(layer: str, shape: tuple[int, ...], layout: str) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    assert ours.outputs[0].shape[1:] == model.shaped.layers[-1].output_shapes[0]
    assert ours.outputs[0].dtype == np.float32
    to_torch = nhwc_to_nchw if layout == CL else np.ascontiguousarray
    back = nchw_to_nhwc if layout == CL else None
    theirs = torch_pass(
        torch.nn.Identity(),
        [to_torch(inputs["input"])],
        [to_torch(u) for u in upstream],
        forward=resizing_reference(model),
    )
    compare_passes(
        ours, theirs, param_names={}, input_map={"input": "0"}, output_transform=back, input_grad_transform=back
    )


@pytest.mark.parametrize(("layer", "shape", "layout"), CASES, ids=_ids())
def test_resizing_gradients(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = model_for(layer, shape, layout=layout, dtype=np.float64)
    gradient_check(model, random_inputs(model), rtol=1e-6, limit=30)


def test_bilinear_matches_keras() -> None:
    """TensorFlow's half-pixel bilinear resize is the same rule (align_corners=False)."""
    keras = pytest.importorskip("keras")
    model = model_for('UpSampling2D((2, 3), interpolation="bilinear")', (4, 5, 3))
    x = random_inputs(model)["input"]
    reference = keras.layers.UpSampling2D((2, 3), interpolation="bilinear")
    np.testing.assert_allclose(model({"input": x}).data, np.asarray(reference(x)), rtol=1e-5, atol=1e-6)
