"""Kernels of the attention family: MultiHeadAttention, Attention, PositionalEncoding, FeedForward,
TransformerEncoder and TransformerDecoder.

Sequences are (N, T, D) in every layout. Attention is a handful of coarse ops: one matrix product
per projection over the whole batch (`ops.linear`), then one fused op (`attend`) that computes the
scores of every head, the masked softmax, the dropout of the attention weights and the weighted
sum of the values, with a hand-written backward. Heads are views of the projections
((N, T, H * d) -> (N, H, T, d) strides), so no head is copied on the way in or out.

Masks: `causal` lets query i see keys j <= i; a key padding mask input holds 1 for tokens and 0 for
padding (values above 0.5 count as tokens, so finite differences on the mask change nothing). A
query row that sees no key at all gets zero attention weights (PyTorch would give NaN).
The transformer layers follow torch.nn.TransformerEncoderLayer / TransformerDecoderLayer exactly
(post-norm by default, `norm_first` for pre-norm, dropout on the attention weights, inside the
feed-forward block and on each residual branch).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np

from neural.errors import BackendError
from neural.runtime import activations, ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.tensor import Array, Tensor, make

# --- fused ops -------------------------------------------------------------------------------


def dropout(x: Tensor, rate: float, training: bool, rng: np.random.Generator) -> Tensor:
    """Inverted dropout (identity outside training or at rate 0)."""
    if not training or rate == 0:
        return x
    mask = dropout_mask(rng, x.shape, rate, x.dtype)
    return make(x.data * mask, (x,), lambda g: (g * mask,))


def dropout_mask(rng: np.random.Generator, shape: tuple[int, ...], rate: float, dtype: np.dtype) -> Array:
    """0 with probability `rate`, else 1 / (1 - rate); drawn in the tensor's own precision."""
    keep = 1.0 - rate
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    mask = rng.random(shape, dtype=draw_dtype) < keep
    return mask * np.asarray(1.0 / keep, dtype=dtype)


@functools.lru_cache(maxsize=16)
def _mean_column(features: int, dtype: np.dtype) -> Array:
    column = np.full((features, 1), 1.0 / features, dtype=dtype)
    column.flags.writeable = False
    return column


def _last_axis_mean(a: Array) -> Array:
    """Mean over the last axis, kept as a size-1 axis: a matrix-vector product, much faster than .mean here."""
    return np.matmul(a, _mean_column(a.shape[-1], a.dtype))


def layer_norm(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias (biased variance).

    x (..., D), weight and bias (D,) or None -> (..., D).
    """
    data = x.data
    xhat = data - _last_axis_mean(data)
    rstd = _last_axis_mean(xhat * xhat)
    rstd += np.asarray(eps, dtype=rstd.dtype)
    np.sqrt(rstd, out=rstd)
    np.reciprocal(rstd, out=rstd)
    xhat *= rstd
    out = xhat * weight.data if weight is not None else xhat.copy()
    if bias is not None:
        out += bias.data
    parents = tuple(t for t in (x, weight, bias) if t is not None)
    features = data.shape[-1]

    def backward(g: Array) -> tuple[Array | None, ...]:
        gxhat = g * weight.data if weight is not None else g
        gx = None
        if x.requires_grad:
            gx = gxhat - _last_axis_mean(gxhat)
            gx -= xhat * _last_axis_mean(gxhat * xhat)
            gx *= rstd
        grads: list[Array | None] = [gx]
        if weight is not None:
            grads.append(np.add.reduce((g * xhat).reshape(-1, features), axis=0) if weight.requires_grad else None)
        if bias is not None:
            grads.append(np.add.reduce(g.reshape(-1, features), axis=0) if bias.requires_grad else None)
        return tuple(grads)

    return make(out, parents, backward)


def masked_softmax(scores: Array, bias: Array | None) -> Array:
    """Softmax over the last axis, in place; `bias` (0 or -inf, broadcastable) masks keys.

    Rows with every key masked become all zeros.
    """
    if bias is not None:
        scores += bias
    top = scores.max(axis=-1, keepdims=True)
    if bias is not None:
        top[~np.isfinite(top)] = 0
    scores -= top
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if bias is not None:
        total[total == 0] = 1
    scores /= total
    return scores


def softmax_backward(probs: Array, grad: Array) -> Array:
    """d(softmax) applied to `grad` (a fresh array, overwritten and returned)."""
    grad -= np.sum(grad * probs, axis=-1, keepdims=True)
    grad *= probs
    return grad


def _heads(a: Array, heads: int) -> Array:
    """(N, T, H * d) -> (N, H, T, d) as a strided view."""
    n, t, f = a.shape
    return a.reshape(n, t, heads, f // heads).transpose(0, 2, 1, 3)


def _product_into_rows(a: Array, b: Array) -> Array:
    """a @ b for (N, H, T, k) @ (N, H, k, d), written straight into an (N, T, H * d) array."""
    n, h, t, _ = a.shape
    d = b.shape[-1]
    out = np.empty((n, t, h, d), dtype=np.result_type(a, b))
    np.matmul(a, b, out=out.transpose(0, 2, 1, 3))
    return out.reshape(n, t, h * d)


def attend(q: Tensor, k: Tensor, v: Tensor, heads: int, scale: float, bias: Array | None, drop: Array | None) -> Tensor:
    """Scaled dot-product attention of every head in one op.

    q (N, Tq, H * dk), k (N, Tk, H * dk), v (N, Tk, H * dv) -> (N, Tq, H * dv).
    softmax(scale * q_h @ k_h^T + bias) (times the dropout mask `drop`, (N, H, Tq, Tk)) @ v_h.
    `bias` is 0 / -inf broadcastable to (N, H, Tq, Tk).
    """
    qh, kh, vh = _heads(q.data, heads), _heads(k.data, heads), _heads(v.data, heads)
    scores = np.matmul(qh, kh.transpose(0, 1, 3, 2))
    if scale != 1.0:
        scores *= np.asarray(scale, dtype=scores.dtype)
    probs = masked_softmax(scores, bias)
    weights = probs * drop if drop is not None else probs
    out = _product_into_rows(weights, vh)

    def backward(g: Array) -> tuple[Array | None, Array | None, Array | None]:
        gh = _heads(g, heads)
        gv = _product_into_rows(weights.transpose(0, 1, 3, 2), gh) if v.requires_grad else None
        gweights = np.matmul(gh, vh.transpose(0, 1, 3, 2))
        if drop is not None:
            gweights *= drop
        gscores = softmax_backward(probs, gweights)
        if scale != 1.0:
            gscores *= np.asarray(scale, dtype=gscores.dtype)
        gq = _product_into_rows(gscores, kh) if q.requires_grad else None
        gk = _product_into_rows(gscores.transpose(0, 1, 3, 2), qh) if k.requires_grad else None
        return gq, gk, gv

    return make(out, (q, k, v), backward)


def attend_scores(scores: Tensor, v: Tensor, bias: Array | None, drop: Array | None) -> Tensor:
    """softmax(scores + bias) (times `drop`) @ v for given scores (N, Tq, Tk) and values (N, Tk, Dv)."""
    probs = masked_softmax(scores.data.copy(), bias)
    weights = probs * drop if drop is not None else probs

    def backward(g: Array) -> tuple[Array, Array | None]:
        gv = np.matmul(weights.transpose(0, 2, 1), g) if v.requires_grad else None
        gweights = np.matmul(g, v.data.transpose(0, 2, 1))
        if drop is not None:
            gweights *= drop
        return softmax_backward(probs, gweights), gv

    return make(np.matmul(weights, v.data), (scores, v), backward)


@functools.lru_cache(maxsize=64)
def _causal_bias(tq: int, tk: int, dtype: np.dtype) -> Array:
    """(Tq, Tk): 0 where key j <= query i, -inf after (read-only, cached)."""
    bias = np.where(np.tri(tq, tk, dtype=bool), 0.0, -np.inf).astype(dtype)
    bias.flags.writeable = False
    return bias


def attention_bias(tq: int, tk: int, dtype: np.dtype, causal: bool, padding: Tensor | None) -> Array | None:
    """An additive mask (0 / -inf) of shape (1 or N, 1, 1 or Tq, Tk), or None when nothing is masked.

    `padding` (N, Tk): above 0.5 = token, else padding.
    """
    bias: Array | None = _causal_bias(tq, tk, np.dtype(dtype))[None, None] if causal else None
    if padding is not None:
        pad = np.where(padding.data > 0.5, 0.0, -np.inf).astype(dtype)[:, None, None, :]
        bias = pad if bias is None else bias + pad
    return bias


@functools.lru_cache(maxsize=32)
def sinusoid_table(length: int, features: int, dtype: np.dtype) -> Array:
    """The fixed encoding of "Attention is all you need" (the PyTorch tutorial's table), (length, features).

    pe[p, 2i] = sin(p / 10000^(2i / D)), pe[p, 2i + 1] = cos(p / 10000^(2i / D)); read-only, cached.
    """
    position = np.arange(length, dtype=np.float64)[:, None]
    div = np.exp(np.arange(0, features, 2, dtype=np.float64) * (-math.log(10000.0) / features))
    table = np.empty((length, features))
    table[:, 0::2] = np.sin(position * div)
    table[:, 1::2] = np.cos(position * div)
    result = table.astype(dtype)
    result.flags.writeable = False
    return result


# --- shared blocks ---------------------------------------------------------------------------


def _linear(x: Tensor, params: Mapping[str, Tensor], name: str) -> Tensor:
    return ops.linear(x, params[f"{name}.weight"], params.get(f"{name}.bias"))


def multi_head_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    params: Mapping[str, Tensor],
    prefix: str,
    heads: int,
    *,
    causal: bool,
    padding: Tensor | None,
    rate: float,
    training: bool,
    rng: np.random.Generator,
) -> Tensor:
    """Projections, attention of every head and the output projection.

    query (N, Tq, Dq), key (N, Tk, Dk), value (N, Tk, Dv) -> (N, Tq, output_dim); the weights are
    `<prefix>q_proj.weight` ... (PyTorch (out, in) layout); `padding` (N, Tk) marks tokens.
    """
    q = _linear(query, params, f"{prefix}q_proj")
    k = _linear(key, params, f"{prefix}k_proj")
    v = _linear(value, params, f"{prefix}v_proj")
    n, tq, _ = q.shape
    tk = k.shape[1]
    key_dim = q.shape[-1] // heads
    bias = attention_bias(tq, tk, q.dtype, causal, padding)
    drop = dropout_mask(rng, (n, heads, tq, tk), rate, q.dtype) if training and rate > 0 else None
    context = attend(q, k, v, heads, 1.0 / math.sqrt(key_dim), bias, drop)
    return _linear(context, params, f"{prefix}out_proj")


def _norm(x: Tensor, params: Mapping[str, Tensor], name: str, eps: float) -> Tensor:
    return layer_norm(x, params.get(f"{name}.weight"), params.get(f"{name}.bias"), eps)


def _feed_forward_block(call: Call, x: Tensor, activation: str, rate: float) -> Tensor:
    """linear1 -> activation -> dropout -> linear2 over the last axis."""
    hidden = _linear(x, call.params, "linear1")
    hidden = activations.apply(activation, hidden, weight=call.params.get("activation.weight"), channel_axis=-1)
    hidden = dropout(hidden, rate, call.training, call.rng)
    return _linear(hidden, call.params, "linear2")


# --- kernels ---------------------------------------------------------------------------------


@kernel("MultiHeadAttention")
def multi_head_attention_kernel(call: Call) -> Tensor:
    """query (N, Tq, Dq), value (N, Tk, Dv) [, key (N, Tk, Dk)] [, mask (N, Tk)] -> (N, Tq, output_dim)."""
    cfg = call.config
    inputs = list(call.inputs)
    padding = inputs.pop() if cfg.key_padding_mask else None
    query = inputs[0]
    value = inputs[1] if len(inputs) > 1 else query
    key = inputs[2] if len(inputs) > 2 else value
    return multi_head_attention(
        query,
        key,
        value,
        call.params,
        "",
        cfg.num_heads,
        causal=cfg.causal,
        padding=padding,
        rate=cfg.dropout,
        training=call.training,
        rng=call.rng,
    )


@kernel("Attention")
def dot_product_attention(call: Call) -> Tensor:
    """Keras Attention: query (N, Tq, D), value (N, Tv, Dv) [, key (N, Tv, D)] -> (N, Tq, Dv).

    "dot": scores = q @ k^T (times `scale`); "concat": scores = concat_score_weight *
    sum_d tanh(scale * (q_i + k_j)). Then softmax over keys (causal mask optional), dropout in
    training, weighted sum of the values.
    """
    cfg = call.config
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) > 2 else value
    scale = call.params.get("scale")
    n, tq, _ = query.shape
    tk = key.shape[1]
    bias = _causal_bias(tq, tk, np.dtype(query.dtype))[None] if cfg.causal else None
    rate = cfg.dropout
    drop = dropout_mask(call.rng, (n, tq, tk), rate, query.dtype) if call.training and rate > 0 else None
    if cfg.score_mode == "dot":
        q = ops.mul(query, scale) if scale is not None else query
        return attend(
            q, key, value, 1, 1.0, None if bias is None else bias[None], None if drop is None else drop[:, None]
        )
    pairs = ops.add(ops.reshape(query, (n, tq, 1, -1)), ops.reshape(key, (n, 1, tk, -1)))
    if scale is not None:
        pairs = ops.mul(pairs, scale)
    scores = ops.mul(ops.sum(activations.tanh(pairs), axis=-1), call.params["concat_score_weight"])
    return attend_scores(scores, value, bias, drop)


@kernel("PositionalEncoding")
def positional_encoding(call: Call) -> Tensor:
    """(N, T, D) -> (N, T, D): x plus the sinusoidal table or the learned `weight` rows [0, T), then dropout."""
    cfg = call.config
    x = call.x
    length, features = x.shape[1], x.shape[2]
    table = call.params.get("weight")
    rows = table.shape[0] if table is not None else cfg.max_len
    if rows is not None and length > rows:
        raise BackendError(
            f"PositionalEncoding `{call.node.name}` got a sequence of {length} steps; its table has max_len={rows}",
            call.node.span,
        )
    if table is None:
        pe = sinusoid_table(length, features, np.dtype(x.dtype))
        out = make(x.data + pe, (x,), lambda g: (g,))
    else:
        learned = table

        def backward(g: Array) -> tuple[Array, Array | None]:
            if not learned.requires_grad:
                return g, None
            grad = np.zeros_like(learned.data)
            grad[:length] = g.sum(axis=0)
            return g, grad

        out = make(x.data + learned.data[:length], (x, learned), backward)
    return dropout(out, cfg.dropout, call.training, call.rng)


@kernel("FeedForward")
def feed_forward(call: Call) -> Tensor:
    """(N, ..., D) -> (N, ..., output_dim): linear1, activation, dropout, linear2."""
    cfg = call.config
    return _feed_forward_block(call, call.x, cfg.activation or "linear", cfg.dropout)


def _self_attention_block(call: Call, x: Tensor, padding: Tensor | None, prefix: str) -> Tensor:
    cfg = call.config
    attended = multi_head_attention(
        x,
        x,
        x,
        call.params,
        prefix,
        cfg.num_heads,
        causal=cfg.causal,
        padding=padding,
        rate=cfg.dropout,
        training=call.training,
        rng=call.rng,
    )
    return dropout(attended, cfg.dropout, call.training, call.rng)


def _cross_attention_block(call: Call, x: Tensor, memory: Tensor, padding: Tensor | None) -> Tensor:
    cfg = call.config
    attended = multi_head_attention(
        x,
        memory,
        memory,
        call.params,
        "cross_attn.",
        cfg.num_heads,
        causal=False,
        padding=padding,
        rate=cfg.dropout,
        training=call.training,
        rng=call.rng,
    )
    return dropout(attended, cfg.dropout, call.training, call.rng)


def _ff_block(call: Call, x: Tensor) -> Tensor:
    cfg = call.config
    return dropout(_feed_forward_block(call, x, cfg.activation, cfg.dropout), cfg.dropout, call.training, call.rng)


@kernel("TransformerEncoder")
def transformer_encoder(call: Call) -> Tensor:
    """(N, T, D) [, mask (N, T)] -> (N, T, D) as torch.nn.TransformerEncoderLayer (batch_first)."""
    cfg = call.config
    x = call.inputs[0]
    padding = call.inputs[1] if cfg.key_padding_mask else None
    eps = cfg.layer_norm_eps
    if cfg.norm_first:
        x = ops.add(x, _self_attention_block(call, _norm(x, call.params, "norm1", eps), padding, "self_attn."))
        return ops.add(x, _ff_block(call, _norm(x, call.params, "norm2", eps)))
    x = _norm(ops.add(x, _self_attention_block(call, x, padding, "self_attn.")), call.params, "norm1", eps)
    return _norm(ops.add(x, _ff_block(call, x)), call.params, "norm2", eps)


@kernel("TransformerDecoder")
def transformer_decoder(call: Call) -> Tensor:
    """target (N, T, D), memory (N, S, D) [, target mask (N, T)] [, memory mask (N, S)] -> (N, T, D)

    as torch.nn.TransformerDecoderLayer (batch_first); self-attention is causal unless causal=false.
    """
    cfg = call.config
    x, memory = call.inputs[0], call.inputs[1]
    extra = list(call.inputs[2:])
    padding = extra.pop(0) if cfg.key_padding_mask else None
    memory_padding = extra.pop(0) if cfg.memory_key_padding_mask else None
    eps = cfg.layer_norm_eps
    p = call.params
    if cfg.norm_first:
        x = ops.add(x, _self_attention_block(call, _norm(x, p, "norm1", eps), padding, "self_attn."))
        x = ops.add(x, _cross_attention_block(call, _norm(x, p, "norm2", eps), memory, memory_padding))
        return ops.add(x, _ff_block(call, _norm(x, p, "norm3", eps)))
    x = _norm(ops.add(x, _self_attention_block(call, x, padding, "self_attn.")), p, "norm1", eps)
    x = _norm(ops.add(x, _cross_attention_block(call, x, memory, memory_padding)), p, "norm2", eps)
    return _norm(ops.add(x, _ff_block(call, x)), p, "norm3", eps)
