"""TensorFlow emitters of structural layers (TimeDistributed, SqueezeExcitation): exact against the NumPy runtime."""

from __future__ import annotations

import pytest
from tf_helpers import check_layer, snippet_network

from neural.targets.tensorflow.codegen import generate

CASES = [
    ('TimeDistributed(Dense(3, "prelu"))', [(4, 5)], "channels_last"),
    ('TimeDistributed(Dense(3, "softmax"))', [(4, 2, 5)], "channels_last"),
    ("TimeDistributed(Dense(3))", [(None, None, 5)], "channels_last"),
    ('TimeDistributed(Conv2D(4, 3, strides=2, padding="same"))', [(3, 7, 7, 2)], "channels_last"),
    (
        "TimeDistributed(Conv2D(4, 3))\nTimeDistributed(MaxPooling2D(2))\nTimeDistributed(Flatten())\nDense(2)",
        [(3, 2, 6, 6)],
        "channels_first",
    ),
    (
        "TimeDistributed(Conv1D(4, 3, padding=(1, 2)))\nTimeDistributed(Flatten())\nDense(2)",
        [(3, 6, 2)],
        "channels_last",
    ),
    ("TimeDistributed(BatchNormalization())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),  # statistics over all steps
    ("TimeDistributed(Dropout(0.5))\nTimeDistributed(TimeDistributed(Dense(3)))", [(2, 3, 4)], "channels_last"),
    ('TimeDistributed(FeedForward(8, "gelu"))', [(2, 3, 4)], "channels_last"),
    ("TimeDistributed(SqueezeExcitation(2))", [(3, 4, 4, 6)], "channels_last"),
    ("TimeDistributed(LSTM(3))", [(2, 4, 5)], "channels_last"),
    ("SqueezeExcitation()", [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(3)", [(8, 5, 5)], "channels_first"),
    ("SqueezeExcitation(ratio=0.5)", [(6, 8)], "channels_last"),
    ("SqueezeExcitation(2)", [(6, 3, 4, 4)], "channels_first"),
    ('SqueezeExcitation(4, activation="silu", gate="hard_sigmoid")', [(5, 5, 8)], "channels_last"),
    ('SqueezeExcitation(4, activation="prelu")', [(5, 5, 8)], "channels_last"),
    ('SqueezeExcitation(4, activation="softmax")', [(5, 5, 8)], "channels_first"),
    ("Conv2D(8, 3)\nSqueezeExcitation(2)\nConv2D(4, 1)", [(6, 6, 3)], "channels_last"),
]


@pytest.mark.parametrize(
    ("layers", "shapes", "layout"), CASES, ids=[f"{c[0].replace(chr(10), ' | ')} {c[2]}" for c in CASES]
)
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]], layout: str) -> None:
    check_layer(layers, *shapes, layout=layout)


def test_time_distributed_code() -> None:
    code = generate(snippet_network("TimeDistributed(Conv2D(4, 3))", (3, 6, 6, 2)))
    assert "MergedTimeDistributed(layers.Conv2D(4, 3), name='time_distributed_1')" in code
    assert "'time_distributed_1.weight': ('time_distributed_1', 'layer.kernel'" in code
