"""TensorFlow emitters of the pooling and resizing families: exact against the NumPy runtime (forward and one
training step through the layer, which follows a 1x1 convolution), both layouts."""

from __future__ import annotations

import pytest
from tf_helpers import channels_first, check_layer, snippet_network

from neural.errors import BackendError
from neural.targets.tensorflow.codegen import generate

SHAPES = {1: (9, 2), 2: (7, 8, 2), 3: (5, 6, 5, 2)}


def _windowed(kind: str) -> list[tuple[str, tuple[int, ...]]]:
    cases = [
        (f"{kind}1D(2)", SHAPES[1]),
        (f"{kind}1D(3, strides=2)", SHAPES[1]),
        (f'{kind}1D(2, strides=1, padding="same")', SHAPES[1]),
        (f"{kind}1D(4, strides=3, padding=(1, 2))", SHAPES[1]),  # uneven explicit pads
        (f"{kind}1D(3, strides=2, padding=1, ceil_mode=true)", SHAPES[1]),
        (f"{kind}1D(2, padding=(0, 1), ceil_mode=true)", (8, 2)),  # no window starting in the after-padding
        (f"{kind}1D(4, strides=3, padding=(2, 1), ceil_mode=true)", SHAPES[1]),
        (f'{kind}2D((2, 3), strides=(1, 2), padding="same")', SHAPES[2]),
        (f"{kind}2D(3, strides=2, padding=((1, 0), (0, 1)))", SHAPES[2]),
        (f"{kind}2D(3, strides=2, ceil_mode=true)", SHAPES[2]),
        (f'{kind}3D(3, strides=2, padding="same")', SHAPES[3]),
        (f"{kind}3D(2, padding=((0, 1), (1, 0), (0, 0)))", SHAPES[3]),
    ]
    return cases


COUNTING_PAD = [
    ("AveragePooling1D(3, strides=2, padding=1, count_include_pad=true)", SHAPES[1]),
    ('AveragePooling1D(3, strides=2, padding="same", count_include_pad=true)', (10, 2)),
    ("AveragePooling1D(4, strides=3, padding=(1, 2), count_include_pad=true, ceil_mode=true)", SHAPES[1]),
    ("AveragePooling2D(3, strides=2, padding=1, count_include_pad=true, ceil_mode=true)", SHAPES[2]),
    ('AveragePooling3D(2, padding="same", count_include_pad=true)', SHAPES[3]),
]

GLOBAL_AND_ADAPTIVE = [
    ("GlobalMaxPooling1D()", SHAPES[1]),
    ("GlobalAveragePooling1D(keepdims=true)", SHAPES[1]),
    ("GlobalMaxPooling2D(keepdims=true)", SHAPES[2]),
    ("GlobalAveragePooling2D()", SHAPES[2]),
    ("GlobalMaxPooling3D()", SHAPES[3]),
    ("GlobalAveragePooling3D(keepdims=true)", SHAPES[3]),
    ("AdaptiveMaxPooling1D(4)", SHAPES[1]),
    ("AdaptiveAveragePooling1D(3)", SHAPES[1]),
    ("AdaptiveMaxPooling2D((3, None))", SHAPES[2]),
    ("AdaptiveAveragePooling2D(4)", SHAPES[2]),
    ("AdaptiveMaxPooling3D((2, None, 3))", SHAPES[3]),
    ("AdaptiveAveragePooling3D((1, 4, None))", SHAPES[3]),
]

RESIZING = [
    ("UpSampling1D(3)", SHAPES[1]),
    ('UpSampling1D(3, interpolation="linear")', SHAPES[1]),
    ("UpSampling2D((2, 3))", SHAPES[2]),
    ('UpSampling2D(2, interpolation="bilinear")', SHAPES[2]),
    ('UpSampling2D((3, 2), interpolation="bilinear")', SHAPES[2]),
    ("UpSampling3D(2)", SHAPES[3]),
    ('UpSampling3D((1, 2, 3), interpolation="trilinear")', SHAPES[3]),
    ("ZeroPadding1D((2, 0))", SHAPES[1]),
    ("ZeroPadding2D(((1, 2), (0, 3)))", SHAPES[2]),
    ("ZeroPadding3D(1)", SHAPES[3]),
    ("Cropping1D((2, 0))", SHAPES[1]),
    ("Cropping2D(((1, 0), (0, 2)))", SHAPES[2]),
    ("Cropping3D(((1, 0), (0, 2), (1, 1)))", SHAPES[3]),
]

ALL = _windowed("MaxPooling") + _windowed("AveragePooling") + COUNTING_PAD + GLOBAL_AND_ADAPTIVE + RESIZING
LAYOUTS = [(layer, shape, "channels_last") for layer, shape in ALL] + [
    (layer, channels_first(shape), "channels_first") for layer, shape in ALL[1::3]
]


def _prefixed(layer: str, shape: tuple[int, ...]) -> str:
    return f"Conv{len(shape) - 1}D(3, 1)\n{layer}"


@pytest.mark.parametrize(("layer", "shape", "layout"), LAYOUTS, ids=[f"{c[0]} {c[2]}" for c in LAYOUTS])
def test_emitter_matches_numpy_runtime(layer: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(_prefixed(layer, shape), shape, layout=layout)


@pytest.mark.parametrize(
    "layer", ["GlobalAveragePooling2D(keepdims=true)", "AdaptiveMaxPooling2D((2, 3))", "Cropping2D(1)"]
)
def test_on_a_channels_first_input_without_moving_it(layer: str) -> None:
    shaped = snippet_network(f"{layer}\nFlatten()\nDense(2)", (2, 7, 8), layout="channels_first")
    if not layer.startswith("Cropping"):
        assert "layers.Permute" not in generate(shaped)  # data_format="channels_first" instead
    check_layer(f"{layer}\nFlatten()\nDense(2)", (2, 7, 8), layout="channels_first")


def test_generated_pooling_code_reads_as_keras() -> None:
    code = generate(snippet_network('MaxPooling2D(3, strides=2, padding="same")', (9, 9, 3)))
    assert "layers.MaxPooling2D(3, strides=2, padding='same', name='max_pooling2d_1')" in code
    code = generate(snippet_network("AveragePooling1D(4, strides=3, padding=(1, 2), ceil_mode=true)", (9, 3)))
    assert "PaddedPooling('average', (4,), (3,), ((1, 2),), ceil_mode=True, name='average_pooling1d_1')" in code


def test_adaptive_pooling_of_an_unknown_length_is_a_positioned_error() -> None:
    with pytest.raises(BackendError, match="known spatial sizes") as info:
        generate(snippet_network("AdaptiveAveragePooling1D(3)", (None, None, 3)))
    assert info.value.span is not None
