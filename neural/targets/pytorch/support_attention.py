"""Support definitions for the attention family (copied into generated modules that use them).

Class names avoid torch's own (`EncoderLayer`, not `TransformerEncoderLayer`): the generated module
imports `nn`, and a reader should never wonder which of two same-named classes runs. Attribute names
are the canonical weight names of the layer specs (`q_proj`, `self_attn`, `linear1`, `norm1` ...).
"""

from __future__ import annotations

from neural.targets.pytorch.support import helper

helper(
    "attention_mask",
    '''
def attention_mask(key_padding_mask: torch.Tensor, query_len: int, causal: bool) -> torch.Tensor:
    """A boolean mask (N, 1, Tq, Tk), True = attend, from a padding mask (N, Tk) of 1 = token, 0 = padding."""
    mask = (key_padding_mask > 0.5)[:, None, None, :]
    if causal:
        mask = mask & torch.ones(query_len, mask.shape[-1], dtype=torch.bool, device=mask.device).tril()
    return mask
''',
)

helper(
    "MultiHeadAttention",
    '''
class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention with separate q/k/v/out projections.

    Keras argument order: query (N, Tq, embed_dim), value (N, Tk, vdim), key (N, Tk, kdim) -> (N, Tq, output_dim);
    value defaults to the query, key to the value. `key_padding_mask` (N, Tk) holds 1 for tokens and 0 for
    padding; a query that sees no key at all gets zero attention weights. key_dim and value_dim are per head.
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
        bias: bool = True,
        causal: bool = False,
    ) -> None:
        super().__init__()
        key_dim = key_dim or embed_dim // num_heads
        value_dim = value_dim or key_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.causal = causal
        self.q_proj = nn.Linear(embed_dim, num_heads * key_dim, bias=bias)
        self.k_proj = nn.Linear(kdim or embed_dim, num_heads * key_dim, bias=bias)
        self.v_proj = nn.Linear(vdim or embed_dim, num_heads * value_dim, bias=bias)
        self.out_proj = nn.Linear(num_heads * value_dim, output_dim or embed_dim, bias=bias)
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(proj.weight)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)

    def forward(
        self,
        query: torch.Tensor,
        value: torch.Tensor | None = None,
        key: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        value = query if value is None else value
        key = value if key is None else key
        n, tq, tk = query.shape[0], query.shape[1], key.shape[1]
        q = self.q_proj(query).view(n, tq, self.num_heads, -1).transpose(1, 2)
        k = self.k_proj(key).view(n, tk, self.num_heads, -1).transpose(1, 2)
        v = self.v_proj(value).view(n, tk, self.num_heads, -1).transpose(1, 2)
        dropout = self.dropout if self.training else 0.0
        if key_padding_mask is None:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=self.causal)
        else:
            mask = attention_mask(key_padding_mask, tq, self.causal)
            # a query that sees no key attends to all of them, then gets a zero output (torch < 2.5 gives NaN)
            sees_any = mask.any(dim=-1, keepdim=True)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | ~sees_any, dropout_p=dropout) * sees_any
        return self.out_proj(out.transpose(1, 2).reshape(n, tq, -1))
''',
    requires=("attention_mask",),
)

helper(
    "DotProductAttention",
    '''
class DotProductAttention(nn.Module):
    """keras.layers.Attention: query (N, Tq, D), value (N, Tv, Dv), key (N, Tv, D) -> (N, Tq, Dv), no projections.

    "dot" scores are query @ key^T (times the learned `scale` with use_scale); "concat" scores are
    concat_score_weight * sum(tanh(scale * (query_i + key_j))). Softmax over the keys, then the values' weighted sum.
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, causal: bool = False) -> None:
        super().__init__()
        self.score_mode = score_mode
        self.dropout = dropout
        self.causal = causal
        self.scale = nn.Parameter(torch.ones(1)) if use_scale else None
        self.concat_score_weight = nn.Parameter(torch.ones(1)) if score_mode == "concat" else None

    def forward(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor | None = None) -> torch.Tensor:
        key = value if key is None else key
        if self.concat_score_weight is None:
            query = query * self.scale if self.scale is not None else query
            dropout = self.dropout if self.training else 0.0
            return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout, is_causal=self.causal, scale=1.0)
        pairs = query.unsqueeze(2) + key.unsqueeze(1)
        pairs = pairs * self.scale if self.scale is not None else pairs
        scores = self.concat_score_weight * torch.tanh(pairs).sum(dim=-1)
        if self.causal:
            visible = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
            scores = scores.masked_fill(~visible, float("-inf"))
        return F.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training) @ value
''',
)

helper(
    "sinusoid_table",
    '''
def sinusoid_table(length: int, features: int) -> torch.Tensor:
    """(length, features): pe[p, 2i] = sin(p / 10000^(2i / D)), pe[p, 2i + 1] = cos(p / 10000^(2i / D))."""
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, features, 2, dtype=torch.float64) * (-math.log(10000.0) / features))
    table = torch.empty(length, features, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)
    return table.float()
''',
)

helper(
    "SinusoidalPositionalEncoding",
    '''
class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sin/cos table of "Attention is all you need" to (N, T, D) sequences, then dropout.

    The table of max_len rows is a buffer left out of the state dict; without max_len it is made per call.
    """

    def __init__(self, d_model: int, max_len: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model = d_model
        self.dropout = nn.Dropout(dropout)
        table = sinusoid_table(max_len, d_model) if max_len is not None else None
        self.register_buffer("table", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.table if self.table is not None else sinusoid_table(x.shape[1], self.d_model).to(x.device)
        return self.dropout(x + table[: x.shape[1]])
''',
    requires=("sinusoid_table",),
)

helper(
    "LearnedPositionalEncoding",
    '''
class LearnedPositionalEncoding(nn.Module):
    """Adds rows [0, T) of a learned table `weight` (max_len, D) to (N, T, D) sequences, then dropout."""

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.weight[: x.shape[1]])
''',
)

helper(
    "FeedForward",
    '''
class FeedForward(nn.Module):
    """Position-wise feed-forward block over the last axis: linear1 -> activation -> dropout -> linear2."""

    def __init__(
        self,
        features: int,
        ff_dim: int,
        activation: nn.Module,
        dropout: float = 0.0,
        bias: bool = True,
        output_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.linear1 = nn.Linear(features, ff_dim, bias=bias)
        self.activation = activation
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ff_dim, output_dim or features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))
''',
)

helper(
    "EncoderLayer",
    '''
class EncoderLayer(nn.Module):
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
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias, causal=causal)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = F.gelu if activation == "gelu" else F.relu

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), key_padding_mask)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, key_padding_mask))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
        return self.dropout1(self.self_attn(x, key_padding_mask=key_padding_mask))

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
''',
    requires=("MultiHeadAttention",),
)

helper(
    "DecoderLayer",
    '''
class DecoderLayer(nn.Module):
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
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias, causal=causal)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, bias=bias)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = F.gelu if activation == "gelu" else F.relu

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout1(self.self_attn(self.norm1(x), key_padding_mask=key_padding_mask))
            x = x + self.dropout2(self.cross_attn(self.norm2(x), memory, key_padding_mask=memory_key_padding_mask))
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self.dropout1(self.self_attn(x, key_padding_mask=key_padding_mask)))
        x = self.norm2(x + self.dropout2(self.cross_attn(x, memory, key_padding_mask=memory_key_padding_mask)))
        return self.norm3(x + self._feed_forward(x))

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))
''',
    requires=("MultiHeadAttention",),
)
