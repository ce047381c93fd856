"""TensorFlow emitters of normalization layers: exact against the NumPy runtime (outputs, one training step
and the running statistics it updates), every kind with its arguments, both layouts."""

from __future__ import annotations

import numpy as np
import pytest
from tf_helpers import check_layer, snippet_network

from neural.compare import NumpyReference, random_inputs, random_targets
from neural.targets.tensorflow.adapter import Adapter
from neural.targets.tensorflow.codegen import generate

CASES = [
    ("BatchNormalization()\nDense(2)", [(8,)], "channels_last"),
    ("BatchNormalization(momentum=0.5, epsilon=0.01)\nFlatten()\nDense(2)", [(6, 4)], "channels_last"),
    ("BatchNormalization()\nDense(2)", [(None, None, 4)], "channels_last"),
    ("BatchNormalization(scale=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(center=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(affine=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(axis=1)\nFlatten()\nDense(2)", [(2, 3, 2, 3, 2)], "channels_last"),
    ("BatchNormalization()\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("BatchNormalization(axis=-1, scale=false)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("LayerNormalization()\nDense(2)", [(None, None, 4)], "channels_last"),
    ("LayerNormalization(axis=(-2, -1), epsilon=0.001)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization((4, 4, 3), center=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization(elementwise_affine=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization(scale=false)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("InstanceNormalization()\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("InstanceNormalization(affine=true)\nDense(2)", [(None, None, 3)], "channels_last"),
    ("InstanceNormalization(scale=true, epsilon=0.001)\nFlatten()\nDense(2)", [(6, 3)], "channels_last"),
    (
        "InstanceNormalization(track_running_stats=true, momentum=0.7)\nFlatten()\nDense(2)",
        [(4, 4, 3)],
        "channels_last",
    ),
    (
        "InstanceNormalization(axis=0, affine=true, track_running_stats=true)\nFlatten()\nDense(2)",
        [(4, 4, 3)],
        "channels_last",
    ),
    ("InstanceNormalization(track_running_stats=true)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("GroupNormalization(4)\nDense(2)", [(8,)], "channels_last"),
    ("GroupNormalization(2)\nDense(2)", [(None, None, 4)], "channels_last"),
    ("GroupNormalization(3, center=false, epsilon=0.001)\nFlatten()\nDense(2)", [(4, 4, 6)], "channels_last"),
    ("GroupNormalization(6, affine=false)\nFlatten()\nDense(2)", [(4, 4, 6)], "channels_last"),
    ("GroupNormalization(2, axis=1)\nFlatten()\nDense(2)", [(4, 6, 4)], "channels_last"),
    ("GroupNormalization(3, scale=false)\nFlatten()\nDense(2)", [(6, 4, 4)], "channels_first"),
    (
        "Conv2D(4, 1)\nBatchNormalization()\nGroupNormalization(2)\nInstanceNormalization(affine=true)\nLayerNormalization()\nFlatten()\nDense(2)",
        [(4, 4, 4)],
        "channels_first",
    ),
]


@pytest.mark.parametrize(
    ("layers", "shapes", "layout"), CASES, ids=[f"{c[0].replace(chr(10), ' | ')} {c[2]}" for c in CASES]
)
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]], layout: str) -> None:
    check_layer(layers, *shapes, layout=layout)


@pytest.mark.parametrize(
    "layer",
    ["BatchNormalization(momentum=0.7)", "InstanceNormalization(track_running_stats=true, affine=true, momentum=0.6)"],
)
def test_running_statistics_after_a_training_step_equal_the_numpy_runtime(layer: str) -> None:
    """A training-mode step updates running_mean/var exactly as the NumPy runtime (PyTorch) does: the
    unbiased batch variance, where Keras' own batch norm would average the biased one."""
    shaped = snippet_network(f"{layer}\nFlatten()\nDense(2)", (4, 4, 3))
    rng = np.random.default_rng(1)
    reference = NumpyReference(shaped, 1)
    weights = reference.initial_weights()
    inputs = {name: value + 1.5 for name, value in random_inputs(shaped, 3, rng).items()}
    targets = random_targets(shaped, reference.forward(weights, inputs)[0], rng)
    expected = reference.train_step(weights, inputs, targets, training=True)
    stepped = Adapter(shaped).train_step(weights, inputs, targets, training=True)
    name = shaped.layers[0].node.name
    for buffer in ("running_mean", "running_var"):
        key = f"{name}.{buffer}"
        assert not np.allclose(expected[key], weights[key])
        np.testing.assert_allclose(stepped[key], expected[key], rtol=1e-5, atol=1e-6)


def test_keras_arguments_are_written_out() -> None:
    code = generate(snippet_network("BatchNormalization()\nGroupNormalization(2)\nLayerNormalization()", (4, 4, 4)))
    assert "BatchNorm(name='batch_normalization_1')" in code and "class BatchNorm(layers.BatchNormalization):" in code
    assert "layers.GroupNormalization(2, epsilon=1e-05, name='group_normalization_1')" in code
    assert "layers.LayerNormalization(epsilon=1e-05, name='layer_normalization_1')" in code
    code = generate(snippet_network("BatchNormalization()", (3, 4, 4), layout="channels_first"))
    assert "BatchNorm(axis=1, name=" in code and "Permute" not in code  # Keras takes the axis where it is
