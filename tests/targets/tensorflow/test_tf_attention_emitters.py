"""TensorFlow emitters of attention layers: Keras' MultiHeadAttention holds the canonical projections.
(Every attention case of the catalog, key padding masks included, runs in tests/conformance.)"""

from __future__ import annotations

from tf_helpers import snippet_network

from neural.targets.tensorflow.codegen import generate


def test_keras_attention_kernels_hold_the_canonical_projections() -> None:
    code = generate(snippet_network("MultiHeadAttention(2)", (6, 8)))
    assert "layers.MultiHeadAttention(2, 4, name='multi_head_attention_1')(input, input)" in code
    assert (
        "'multi_head_attention_1.q_proj.weight': ('multi_head_attention_1', 'query_dense.kernel', (8, 8), (('transpose', (1, 0)), ('reshape', (8, 2, 4))))"
        in code
    )
    assert (
        "'multi_head_attention_1.out_proj.weight': ('multi_head_attention_1', 'output_dense.kernel', (8, 8), (('transpose', (1, 0)), ('reshape', (2, 4, 8))))"
        in code
    )
