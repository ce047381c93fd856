"""JAX emitters of core, activation, merge and regularization layers: exact against the NumPy runtime."""

from __future__ import annotations

import pytest
from jax_helpers import check_layer

CASES = [
    ('Dense(7, "relu")', [(5,)]),
    ('Dense(7, "prelu", use_bias=false)', [(3, 5)]),
    ('Dense(4, "softmax")', [(3, 5)]),
    ('Dense(4, "log_softmax")', [(5,)]),
    ("Output(3)", [(5,)]),
    ("Flatten()\nDense(3)", [(2, 3, 4)]),
    ("Reshape((6, 2))\nDense(3)", [(3, 4)]),
    ("Reshape((-1, 3))\nDense(3)", [(3, 4)]),
    ("Permute((2, 1))\nDense(3)", [(3, 4)]),
    ("RepeatVector(3)\nDense(2)", [(4,)]),
    ("Embedding(20, 6)\nFlatten()\nDense(2)", [(5,)]),
    ("Embedding(20, 6, padding_idx=0)\nFlatten()\nDense(2)", [(5,)]),
    ("Identity()\nDense(2)", [(4,)]),
    *[(f"{a}()\nDense(3)", [(4,)]) for a in ("ReLU", "ReLU6", "SELU", "SiLU", "Mish", "Sigmoid", "HardSigmoid", "Tanh", "Softplus", "Softsign", "Exponential")],
    ("LeakyReLU(0.2)\nDense(3)", [(4,)]),
    ("ELU(0.5)\nDense(3)", [(4,)]),
    ("GELU()\nDense(3)", [(4,)]),
    ('GELU(approximate="tanh")\nDense(3)', [(4,)]),
    ("Softmax(axis=0)\nFlatten()\nDense(3)", [(3, 4)]),
    ("LogSoftmax()\nDense(3)", [(4,)]),
    ("PReLU()\nDense(3)", [(4,)]),
    ("PReLU(4)\nDense(3)", [(4,)]),
    ("PReLU(3, init=0.1)\nFlatten()\nDense(3)", [(2, 3)]),
    ('Activation("gelu")\nDense(3)', [(4,)]),
    ('Activation("prelu")\nDense(3)', [(4,)]),
    ('Activation("leaky_relu")\nDense(3)', [(4,)]),
    ("Add()(a, b)", [(3, 4), (3, 4)]),
    ("Subtract()(a, b)", [(4,), (4,)]),
    ("Multiply()(a, b, c)", [(4,), (4,), (4,)]),
    ("Average()(a, b)", [(4,), (4,)]),
    ("Maximum()(a, b)", [(4,), (4,)]),
    ("Minimum()(a, b)", [(4,), (4,)]),
    ("Concatenate()(a, b)", [(3, 4), (3, 2)]),
    ("Concatenate(axis=0)(a, b)\nFlatten()\nDense(2)", [(3, 4), (2, 4)]),
    ("Dot(axes=1)(a, b)", [(4,), (4,)]),
    ("Dot(axes=(2, 2))(a, b)\nFlatten()\nDense(2)", [(3, 4), (5, 4)]),
    ("Dot(axes=2, normalize=true)(a, b)\nFlatten()\nDense(2)", [(3, 4), (5, 4)]),
    ("Dropout(0.3)\nDense(2)", [(4,)]),
    ("AlphaDropout(0.3)\nDense(2)", [(4,)]),
    ("GaussianNoise(0.3)\nDense(2)", [(4,)]),
    ("GaussianDropout(0.3)\nDense(2)", [(4,)]),
    ("SpatialDropout1D(0.3)\nFlatten()\nDense(2)", [(4, 3)]),
]


@pytest.mark.parametrize(("layers", "shapes"), CASES, ids=[c[0].replace("\n", " | ") for c in CASES])
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int, ...]]) -> None:
    check_layer(layers, *shapes)
