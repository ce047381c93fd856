"""PyTorch emitters of the pooling family: exact against the NumPy runtime (forward and one training
step through the pooling), in both layouts.

Each windowed case runs after a 1x1 convolution, so that the training step checks the gradient through
the pooling; global and adaptive pooling also run straight on the input (channels-last tensors, no
layout change)."""

from __future__ import annotations

import pytest
from torch_helpers import check_layer

from neural.targets.pytorch.codegen import generate
from neural.testing import analyse_snippet


def channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[-1], *shape[:-1])


SHAPES = {1: (9, 2), 2: (7, 8, 2), 3: (5, 6, 5, 2)}


def _windowed(kind: str) -> list[tuple[str, tuple[int, ...]]]:
    """The variants of one windowed pooling kind in 1, 2 and 3-D."""
    cases = []
    for args in (
        "2",
        "3, strides=2",
        '3, strides=1, padding="same"',  # odd window, stride 1: torch's symmetric padding
        '2, strides=1, padding="same"',  # even window: the extra cell after, at run time
        '3, strides=2, padding="same"',
        '2, padding="same"',
        "3, strides=2, padding=1",
        "4, strides=3, padding=(1, 2)",  # uneven explicit pads
        "3, strides=2, ceil_mode=true",
        "3, strides=2, padding=1, ceil_mode=true",
        "2, padding=(0, 1), ceil_mode=true",  # torch would add a window in the after-padding
        "4, strides=3, padding=(2, 1), ceil_mode=true",
    ):
        cases.append((f"{kind}1D({args})", SHAPES[1]))
    cases.append((f"{kind}1D(2, padding=(0, 1), ceil_mode=true)", (8, 2)))
    cases.append((f'{kind}1D(3, strides=2, padding="same")', (10, 2)))
    for args in (
        "2",
        "(2, 3), strides=(1, 2)",
        '3, strides=2, padding="same"',
        '3, strides=1, padding="same"',
        '(2, 3), strides=(1, 2), padding="same"',
        "3, strides=2, padding=(1, 0)",
        "3, strides=2, padding=((1, 0), (0, 1))",
        "3, strides=2, ceil_mode=true",
        "2, padding=((0, 1), (1, 1)), ceil_mode=true",
    ):
        cases.append((f"{kind}2D({args})", SHAPES[2]))
    for args in (
        "2",
        '3, strides=2, padding="same"',
        "2, padding=((0, 1), (1, 0), (0, 0))",
        "3, strides=2, padding=1, ceil_mode=true",
    ):
        cases.append((f"{kind}3D({args})", SHAPES[3]))
    return cases


AVERAGE_COUNTING_PAD = [
    ("AveragePooling1D(3, strides=2, padding=1, count_include_pad=true)", SHAPES[1]),
    ('AveragePooling1D(3, strides=2, padding="same", count_include_pad=true)', (10, 2)),
    ('AveragePooling1D(3, strides=1, padding="same", count_include_pad=true)', SHAPES[1]),
    ("AveragePooling1D(4, strides=3, padding=(1, 2), count_include_pad=true, ceil_mode=true)", SHAPES[1]),
    ("AveragePooling1D(2, padding=(0, 1), count_include_pad=true, ceil_mode=true)", (8, 2)),
    ("AveragePooling2D(3, strides=2, padding=((1, 0), (0, 1)), count_include_pad=true)", SHAPES[2]),
    ("AveragePooling2D(3, strides=2, padding=1, count_include_pad=true, ceil_mode=true)", SHAPES[2]),
    ('AveragePooling3D(2, padding="same", count_include_pad=true)', SHAPES[3]),
]

WINDOWED = _windowed("MaxPooling") + _windowed("AveragePooling") + AVERAGE_COUNTING_PAD

GLOBAL_AND_ADAPTIVE = [
    *[
        (f"Global{kind}Pooling{r}D({keep})", SHAPES[r])
        for kind in ("Max", "Average")
        for r in (1, 2, 3)
        for keep in ("", "keepdims=true")
    ],
    ("AdaptiveMaxPooling1D(4)", SHAPES[1]),
    ("AdaptiveMaxPooling1D(12)", SHAPES[1]),
    ("AdaptiveAveragePooling1D(3)", SHAPES[1]),
    ("AdaptiveAveragePooling1D(4)", SHAPES[1]),
    ("AdaptiveMaxPooling2D((3, None))", SHAPES[2]),
    ("AdaptiveMaxPooling2D((2, 3))", SHAPES[2]),
    ("AdaptiveAveragePooling2D(4)", SHAPES[2]),
    ("AdaptiveAveragePooling2D((None, 3))", SHAPES[2]),
    ("AdaptiveMaxPooling3D((2, None, 3))", SHAPES[3]),
    ("AdaptiveAveragePooling3D(2)", SHAPES[3]),
    ("AdaptiveAveragePooling3D((1, 4, None))", SHAPES[3]),
]


def _prefixed(layer: str, shape: tuple[int, ...]) -> str:
    return f"Conv{len(shape) - 1}D(3, 1)\n{layer}"


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("layer", "shape"), WINDOWED + GLOBAL_AND_ADAPTIVE, ids=[f"{c[0]} {c[1]}" for c in WINDOWED + GLOBAL_AND_ADAPTIVE]
)
def test_pooling_emitter_matches_numpy_runtime(layer: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(_prefixed(layer, shape), shape if layout == "channels_last" else channels_first(shape), layout=layout)


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("layer", "shape"), GLOBAL_AND_ADAPTIVE, ids=[f"{c[0]} {c[1]}" for c in GLOBAL_AND_ADAPTIVE])
def test_pooling_on_the_input_matches_numpy_runtime(layer: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(
        f"{layer}\nFlatten()\nDense(3)", shape if layout == "channels_last" else channels_first(shape), layout=layout
    )


def test_generated_pooling_code_reads_as_pytorch() -> None:
    code = generate(analyse_snippet('MaxPooling2D(3, strides=2, padding="same")', (9, 9, 3)))
    assert "nn.MaxPool2d(3, stride=2)" in code
    assert "same_pad(input.movedim(-1, 1), (3, 3), (2, 2), (1, 1), value=-math.inf)" in code
    code = generate(analyse_snippet("AveragePooling2D(3, strides=2, padding=1)", (9, 9, 3)))
    assert "nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)" in code
    code = generate(analyse_snippet("GlobalAveragePooling2D()", (9, 9, 3)))
    assert "input.mean(dim=(1, 2))" in code
    code = generate(analyse_snippet("Conv2D(3, 1)\nGlobalMaxPooling2D(keepdims=true)", (9, 9, 3)))
    assert "x.amax(dim=(2, 3), keepdim=True)" in code


def test_ceil_mode_with_uneven_pads_on_an_unknown_length_is_a_positioned_error() -> None:
    """Whether torch's ceil mode adds a window in the after-padding depends on the length: known lengths
    slice it off, an unknown one is refused rather than guessed."""
    from neural.errors import BackendError

    with pytest.raises(BackendError, match="ceil_mode and uneven padding") as info:
        generate(analyse_snippet("MaxPooling1D(2, padding=(0, 1), ceil_mode=true)", (None, None, 3)))
    assert info.value.span is not None
