"""Core layers: Dense, Output, Flatten, Reshape, Permute, RepeatVector, Identity, Embedding."""

from __future__ import annotations

from catalog.base import case

CASES = [
    case('Dense(7, "relu")', (5,)),
    case('Dense(7, "prelu", use_bias=false)', (3, 5)),
    case('Dense(4, "softmax")', (3, 5)),
    case('Dense(4, "log_softmax")', (5,)),
    case("Dense(4)", (None, None, 5)),  # a sequence of open length
    case("Output(3)", (5,)),
    case('Output(3, "leaky_relu")', (5,)),
    case("Flatten()\nDense(3)", (2, 3, 4)),
    case("Reshape((6, 2))\nDense(3)", (3, 4)),
    case("Reshape((-1, 3))\nDense(2)", (3, 5)),
    case("Permute((2, 1))\nDense(3)", (3, 4)),
    case("RepeatVector(3)\nDense(2)", (4,)),
    case("Identity()\nDense(2)", (4,)),
    case(
        "Dense(4)\nFlatten()\nReshape((6, 4))\nPermute((2, 1))\nFlatten()\nRepeatVector(2)\nIdentity()\nDense(3)",
        (2, 3, 4),
    ),
    # token ids: the inputs are integers below the vocabulary
    case("Embedding(20, 6)\nFlatten()\nDense(2)", (5,)),
    case("Embedding(20, 6, padding_idx=0)\nFlatten()\nOutput(2)", (5,)),
    case("Embedding(30, 4)\nGlobalAveragePooling1D()\nDense(2)", (None, None)),
]
