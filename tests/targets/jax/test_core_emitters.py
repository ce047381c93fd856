"""JAX emitters of core, activation, merge and regularization layers: exact against the NumPy runtime
(outputs in evaluation mode and one training step), many cases per compiled network."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax_helpers import Group, check_group, check_layer, groups, snippet_network

from neural.targets.jax.load import import_network

ACTIVATIONS = (
    "ReLU",
    "ReLU6",
    "SELU",
    "SiLU",
    "Mish",
    "Sigmoid",
    "HardSigmoid",
    "Tanh",
    "Softplus",
    "Softsign",
    "Exponential",
)
ACTIVATION_NAMES = (
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
    ('Dense(7, "relu")', [(5,)]),
    ('Dense(7, "prelu", use_bias=false)', [(5,)]),
    ('Dense(4, "log_softmax")', [(5,)]),
    ("Identity()", [(5,)]),
    ("RepeatVector(3)", [(5,)]),
    *[(f"{a}()", [(5,)]) for a in ACTIVATIONS],
    *[(f'Activation("{a}")', [(5,)]) for a in ACTIVATION_NAMES],
    ("LeakyReLU(0.2)", [(5,)]),
    ("ELU(0.5)", [(5,)]),
    ("GELU()", [(5,)]),
    ('GELU(approximate="tanh")', [(5,)]),
    ("LogSoftmax()", [(5,)]),
    ("PReLU()", [(5,)]),
    ("PReLU(5, init=0.1)", [(5,)]),
    ('Dense(4, "softmax")', [(3, 5)]),
    ("Flatten()", [(3, 5)]),
    ("Reshape((5, 3))", [(3, 5)]),
    ("Reshape((-1, 3))", [(3, 5)]),
    ("Permute((2, 1))", [(3, 5)]),
    ("Softmax(axis=0)", [(3, 5)]),
    ("PReLU(5)", [(3, 5)]),
    ("Add()(a, b)", [(3, 4), (3, 4)]),
    ("Subtract()(a, b)", [(3, 4), (3, 4)]),
    ("Multiply()(a, b)", [(3, 4), (3, 4)]),
    ("Average()(a, b)", [(3, 4), (3, 4)]),
    ("Maximum()(a, b)", [(3, 4), (3, 4)]),
    ("Minimum()(a, b)", [(3, 4), (3, 4)]),
    ("Concatenate()(a, b)", [(3, 4), (3, 4)]),
    ("Concatenate(axis=0)(a, b)", [(3, 4), (3, 4)]),
    ("Dot(axes=2)(a, b)", [(3, 4), (3, 4)]),
    ("Dot(axes=(1, 1), normalize=true)(a, b)", [(3, 4), (3, 4)]),
    ("Multiply()(a, b, c)", [(4,), (4,), (4,)]),
    ("Add()(a, b, c)", [(4,), (4,), (4,)]),
    ("Dot(axes=1)(a, b)", [(4,), (4,), (4,)]),
]

# random layers: the training step of such networks is compared in evaluation mode
RANDOM = [
    ("Dropout(0.3)", [(4, 3)]),
    ("AlphaDropout(0.3)", [(4, 3)]),
    ("GaussianNoise(0.3)", [(4, 3)]),
    ("GaussianDropout(0.3)", [(4, 3)]),
    ("SpatialDropout1D(0.3)", [(4, 3)]),
]

GROUPS = groups(CASES) + groups(RANDOM)


@pytest.mark.parametrize("group", GROUPS, ids=[g.id for g in GROUPS])
def test_emitters_match_numpy_runtime(group: Group) -> None:
    check_group(group)


@pytest.mark.parametrize(
    "layers",
    ["Embedding(20, 6)\nFlatten()\nDense(2)", "Embedding(20, 6, padding_idx=0)\nFlatten()\nOutput(2)"],
)
def test_embedding_and_output_match_numpy_runtime(layers: str) -> None:
    check_layer(layers, (5,))


def test_padding_index_gets_no_gradient() -> None:
    module = import_network(snippet_network("Embedding(10, 3, padding_idx=2)\nFlatten()\nDense(1)", (4,)))
    model = module.build_model()
    ids = jnp.array([[2, 2, 1, 0]])

    def loss(model: nnx.Module) -> jnp.ndarray:
        return model(ids).sum()

    grads = nnx.grad(loss)(model)
    table = np.asarray(grads["embedding_1"]["embedding"][...])
    assert np.all(table[2] == 0) and np.any(table[1] != 0)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        ("Dropout(0.5)", (6, 8)),
        ("AlphaDropout(0.5)", (6, 8)),
        ("GaussianNoise(0.5)", (6, 8)),
        ("GaussianDropout(0.5)", (6, 8)),
        ("SpatialDropout1D(0.5)", (6, 8)),
        ("SpatialDropout2D(0.5)", (4, 4, 8)),
    ],
)
def test_random_layers_act_only_in_training(layer: str, shape: tuple[int, ...]) -> None:
    module = import_network(snippet_network(layer, shape, loss=None))
    model = module.build_model(nnx.Rngs(3))
    x = jnp.ones((2, *shape))
    model.eval()
    assert np.array_equal(np.asarray(model(x)), np.asarray(x))
    model.train()
    noisy = np.asarray(model(x))
    assert not np.allclose(noisy, 1.0)
    assert not np.array_equal(noisy, np.asarray(model(x)))  # a fresh mask every call
    if layer.startswith("Spatial"):
        # one mask value per sample and channel: the spatial positions agree
        flat = noisy.reshape(2, -1, shape[-1])
        assert np.all(flat == flat[:, :1, :])
