"""TensorFlow emitters of structural layers: TimeDistributed merges the time axis into the batch for the
inner Keras layer. (Every TimeDistributed and SqueezeExcitation case of the catalog runs in tests/conformance.)"""

from __future__ import annotations

from tf_helpers import snippet_network

from neural.targets.tensorflow.codegen import generate


def test_time_distributed_code() -> None:
    code = generate(snippet_network("TimeDistributed(Conv2D(4, 3))", (3, 6, 6, 2)))
    assert "MergedTimeDistributed(layers.Conv2D(4, 3), name='time_distributed_1')" in code
    assert "'time_distributed_1.weight': ('time_distributed_1', 'layer.kernel'" in code
