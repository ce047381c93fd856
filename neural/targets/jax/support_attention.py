"""Support definitions for the attention family (copied into generated modules that use them).

Attribute names are the canonical weight names of the layer specs (`q_proj`, `self_attn`, `linear1`,
`norm1` ...), so the weight table maps them one to one (nnx.Linear kernels are the transposed weights,
nnx.LayerNorm's `scale` is the weight). Padding masks hold 1 for tokens and 0 for padding.
"""

from __future__ import annotations

from neural.targets.jax.support import helper

helper(
    "attention_mask",
    '''
def attention_mask(key_padding_mask: jax.Array | None, query_len: int, key_len: int, causal: bool) -> jax.Array | None:
    """A boolean mask (N or 1, 1, Tq, Tk), True = attend: key i of a padding mask (N, Tk) that is 1, and with
    `causal` only keys j <= i for query i; None when nothing is masked."""
    mask = None
    if key_padding_mask is not None:
        mask = (key_padding_mask > 0.5)[:, None, None, :]
    if causal:
        lower = jnp.tril(jnp.ones((query_len, key_len), dtype=bool))[None, None]
        mask = lower if mask is None else mask & lower
    return mask
''',
)

helper(
    "MultiHeadAttention",
    '''
class MultiHeadAttention(nnx.Module):
    """Multi-head scaled dot-product attention with separate q/k/v/out projections.

    Keras argument order: query (N, Tq, embed_dim), value (N, Tk, vdim), key (N, Tk, kdim) -> (N, Tq, output_dim);
    value defaults to the query, key to the value. `key_padding_mask` (N, Tk) holds 1 for tokens and 0 for
    padding; a query that sees no key at all gets zero attention weights. key_dim and value_dim are per head;
    dropout acts on the attention weights while training.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        key_dim: int | None = None,
        value_dim: int | None = None,
        *,
        kdim: int | None = None,
        vdim: int | None = None,
        output_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        causal: bool = False,
        rngs: nnx.Rngs,
    ) -> None:
        key_dim = key_dim or embed_dim // num_heads
        value_dim = value_dim or key_dim
        self.num_heads, self.causal = num_heads, causal
        xavier = nnx.initializers.xavier_uniform()
        self.q_proj = nnx.Linear(embed_dim, num_heads * key_dim, use_bias=use_bias, kernel_init=xavier, rngs=rngs)
        self.k_proj = nnx.Linear(kdim or embed_dim, num_heads * key_dim, use_bias=use_bias, kernel_init=xavier, rngs=rngs)
        self.v_proj = nnx.Linear(vdim or embed_dim, num_heads * value_dim, use_bias=use_bias, kernel_init=xavier, rngs=rngs)
        self.out_proj = nnx.Linear(num_heads * value_dim, output_dim or embed_dim, use_bias=use_bias, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout else None

    def __call__(
        self,
        query: jax.Array,
        value: jax.Array | None = None,
        key: jax.Array | None = None,
        key_padding_mask: jax.Array | None = None,
    ) -> jax.Array:
        value = query if value is None else value
        key = value if key is None else key
        n, tq, tk = query.shape[0], query.shape[1], key.shape[1]
        q = self.q_proj(query).reshape(n, tq, self.num_heads, -1)
        k = self.k_proj(key).reshape(n, tk, self.num_heads, -1)
        v = self.v_proj(value).reshape(n, tk, self.num_heads, -1)
        scores = jnp.einsum("nqhd,nkhd->nhqk", q, k) / math.sqrt(q.shape[-1])
        mask = attention_mask(key_padding_mask, tq, tk, self.causal)
        if mask is not None:
            scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
        weights = jax.nn.softmax(scores, axis=-1)
        if mask is not None:
            weights = weights * mask.any(axis=-1, keepdims=True)  # a query that sees no key attends to nothing
        if self.dropout is not None:
            weights = self.dropout(weights)
        out = jnp.einsum("nhqk,nkhd->nqhd", weights, v).reshape(n, tq, -1)
        return self.out_proj(out)
''',
    requires=("attention_mask",),
)

helper(
    "DotProductAttention",
    '''
class DotProductAttention(nnx.Module):
    """keras.layers.Attention: query (N, Tq, D), value (N, Tv, Dv), key (N, Tv, D) -> (N, Tq, Dv), no projections.

    "dot" scores are query @ key^T (times the learned `scale` with use_scale); "concat" scores are
    concat_score_weight * sum(tanh(scale * (query_i + key_j))). Softmax over the keys, dropout on the weights
    while training, then the values' weighted sum.
    """

    def __init__(
        self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, causal: bool = False, *, rngs: nnx.Rngs
    ) -> None:
        self.causal = causal
        self.scale = nnx.Param(jnp.ones((1,))) if use_scale else None
        self.concat_score_weight = nnx.Param(jnp.ones((1,))) if score_mode == "concat" else None
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout else None

    def __call__(self, query: jax.Array, value: jax.Array, key: jax.Array | None = None) -> jax.Array:
        key = value if key is None else key
        if self.concat_score_weight is None:
            query = query * self.scale[...] if self.scale is not None else query
            scores = jnp.einsum("nqd,nkd->nqk", query, key)
        else:
            pairs = query[:, :, None, :] + key[:, None, :, :]
            pairs = pairs * self.scale[...] if self.scale is not None else pairs
            scores = self.concat_score_weight[...] * jnp.tanh(pairs).sum(axis=-1)
        if self.causal:
            visible = jnp.tril(jnp.ones(scores.shape[-2:], dtype=bool))
            scores = jnp.where(visible, scores, -jnp.inf)
        weights = jax.nn.softmax(scores, axis=-1)
        if self.dropout is not None:
            weights = self.dropout(weights)
        return weights @ value
''',
)

helper(
    "sinusoid_table",
    '''
def sinusoid_table(length: int, features: int) -> np.ndarray:
    """(length, features): pe[p, 2i] = sin(p / 10000^(2i / D)), pe[p, 2i + 1] = cos(p / 10000^(2i / D))."""
    position = np.arange(length, dtype=np.float64)[:, None]
    div = np.exp(np.arange(0, features, 2, dtype=np.float64) * (-math.log(10000.0) / features))
    table = np.empty((length, features))
    table[:, 0::2] = np.sin(position * div)
    table[:, 1::2] = np.cos(position * div)
    return table.astype(np.float32)
''',
)

helper(
    "SinusoidalPositionalEncoding",
    '''
class SinusoidalPositionalEncoding(nnx.Module):
    """Adds the fixed sin/cos table of "Attention is all you need" to (N, T, D) sequences, then dropout.

    The table is a constant of the traced computation (no state); T may be at most max_len.
    """

    def __init__(self, d_model: int, max_len: int | None = None, dropout: float = 0.0, *, rngs: nnx.Rngs) -> None:
        self.d_model, self.max_len = d_model, max_len
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout else None

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + sinusoid_table(x.shape[1], self.d_model)
        return self.dropout(x) if self.dropout is not None else x
''',
    requires=("sinusoid_table",),
)

helper(
    "LearnedPositionalEncoding",
    '''
class LearnedPositionalEncoding(nnx.Module):
    """Adds rows [0, T) of a learned table `weight` (max_len, D) to (N, T, D) sequences, then dropout."""

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0, *, rngs: nnx.Rngs) -> None:
        self.weight = nnx.Param(jax.random.normal(rngs.params(), (max_len, d_model)) * 0.02)
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout else None

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x + self.weight[: x.shape[1]]
        return self.dropout(x) if self.dropout is not None else x
''',
)

helper(
    "FeedForward",
    '''
class FeedForward(nnx.Module):
    """Position-wise feed-forward block over the last axis: linear1 -> activation -> dropout -> linear2."""

    def __init__(
        self,
        features: int,
        ff_dim: int,
        activation: Callable[[jax.Array], jax.Array],
        dropout: float = 0.0,
        use_bias: bool = True,
        output_dim: int | None = None,
        *,
        rngs: nnx.Rngs,
    ) -> None:
        self.linear1 = nnx.Linear(features, ff_dim, use_bias=use_bias, rngs=rngs)
        self.activation = activation
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.linear2 = nnx.Linear(ff_dim, output_dim or features, use_bias=use_bias, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))
''',
)

helper(
    "EncoderLayer",
    '''
class EncoderLayer(nnx.Module):
    """One Transformer encoder layer, as torch.nn.TransformerEncoderLayer(batch_first=True): (N, T, D) -> (N, T, D).

    Self-attention then feed-forward, each a residual branch with LayerNorm after it (before it with norm_first).
    `key_padding_mask` (N, T) holds 1 for tokens and 0 for padding.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
        causal: bool = False,
        use_bias: bool = True,
        *,
        rngs: nnx.Rngs,
    ) -> None:
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, use_bias=use_bias, causal=causal, rngs=rngs)
        self.linear1 = nnx.Linear(d_model, dim_feedforward, use_bias=use_bias, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.linear2 = nnx.Linear(dim_feedforward, d_model, use_bias=use_bias, rngs=rngs)
        self.norm_first = norm_first
        norm = {"epsilon": layer_norm_eps, "use_bias": use_bias, "use_fast_variance": False, "rngs": rngs}
        self.norm1 = nnx.LayerNorm(d_model, **norm)
        self.norm2 = nnx.LayerNorm(d_model, **norm)
        self.dropout1 = nnx.Dropout(dropout, rngs=rngs)
        self.dropout2 = nnx.Dropout(dropout, rngs=rngs)
        self.gelu = activation == "gelu"

    def __call__(self, x: jax.Array, key_padding_mask: jax.Array | None = None) -> jax.Array:
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), key_padding_mask)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, key_padding_mask))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x: jax.Array, key_padding_mask: jax.Array | None) -> jax.Array:
        return self.dropout1(self.self_attn(x, key_padding_mask=key_padding_mask))

    def _feed_forward(self, x: jax.Array) -> jax.Array:
        hidden = self.linear1(x)
        hidden = jax.nn.gelu(hidden, approximate=False) if self.gelu else jax.nn.relu(hidden)
        return self.dropout2(self.linear2(self.dropout(hidden)))
''',
    requires=("MultiHeadAttention",),
)

helper(
    "DecoderLayer",
    '''
class DecoderLayer(nnx.Module):
    """One Transformer decoder layer, as torch.nn.TransformerDecoderLayer(batch_first=True).

    target (N, T, D), memory (N, S, D) -> (N, T, D): self-attention (causal by default), cross-attention to the
    memory, then feed-forward; each a residual branch with LayerNorm after it (before it with norm_first).
    Padding masks hold 1 for tokens and 0 for padding.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
        causal: bool = True,
        use_bias: bool = True,
        *,
        rngs: nnx.Rngs,
    ) -> None:
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, use_bias=use_bias, causal=causal, rngs=rngs)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, use_bias=use_bias, rngs=rngs)
        self.linear1 = nnx.Linear(d_model, dim_feedforward, use_bias=use_bias, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.linear2 = nnx.Linear(dim_feedforward, d_model, use_bias=use_bias, rngs=rngs)
        self.norm_first = norm_first
        norm = {"epsilon": layer_norm_eps, "use_bias": use_bias, "use_fast_variance": False, "rngs": rngs}
        self.norm1 = nnx.LayerNorm(d_model, **norm)
        self.norm2 = nnx.LayerNorm(d_model, **norm)
        self.norm3 = nnx.LayerNorm(d_model, **norm)
        self.dropout1 = nnx.Dropout(dropout, rngs=rngs)
        self.dropout2 = nnx.Dropout(dropout, rngs=rngs)
        self.dropout3 = nnx.Dropout(dropout, rngs=rngs)
        self.gelu = activation == "gelu"

    def __call__(
        self,
        x: jax.Array,
        memory: jax.Array,
        key_padding_mask: jax.Array | None = None,
        memory_key_padding_mask: jax.Array | None = None,
    ) -> jax.Array:
        if self.norm_first:
            x = x + self.dropout1(self.self_attn(self.norm1(x), key_padding_mask=key_padding_mask))
            x = x + self.dropout2(self.cross_attn(self.norm2(x), memory, key_padding_mask=memory_key_padding_mask))
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self.dropout1(self.self_attn(x, key_padding_mask=key_padding_mask)))
        x = self.norm2(x + self.dropout2(self.cross_attn(x, memory, key_padding_mask=memory_key_padding_mask)))
        return self.norm3(x + self._feed_forward(x))

    def _feed_forward(self, x: jax.Array) -> jax.Array:
        hidden = self.linear1(x)
        hidden = jax.nn.gelu(hidden, approximate=False) if self.gelu else jax.nn.relu(hidden)
        return self.dropout3(self.linear2(self.dropout(hidden)))
''',
    requires=("MultiHeadAttention",),
)
