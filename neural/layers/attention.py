"""Attention layers: MultiHeadAttention, Attention, PositionalEncoding, FeedForward, TransformerEncoder,
TransformerDecoder.

Sequences are (length, features) in every layout (the layout only moves the channels of spatial
feature maps); a length may be None (known only at run time), features must be known. Inputs
follow Keras order: query, value, then key (key defaults to value). A key padding mask, when a
layer is told to take one, is one more input of shape (key_length,) holding 1 for real tokens and 0
for padding (PyTorch's `key_padding_mask` is the opposite: True marks padding).

Weights use separate projections with Hugging Face style names (`q_proj`, `k_proj`, `v_proj`,
`out_proj`); the totals equal torch.nn.MultiheadAttention's packed `in_proj_weight`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from neural.config.args import Arg, Bool, Choice, Config, Float, Int, Optional_
from neural.errors import InvalidValueError
from neural.layers.activations import activation_arg, activation_weights
from neural.layers.base import Dim, LayerContext, LayerSpec, Outputs, Shape, Weight, fmt_shape, mul
from neural.layers.registry import register

DROPOUT = Float(0.0, 1.0, max_open=True)
TRANSFORMER_ACTIVATION = Choice(("relu", "gelu"))
LAYER_NORM_EPS = 1e-5


# --- shared pieces ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionDims:
    """Every size of one multi-head attention block, resolved from its config and input shapes."""

    num_heads: int
    query_len: Dim
    key_len: Dim
    query_features: int
    key_features: int
    value_features: int
    key_dim: int
    value_dim: int
    output_dim: int

    def weights(self, prefix: str, use_bias: bool) -> dict[str, Weight]:
        """q/k/v/out projections in PyTorch (out, in) layout, names `<prefix>q_proj.weight` ..."""
        qk = self.num_heads * self.key_dim
        v = self.num_heads * self.value_dim
        layers = {
            "q_proj": (qk, self.query_features),
            "k_proj": (qk, self.key_features),
            "v_proj": (v, self.value_features),
            "out_proj": (self.output_dim, v),
        }
        found: dict[str, Weight] = {}
        for name, (out_f, in_f) in layers.items():
            found[f"{prefix}{name}.weight"] = Weight((out_f, in_f))
            if use_bias:
                found[f"{prefix}{name}.bias"] = Weight((out_f,))
        return found

    def macs(self) -> int | None:
        """The four projections plus QK^T and the attention-weighted sum of the values."""
        tq, tk = self.query_len, self.key_len
        if tq is None or tk is None:
            return None
        qk = self.num_heads * self.key_dim
        v = self.num_heads * self.value_dim
        projections = tq * self.query_features * qk + tk * self.key_features * qk + tk * self.value_features * v
        projections += tq * v * self.output_dim
        return projections + tq * tk * qk + tq * tk * v


def _same_dim(a: Dim, b: Dim) -> bool:
    return a is None or b is None or a == b


def _sequence(spec: LayerSpec, shape: Shape, what: str) -> tuple[Dim, int]:
    """(length, features) of a rank-2 sequence input; features must be known."""
    if len(shape) != 2:
        raise spec.fail(f"{what} of rank 2 (length, features)", shape)
    features = shape[1]
    if features is None:
        raise spec.fail(f"{what} with a known number of features (last axis)", shape)
    return shape[0], features


def _check_mask(spec: LayerSpec, mask: Shape, length: Dim, what: str) -> None:
    """A padding mask is (length,) with the length of the sequence it masks."""
    if len(mask) != 1 or not _same_dim(mask[0], length):
        expected = fmt_shape((length,))
        raise spec.fail(f"a {what} padding mask of shape {expected} (1 = token, 0 = padding)", mask)


def _heads_divide(spec: LayerSpec, features: int, num_heads: int, shape: Shape, what: str) -> int:
    if features % num_heads:
        raise spec.fail(f"{what} features divisible by num_heads={num_heads}", shape)
    return features // num_heads


def _count_inputs(spec: LayerSpec, inputs: Sequence[Shape], low: int, high: int, names: str) -> None:
    if not low <= len(inputs) <= high:
        expected = (
            f"{low} input" if low == high == 1 else (f"{low} inputs" if low == high else f"{low} to {high} inputs")
        )
        received = " and ".join(fmt_shape(s) for s in inputs) or "no input"
        raise spec.fail(f"{expected} ({names})", f"{len(inputs)}: {received}")


# --- MultiHeadAttention ----------------------------------------------------------------------


@register
class MultiHeadAttention(LayerSpec):
    """Multi-head scaled dot-product attention: query (Tq, Dq), value (Tv, Dv) [, key (Tv, Dk)] -> (Tq, output_dim).

    One input means self-attention (query = key = value); two are (query, value) with key = value;
    three are (query, value, key) as in Keras. With `key_padding_mask=true` one more last input of
    shape (Tv,) holds 1 for real tokens and 0 for padding. key_dim defaults to Dq // num_heads,
    value_dim to key_dim, output_dim to Dq.
    """

    kind = "MultiHeadAttention"
    aliases = ("MultiheadAttention", "MHA")
    family = "attention"
    min_inputs = 1
    max_inputs = 4
    schema = (
        Arg("num_heads", Int(min=1), positional=True, aliases=("heads", "nhead"), doc="number of attention heads"),
        Arg(
            "key_dim",
            Optional_(Int(min=1)),
            None,
            positional=True,
            aliases=("head_dim",),
            doc="size of each head for query and key (default: query features // num_heads)",
        ),
        Arg(
            "value_dim",
            Optional_(Int(min=1)),
            None,
            positional=True,
            doc="size of each head for value (default: key_dim)",
        ),
        Arg("dropout", DROPOUT, 0.0, positional=True, doc="dropout on the attention weights"),
        Arg("use_bias", Bool(), True, aliases=("bias",), doc="biases in the four projections"),
        Arg(
            "output_dim",
            Optional_(Int(min=1)),
            None,
            aliases=("output_shape",),
            doc="output features (default: query features)",
        ),
        Arg(
            "embed_dim",
            Optional_(Int(min=1)),
            None,
            aliases=("d_model",),
            doc="query features, checked against the input when given",
        ),
        Arg(
            "causal", Bool(), False, aliases=("use_causal_mask", "is_causal"), doc="query i attends only to keys j <= i"
        ),
        Arg("key_padding_mask", Bool(), False, doc="take a last input (key_len,): 1 = token, 0 = padding"),
    )
    shape_rule = "query (Tq, Dq), value (Tv, Dv) [, key (Tv, Dk)] [, mask (Tv,)] -> (Tq, output_dim)"

    def check_config(self, cfg: Config) -> Config:
        if cfg.key_dim is None and cfg.embed_dim is not None and cfg.embed_dim % cfg.num_heads:
            raise InvalidValueError(
                f"`{self.kind}` argument `embed_dim` ({cfg.embed_dim}) must be divisible by num_heads={cfg.num_heads}; "
                "or give key_dim"
            )
        return cfg

    def dims(self, cfg: Config, inputs: Sequence[Shape]) -> AttentionDims:
        """Resolve every size; raises ShapeError for inputs the layer cannot take."""
        masked = 1 if cfg.key_padding_mask else 0
        names = "query[, value[, key]]" + (", key_padding_mask" if masked else "")
        _count_inputs(self, inputs, 1 + masked, 3 + masked, names)
        data = inputs[: len(inputs) - masked]
        query = data[0]
        value = data[1] if len(data) > 1 else query
        key = data[2] if len(data) > 2 else value
        tq, dq = _sequence(self, query, "a query")
        tv, dv = _sequence(self, value, "a value")
        tk, dk = _sequence(self, key, "a key")
        if not _same_dim(tk, tv):
            raise self.fail("key and value of the same length", f"key {fmt_shape(key)} and value {fmt_shape(value)}")
        length = tk if tk is not None else tv
        if masked:
            _check_mask(self, inputs[-1], length, "key")
        if cfg.embed_dim is not None and cfg.embed_dim != dq:
            raise self.fail(f"a query with embed_dim={cfg.embed_dim} features", query)
        key_dim = cfg.key_dim if cfg.key_dim is not None else _heads_divide(self, dq, cfg.num_heads, query, "query")
        return AttentionDims(
            num_heads=cfg.num_heads,
            query_len=tq,
            key_len=length,
            query_features=dq,
            key_features=dk,
            value_features=dv,
            key_dim=key_dim,
            value_dim=cfg.value_dim if cfg.value_dim is not None else key_dim,
            output_dim=cfg.output_dim if cfg.output_dim is not None else dq,
        )

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        dims = self.dims(cfg, inputs)
        return (dims.query_len, dims.output_dim)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return self.dims(cfg, inputs).weights("", cfg.use_bias)

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        return self.dims(cfg, inputs).macs()


# --- Attention (Keras) -----------------------------------------------------------------------


@register
class Attention(LayerSpec):
    """Keras dot-product attention without projections: query (Tq, D), value (Tv, Dv) [, key (Tv, D)] -> (Tq, Dv).

    score_mode "dot": scores = query @ key^T (times a learned scalar `scale` when use_scale);
    "concat": scores = concat_score_weight * sum(tanh(scale * (query + key))). Softmax over keys,
    then the weighted sum of the values.
    """

    kind = "Attention"
    aliases = ("DotProductAttention",)
    family = "attention"
    min_inputs = 2
    max_inputs = 3
    schema = (
        Arg("use_scale", Bool(), False, positional=True, doc="learn a scalar that scales the scores"),
        Arg(
            "score_mode",
            Choice(("dot", "concat")),
            "dot",
            positional=True,
            doc='"dot" (query @ key^T) or "concat" (tanh of query + key)',
        ),
        Arg("dropout", DROPOUT, 0.0, doc="dropout on the attention weights"),
        Arg(
            "causal", Bool(), False, aliases=("use_causal_mask", "is_causal"), doc="query i attends only to keys j <= i"
        ),
    )
    shape_rule = "query (Tq, D), value (Tv, Dv) [, key (Tv, D)] -> (Tq, Dv)"

    def _split(self, inputs: Sequence[Shape]) -> tuple[tuple[Dim, int], tuple[Dim, int], tuple[Dim, int]]:
        """(length, features) of query, value and key."""
        _count_inputs(self, inputs, 2, 3, "query, value[, key]")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q = _sequence(self, query, "a query")
        v = _sequence(self, value, "a value")
        k = _sequence(self, key, "a key")
        if not _same_dim(k[0], v[0]):
            raise self.fail("key and value of the same length", f"key {fmt_shape(key)} and value {fmt_shape(value)}")
        if q[1] != k[1]:
            raise self.fail(
                "query and key with the same number of features", f"query {fmt_shape(query)} and key {fmt_shape(key)}"
            )
        length = k[0] if k[0] is not None else v[0]
        return q, (length, v[1]), (length, k[1])

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        (tq, _), (_, dv), _ = self._split(inputs)
        return (tq, dv)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        found: dict[str, Weight] = {}
        if cfg.use_scale:
            found["scale"] = Weight((1,))
        if cfg.score_mode == "concat":
            found["concat_score_weight"] = Weight((1,))
        return found

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        (tq, d), (tk, dv), _ = self._split(inputs)
        weighted_sum = mul(tq, tk, dv)
        scores = mul(tq, tk, d) if cfg.score_mode == "dot" else 0  # concat scores: additions and tanh only
        return None if weighted_sum is None or scores is None else scores + weighted_sum


# --- PositionalEncoding ----------------------------------------------------------------------


@register
class PositionalEncoding(LayerSpec):
    """Adds position information to a sequence: (T, D) -> (T, D).

    "sinusoidal" (fixed sin/cos table, no parameters, D even) or "learned" (a `weight` table of
    max_len rows, as an nn.Embedding over positions; max_len defaults to the known sequence length).
    The sequence may not be longer than max_len.
    """

    kind = "PositionalEncoding"
    aliases = ("PositionEmbedding", "SinusoidalPositionalEncoding")
    family = "attention"
    schema = (
        Arg(
            "kind",
            Choice(
                ("sinusoidal", "learned"),
                {"sine": "sinusoidal", "fixed": "sinusoidal", "learnable": "learned", "trainable": "learned"},
            ),
            "sinusoidal",
            positional=True,
            aliases=("type", "mode"),
            doc='"sinusoidal" (fixed) or "learned" (a trainable table)',
        ),
        Arg(
            "max_len",
            Optional_(Int(min=1)),
            None,
            positional=True,
            aliases=("max_length", "maxlen", "sequence_length"),
            doc="longest sequence (default: the input's length)",
        ),
        Arg("dropout", DROPOUT, 0.0, aliases=("rate",), doc="dropout after adding the encoding"),
    )
    shape_rule = "(T, D) -> (T, D); T <= max_len; D even for sinusoidal"

    def table_length(self, cfg: Config, shape: Shape) -> int | None:
        """Rows of the position table: max_len, else the known sequence length."""
        length = shape[0]
        if cfg.max_len is not None:
            return int(cfg.max_len)
        return length

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        length, features = _sequence(self, shape, "a sequence")
        if cfg.max_len is not None and length is not None and length > cfg.max_len:
            raise self.fail(f"a sequence of at most max_len={cfg.max_len} steps", shape)
        if cfg.kind == "learned" and cfg.max_len is None and length is None:
            raise self.fail("a known sequence length for a learned encoding (or give max_len)", shape)
        if cfg.kind == "sinusoidal" and features % 2:
            raise self.fail("an even number of features for a sinusoidal encoding", shape)
        return shape

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        if cfg.kind != "learned":
            return {}
        rows = self.table_length(cfg, inputs[0])
        features = inputs[0][1]
        assert rows is not None and features is not None
        return {"weight": Weight((rows, features))}


# --- FeedForward -----------------------------------------------------------------------------


@register
class FeedForward(LayerSpec):
    """Position-wise feed-forward block: (..., D) -> linear1 (ff_dim) -> activation -> dropout -> linear2 -> (..., output_dim)."""

    kind = "FeedForward"
    aliases = ("PositionwiseFeedForward", "FFN")
    family = "attention"
    schema = (
        Arg(
            "ff_dim",
            Int(min=1),
            positional=True,
            aliases=("dim_feedforward", "units", "hidden_dim", "intermediate_dim"),
            doc="hidden features",
        ),
        activation_arg("relu"),
        Arg("dropout", DROPOUT, 0.0, doc="dropout after the activation"),
        Arg("use_bias", Bool(), True, aliases=("bias",), doc="biases in both linear layers"),
        Arg("output_dim", Optional_(Int(min=1)), None, doc="output features (default: input features)"),
    )
    shape_rule = "(..., D) -> (..., output_dim), output_dim defaults to D"

    def _features(self, shape: Shape) -> int:
        self.expect_min_rank(shape, 1, "(..., features)")
        features = shape[-1]
        if features is None:
            raise self.fail("a known number of input features (last axis)", shape)
        return features

    def _out(self, cfg: Config, features: int) -> int:
        return int(cfg.output_dim) if cfg.output_dim is not None else features

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        return (*shape[:-1], self._out(cfg, self._features(shape)))

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        features = self._features(inputs[0])
        return {
            **_feed_forward_weights(cfg.ff_dim, features, self._out(cfg, features), cfg.use_bias),
            **activation_weights(cfg),
        }

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        features = self._features(inputs[0])
        positions = mul(*inputs[0][:-1])
        if positions is None:
            return None
        return positions * cfg.ff_dim * (features + self._out(cfg, features))


def _feed_forward_weights(ff_dim: int, features: int, out: int, use_bias: bool, prefix: str = "") -> dict[str, Weight]:
    found = {f"{prefix}linear1.weight": Weight((ff_dim, features))}
    if use_bias:
        found[f"{prefix}linear1.bias"] = Weight((ff_dim,))
    found[f"{prefix}linear2.weight"] = Weight((out, ff_dim))
    if use_bias:
        found[f"{prefix}linear2.bias"] = Weight((out,))
    return found


def _norm_weights(name: str, features: int, use_bias: bool) -> dict[str, Weight]:
    found = {f"{name}.weight": Weight((features,))}
    if use_bias:
        found[f"{name}.bias"] = Weight((features,))
    return found


# --- Transformer layers ----------------------------------------------------------------------


def _transformer_schema(causal_default: bool) -> tuple[Arg, ...]:
    return (
        Arg("num_heads", Int(min=1), positional=True, aliases=("nhead", "heads"), doc="attention heads"),
        Arg(
            "ff_dim",
            Int(min=1),
            positional=True,
            aliases=("dim_feedforward", "intermediate_dim"),
            doc="feed-forward hidden features",
        ),
        Arg(
            "dropout",
            DROPOUT,
            0.1,
            positional=True,
            doc="dropout on attention weights, feed-forward and residual branches",
        ),
        Arg(
            "activation",
            TRANSFORMER_ACTIVATION,
            "relu",
            positional=True,
            doc='feed-forward activation: "relu" or "gelu"',
        ),
        Arg(
            "norm_first",
            Bool(),
            False,
            aliases=("normalize_first",),
            doc="pre-norm (LayerNorm before each block) instead of post-norm",
        ),
        Arg(
            "layer_norm_eps",
            Float(0.0, min_open=True),
            LAYER_NORM_EPS,
            aliases=("layer_norm_epsilon", "eps"),
            doc="LayerNorm epsilon",
        ),
        Arg(
            "causal",
            Bool(),
            causal_default,
            aliases=("is_causal",),
            doc="self-attention: position i attends only to positions <= i",
        ),
        Arg("key_padding_mask", Bool(), False, doc="take a padding mask input (length,): 1 = token, 0 = padding"),
        Arg(
            "d_model",
            Optional_(Int(min=1)),
            None,
            aliases=("embed_dim",),
            doc="model features, checked against the input when given",
        ),
        Arg("use_bias", Bool(), True, aliases=("bias",), doc="biases in the linear layers and LayerNorms"),
    )


class _TransformerLayer(LayerSpec):
    family = "attention"

    def check_config(self, cfg: Config) -> Config:
        if cfg.d_model is not None and cfg.d_model % cfg.num_heads:
            raise InvalidValueError(
                f"`{self.kind}` argument `d_model` ({cfg.d_model}) must be divisible by num_heads={cfg.num_heads}"
            )
        return cfg

    def model_dim(self, cfg: Config, shape: Shape, what: str) -> tuple[Dim, int]:
        """(length, d_model) of the main sequence input, checked against d_model and num_heads."""
        length, features = _sequence(self, shape, what)
        if cfg.d_model is not None and cfg.d_model != features:
            raise self.fail(f"{what} with d_model={cfg.d_model} features", shape)
        _heads_divide(self, features, cfg.num_heads, shape, what)
        return length, features

    def attention(self, cfg: Config, query_len: Dim, key_len: Dim, features: int) -> AttentionDims:
        head = features // cfg.num_heads
        return AttentionDims(cfg.num_heads, query_len, key_len, features, features, features, head, head, features)

    def feed_forward_macs(self, cfg: Config, length: Dim, features: int) -> int | None:
        positions = mul(length)
        return None if positions is None else positions * 2 * features * cfg.ff_dim


@register
class TransformerEncoder(_TransformerLayer):
    """One Transformer encoder layer as torch.nn.TransformerEncoderLayer: (T, D) -> (T, D).

    Self-attention then feed-forward, each with a residual connection and LayerNorm (after it by
    default, before it with norm_first). With key_padding_mask one more input (T,): 1 = token, 0 = padding.
    """

    kind = "TransformerEncoder"
    aliases = ("TransformerEncoderLayer",)
    min_inputs = 1
    max_inputs = 2
    schema = _transformer_schema(causal_default=False)
    shape_rule = "(T, D) [, mask (T,)] -> (T, D); D divisible by num_heads"

    def _source(self, cfg: Config, inputs: Sequence[Shape]) -> tuple[Dim, int]:
        masked = 1 if cfg.key_padding_mask else 0
        _count_inputs(self, inputs, 1 + masked, 1 + masked, "source" + (", key_padding_mask" if masked else ""))
        length, features = self.model_dim(cfg, inputs[0], "a source sequence")
        if masked:
            _check_mask(self, inputs[1], length, "source")
        return length, features

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        self._source(cfg, inputs)
        return inputs[0]

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        length, d = self._source(cfg, inputs)
        return {
            **self.attention(cfg, length, length, d).weights("self_attn.", cfg.use_bias),
            **_feed_forward_weights(cfg.ff_dim, d, d, cfg.use_bias),
            **_norm_weights("norm1", d, cfg.use_bias),
            **_norm_weights("norm2", d, cfg.use_bias),
        }

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        length, d = self._source(cfg, inputs)
        attention = self.attention(cfg, length, length, d).macs()
        feed_forward = self.feed_forward_macs(cfg, length, d)
        return None if attention is None or feed_forward is None else attention + feed_forward


@register
class TransformerDecoder(_TransformerLayer):
    """One Transformer decoder layer as torch.nn.TransformerDecoderLayer: target (T, D), memory (S, D) -> (T, D).

    Causal self-attention (causal=true by default), cross-attention to the memory, then
    feed-forward; each with a residual connection and LayerNorm. Optional padding masks follow as
    more inputs: the target's (T,) with key_padding_mask, then the memory's (S,) with
    memory_key_padding_mask (1 = token, 0 = padding).
    """

    kind = "TransformerDecoder"
    aliases = ("TransformerDecoderLayer",)
    min_inputs = 2
    max_inputs = 4
    schema = (
        *_transformer_schema(causal_default=True),
        Arg("memory_key_padding_mask", Bool(), False, doc="take a memory padding mask input (S,) after the others"),
    )
    shape_rule = "target (T, D), memory (S, D) [, target mask (T,)] [, memory mask (S,)] -> (T, D)"

    def _sizes(self, cfg: Config, inputs: Sequence[Shape]) -> tuple[Dim, Dim, int]:
        """(target length, memory length, d_model)."""
        masks = [
            name
            for name, on in (("target_mask", cfg.key_padding_mask), ("memory_mask", cfg.memory_key_padding_mask))
            if on
        ]
        count = 2 + len(masks)
        _count_inputs(self, inputs, count, count, ", ".join(["target", "memory", *masks]))
        target, memory = inputs[0], inputs[1]
        length, d = self.model_dim(cfg, target, "a target sequence")
        memory_len, memory_features = _sequence(self, memory, "a memory sequence")
        if memory_features != d:
            raise self.fail(
                f"a memory with the target's {d} features",
                f"target {fmt_shape(target)} and memory {fmt_shape(memory)}",
            )
        extra = list(inputs[2:])
        if cfg.key_padding_mask:
            _check_mask(self, extra.pop(0), length, "target")
        if cfg.memory_key_padding_mask:
            _check_mask(self, extra.pop(0), memory_len, "memory")
        return length, memory_len, d

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        self._sizes(cfg, inputs)
        return inputs[0]

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        length, memory_len, d = self._sizes(cfg, inputs)
        return {
            **self.attention(cfg, length, length, d).weights("self_attn.", cfg.use_bias),
            **self.attention(cfg, length, memory_len, d).weights("cross_attn.", cfg.use_bias),
            **_feed_forward_weights(cfg.ff_dim, d, d, cfg.use_bias),
            **_norm_weights("norm1", d, cfg.use_bias),
            **_norm_weights("norm2", d, cfg.use_bias),
            **_norm_weights("norm3", d, cfg.use_bias),
        }

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        length, memory_len, d = self._sizes(cfg, inputs)
        parts = (
            self.attention(cfg, length, length, d).macs(),
            self.attention(cfg, length, memory_len, d).macs(),
            self.feed_forward_macs(cfg, length, d),
        )
        total = 0
        for part in parts:
            if part is None:
                return None
            total += part
        return total
