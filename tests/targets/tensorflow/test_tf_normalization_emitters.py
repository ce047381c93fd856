"""TensorFlow emitters of normalization layers: the Keras arguments are written out, and Keras takes a
channels-first axis where it is. (Every normalization case of the catalog, running statistics after a
training step included, runs in tests/conformance.)"""

from __future__ import annotations

from tf_helpers import snippet_network

from neural.targets.tensorflow.codegen import generate


def test_keras_arguments_are_written_out() -> None:
    code = generate(snippet_network("BatchNormalization()\nGroupNormalization(2)\nLayerNormalization()", (4, 4, 4)))
    assert "BatchNorm(name='batch_normalization_1')" in code and "class BatchNorm(layers.BatchNormalization):" in code
    assert "layers.GroupNormalization(2, epsilon=1e-05, name='group_normalization_1')" in code
    assert "layers.LayerNormalization(epsilon=1e-05, name='layer_normalization_1')" in code
    code = generate(snippet_network("BatchNormalization()", (3, 4, 4), layout="channels_first"))
    assert "BatchNorm(axis=1, name=" in code and "Permute" not in code  # Keras takes the axis where it is
