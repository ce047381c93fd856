"""TensorFlow emitters of the pooling and resizing families: global and adaptive pooling read a channels-first
input where it is, the generated code reads as Keras, positioned errors for what Keras cannot do. (Every
pooling and resizing case of the catalog, both layouts, runs in tests/conformance.)"""

from __future__ import annotations

import pytest
from catalog import CASES, Case
from tf_helpers import snippet_network

from neural.errors import BackendError
from neural.targets.tensorflow.codegen import generate

CHANNELS_FIRST_POOLING = [
    c
    for c in CASES
    if c.family == "pooling" and c.layout == "channels_first" and c.layers.startswith(("Global", "Adaptive"))
]


@pytest.mark.parametrize("case", CHANNELS_FIRST_POOLING, ids=[c.id for c in CHANNELS_FIRST_POOLING])
def test_on_a_channels_first_input_without_moving_it(case: Case) -> None:
    assert "layers.Permute" not in generate(case.network())  # data_format="channels_first" instead


def test_generated_pooling_code_reads_as_keras() -> None:
    code = generate(snippet_network('MaxPooling2D(3, strides=2, padding="same")', (9, 9, 3)))
    assert "layers.MaxPooling2D(3, strides=2, padding='same', name='max_pooling2d_1')" in code
    code = generate(snippet_network("AveragePooling1D(4, strides=3, padding=(1, 2), ceil_mode=true)", (9, 3)))
    assert "PaddedPooling('average', (4,), (3,), ((1, 2),), ceil_mode=True, name='average_pooling1d_1')" in code


def test_adaptive_pooling_of_an_unknown_length_is_a_positioned_error() -> None:
    with pytest.raises(BackendError, match="known spatial sizes") as info:
        generate(snippet_network("AdaptiveAveragePooling1D(3)", (None, None, 3)))
    assert info.value.span is not None


def test_adaptive_max_pooling_avoids_keras_kernel_only_where_it_would_crash() -> None:
    assert "layers.AdaptiveMaxPooling1D(3," in generate(snippet_network("AdaptiveMaxPooling1D(3)", (9, 2)))
    for layer, shape in [("AdaptiveMaxPooling1D(1)", (9, 2)), ("AdaptiveMaxPooling2D((3, 2))", (1, 8, 2))]:
        code = generate(snippet_network(layer, shape))
        assert "layers.AdaptiveMaxPooling" not in code and "AdaptiveMaxPooling((" in code
