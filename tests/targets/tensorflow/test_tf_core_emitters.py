"""TensorFlow emitters of core, activation, merge and regularization layers: exact against the NumPy runtime
(outputs and one training step), each kind in its main variants; many kinds share one network to keep
the number of compiled Keras models small."""

from __future__ import annotations

import numpy as np
import pytest
from tf_helpers import check_layer, snippet_network

from neural.targets.tensorflow.codegen import generate
from neural.targets.tensorflow.load import import_network

CASES = [
    ('Dense(7, "relu")', [(5,)]),
    ('Dense(7, "prelu", use_bias=false)', [(3, 5)]),
    ('Dense(4, "softmax")', [(3, 5)]),
    ('Dense(4, "log_softmax")', [(5,)]),
    ('Output(3, "leaky_relu")', [(5,)]),
    ("Flatten()\nReshape((6, 4))\nPermute((2, 1))\nFlatten()\nRepeatVector(2)\nIdentity()\nDense(3)", [(2, 3, 4)]),
    ("Embedding(20, 6)\nFlatten()\nDense(2)", [(5,)]),
    ("Embedding(20, 6, padding_idx=0)\nFlatten()\nDense(2)", [(5,)]),
    ("GELU()\nDense(3)", [(4,)]),
    ('GELU(approximate="tanh")\nDense(3)', [(4,)]),
    ("Softmax(axis=0)\nFlatten()\nDense(3)", [(3, 4)]),
    ("PReLU(4)\nDense(3)", [(4,)]),
    ("PReLU(3, init=0.1)\nFlatten()\nDense(3)", [(5, 3)]),
    ("Conv1D(3, 1)\nPReLU(3)\nSoftmax(axis=0)\nLogSoftmax()\nFlatten()\nDense(3)", [(3, 5)], "channels_first"),
]

# every element-wise activation kind in one network: each branch reads the same Dense output
ACTIVATIONS = [
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
    "LogSoftmax()",
    "PReLU()",
    'Activation("gelu")',
    'Activation("prelu")',
    'Activation("leaky_relu")',
    'Activation("softmax")',
    "Activation(none)",
]
ALL_ACTIVATIONS = "\n".join(
    [
        "h = Dense(4)(input)",
        *(f"a{i} = {a}(h)" for i, a in enumerate(ACTIVATIONS)),
        f"Concatenate()({', '.join(f'a{i}' for i in range(len(ACTIVATIONS)))})",
        "Dense(3)",
    ]
)

MERGES = """
x = Dense(4)(a)
y = Dense(4)(b)
z = Dense(4)(c)
s = Add()(x, y, z)
d = Subtract()(x, y)
m = Multiply()(x, y, z)
v = Average()(x, z)
hi = Maximum()(x, y)
lo = Minimum()(y, z)
dot = Dot(axes=1)(x, y)
cos = Dot(axes=1, normalize=true)(y, z)
Concatenate()(s, d, m, v, hi, lo, dot, cos)
Dense(2)
"""

SEQUENCE_MERGES = """
p = Dense(4)(a)
q = Dense(4)(b)
c0 = Concatenate(axis=0)(p, q)
d2 = Dot(axes=(2, 2))(p, q)
f0 = Flatten()(c0)
f2 = Flatten()(d2)
Concatenate()(f0, f2)
Dense(2)
"""


@pytest.mark.parametrize("case", CASES, ids=[c[0].replace("\n", " | ") for c in CASES])
def test_emitter_matches_numpy_runtime(case: tuple) -> None:
    layers, shapes, *layout = case
    check_layer(layers, *shapes, layout=layout[0] if layout else "channels_last")


def test_every_activation_matches_numpy_runtime() -> None:
    check_layer(ALL_ACTIVATIONS, (5,))


def test_merge_layers_match_numpy_runtime() -> None:
    check_layer(MERGES, (4,), (3,), (5,))
    check_layer(SEQUENCE_MERGES, (3, 4), (5, 4))


REGULARIZATION = [
    ("Dropout(0.3)\nDense(2)", (4,), "channels_last"),
    ("AlphaDropout(0.3)\nGaussianNoise(0.3)\nGaussianDropout(0.3)\nDense(2)", (4,), "channels_last"),
    ("Conv1D(3, 1)\nSpatialDropout1D(0.5)\nFlatten()\nDense(2)", (6, 2), "channels_last"),
    ("Conv2D(3, 1)\nSpatialDropout2D(0.5)\nFlatten()\nDense(2)", (3, 5, 4), "channels_first"),
    ("Conv3D(3, 1)\nSpatialDropout3D(0.5)\nFlatten()\nDense(2)", (3, 3, 3, 2), "channels_last"),
]


@pytest.mark.parametrize(
    ("layers", "shape", "layout"), REGULARIZATION, ids=[r[0].replace("\n", " | ") for r in REGULARIZATION]
)
def test_regularization_is_the_identity_outside_training(layers: str, shape: tuple[int, ...], layout: str) -> None:
    check_layer(layers, shape, layout=layout)


def test_random_layers_act_only_while_training() -> None:
    module = import_network(snippet_network("Dropout(0.5)\nGaussianNoise(1.0)\nSpatialDropout1D(0.5)", (50, 20)))
    model = module.build_model()
    x = np.ones((4, 50, 20), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
    trained = np.asarray(model(x, training=True))
    assert not np.allclose(trained, x)


def test_spatial_dropout_drops_whole_channels() -> None:
    module = import_network(snippet_network("SpatialDropout2D(0.5)", (6, 6, 8)))
    out = np.asarray(module.build_model()(np.ones((3, 6, 6, 8), dtype=np.float32), training=True))
    per_channel = out.reshape(3, 36, 8)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))  # one value per sample and channel
    assert set(np.unique(out)) <= {0.0, 2.0}


def test_generated_core_code_reads_as_keras() -> None:
    code = generate(snippet_network('Dense(7, "relu")\nDense(4, "leaky_relu")\nDense(2, "prelu")', (5,)))
    assert "layers.Dense(7, activation='relu', name='dense_1')" in code
    assert "layers.Dense(4, activation=leaky_relu, name='dense_2')" in code
    assert "def leaky_relu(x: Any) -> Any:" in code
    assert (
        "layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1], name='dense_3_activation')"
        in code
    )
    assert "'dense_1.weight': ('dense_1', 'kernel', (7, 5), (('transpose', (1, 0)),))" in code
