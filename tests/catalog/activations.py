"""Activation layers and Activation(name), each after a Dense layer so that the training step checks its
gradient; per-channel PReLU and axis-wise softmax on sequences, also channels first."""

from __future__ import annotations

from catalog.base import case

LAYERS = (
    "ReLU()",
    "ReLU6()",
    "SELU()",
    "SiLU()",
    "Mish()",
    "Sigmoid()",
    "HardSigmoid()",
    "Tanh()",
    "Softplus()",
    "Softsign()",
    "Exponential()",
    "LeakyReLU(0.2)",
    "ELU(0.5)",
    "GELU()",
    'GELU(approximate="tanh")',
    "Softmax()",
    "LogSoftmax()",
    "PReLU()",
    "PReLU(4)",
    "PReLU(4, init=0.1)",
)
NAMES = (
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "exponential",
    "linear",
    "prelu",
)

CASES = [
    *[case(f"Dense(4)\n{layer}", (5,)) for layer in LAYERS],
    *[case(f'Dense(4)\nActivation("{name}")', (5,)) for name in NAMES],
    case("Dense(4)\nActivation(none)", (5,)),
    case("Softmax(axis=0)\nFlatten()\nDense(3)", (3, 4)),
    case("PReLU(3, init=0.1)\nFlatten()\nDense(3)", (5, 3)),
    case("Conv1D(3, 1)\nPReLU(3)\nSoftmax(axis=0)\nLogSoftmax()\nFlatten()\nDense(3)", (3, 5), layout="channels_first"),
]
