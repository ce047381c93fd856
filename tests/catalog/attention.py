"""Attention layers: MultiHeadAttention (self and cross, Keras' input order, masks, causal with more or fewer
queries than keys, projections' sizes), dot-product Attention (scaled, concat scores), positional encodings,
FeedForward, Transformer encoder and decoder layers. Layers with dropout are compared in evaluation mode."""

from __future__ import annotations

from catalog.base import case

MULTI_HEAD = [
    case("MultiHeadAttention(2)", (6, 8)),  # self-attention
    case("MultiHeadAttention(2, causal=true)", (6, 8)),
    case("MultiHeadAttention(4, embed_dim=8)", (None, None, 8)),
    case("MultiHeadAttention(2)(a, b)", (6, 8), (5, 4)),  # cross-attention, key = value
    case("MultiHeadAttention(2)(a, b, c)", (6, 8), (5, 4), (5, 3)),  # query, value, key (Keras order)
    case("MultiHeadAttention(2, causal=true)(a, b)", (6, 8), (4, 8)),  # causal with Tq > Tk
    case("MultiHeadAttention(2, causal=true)(a, b)", (3, 8), (5, 8)),  # causal with Tq < Tk
    case("MultiHeadAttention(2, key_padding_mask=true)(a, b)", (6, 8), (6,)),  # self-attention + mask
    case("MultiHeadAttention(2, key_padding_mask=true)(a, b, c)", (6, 8), (5, 4), (5,)),
    case("MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c, d)", (6, 8), (5, 4), (5, 3), (5,)),
    case("MultiHeadAttention(3, 4, 5, output_dim=7, use_bias=false)", (6, 8)),  # 8 features, 3 heads
    case("MultiHeadAttention(2, key_dim=3)", (6, 8)),
    case("MultiHeadAttention(2, value_dim=6)(a, b)", (6, 8), (5, 4)),
    case("MultiHeadAttention(2, dropout=0.2)", (6, 8)),
    case("MultiHeadAttention(2, dropout=0.2, causal=true, key_padding_mask=true)(a, b)", (6, 8), (6,)),
]

DOT_PRODUCT = [
    case("Attention()(a, b)\nDense(3)", (6, 4), (5, 4)),
    case("Attention()(a, b, c)\nDense(3)", (6, 4), (5, 3), (5, 4)),
    case("Attention(causal=true)(a, b)\nDense(3)", (6, 4), (5, 4)),
    case("Attention(dropout=0.3)(a, b)\nDense(3)", (6, 4), (5, 4)),
    case("Attention(true)(a, b, c)", (6, 4), (5, 3), (5, 4)),
    case("Attention(true, causal=true, dropout=0.3)(a, b)", (6, 4), (5, 4)),
    case("Attention(true, causal=true, dropout=0.3)(a, b, c)", (6, 4), (5, 3), (5, 4)),
    case('Attention(score_mode="concat")(a, b)', (6, 4), (5, 4)),
    case('Attention(true, "concat", causal=true)(a, b, c)', (6, 4), (5, 3), (5, 4)),
    case('Attention(true, "concat", dropout=0.3)(a, b)', (6, 4), (5, 4)),
]

POSITIONAL = [
    case("PositionalEncoding()\nDense(3)", (6, 8)),
    case("PositionalEncoding(max_len=10)\nDense(3)", (6, 8)),
    case("PositionalEncoding()\nDense(3)", (None, None, 8)),  # the table made per call
    case("PositionalEncoding(max_len=10)\nDense(3)", (None, None, 8)),
    case("PositionalEncoding(dropout=0.2)\nDense(3)", (6, 8)),
    case("PositionalEncoding(max_len=10, dropout=0.2)\nDense(3)", (None, None, 8)),
    case('PositionalEncoding("learned")', (6, 8)),
    case('PositionalEncoding("learned", max_len=10, dropout=0.1)', (6, 8)),
    case('PositionalEncoding("learned", max_len=10)', (None, None, 8)),
]

FEED_FORWARD = [
    case("FeedForward(16)", (6, 8)),
    case('FeedForward(16, "gelu", dropout=0.1)', (6, 8)),
    case('FeedForward(16, "prelu", use_bias=false, output_dim=5)', (8,)),
    case('FeedForward(4, "softmax")', (2, 3, 8)),
    case('FeedForward(4, "softmax", dropout=0.1)', (2, 3, 8)),
    case('FeedForward(4, "exponential")', (3, 8)),
    case('FeedForward(4, "leaky_relu")', (3, 8)),
    case("FeedForward(4, activation=none)", (3, 8)),
]

ENCODER = [
    case("TransformerEncoder(2, 16)", (6, 8)),  # default dropout 0.1
    case("TransformerEncoder(2, 16, 0.0)", (6, 8)),
    case('TransformerEncoder(2, 16, 0.0, "gelu", norm_first=true)', (6, 8)),
    case('TransformerEncoder(2, 16, 0.0, "gelu")', (None, None, 8)),
    case('TransformerEncoder(2, 16, 0.0, "gelu", norm_first=true, causal=true)', (None, None, 8)),
    case("TransformerEncoder(2, 16, 0.0, causal=true)", (6, 8)),
    case("TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, b)", (6, 8), (6,)),
    case("TransformerEncoder(2, 16, 0.0, norm_first=true, causal=true, key_padding_mask=true)(a, b)", (6, 8), (6,)),
    case("TransformerEncoder(4, 16, 0.0, use_bias=false, layer_norm_eps=1e-6)", (6, 8)),
    case("TransformerEncoder(2, 16, 0.2, norm_first=true, key_padding_mask=true)(a, b)", (6, 8), (6,)),
]

DECODER = [
    case("TransformerDecoder(2, 16, 0.0)(a, b)", (6, 8), (5, 8)),  # with memory, causal by default
    case("TransformerDecoder(2, 16)(a, b)", (6, 8), (5, 8)),
    case('TransformerDecoder(2, 16, 0.0, "gelu", norm_first=true)(a, b)', (6, 8), (5, 8)),
    case('TransformerDecoder(2, 16, 0.0, "gelu", norm_first=true, causal=false)(a, b)', (6, 8), (5, 8)),
    case("TransformerDecoder(2, 16, 0.0, causal=false)(a, b)", (6, 8), (5, 8)),
    case("TransformerDecoder(2, 16, 0.0, key_padding_mask=true)(a, b, c)", (6, 8), (5, 8), (6,)),
    case("TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)", (6, 8), (5, 8), (5,)),
    case(
        "TransformerDecoder(2, 16, 0.0, norm_first=true, key_padding_mask=true, memory_key_padding_mask=true)(a, b, c, d)",
        (6, 8),
        (5, 8),
        (6,),
        (5,),
    ),
    case(
        "TransformerDecoder(2, 16, 0.0, key_padding_mask=true, memory_key_padding_mask=true, use_bias=false)(a, b, c, d)",
        (6, 8),
        (5, 8),
        (6,),
        (5,),
    ),
    case("TransformerDecoder(4, 16, 0.0, use_bias=false, layer_norm_eps=1e-6)(a, b)", (6, 8), (None, None, 8)),
]

CASES = MULTI_HEAD + DOT_PRODUCT + POSITIONAL + FEED_FORWARD + ENCODER + DECODER
