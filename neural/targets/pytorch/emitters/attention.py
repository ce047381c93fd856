"""PyTorch emitters: attention layers (MultiHeadAttention, Attention, PositionalEncoding, FeedForward,
TransformerEncoder, TransformerDecoder).

Sequences are (N, T, D) in every layout, so every emitter here needs the language layout. The layers
become small helper modules (support_attention.py) whose attribute names are the canonical weight
names; key padding masks are passed by keyword.
"""

from __future__ import annotations

from collections.abc import Sequence

from neural.config.args import Config
from neural.layers.attention import MultiHeadAttention as MultiHeadAttentionSpec
from neural.layers.registry import get_spec
from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter, lit

# A module (or, for `exponential`, a function) per activation name; `{dim}` is the softmax axis.
ACTIVATION_MODULES = {
    "linear": "nn.Identity()",
    "relu": "nn.ReLU()",
    "relu6": "nn.ReLU6()",
    "leaky_relu": "nn.LeakyReLU(0.01)",
    "prelu": "nn.PReLU()",
    "elu": "nn.ELU()",
    "selu": "nn.SELU()",
    "gelu": "nn.GELU()",
    "silu": "nn.SiLU()",
    "mish": "nn.Mish()",
    "sigmoid": "nn.Sigmoid()",
    "hard_sigmoid": "nn.Hardsigmoid()",
    "tanh": "nn.Tanh()",
    "softmax": "nn.Softmax(dim={dim})",
    "log_softmax": "nn.LogSoftmax(dim={dim})",
    "softplus": "nn.Softplus()",
    "softsign": "nn.Softsign()",
    "exponential": "torch.exp",
}


def activation_module(name: str | None, dim: int = -1) -> str:
    """The constructor expression of activation `name` as a module (prelu's slope is its `weight`)."""
    return ACTIVATION_MODULES[name or "linear"].format(dim=dim)


def keywords(**values: object) -> dict[str, object]:
    """The keyword arguments whose value differs from the default (given as `name=(value, default)`)."""
    return {name: pair[0] for name, pair in values.items() if isinstance(pair, tuple) and pair[0] != pair[1]}


def call_with(inputs: Sequence[str], module: str, masks: dict[str, str | None]) -> str:
    """`module(a, b, mask_name=mask)`: positional data inputs, masks by keyword."""
    args = list(inputs) + [f"{name}={mask}" for name, mask in masks.items() if mask is not None]
    return f"{module}({', '.join(args)})"


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
        bias=(cfg.use_bias, True),
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

    def forward(inputs: Sequence[str], m: str) -> str:
        data = list(inputs[:-1] if masked else inputs)
        return call_with(data, m, {"key_padding_mask": inputs[-1] if masked else None})

    return LayerCode(
        module=call("MultiHeadAttention", *positional, **options),
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=("MultiHeadAttention",),
    )


@emitter("Attention")
def dot_product_attention(e: EmitContext) -> LayerCode:
    cfg = e.config
    if cfg.use_scale or cfg.score_mode == "concat":
        options = keywords(
            use_scale=(cfg.use_scale, False),
            score_mode=(cfg.score_mode, "dot"),
            dropout=(cfg.dropout, 0.0),
            causal=(cfg.causal, False),
        )
        return LayerCode(
            module=call("DotProductAttention", **options),
            forward=lambda inputs, m: f"{m}({', '.join(inputs)})",
            needs="lang",
            produces="lang",
            helpers=("DotProductAttention",),
        )
    # no weights: plain scaled_dot_product_attention, unscaled scores as in Keras
    extra = ""
    if cfg.dropout > 0:
        extra += f", dropout_p={lit(cfg.dropout)} if self.training else 0.0"
    if cfg.causal:
        extra += ", is_causal=True"

    def forward(inputs: Sequence[str], m: str) -> str:
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        return f"F.scaled_dot_product_attention({query}, {key}, {value}{extra}, scale=1.0)"

    return LayerCode(forward=forward, needs="lang", produces="lang")


@emitter("PositionalEncoding")
def positional_encoding(e: EmitContext) -> LayerCode:
    cfg = e.config
    length, features = e.in_shape[0], e.in_shape[1]
    rows = cfg.max_len if cfg.max_len is not None else length
    dropout = keywords(dropout=(cfg.dropout, 0.0))
    if cfg.kind == "learned":
        module = call("LearnedPositionalEncoding", rows, features, **dropout)
        helper = "LearnedPositionalEncoding"
    else:
        module = call("SinusoidalPositionalEncoding", features, *([rows] if rows is not None else []), **dropout)
        helper = "SinusoidalPositionalEncoding"
    return LayerCode(
        module=module,
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=(helper,),
    )


@emitter("FeedForward")
def feed_forward(e: EmitContext) -> LayerCode:
    cfg = e.config
    features = e.in_shape[-1]
    options = keywords(
        dropout=(cfg.dropout, 0.0),
        bias=(cfg.use_bias, True),
        output_dim=(cfg.output_dim, None),
    )
    return LayerCode(
        module=call("FeedForward", features, cfg.ff_dim, activation_module(cfg.activation), **options),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        helpers=("FeedForward",),
    )


def _transformer_options(cfg: Config, causal_default: bool) -> dict[str, object]:
    """Keyword arguments of EncoderLayer / DecoderLayer that differ from their defaults."""
    return keywords(
        dropout=(cfg.dropout, 0.1),
        activation=(cfg.activation, "relu"),
        layer_norm_eps=(cfg.layer_norm_eps, 1e-5),
        norm_first=(cfg.norm_first, False),
        causal=(cfg.causal, causal_default),
        bias=(cfg.use_bias, True),
    )


@emitter("TransformerEncoder")
def transformer_encoder(e: EmitContext) -> LayerCode:
    cfg = e.config
    d_model = e.in_shape[1]
    masked = bool(cfg.key_padding_mask)

    def forward(inputs: Sequence[str], m: str) -> str:
        return call_with(inputs[:1], m, {"key_padding_mask": inputs[1] if masked else None})

    return LayerCode(
        module=call("EncoderLayer", d_model, cfg.num_heads, cfg.ff_dim, **_transformer_options(cfg, False)),
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=("EncoderLayer",),
    )


@emitter("TransformerDecoder")
def transformer_decoder(e: EmitContext) -> LayerCode:
    cfg = e.config
    d_model = e.in_shape[1]

    def forward(inputs: Sequence[str], m: str) -> str:
        extra = list(inputs[2:])
        masks = {
            "key_padding_mask": extra.pop(0) if cfg.key_padding_mask else None,
            "memory_key_padding_mask": extra.pop(0) if cfg.memory_key_padding_mask else None,
        }
        return call_with(inputs[:2], m, masks)

    return LayerCode(
        module=call("DecoderLayer", d_model, cfg.num_heads, cfg.ff_dim, **_transformer_options(cfg, True)),
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=("DecoderLayer",),
    )
