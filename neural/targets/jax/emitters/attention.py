"""JAX emitters: attention layers (MultiHeadAttention, Attention, PositionalEncoding, FeedForward,
TransformerEncoder, TransformerDecoder).

Sequences are (N, T, D) in every layout, so every emitter here needs the language layout. The layers
become small generated modules (support_attention.py) whose attribute names are the canonical weight
names; key padding masks are passed by keyword.
"""

from __future__ import annotations

from collections.abc import Sequence

from neural.config.args import Config
from neural.layers.attention import MultiHeadAttention as MultiHeadAttentionSpec
from neural.layers.registry import get_spec
from neural.targets.jax.emit import EmitContext, LayerCode, Refs, WeightSlot, call, emitter, linear_slots
from neural.targets.jax.emitters.common import activation_callable


def keywords(**values: object) -> dict[str, object]:
    """The keyword arguments whose value differs from the default (given as `name=(value, default)`)."""
    return {name: pair[0] for name, pair in values.items() if isinstance(pair, tuple) and pair[0] != pair[1]}


def ctor(name: str, *args: object, **kwargs: object) -> str:
    """`name(args..., kwargs..., rngs=rngs)`."""
    return f"{call(name, *args, **kwargs)[:-1]}{', ' if args or kwargs else ''}rngs=rngs)"


def call_with(inputs: Sequence[str], module: str, masks: dict[str, str | None]) -> str:
    """`module(a, b, mask_name=mask)`: positional data inputs, masks by keyword."""
    args = list(inputs) + [f"{name}={mask}" for name, mask in masks.items() if mask is not None]
    return f"{module}({', '.join(args)})"


def attention_slots(prefix: str, bias: bool) -> dict[str, WeightSlot]:
    path = tuple(p for p in prefix.split(".") if p)
    found: dict[str, WeightSlot] = {}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        found.update(linear_slots(f"{prefix}{proj}.", (*path, proj), bias))
    return found


def norm_slots(name: str, bias: bool) -> dict[str, WeightSlot]:
    found = {f"{name}.weight": WeightSlot((name, "scale"))}
    if bias:
        found[f"{name}.bias"] = WeightSlot((name, "bias"))
    return found


@emitter("MultiHeadAttention")
def multi_head_attention(e: EmitContext) -> LayerCode:
    cfg = e.config
    spec = get_spec("MultiHeadAttention")
    assert isinstance(spec, MultiHeadAttentionSpec)
    dims = spec.dims(cfg, e.layer.input_shapes)
    embed = dims.query_features
    default_key_dim = embed // cfg.num_heads if embed % cfg.num_heads == 0 else None
    options = keywords(
        key_dim=(dims.key_dim, default_key_dim),
        value_dim=(dims.value_dim, dims.key_dim),
        kdim=(dims.key_features, embed),
        vdim=(dims.value_features, embed),
        output_dim=(dims.output_dim, embed),
        dropout=(cfg.dropout, 0.0),
        use_bias=(cfg.use_bias, True),
        causal=(cfg.causal, False),
    )
    key_dim = options.pop("key_dim", None)
    value_dim = options.pop("value_dim", None)
    positional: list[object] = [embed, cfg.num_heads]
    if key_dim is not None or value_dim is not None:
        positional.append(dims.key_dim)
    if value_dim is not None:
        positional.append(dims.value_dim)
    masked = bool(cfg.key_padding_mask)

    def forward(inputs: Sequence[str], m: Refs) -> str:
        data = list(inputs[:-1] if masked else inputs)
        return call_with(data, m, {"key_padding_mask": inputs[-1] if masked else None})

    return LayerCode(
        module=ctor("MultiHeadAttention", *positional, **options),
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=("MultiHeadAttention",),
        weights=attention_slots("", cfg.use_bias),
    )


@emitter("Attention")
def dot_product_attention(e: EmitContext) -> LayerCode:
    cfg = e.config
    options = keywords(
        use_scale=(cfg.use_scale, False),
        score_mode=(cfg.score_mode, "dot"),
        dropout=(cfg.dropout, 0.0),
        causal=(cfg.causal, False),
    )
    weights: dict[str, WeightSlot] = {}
    if cfg.use_scale:
        weights["scale"] = WeightSlot(("scale",))
    if cfg.score_mode == "concat":
        weights["concat_score_weight"] = WeightSlot(("concat_score_weight",))
    return LayerCode(
        module=ctor("DotProductAttention", **options),
        forward=lambda inputs, m: f"{m}({', '.join(inputs)})",
        needs="lang",
        produces="lang",
        helpers=("DotProductAttention",),
        weights=weights,
    )


@emitter("PositionalEncoding")
def positional_encoding(e: EmitContext) -> LayerCode:
    cfg = e.config
    length, features = e.in_shape[0], e.in_shape[1]
    rows = cfg.max_len if cfg.max_len is not None else length
    dropout = keywords(dropout=(cfg.dropout, 0.0))
    if cfg.kind == "learned":
        return LayerCode(
            module=ctor("LearnedPositionalEncoding", rows, features, **dropout),
            forward=lambda inputs, m: f"{m}({inputs[0]})",
            needs="lang",
            produces="lang",
            helpers=("LearnedPositionalEncoding",),
            weights={"weight": WeightSlot(("weight",))},
        )
    return LayerCode(
        module=ctor("SinusoidalPositionalEncoding", features, *([rows] if rows is not None else []), **dropout),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=("SinusoidalPositionalEncoding",),
    )


@emitter("FeedForward")
def feed_forward(e: EmitContext) -> LayerCode:
    cfg = e.config
    features = e.in_shape[-1]
    options = keywords(
        dropout=(cfg.dropout, 0.0),
        use_bias=(cfg.use_bias, True),
        output_dim=(cfg.output_dim, None),
    )
    prelu = cfg.activation == "prelu"
    activation = "nnx.PReLU(0.25)" if prelu else activation_callable(cfg.activation)
    weights = {
        **linear_slots("linear1.", ("linear1",), cfg.use_bias),
        **linear_slots("linear2.", ("linear2",), cfg.use_bias),
    }
    if prelu:
        weights["activation.weight"] = WeightSlot(("activation", "negative_slope"))
    return LayerCode(
        module=ctor("FeedForward", features, cfg.ff_dim, activation, **options),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=("FeedForward",),
        weights=weights,
    )


def _transformer_options(cfg: Config, causal_default: bool) -> dict[str, object]:
    """Keyword arguments of EncoderLayer / DecoderLayer that differ from their defaults."""
    return keywords(
        dropout=(cfg.dropout, 0.1),
        activation=(cfg.activation, "relu"),
        layer_norm_eps=(cfg.layer_norm_eps, 1e-5),
        norm_first=(cfg.norm_first, False),
        causal=(cfg.causal, causal_default),
        use_bias=(cfg.use_bias, True),
    )


def _block_slots(cfg: Config, attentions: tuple[str, ...], norms: tuple[str, ...]) -> dict[str, WeightSlot]:
    found: dict[str, WeightSlot] = {}
    for name in attentions:
        found.update(attention_slots(f"{name}.", cfg.use_bias))
    found.update(linear_slots("linear1.", ("linear1",), cfg.use_bias))
    found.update(linear_slots("linear2.", ("linear2",), cfg.use_bias))
    for name in norms:
        found.update(norm_slots(name, cfg.use_bias))
    return found


@emitter("TransformerEncoder")
def transformer_encoder(e: EmitContext) -> LayerCode:
    cfg = e.config
    d_model = e.in_shape[1]
    masked = bool(cfg.key_padding_mask)

    def forward(inputs: Sequence[str], m: Refs) -> str:
        return call_with(inputs[:1], m, {"key_padding_mask": inputs[1] if masked else None})

    return LayerCode(
        module=ctor("EncoderLayer", d_model, cfg.num_heads, cfg.ff_dim, **_transformer_options(cfg, False)),
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=("EncoderLayer",),
        weights=_block_slots(cfg, ("self_attn",), ("norm1", "norm2")),
    )


@emitter("TransformerDecoder")
def transformer_decoder(e: EmitContext) -> LayerCode:
    cfg = e.config
    d_model = e.in_shape[1]

    def forward(inputs: Sequence[str], m: Refs) -> str:
        extra = list(inputs[2:])
        masks = {
            "key_padding_mask": extra.pop(0) if cfg.key_padding_mask else None,
            "memory_key_padding_mask": extra.pop(0) if cfg.memory_key_padding_mask else None,
        }
        return call_with(inputs[:2], m, masks)

    return LayerCode(
        module=ctor("DecoderLayer", d_model, cfg.num_heads, cfg.ff_dim, **_transformer_options(cfg, True)),
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=("DecoderLayer",),
        weights=_block_slots(cfg, ("self_attn", "cross_attn"), ("norm1", "norm2", "norm3")),
    )
