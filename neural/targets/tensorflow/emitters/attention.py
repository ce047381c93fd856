"""TensorFlow emitters: attention layers (MultiHeadAttention, Attention, PositionalEncoding, FeedForward,
TransformerEncoder, TransformerDecoder).

Sequences are (N, T, D) in every layout, so these layers take the language's layout. MultiHeadAttention
and Attention are Keras' own: Keras' query/key/value/output kernels hold the canonical q/k/v/out
projections reshaped per head, its causal mask and 1/sqrt(key_dim) scaling are the language's. A key
padding mask (1 = token, 0 = padding) goes through the generated `MaskedMultiHeadAttention`, which also
gives a query that sees no key a zero output (Keras would spread its attention over the padding). The
other layers are generated blocks whose sub-layers carry the canonical names (`linear1`, `self_attn`,
`norm1` ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neural.layers.base import Weight
from neural.targets.tensorflow.emit import Binding, EmitContext, LayerCode, Piece, emitter, transpose


def dense_bindings(weights: Mapping[str, Weight], prefix: str, attr: str | None = None) -> tuple[Binding, ...]:
    """A Dense sub-layer `attr` (default: the canonical prefix) holding `<prefix>.weight` / `.bias`."""
    attr = attr or prefix
    found = [Binding(f"{prefix}.weight", f"{attr}.kernel", (transpose(2),))]
    if f"{prefix}.bias" in weights:
        found.append(Binding(f"{prefix}.bias", f"{attr}.bias"))
    return tuple(found)


def norm_bindings(weights: Mapping[str, Weight], prefix: str) -> tuple[Binding, ...]:
    found = [Binding(f"{prefix}.weight", f"{prefix}.gamma")]
    if f"{prefix}.bias" in weights:
        found.append(Binding(f"{prefix}.bias", f"{prefix}.beta"))
    return tuple(found)


def attention_bindings(
    weights: Mapping[str, Weight], heads: int, prefix: str = "", attr: str = ""
) -> tuple[Binding, ...]:
    """Canonical q/k/v/out projections -> Keras' query/key/value kernels (features, heads, head_dim) and
    biases (heads, head_dim), output kernel (heads, head_dim, features)."""
    found: list[Binding] = []
    for proj, dense in (("q_proj", "query_dense"), ("k_proj", "key_dense"), ("v_proj", "value_dense")):
        rows, features = weights[f"{prefix}{proj}.weight"].shape
        per_head = (heads, rows // heads)
        found.append(
            Binding(
                f"{prefix}{proj}.weight", f"{attr}{dense}.kernel", (transpose(2), ("reshape", (features, *per_head)))
            )
        )
        if f"{prefix}{proj}.bias" in weights:
            found.append(Binding(f"{prefix}{proj}.bias", f"{attr}{dense}.bias", (("reshape", per_head),)))
    out, inner = weights[f"{prefix}out_proj.weight"].shape
    reshape = ("reshape", (heads, inner // heads, out))
    found.append(Binding(f"{prefix}out_proj.weight", f"{attr}output_dense.kernel", (transpose(2), reshape)))
    if f"{prefix}out_proj.bias" in weights:
        found.append(Binding(f"{prefix}out_proj.bias", f"{attr}output_dense.bias"))
    return tuple(found)


def call_with(layer: str, inputs: Sequence[str], keywords: Mapping[str, str | None]) -> str:
    """`layer(a, b, name=value)`: positional data inputs, then the keyword arguments that are set."""
    args = list(inputs) + [f"{name}={value}" for name, value in keywords.items() if value is not None]
    return f"{layer}({', '.join(args)})"


@emitter("MultiHeadAttention")
def multi_head_attention(e: EmitContext) -> LayerCode:
    cfg = e.config
    weights = e.layer.weights
    q_rows, query_features = weights["q_proj.weight"].shape
    v_rows = weights["v_proj.weight"].shape[0]
    output_dim = weights["out_proj.weight"].shape[0]
    key_dim, value_dim = q_rows // cfg.num_heads, v_rows // cfg.num_heads
    kwargs: dict[str, object] = {}
    if value_dim != key_dim:
        kwargs["value_dim"] = value_dim
    if cfg.dropout:
        kwargs["dropout"] = cfg.dropout
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    if output_dim != query_features:
        kwargs["output_shape"] = output_dim
    masked = bool(cfg.key_padding_mask)
    func = "MaskedMultiHeadAttention" if masked else "layers.MultiHeadAttention"

    def write(inputs: Sequence[str], pieces: Sequence[str]) -> str:
        data = list(inputs[:-1] if masked else inputs)
        query, value = data[0], data[1] if len(data) > 1 else data[0]
        return call_with(
            pieces[0],
            [query, value],
            {
                "key": data[2] if len(data) > 2 else None,
                "key_padding_mask": inputs[-1] if masked else None,
                "use_causal_mask": "True" if cfg.causal else None,
            },
        )

    return LayerCode(
        pieces=(Piece(func, (cfg.num_heads, key_dim), kwargs),),
        call=write,
        needs="lang",
        produces="lang",
        helpers=("MaskedMultiHeadAttention",) if masked else (),
        weights=attention_bindings(weights, cfg.num_heads),
    )


@emitter("Attention")
def dot_product_attention(e: EmitContext) -> LayerCode:
    cfg = e.config
    kwargs: dict[str, object] = {}
    if cfg.use_scale:
        kwargs["use_scale"] = True
    if cfg.score_mode != "dot":
        kwargs["score_mode"] = cfg.score_mode
    if cfg.dropout:
        kwargs["dropout"] = cfg.dropout
    weights = tuple(Binding(name, name, (("reshape", ()),)) for name in e.layer.weights)

    def write(inputs: Sequence[str], pieces: Sequence[str]) -> str:
        return call_with(pieces[0], [f"[{', '.join(inputs)}]"], {"use_causal_mask": "True" if cfg.causal else None})

    return LayerCode(
        pieces=(Piece("layers.Attention", kwargs=kwargs),), call=write, needs="lang", produces="lang", weights=weights
    )


@emitter("PositionalEncoding")
def positional_encoding(e: EmitContext) -> LayerCode:
    cfg = e.config
    kwargs: dict[str, object] = {}
    if cfg.kind == "learned":
        kwargs["kind"] = "learned"
        kwargs["max_len"] = cfg.max_len if cfg.max_len is not None else e.in_shape[0]
    if cfg.dropout:
        kwargs["dropout"] = cfg.dropout
    weights = (Binding("weight", "weight"),) if "weight" in e.layer.weights else ()
    return LayerCode(
        pieces=(Piece("PositionalEncoding", kwargs=kwargs),),
        needs="lang",
        produces="lang",
        helpers=("PositionalEncoding",),
        weights=weights,
    )


@emitter("FeedForward")
def feed_forward(e: EmitContext) -> LayerCode:
    cfg = e.config
    weights = e.layer.weights
    kwargs: dict[str, object] = {}
    if cfg.activation != "relu":
        kwargs["activation"] = cfg.activation
    if cfg.dropout:
        kwargs["dropout"] = cfg.dropout
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    if cfg.output_dim is not None:
        kwargs["output_dim"] = cfg.output_dim
    bindings = (*dense_bindings(weights, "linear1"), *dense_bindings(weights, "linear2"))
    if "activation.weight" in weights:
        rank = len(e.in_shape)
        bindings += (Binding("activation.weight", "activation.alpha", (("reshape", (1,) * rank),)),)
    return LayerCode(
        pieces=(Piece("FeedForward", (cfg.ff_dim,), kwargs),),
        needs="lang",
        produces="lang",
        helpers=("FeedForward",),
        weights=bindings,
    )


def _transformer(
    e: EmitContext, func: str, causal_default: bool, attention: tuple[str, ...]
) -> tuple[Piece, tuple[Binding, ...]]:
    cfg = e.config
    weights = e.layer.weights
    kwargs: dict[str, object] = {}
    for name, default in (("dropout", 0.1), ("activation", "relu"), ("layer_norm_eps", 1e-5), ("norm_first", False)):
        if cfg[name] != default:
            kwargs[name] = cfg[name]
    if cfg.causal != causal_default:
        kwargs["causal"] = cfg.causal
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    bindings: tuple[Binding, ...] = ()
    for block in attention:
        bindings += attention_bindings(weights, cfg.num_heads, f"{block}.", f"{block}.")
    bindings += (*dense_bindings(weights, "linear1"), *dense_bindings(weights, "linear2"))
    for norm in ("norm1", "norm2", "norm3"):
        if f"{norm}.weight" in weights:
            bindings += norm_bindings(weights, norm)
    return Piece(func, (e.in_shape[1], cfg.num_heads, cfg.ff_dim), kwargs), bindings


@emitter("TransformerEncoder")
def transformer_encoder(e: EmitContext) -> LayerCode:
    piece, bindings = _transformer(e, "TransformerEncoderLayer", False, ("self_attn",))
    masked = bool(e.config.key_padding_mask)

    def write(inputs: Sequence[str], pieces: Sequence[str]) -> str:
        return call_with(pieces[0], inputs[:1], {"key_padding_mask": inputs[1] if masked else None})

    return LayerCode(
        pieces=(piece,),
        call=write,
        needs="lang",
        produces="lang",
        helpers=("TransformerEncoderLayer",),
        weights=bindings,
    )


@emitter("TransformerDecoder")
def transformer_decoder(e: EmitContext) -> LayerCode:
    cfg = e.config
    piece, bindings = _transformer(e, "TransformerDecoderLayer", True, ("self_attn", "cross_attn"))

    def write(inputs: Sequence[str], pieces: Sequence[str]) -> str:
        extra = list(inputs[2:])
        masks = {
            "key_padding_mask": extra.pop(0) if cfg.key_padding_mask else None,
            "memory_key_padding_mask": extra.pop(0) if cfg.memory_key_padding_mask else None,
        }
        return call_with(pieces[0], inputs[:2], masks)

    return LayerCode(
        pieces=(piece,),
        call=write,
        needs="lang",
        produces="lang",
        helpers=("TransformerDecoderLayer",),
        weights=bindings,
    )
