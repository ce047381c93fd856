"""TensorFlow emitters of core, activation, merge and regularization layers: random layers act only while
training (the identity outside it), spatial dropout drops whole channels, the generated code reads as Keras.
(Every case of these families in the catalog runs in tests/conformance.)"""

from __future__ import annotations

import numpy as np
import pytest
from catalog import CASES
from tf_helpers import snippet_network

from neural.layers.registry import all_specs
from neural.targets.tensorflow.codegen import generate
from neural.targets.tensorflow.load import import_network


def _random_layers() -> list[tuple[str, tuple[int, ...], str]]:
    """Each random kind once: its first statement in the catalog's regularization cases, on that case's input."""
    kinds = {spec.kind for spec in all_specs() if spec.family == "regularization"}
    found: dict[str, tuple[str, tuple[int, ...], str]] = {}
    for case in (c for c in CASES if c.family == "regularization"):
        for line in case.layers.splitlines():
            kind = line.split("(")[0]
            if kind in kinds:
                found.setdefault(kind, (line, case.shapes[0], case.layout))
    assert set(found) == kinds
    return list(found.values())


RANDOM_LAYERS = _random_layers()


@pytest.mark.parametrize(("layer", "shape", "layout"), RANDOM_LAYERS, ids=[r[0] for r in RANDOM_LAYERS])
def test_regularization_is_the_identity_outside_training(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = import_network(snippet_network(layer, shape, layout=layout, loss=None)).build_model()
    x = np.random.default_rng(0).standard_normal((4, *shape)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)


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
