"""TensorFlow emitters of attention layers: Keras' MultiHeadAttention and Attention with the canonical
projections, the generated blocks (FeedForward, PositionalEncoding, Transformer layers); exact against the
NumPy runtime, key padding masks included (a query that sees no key gets a zero output)."""

from __future__ import annotations

import numpy as np
import pytest
from tf_helpers import check_layer, snippet_network

from neural.compare import NumpyReference, random_targets
from neural.targets.tensorflow.adapter import Adapter
from neural.targets.tensorflow.codegen import generate

CASES = [
    ("MultiHeadAttention(2)", [(6, 8)]),  # self-attention
    ("MultiHeadAttention(2, causal=true)", [(6, 8)]),
    ("MultiHeadAttention(4, embed_dim=8)", [(None, None, 8)]),
    ("MultiHeadAttention(2)(a, b, c)", [(6, 8), (5, 4), (5, 3)]),  # query, value, key (Keras order)
    ("MultiHeadAttention(2, causal=true)(a, b)", [(3, 8), (5, 8)]),  # causal with Tq < Tk
    ("MultiHeadAttention(2, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),  # self-attention + mask
    ("MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c, d)", [(6, 8), (5, 4), (5, 3), (5,)]),
    ("MultiHeadAttention(3, 4, 5, output_dim=7, use_bias=false)", [(6, 8)]),
    ("MultiHeadAttention(2, dropout=0.2)", [(6, 8)]),
    ("Attention()(a, b)\nDense(3)", [(6, 4), (5, 4)]),
    ("Attention(true, causal=true, dropout=0.3)(a, b, c)", [(6, 4), (5, 3), (5, 4)]),
    ('Attention(true, "concat", causal=true)(a, b, c)', [(6, 4), (5, 3), (5, 4)]),
    ('Attention(score_mode="concat")(a, b)', [(6, 4), (5, 4)]),
    ("PositionalEncoding()\nDense(3)", [(6, 8)]),
    ("PositionalEncoding(max_len=10, dropout=0.2)\nDense(3)", [(None, None, 8)]),
    ('PositionalEncoding("learned", max_len=10)', [(None, None, 8)]),
    ('PositionalEncoding("learned")', [(6, 8)]),
    ("FeedForward(16)", [(6, 8)]),
    ('FeedForward(16, "prelu", use_bias=false, output_dim=5)', [(8,)]),
    ('FeedForward(4, "softmax", dropout=0.1)', [(2, 3, 8)]),
    ('FeedForward(4, "leaky_relu")', [(3, 8)]),
    ("TransformerEncoder(2, 16)", [(6, 8)]),  # default dropout 0.1
    ('TransformerEncoder(2, 16, 0.0, "gelu", norm_first=true, causal=true)', [(None, None, 8)]),
    ("TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),
    ("TransformerEncoder(4, 16, 0.0, use_bias=false, layer_norm_eps=1e-6)", [(6, 8)]),
    ("TransformerDecoder(2, 16, 0.0)(a, b)", [(6, 8), (5, 8)]),  # causal by default
    ('TransformerDecoder(2, 16, 0.0, "gelu", norm_first=true, causal=false)(a, b)', [(6, 8), (5, 8)]),
    (
        "TransformerDecoder(2, 16, 0.0, key_padding_mask=true, memory_key_padding_mask=true, use_bias=false)(a, b, c, d)",
        [(6, 8), (5, 8), (6,), (5,)],
    ),
]


@pytest.mark.parametrize(("layers", "shapes"), CASES, ids=[c[0].replace("\n", " | ") for c in CASES])
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]]) -> None:
    check_layer(layers, *shapes)


MASKED = [
    "MultiHeadAttention(2, key_padding_mask=true)(a, b, c)",
    "TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, c)",
    "TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)",
]


@pytest.mark.parametrize("layers", MASKED)
def test_fully_padded_rows_match_numpy(layers: str) -> None:
    """Batch item 0 is all padding: its queries see no key and get zero attention (finite gradients)."""
    shaped = snippet_network(layers, (5, 8), (5, 8), (5,))
    rng = np.random.default_rng(1)
    inputs = {
        "a": rng.standard_normal((2, 5, 8)).astype(np.float32),
        "b": rng.standard_normal((2, 5, 8)).astype(np.float32),
        "c": np.array([[0, 0, 0, 0, 0], [0, 1, 1, 0, 1]], dtype=np.float32),
    }
    reference = NumpyReference(shaped, seed=0)
    weights = reference.initial_weights()
    expected = reference.forward(weights, inputs)[0]
    adapter = Adapter(shaped)
    got = adapter.forward(weights, inputs)[0]
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    targets = random_targets(shaped, expected, rng)
    stepped = adapter.train_step(weights, inputs, targets, True)
    for name, value in reference.train_step(weights, inputs, targets, True).items():
        assert np.isfinite(stepped[name]).all(), name
        np.testing.assert_allclose(stepped[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


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
