"""Attention family: MultiHeadAttention, Attention, PositionalEncoding, FeedForward, TransformerEncoder/Decoder.

Expected numbers are computed by hand in each test; where PyTorch (or Keras) has the same module,
its output shape and trainable-parameter count must equal ours.
"""

from __future__ import annotations

import pytest

from neural.errors import InvalidValueError, NameResolutionError, ShapeError
from neural.layers.base import Shape, Weight
from neural.layers.registry import lookup
from neural.testing import analyse_snippet, layer_info


def seq(length: int | None, features: int) -> Shape:
    """A (length, features) input shape as `layer_info` must receive it.

    A network input written `(None, 64)` reads as (batch, 64), so an unknown length is passed
    with an explicit batch axis: `(None, None, 64)`.
    """
    return (None, None, features) if length is None else (length, features)


def mask(length: int | None) -> Shape:
    return (length,)


def mha_macs(tq: int, tk: int, dq: int, dk: int, dv: int, heads: int, kd: int, vd: int, out: int) -> int:
    """q/k/v/out projections + QK^T + AV, written out independently of the implementation."""
    q = tq * dq * heads * kd
    k = tk * dk * heads * kd
    v = tk * dv * heads * vd
    o = tq * heads * vd * out
    return q + k + v + o + tq * tk * heads * kd + tq * tk * heads * vd


# --- MultiHeadAttention -----------------------------------------------------------------------


def test_mha_golden_512_8_heads() -> None:
    info = layer_info("MultiHeadAttention(8)", (10, 512))
    assert info.output_shapes == ((10, 512),)
    # 4 projections of 512x512 + 4 biases of 512 = torch.nn.MultiheadAttention(512, 8)
    assert info.params == 4 * 512 * 512 + 4 * 512 == 1_050_624
    assert info.state == 0
    # projections 4 * 10 * 512 * 512 = 10,485,760; QK^T and AV 10 * 10 * 512 each
    assert info.macs == 10_485_760 + 2 * 51_200


def test_mha_weight_names_and_layouts() -> None:
    info = layer_info("MultiHeadAttention(4, key_dim=8, value_dim=6, output_dim=10)(a, b, c)", (5, 12), (7, 20), (7, 3))
    assert dict(info.weights) == {
        "q_proj.weight": _w(32, 12),
        "q_proj.bias": _w(32),
        "k_proj.weight": _w(32, 3),
        "k_proj.bias": _w(32),
        "v_proj.weight": _w(24, 20),
        "v_proj.bias": _w(24),
        "out_proj.weight": _w(10, 24),
        "out_proj.bias": _w(10),
    }
    assert info.output_shapes == ((5, 10),)
    assert info.macs == mha_macs(5, 7, 12, 3, 20, 4, 8, 6, 10)


def _w(*shape: int) -> Weight:
    return Weight(tuple(shape))


@pytest.mark.parametrize(
    ("layer", "shapes", "out", "params", "macs"),
    [
        # self-attention, no bias: 4 * 64 * 64
        (
            "MultiHeadAttention(4, use_bias=false)",
            [(6, 64)],
            (6, 64),
            4 * 64 * 64,
            mha_macs(6, 6, 64, 64, 64, 4, 16, 16, 64),
        ),
        # query and value (key = value) of different lengths and features
        (
            "MultiHeadAttention(2)(a, b)",
            [(3, 8), (9, 5)],
            (3, 8),
            (8 * 8 + 8) * 2 + (8 * 5 + 8) * 2,
            mha_macs(3, 9, 8, 5, 5, 2, 4, 4, 8),
        ),
        # explicit head sizes: q,k 3*4 rows; v 3*2 rows; out 8 <- 6
        (
            "MultiHeadAttention(3, 4, 2)",
            [(5, 8)],
            (5, 8),
            (12 * 8 + 12) * 2 + (6 * 8 + 6) + (8 * 6 + 8),
            mha_macs(5, 5, 8, 8, 8, 3, 4, 2, 8),
        ),
        # output_dim changes the output features
        (
            "MultiHeadAttention(heads=2, output_dim=3)",
            [(4, 6)],
            (4, 3),
            (6 * 6 + 6) * 3 + (3 * 6 + 3),
            mha_macs(4, 4, 6, 6, 6, 2, 3, 3, 3),
        ),
        # a head count that does not divide the features is fine with an explicit key_dim
        (
            "MultiHeadAttention(nhead=3, key_dim=5)",
            [(2, 8)],
            (2, 8),
            (15 * 8 + 15) * 3 + (8 * 15 + 8),
            mha_macs(2, 2, 8, 8, 8, 3, 5, 5, 8),
        ),
    ],
)
def test_mha_variants(layer: str, shapes: list[Shape], out: Shape, params: int, macs: int) -> None:
    info = layer_info(layer, *shapes)
    assert info.output_shapes == (out,)
    assert info.params == params
    assert info.macs == macs


def test_mha_unknown_lengths_keep_none_and_macs_unknown() -> None:
    info = layer_info("MultiHeadAttention(8)(a, b)", seq(None, 64), seq(None, 32))
    assert info.output_shapes == ((None, 64),)
    assert info.params == (64 * 64 + 64) * 2 + (64 * 32 + 64) * 2
    assert info.macs is None
    known_query = layer_info("MultiHeadAttention(8)(a, b)", (4, 64), seq(None, 32))
    assert known_query.output_shapes == ((4, 64),)
    assert known_query.macs is None


@pytest.mark.parametrize("name", ["MultiHeadAttention", "MultiheadAttention", "MHA"])
def test_mha_aliases(name: str) -> None:
    assert lookup(name) is lookup("MultiHeadAttention")
    assert layer_info(f"{name}(8)", (3, 16)).params == 4 * (16 * 16 + 16)


def test_mha_key_padding_mask_is_a_last_input() -> None:
    self_attn = layer_info("MultiHeadAttention(2, key_padding_mask=true)", (5, 8), mask(5))
    assert self_attn.output_shapes == ((5, 8),)
    assert self_attn.params == 4 * (8 * 8 + 8)
    cross = layer_info("MultiHeadAttention(2, key_padding_mask=true)", (5, 8), (7, 4), mask(7))
    assert cross.output_shapes == ((5, 8),)
    three = layer_info("MultiHeadAttention(2, key_padding_mask=true)", (5, 8), (7, 4), (7, 6), mask(7))
    assert three.params == (8 * 8 + 8) + (8 * 6 + 8) + (8 * 4 + 8) + (8 * 8 + 8)
    unknown = layer_info("MultiHeadAttention(2, key_padding_mask=true)", seq(None, 8), (None,))
    assert unknown.output_shapes == ((None, 8),)


def test_mha_causal_keeps_shapes() -> None:
    info = layer_info("MultiHeadAttention(2, causal=true)", (4, 8))
    assert info.output_shapes == ((4, 8),)
    assert info.node.config.causal is True
    assert layer_info("MultiHeadAttention(2, use_causal_mask=true)", (4, 8)).node.config.causal is True


@pytest.mark.parametrize(
    ("layer", "shapes", "error", "fragment"),
    [
        ("MultiHeadAttention(7)", [(10, 512)], ShapeError, "query features divisible by num_heads=7"),
        ("MultiHeadAttention(2)(a, b, c)", [(3, 8), (4, 8), (5, 8)], ShapeError, "key and value of the same length"),
        ("MultiHeadAttention(2)", [(3, 4, 8)], ShapeError, "a query of rank 2 (length, features)"),
        ("MultiHeadAttention(2)(a, b)", [(3, 8), (4,)], ShapeError, "a value of rank 2"),
        ("MultiHeadAttention(2)", [(3, None)], ShapeError, "known number of features"),
        ("MultiHeadAttention(2, key_padding_mask=true)", [(3, 8), (4,)], ShapeError, "key padding mask of shape (3,)"),
        ("MultiHeadAttention(2, key_padding_mask=true)", [(3, 8), (3, 1)], ShapeError, "key padding mask"),
        ("MultiHeadAttention(2, key_padding_mask=true)", [(3, 8)], ShapeError, "2 to 4 inputs"),
        ("MultiHeadAttention(2)(a, b, c, d)", [(3, 8), (3, 8), (3, 8), (3,)], ShapeError, "1 to 3 inputs"),
        ("MultiHeadAttention(2, embed_dim=16)", [(3, 8)], ShapeError, "embed_dim=16"),
        ("MultiHeadAttention(2)(a, b, c, d, e)", [(3, 8)] * 5, InvalidValueError, "takes 1 to 4 inputs"),
        ("MultiHeadAttention(0)", [(3, 8)], InvalidValueError, "`num_heads` expects a positive integer"),
        ("MultiHeadAttention(2, dropout=1.0)", [(3, 8)], InvalidValueError, "`dropout` expects a number in [0, 1)"),
        ("MultiHeadAttention(3, embed_dim=8)", [(3, 8)], InvalidValueError, "must be divisible by num_heads=3"),
        ("MultiHeadAttention(2, dim=4)", [(3, 8)], NameResolutionError, "has no argument `dim`"),
        ("MultiHeadAttention()", [(3, 8)], InvalidValueError, "needs the argument `num_heads`"),
    ],
)
def test_mha_errors(layer: str, shapes: list[Shape], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, *shapes)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("embed", "heads", "kdim", "vdim", "bias", "tq", "tk"),
    [
        (512, 8, None, None, True, 10, 10),
        (64, 4, None, None, False, 7, 7),
        (32, 2, 16, 24, True, 5, 9),
        (48, 6, 48, 12, False, 3, 1),
        (10, 5, 7, 7, True, 2, 4),
    ],
)
def test_mha_matches_torch(
    embed: int, heads: int, kdim: int | None, vdim: int | None, bias: bool, tq: int, tk: int
) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.MultiheadAttention(embed, heads, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    k_features, v_features = kdim or embed, vdim or embed
    query = torch.randn(2, tq, embed)
    key = torch.randn(2, tk, k_features)
    value = torch.randn(2, tk, v_features)
    padding = torch.zeros(2, tk, dtype=torch.bool)
    out, _ = module(query, key, value, key_padding_mask=padding)
    flag = "true" if bias else "false"
    info = layer_info(
        f"MultiHeadAttention({heads}, use_bias={flag}, key_padding_mask=true)",
        (tq, embed),
        (tk, v_features),
        (tk, k_features),
        mask(tk),
    )
    assert info.output_shapes == (tuple(out.shape[1:]),)
    assert info.params == sum(p.numel() for p in module.parameters())


def test_mha_causal_runs_in_torch_with_the_same_shape() -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    x = torch.randn(2, 6, 16)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(6)
    out, _ = module(x, x, x, attn_mask=causal)
    info = layer_info("MultiHeadAttention(4, causal=true)", (6, 16))
    assert info.output_shapes == (tuple(out.shape[1:]),)


@pytest.mark.tensorflow
@pytest.mark.parametrize(
    ("heads", "key_dim", "value_dim", "output_dim", "bias", "q", "v", "k"),
    [
        (2, 4, None, None, True, (5, 8), (7, 6), None),
        (3, 5, 2, 9, False, (4, 10), (6, 10), (6, 3)),
        (1, 16, 8, None, True, (2, 16), (2, 16), None),
    ],
)
def test_mha_matches_keras(
    heads: int,
    key_dim: int,
    value_dim: int | None,
    output_dim: int | None,
    bias: bool,
    q: Shape,
    v: Shape,
    k: Shape | None,
) -> None:
    keras = pytest.importorskip("keras")
    layer = keras.layers.MultiHeadAttention(heads, key_dim, value_dim=value_dim, use_bias=bias, output_shape=output_dim)
    query, value = keras.Input(q), keras.Input(v)
    key = keras.Input(k) if k is not None else None
    out = layer(query, value, key)
    args = [f"{heads}", f"key_dim={key_dim}", f"use_bias={'true' if bias else 'false'}"]
    if value_dim is not None:
        args.append(f"value_dim={value_dim}")
    if output_dim is not None:
        args.append(f"output_dim={output_dim}")
    shapes = [q, v] if k is None else [q, v, k]
    names = "(a, b)" if k is None else "(a, b, c)"
    info = layer_info(f"MultiHeadAttention({', '.join(args)}){names}", *shapes)
    assert info.output_shapes == (tuple(out.shape[1:]),)
    assert info.params == layer.count_params()


# --- Attention (Keras dot-product) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shapes", "out", "params", "macs"),
    [
        # scores 4*6*8, weighted sum 4*6*3
        ("Attention()(a, b, c)", [(4, 8), (6, 3), (6, 8)], (4, 3), 0, 4 * 6 * 8 + 4 * 6 * 3),
        # key = value: features equal
        ("Attention()(a, b)", [(4, 8), (6, 8)], (4, 8), 0, 4 * 6 * 8 * 2),
        ("Attention(true)(a, b)", [(4, 8), (6, 8)], (4, 8), 1, 4 * 6 * 8 * 2),
        # concat: additions and tanh for scores, only the weighted sum counts
        ('Attention(score_mode="concat")(a, b)', [(4, 8), (6, 8)], (4, 8), 1, 4 * 6 * 8),
        ('Attention(true, "concat", causal=true)(a, b)', [(4, 8), (6, 8)], (4, 8), 2, 4 * 6 * 8),
    ],
)
def test_attention_variants(layer: str, shapes: list[Shape], out: Shape, params: int, macs: int) -> None:
    info = layer_info(layer, *shapes)
    assert info.output_shapes == (out,)
    assert info.params == params
    assert info.macs == macs


def test_attention_weight_names() -> None:
    info = layer_info('Attention(use_scale=true, score_mode="concat")(a, b)', (2, 4), (3, 4))
    assert set(info.weights) == {"scale", "concat_score_weight"}


def test_attention_unknown_lengths() -> None:
    info = layer_info("Attention()(a, b)", seq(None, 8), seq(None, 8))
    assert info.output_shapes == ((None, 8),)
    assert info.macs is None


@pytest.mark.parametrize(
    ("layer", "shapes", "error", "fragment"),
    [
        ("Attention()(a, b)", [(4, 8), (6, 3)], ShapeError, "query and key with the same number of features"),
        ("Attention()(a, b, c)", [(4, 8), (6, 3), (5, 8)], ShapeError, "key and value of the same length"),
        ("Attention()(a, b)", [(4, 8, 1), (6, 8)], ShapeError, "a query of rank 2"),
        ("Attention()", [(4, 8)], InvalidValueError, "takes 2 to 3 inputs"),
        ('Attention(score_mode="general")(a, b)', [(4, 8), (6, 8)], InvalidValueError, '"dot", "concat"'),
    ],
)
def test_attention_errors(layer: str, shapes: list[Shape], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, *shapes)
    assert fragment in str(info.value)


@pytest.mark.tensorflow
@pytest.mark.parametrize(("use_scale", "mode"), [(False, "dot"), (True, "dot"), (False, "concat"), (True, "concat")])
def test_attention_matches_keras(use_scale: bool, mode: str) -> None:
    keras = pytest.importorskip("keras")
    layer = keras.layers.Attention(use_scale=use_scale, score_mode=mode)
    query, value, key = keras.Input((4, 8)), keras.Input((6, 3)), keras.Input((6, 8))
    out = layer([query, value, key])
    flag = "true" if use_scale else "false"
    info = layer_info(f'Attention({flag}, "{mode}")(a, b, c)', (4, 8), (6, 3), (6, 8))
    assert info.output_shapes == (tuple(out.shape[1:]),)
    assert info.params == layer.count_params()


# --- PositionalEncoding ------------------------------------------------------------------------


def test_positional_encoding_sinusoidal_has_no_parameters() -> None:
    info = layer_info("PositionalEncoding()", (10, 64))
    assert info.output_shapes == ((10, 64),)
    assert info.params == 0 and info.state == 0 and info.macs == 0
    unknown = layer_info("PositionalEncoding(max_len=512)", seq(None, 64))
    assert unknown.output_shapes == ((None, 64),)
    assert unknown.params == 0


@pytest.mark.parametrize(
    ("layer", "shape", "table"),
    [
        ('PositionalEncoding("learned", 128)', (10, 64), (128, 64)),
        ('PositionalEncoding(kind="learned")', (10, 64), (10, 64)),  # defaults to the sequence length
        ('PositionalEncoding(type="learned", max_len=10)', (10, 32), (10, 32)),
        ('PositionalEncoding(mode="trainable", max_length=50, dropout=0.1)', (None, None, 16), (50, 16)),
        ('PositionEmbedding("learned", maxlen=20)', (3, 6), (20, 6)),
    ],
)
def test_positional_encoding_learned_table(layer: str, shape: Shape, table: tuple[int, int]) -> None:
    info = layer_info(layer, shape)
    assert dict(info.weights) == {"weight": _w(*table)}
    assert info.params == table[0] * table[1]
    assert info.output_shapes == ((shape[-2], shape[-1]),)


def test_positional_encoding_learned_matches_torch_embedding() -> None:
    torch = pytest.importorskip("torch")
    table = torch.nn.Embedding(128, 64)
    x = torch.randn(2, 10, 64)
    out = x + table(torch.arange(10))
    info = layer_info('PositionalEncoding("learned", 128)', (10, 64))
    assert info.output_shapes == (tuple(out.shape[1:]),)
    assert info.params == sum(p.numel() for p in table.parameters())


@pytest.mark.parametrize("name", ["PositionEmbedding", "SinusoidalPositionalEncoding"])
def test_positional_encoding_aliases(name: str) -> None:
    assert lookup(name) is lookup("PositionalEncoding")


@pytest.mark.parametrize(
    ("layer", "shape", "error", "fragment"),
    [
        ("PositionalEncoding(max_len=5)", (10, 64), ShapeError, "at most max_len=5 steps"),
        ('PositionalEncoding("learned", 5)', (6, 64), ShapeError, "at most max_len=5 steps"),
        ("PositionalEncoding()", (10, 63), ShapeError, "even number of features"),
        ('PositionalEncoding("learned")', (None, None, 64), ShapeError, "known sequence length"),
        ("PositionalEncoding()", (2, 10, 64), ShapeError, "rank 2 (length, features)"),
        ('PositionalEncoding("rotary")', (10, 64), InvalidValueError, '"sinusoidal", "learned"'),
        ("PositionalEncoding(max_len=0)", (10, 64), InvalidValueError, "positive integer"),
    ],
)
def test_positional_encoding_errors(layer: str, shape: Shape, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, shape)
    assert fragment in str(info.value)


def test_positional_encoding_learned_odd_features_is_fine() -> None:
    assert layer_info('PositionalEncoding("learned")', (4, 5)).params == 20


# --- FeedForward -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "out", "params", "macs"),
    [
        # 512 -> 2048 -> 512, biases: as the feed-forward part of a torch encoder layer
        ("FeedForward(2048)", (10, 512), (10, 512), 512 * 2048 + 2048 + 2048 * 512 + 512, 10 * 2 * 512 * 2048),
        ('FFN(16, "gelu", output_dim=4)', (3, 8), (3, 4), 8 * 16 + 16 + 16 * 4 + 4, 3 * (8 * 16 + 16 * 4)),
        ("FeedForward(dim_feedforward=6, use_bias=false)", (2, 5, 4), (2, 5, 4), 4 * 6 + 6 * 4, 10 * 2 * 4 * 6),
        ("PositionwiseFeedForward(units=3)", (7,), (7,), 7 * 3 + 3 + 3 * 7 + 7, 2 * 7 * 3),
        # prelu adds its one shared slope
        ('FeedForward(hidden_dim=3, activation="prelu")', (7,), (7,), 7 * 3 + 3 + 3 * 7 + 7 + 1, 2 * 7 * 3),
    ],
)
def test_feed_forward_variants(layer: str, shape: Shape, out: Shape, params: int, macs: int) -> None:
    info = layer_info(layer, shape)
    assert info.output_shapes == (out,)
    assert info.params == params
    assert info.macs == macs


def test_feed_forward_weight_names_and_unknown_length() -> None:
    info = layer_info("FeedForward(6, output_dim=2)", seq(None, 4))
    assert dict(info.weights) == {
        "linear1.weight": _w(6, 4),
        "linear1.bias": _w(6),
        "linear2.weight": _w(2, 6),
        "linear2.bias": _w(2),
    }
    assert info.output_shapes == ((None, 2),)
    assert info.macs is None


@pytest.mark.parametrize(("d", "ff", "out", "bias"), [(8, 32, None, True), (5, 7, 3, False), (16, 4, 16, True)])
def test_feed_forward_matches_torch(d: int, ff: int, out: int | None, bias: bool) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(
        torch.nn.Linear(d, ff, bias=bias),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.0),
        torch.nn.Linear(ff, out or d, bias=bias),
    )
    y = module(torch.randn(2, 9, d))
    extra = f", output_dim={out}" if out else ""
    info = layer_info(f"FeedForward({ff}, use_bias={'true' if bias else 'false'}{extra})", (9, d))
    assert info.output_shapes == (tuple(y.shape[1:]),)
    assert info.params == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("layer", "shape", "error", "fragment"),
    [
        ("FeedForward(8)", (3, None), ShapeError, "known number of input features"),
        ("FeedForward(0)", (3, 4), InvalidValueError, "`ff_dim` expects a positive integer"),
        ("FeedForward()", (3, 4), InvalidValueError, "needs the argument `ff_dim`"),
        ('FeedForward(8, "relu7")', (3, 4), InvalidValueError, "`activation` expects"),
    ],
)
def test_feed_forward_errors(layer: str, shape: Shape, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, shape)
    assert fragment in str(info.value)


# --- TransformerEncoder ------------------------------------------------------------------------


def encoder_params(d: int, ff: int, bias: bool = True) -> int:
    """4 projections d x d, linear1 ff x d, linear2 d x ff, two LayerNorms."""
    weights = 4 * d * d + 2 * d * ff + 2 * d
    biases = 4 * d + ff + d + 2 * d
    return weights + (biases if bias else 0)


def test_encoder_golden_512_8_2048() -> None:
    info = layer_info("TransformerEncoder(8, 2048)", (10, 512))
    assert info.output_shapes == ((10, 512),)
    assert info.params == encoder_params(512, 2048) == 3_152_384
    # attention: 4 * 10 * 512^2 + 2 * 10 * 10 * 512; feed-forward: 10 * 2 * 512 * 2048
    assert info.macs == 10_485_760 + 102_400 + 20_971_520


def test_encoder_weight_names() -> None:
    info = layer_info("TransformerEncoderLayer(nhead=2, dim_feedforward=6)", (3, 4))
    assert list(info.weights) == [
        *(f"self_attn.{p}_proj.{t}" for p in ("q", "k", "v", "out") for t in ("weight", "bias")),
        "linear1.weight",
        "linear1.bias",
        "linear2.weight",
        "linear2.bias",
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
    ]
    assert info.weights["linear1.weight"] == _w(6, 4)
    assert info.weights["linear2.weight"] == _w(4, 6)
    assert info.weights["self_attn.out_proj.weight"] == _w(4, 4)


def test_encoder_config_defaults_follow_torch() -> None:
    cfg = layer_info("TransformerEncoder(2, 8)", (3, 4)).node.config
    assert (cfg.dropout, cfg.activation, cfg.norm_first, cfg.layer_norm_eps, cfg.causal) == (
        0.1,
        "relu",
        False,
        1e-5,
        False,
    )
    cfg = layer_info('TransformerEncoder(2, 8, 0.0, "gelu", normalize_first=true, eps=1e-6)', (3, 4)).node.config
    assert (cfg.dropout, cfg.activation, cfg.norm_first, cfg.layer_norm_eps) == (0.0, "gelu", True, 1e-6)


def test_encoder_unknown_length_and_mask() -> None:
    info = layer_info("TransformerEncoder(4, 32, key_padding_mask=true)", seq(None, 16), (None,))
    assert info.output_shapes == ((None, 16),)
    assert info.params == encoder_params(16, 32)
    assert info.macs is None


def test_encoder_repeated_six_times() -> None:
    net = analyse_snippet("TransformerEncoder(8, 2048) * 6", (10, 512))
    assert len(net.layers) == 6
    assert net.params == 6 * 3_152_384
    assert net.output_shapes == ((10, 512),)


@pytest.mark.parametrize(
    ("d", "heads", "ff", "activation", "norm_first", "bias", "t"),
    [
        (512, 8, 2048, "relu", False, True, 10),
        (32, 4, 64, "gelu", True, True, 5),
        (24, 3, 10, "relu", True, False, 7),
        (16, 1, 16, "gelu", False, False, 1),
    ],
)
def test_encoder_matches_torch(
    d: int, heads: int, ff: int, activation: str, norm_first: bool, bias: bool, t: int
) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.TransformerEncoderLayer(
        d, heads, ff, dropout=0.0, activation=activation, norm_first=norm_first, bias=bias, batch_first=True
    )
    module.eval()
    y = module(torch.randn(2, t, d), src_key_padding_mask=torch.zeros(2, t, dtype=torch.bool))
    flags = f"norm_first={'true' if norm_first else 'false'}, use_bias={'true' if bias else 'false'}"
    info = layer_info(
        f'TransformerEncoder({heads}, {ff}, 0.0, "{activation}", {flags}, key_padding_mask=true)', (t, d), (t,)
    )
    assert info.output_shapes == (tuple(y.shape[1:]),)
    assert info.params == sum(p.numel() for p in module.parameters())
    assert info.params == encoder_params(d, ff, bias)


@pytest.mark.parametrize(
    ("layer", "shapes", "error", "fragment"),
    [
        ("TransformerEncoder(7, 64)", [(3, 512)], ShapeError, "features divisible by num_heads=7"),
        ("TransformerEncoder(8, 64, d_model=256)", [(3, 512)], ShapeError, "d_model=256"),
        ("TransformerEncoder(8, 64)", [(512,)], ShapeError, "rank 2 (length, features)"),
        (
            "TransformerEncoder(8, 64, key_padding_mask=true)",
            [(3, 512), (4,)],
            ShapeError,
            "source padding mask of shape (3,)",
        ),
        (
            "TransformerEncoder(8, 64, key_padding_mask=true)",
            [(3, 512)],
            ShapeError,
            "2 inputs (source, key_padding_mask)",
        ),
        ("TransformerEncoder(8, 64)", [(3, 512), (3,)], ShapeError, "1 input (source), received 2: (3, 512) and (3,)"),
        ("TransformerEncoder(8, 64, d_model=100)", [(3, 100)], InvalidValueError, "must be divisible by num_heads=8"),
        ('TransformerEncoder(8, 64, activation="tanh")', [(3, 512)], InvalidValueError, '"relu", "gelu"'),
        ("TransformerEncoder(8)", [(3, 512)], InvalidValueError, "needs the argument `ff_dim`"),
        ("TransformerEncoder(8, 64, layer_norm_eps=0)", [(3, 512)], InvalidValueError, "a number > 0"),
    ],
)
def test_encoder_errors(layer: str, shapes: list[Shape], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, *shapes)
    assert fragment in str(info.value)


# --- TransformerDecoder ------------------------------------------------------------------------


def decoder_params(d: int, ff: int, bias: bool = True) -> int:
    """An encoder layer plus cross-attention (4 d x d projections) and a third LayerNorm."""
    cross = 4 * d * d + (4 * d if bias else 0)
    return encoder_params(d, ff, bias) + cross + d + (d if bias else 0)


def test_decoder_golden_512_8_2048() -> None:
    info = layer_info("TransformerDecoder(8, 2048)", (10, 512), (12, 512))
    assert info.output_shapes == ((10, 512),)
    assert info.params == decoder_params(512, 2048) == 4_204_032
    self_attn = 4 * 10 * 512 * 512 + 2 * 10 * 10 * 512
    # cross: q and out projections on 10 target steps, k and v on 12 memory steps, 10 x 12 scores
    cross = 2 * 10 * 512 * 512 + 2 * 12 * 512 * 512 + 2 * 10 * 12 * 512
    feed_forward = 10 * 2 * 512 * 2048
    assert info.macs == self_attn + cross + feed_forward


def test_decoder_weight_names_and_causal_default() -> None:
    info = layer_info("TransformerDecoderLayer(2, 6)", (3, 4), (5, 4))
    names = list(info.weights)
    assert names[:8] == [f"self_attn.{p}_proj.{t}" for p in ("q", "k", "v", "out") for t in ("weight", "bias")]
    assert names[8:16] == [f"cross_attn.{p}_proj.{t}" for p in ("q", "k", "v", "out") for t in ("weight", "bias")]
    assert names[16:] == [
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias",
    ]  # fmt: skip
    assert info.node.config.causal is True


def test_decoder_masks_and_unknown_lengths() -> None:
    both = layer_info(
        "TransformerDecoder(2, 8, key_padding_mask=true, memory_key_padding_mask=true)",
        (3, 4), (5, 4), (3,), (5,),
    )  # fmt: skip
    assert both.output_shapes == ((3, 4),)
    memory_only = layer_info("TransformerDecoder(2, 8, memory_key_padding_mask=true)", (3, 4), seq(None, 4), (None,))
    assert memory_only.output_shapes == ((3, 4),)
    assert memory_only.macs is None
    assert memory_only.params == decoder_params(4, 8)


def test_decoder_repeated_with_memory() -> None:
    net = analyse_snippet("TransformerDecoder(8, 2048)(b, a) * 6", (12, 512), (10, 512))
    assert len(net.layers) == 6
    assert net.params == 6 * 4_204_032
    assert net.output_shapes == ((10, 512),)
    for layer in net.layers:
        assert layer.input_shapes == ((10, 512), (12, 512))


@pytest.mark.parametrize(
    ("d", "heads", "ff", "activation", "norm_first", "bias", "t", "s"),
    [
        (512, 8, 2048, "relu", False, True, 10, 12),
        (32, 4, 64, "gelu", True, True, 5, 3),
        (24, 3, 10, "relu", False, False, 1, 7),
    ],
)
def test_decoder_matches_torch(
    d: int, heads: int, ff: int, activation: str, norm_first: bool, bias: bool, t: int, s: int
) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.TransformerDecoderLayer(
        d, heads, ff, dropout=0.0, activation=activation, norm_first=norm_first, bias=bias, batch_first=True
    )
    module.eval()
    causal = torch.nn.Transformer.generate_square_subsequent_mask(t)
    y = module(
        torch.randn(2, t, d),
        torch.randn(2, s, d),
        tgt_mask=causal,
        memory_key_padding_mask=torch.zeros(2, s, dtype=torch.bool),
    )
    flags = f"norm_first={'true' if norm_first else 'false'}, use_bias={'true' if bias else 'false'}"
    layer = f'TransformerDecoder({heads}, {ff}, 0.0, "{activation}", {flags}, memory_key_padding_mask=true)'
    info = layer_info(layer, (t, d), (s, d), (s,))
    assert info.output_shapes == (tuple(y.shape[1:]),)
    assert info.params == sum(p.numel() for p in module.parameters())
    assert info.params == decoder_params(d, ff, bias)


def test_torch_transformer_total_from_layer_counts() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Transformer(512, 8, 6, 6, 2048, batch_first=True)
    total = sum(p.numel() for p in model.parameters())
    encoder = layer_info("TransformerEncoder(8, 2048)", (10, 512)).params
    decoder = layer_info("TransformerDecoder(8, 2048)", (10, 512), (12, 512)).params
    final_norms = 2 * (512 + 512)  # torch.nn.Transformer's encoder and decoder LayerNorms
    assert total == 6 * encoder + 6 * decoder + final_norms == 44_140_544


def test_torch_transformer_total_as_a_program() -> None:
    if lookup("LayerNormalization") is None:
        pytest.skip("LayerNormalization is not registered yet (normalization family)")
    layers = """
    memory = TransformerEncoder(8, 2048)(a) * 6
    memory = LayerNormalization()(memory)
    y = TransformerDecoder(8, 2048)(b, memory) * 6
    LayerNormalization()(y)
    """
    net = analyse_snippet(layers, (12, 512), (10, 512))
    assert net.params == 44_140_544
    assert net.output_shapes == ((10, 512),)


@pytest.mark.parametrize(
    ("layer", "shapes", "error", "fragment"),
    [
        ("TransformerDecoder(8, 64)", [(3, 512), (4, 256)], ShapeError, "a memory with the target's 512 features"),
        ("TransformerDecoder(8, 64)", [(3, 512), (4,)], ShapeError, "a memory sequence of rank 2"),
        ("TransformerDecoder(6, 64)", [(3, 512), (4, 512)], ShapeError, "divisible by num_heads=6"),
        (
            "TransformerDecoder(8, 64, memory_key_padding_mask=true)",
            [(3, 512), (4, 512), (3,)],
            ShapeError,
            "memory padding mask of shape (4,)",
        ),
        (
            "TransformerDecoder(8, 64, key_padding_mask=true)",
            [(3, 512), (4, 512)],
            ShapeError,
            "3 inputs (target, memory, target_mask)",
        ),
        ("TransformerDecoder(8, 64)", [(3, 512)], InvalidValueError, "takes 2 to 4 inputs"),
    ],
)
def test_decoder_errors(layer: str, shapes: list[Shape], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        layer_info(layer, *shapes)
    assert fragment in str(info.value)


def test_specs_document_themselves() -> None:
    for kind in (
        "MultiHeadAttention",
        "Attention",
        "PositionalEncoding",
        "FeedForward",
        "TransformerEncoder",
        "TransformerDecoder",
    ):
        spec = lookup(kind)
        assert spec is not None and spec.family == "attention"
        assert spec.doc and spec.shape_rule
        assert all(arg.doc for arg in spec.schema)
