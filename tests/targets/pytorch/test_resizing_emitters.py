"""PyTorch emitters of the resizing family (UpSampling, ZeroPadding, Cropping): exact against the NumPy
runtime (forward and one training step through the layer, after a 1x1 convolution), in both layouts;
cropping also straight on channels-last input."""

from __future__ import annotations

import pytest
from torch_helpers import check_layer

from neural.targets.pytorch.codegen import generate
from neural.testing import analyse_snippet


def channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[-1], *shape[:-1])


SHAPES = {1: (5, 2), 2: (4, 5, 2), 3: (3, 4, 3, 2)}

CASES = [
    ("UpSampling1D()", SHAPES[1]),
    ("UpSampling1D(3)", SHAPES[1]),
    ('UpSampling1D(3, interpolation="linear")', SHAPES[1]),
    ("UpSampling2D()", SHAPES[2]),
    ("UpSampling2D((2, 3))", SHAPES[2]),
    ('UpSampling2D(2, interpolation="bilinear")', SHAPES[2]),
    ('UpSampling2D((3, 2), interpolation="linear")', SHAPES[2]),
    ("UpSampling3D(2)", SHAPES[3]),
    ('UpSampling3D((1, 2, 3), interpolation="trilinear")', SHAPES[3]),
    ("ZeroPadding1D()", SHAPES[1]),
    ("ZeroPadding1D((2, 0))", SHAPES[1]),
    ("ZeroPadding2D(1)", SHAPES[2]),
    ("ZeroPadding2D((1, 2))", SHAPES[2]),
    ("ZeroPadding2D(((1, 2), (0, 3)))", SHAPES[2]),
    ("ZeroPadding3D(1)", SHAPES[3]),
    ("ZeroPadding3D(((1, 0), (0, 2), (1, 1)))", SHAPES[3]),
    ("Cropping1D()", SHAPES[1]),
    ("Cropping1D((2, 0))", SHAPES[1]),
    ("Cropping2D()", SHAPES[2]),
    ("Cropping2D((1, 2))", SHAPES[2]),
    ("Cropping2D(((1, 0), (0, 2)))", SHAPES[2]),
    ("Cropping3D()", SHAPES[3]),
    ("Cropping3D(((1, 0), (0, 2), (1, 1)))", SHAPES[3]),
]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "shape"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_resizing_emitter_matches_numpy_runtime(layer: str, shape: tuple[int, ...], layout: str) -> None:
    layers = f"Conv{len(shape) - 1}D(3, 1)\n{layer}"
    check_layer(layers, shape if layout == "channels_last" else channels_first(shape), layout=layout)


CROPPING = [c for c in CASES if c[0].startswith("Cropping")]


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "shape"), CROPPING, ids=[f"{c[0]} {c[1]}" for c in CROPPING])
def test_cropping_on_the_input_matches_numpy_runtime(layer: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(
        f"{layer}\nFlatten()\nDense(3)", shape if layout == "channels_last" else channels_first(shape), layout=layout
    )


def test_generated_resizing_code_reads_as_pytorch() -> None:
    code = generate(analyse_snippet('UpSampling2D((2, 3), interpolation="bilinear")', (4, 4, 3)))
    assert "nn.Upsample(scale_factor=(2, 3), mode='bilinear', align_corners=False)" in code
    code = generate(analyse_snippet("ZeroPadding2D(((1, 2), (0, 3)))", (4, 4, 3)))
    assert "nn.ZeroPad2d((0, 3, 1, 2))" in code
    code = generate(analyse_snippet("Cropping2D(((1, 0), (0, 2)))", (4, 4, 3)))
    assert "input[:, 1:, :-2]" in code
