"""Pooling in both layouts. Windowed pooling runs after a 1x1 convolution (the training step checks the
gradient through it): strides, "same" with odd and even windows, explicit and uneven pads, ceil mode,
average pooling counting the pads or not. Global and adaptive pooling also straight on the input."""

from __future__ import annotations

from catalog.base import after_conv, both_layouts

SHAPES = {1: (9, 2), 2: (7, 8, 2), 3: (5, 6, 5, 2)}


def windowed(kind: str) -> list[tuple[str, tuple[int, ...]]]:
    """The variants of one windowed pooling kind in 1, 2 and 3-D."""
    found = [
        (f"{kind}1D({args})", SHAPES[1])
        for args in (
            "2",
            "3, strides=2",
            '3, strides=1, padding="same"',  # odd window, stride 1: symmetric padding
            '2, strides=1, padding="same"',  # even window: the extra cell after
            '3, strides=2, padding="same"',
            '2, padding="same"',
            "3, strides=2, padding=1",
            "4, strides=3, padding=(1, 2)",  # uneven explicit pads
            "3, strides=2, ceil_mode=true",
            "3, strides=2, padding=1, ceil_mode=true",
            "2, padding=(0, 1), ceil_mode=true",  # no window may start in the after-padding
            "4, strides=3, padding=(2, 1), ceil_mode=true",
        )
    ]
    found.append((f"{kind}1D(2, padding=(0, 1), ceil_mode=true)", (8, 2)))
    found.append((f'{kind}1D(3, strides=2, padding="same")', (10, 2)))
    found += [
        (f"{kind}2D({args})", SHAPES[2])
        for args in (
            "2",
            "(2, 3), strides=(1, 2)",
            '3, strides=2, padding="same"',
            '3, strides=1, padding="same"',
            '(2, 3), strides=(1, 2), padding="same"',
            '(2, 3), strides=1, padding="same"',
            "3, strides=2, padding=1",
            "3, strides=2, padding=(1, 0)",
            "3, strides=2, padding=((1, 0), (0, 1))",
            "2, padding=((0, 1), (1, 0))",
            "3, strides=2, ceil_mode=true",
            "2, padding=((0, 1), (1, 1)), ceil_mode=true",
        )
    ]
    found += [
        (f"{kind}3D({args})", SHAPES[3])
        for args in (
            "2",
            '3, strides=2, padding="same"',
            "2, padding=((0, 1), (1, 0), (0, 0))",
            "3, strides=2, padding=1, ceil_mode=true",
        )
    ]
    return found


COUNTING_PADS = [
    ("AveragePooling1D(3, strides=2, padding=1, count_include_pad=true)", SHAPES[1]),
    ('AveragePooling1D(3, strides=2, padding="same", count_include_pad=true)', (10, 2)),
    ('AveragePooling1D(3, strides=1, padding="same", count_include_pad=true)', SHAPES[1]),
    ("AveragePooling1D(4, strides=3, padding=(1, 2), count_include_pad=true, ceil_mode=true)", SHAPES[1]),
    ("AveragePooling1D(2, padding=(0, 1), count_include_pad=true, ceil_mode=true)", (8, 2)),
    ("AveragePooling1D(3, strides=2, padding=1, ceil_mode=true, count_include_pad=true)", (8, 2)),
    ("AveragePooling2D(3, strides=2, padding=1, count_include_pad=true)", SHAPES[2]),
    ('AveragePooling2D(3, strides=2, padding="same", count_include_pad=true)', SHAPES[2]),
    ("AveragePooling2D(3, strides=2, padding=((1, 0), (0, 1)), count_include_pad=true)", SHAPES[2]),
    ("AveragePooling2D(3, strides=2, padding=1, count_include_pad=true, ceil_mode=true)", SHAPES[2]),
    ('AveragePooling3D(2, padding="same", count_include_pad=true)', SHAPES[3]),
]

GLOBAL_AND_ADAPTIVE = [
    *[
        (f"Global{kind}Pooling{rank}D({keep})", SHAPES[rank])
        for kind in ("Max", "Average")
        for rank in (1, 2, 3)
        for keep in ("", "keepdims=true")
    ],
    ("AdaptiveMaxPooling1D(4)", SHAPES[1]),
    ("AdaptiveMaxPooling1D(2)", SHAPES[1]),
    ("AdaptiveMaxPooling1D(12)", SHAPES[1]),  # more outputs than positions
    ("AdaptiveMaxPooling1D(1)", SHAPES[1]),  # an axis pooled to 1 (Keras' own layer would crash TensorFlow)
    ("AdaptiveAveragePooling1D(3)", SHAPES[1]),
    ("AdaptiveAveragePooling1D(4)", SHAPES[1]),
    ("AdaptiveMaxPooling2D((3, None))", SHAPES[2]),
    ("AdaptiveMaxPooling2D((2, 3))", SHAPES[2]),
    ("AdaptiveMaxPooling2D((3, 2))", (1, 8, 2)),  # an axis grown from 1
    ("AdaptiveMaxPooling2D((1, None))", SHAPES[2]),
    ("AdaptiveAveragePooling2D(4)", SHAPES[2]),
    ("AdaptiveAveragePooling2D((None, 3))", SHAPES[2]),
    ("AdaptiveMaxPooling3D(2)", SHAPES[3]),
    ("AdaptiveMaxPooling3D((2, None, 3))", SHAPES[3]),
    ("AdaptiveMaxPooling3D((1, 4, 2))", SHAPES[3]),
    ("AdaptiveAveragePooling3D(2)", SHAPES[3]),
    ("AdaptiveAveragePooling3D((1, 4, None))", SHAPES[3]),
]

# sequences of open length: "same" padding computed at run time
OPEN_LENGTH = ['MaxPooling1D(3, strides=2, padding="same")', 'AveragePooling1D(2, padding="same")']

CASES = [
    *[
        c
        for layer, shape in windowed("MaxPooling") + windowed("AveragePooling") + COUNTING_PADS + GLOBAL_AND_ADAPTIVE
        for c in both_layouts(after_conv(layer, shape), shape)
    ],
    *[c for layer, shape in GLOBAL_AND_ADAPTIVE for c in both_layouts(f"{layer}\nFlatten()\nDense(3)", shape)],
    *[c for layer in OPEN_LENGTH for c in both_layouts(after_conv(layer, (None, None, 3)), (None, None, 3))],
]
