"""TimeDistributed around every kind of inner layer (weights, state, channels-first inner layers, open
numbers of steps, nesting) and SqueezeExcitation in 1, 2 and 3 spatial dimensions, both layouts."""

from __future__ import annotations

from catalog.base import case

CF = "channels_first"

TIME_DISTRIBUTED = [
    case("TimeDistributed(Dense(3))", (4, 5)),
    case('TimeDistributed(Dense(3, "prelu"))', (4, 5)),  # fused activation with a weight
    case('TimeDistributed(Dense(3, "softmax"))', (4, 2, 5)),
    case("TimeDistributed(Dense(3))", (None, None, 5)),  # an open number of steps
    case("TimeDistributed(Conv2D(4, 3))", (3, 6, 6, 2)),  # the inner layer reads channels first
    case('TimeDistributed(Conv2D(4, 3, strides=2, padding="same"))', (3, 7, 7, 2)),
    case("TimeDistributed(Conv2D(4, 3))", (3, 2, 6, 6), layout=CF),
    case(
        "TimeDistributed(Conv2D(4, 3))\nTimeDistributed(MaxPooling2D(2))\nTimeDistributed(Flatten())\nDense(2)",
        (3, 2, 6, 6),
        layout=CF,
    ),
    case("TimeDistributed(Conv1D(4, 3))\nTimeDistributed(Flatten())\nDense(2)", (3, 6, 2)),
    case("TimeDistributed(Conv1D(4, 3, padding=(1, 2)))\nTimeDistributed(Flatten())\nDense(2)", (3, 6, 2)),
    case("TimeDistributed(MaxPooling2D(2))\nTimeDistributed(Flatten())\nDense(2)", (3, 4, 4, 2)),
    case("TimeDistributed(BatchNormalization())\nDense(2)", (3, 4, 4, 2)),  # statistics over every step
    case("TimeDistributed(LayerNormalization())", (4, 5)),
    case("TimeDistributed(Flatten())\nDense(2)", (3, 2, 4)),
    case("TimeDistributed(Dropout(0.5))\nDense(2)", (3, 4)),
    case("TimeDistributed(TimeDistributed(Dense(3)))", (2, 3, 4)),
    case("TimeDistributed(Dropout(0.5))\nTimeDistributed(TimeDistributed(Dense(3)))", (2, 3, 4)),
    case('TimeDistributed(FeedForward(8, "gelu"))', (2, 3, 4)),
    case("TimeDistributed(SqueezeExcitation(2))", (3, 4, 4, 6)),
    case("TimeDistributed(LSTM(3))", (2, 4, 5)),
    case("TimeDistributed(GlobalAveragePooling2D())\nDense(2)", (3, 4, 4, 2)),
]

SQUEEZE_EXCITATION = [
    case("SqueezeExcitation()", (5, 5, 8)),
    case("SqueezeExcitation(3)", (5, 5, 8)),
    case("SqueezeExcitation(3)", (8, 5, 5), layout=CF),
    case("SqueezeExcitation(ratio=0.5)", (6, 8)),  # 1 spatial dimension
    case("SqueezeExcitation(ratio=0.5)", (8, 6), layout=CF),
    case("SqueezeExcitation(2)", (3, 4, 4, 6)),  # 3 spatial dimensions
    case("SqueezeExcitation(2)", (6, 3, 4, 4), layout=CF),
    case('SqueezeExcitation(4, activation="silu", gate="hard_sigmoid")', (5, 5, 8)),
    case('SqueezeExcitation(4, activation="prelu")', (5, 5, 8)),
    case('SqueezeExcitation(4, activation="softmax")', (5, 5, 8), layout=CF),
    case('SqueezeExcitation(4, activation="exponential", gate="hard_sigmoid")', (5, 5, 8)),
    case("SqueezeExcitation(4, activation=none)", (5, 5, 8)),
    case("Conv2D(8, 3)\nSqueezeExcitation(2)\nConv2D(4, 1)", (6, 6, 3)),  # channels first inside
]

CASES = TIME_DISTRIBUTED + SQUEEZE_EXCITATION
