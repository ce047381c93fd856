"""Attention-family kernels against PyTorch (nn.MultiheadAttention, nn.TransformerEncoderLayer,
nn.TransformerDecoderLayer, reference modules written with torch ops) and finite differences."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import compare_passes, load_into_torch, model_for, ours_pass, random_inputs, torch_pass

from neural.errors import BackendError
from neural.runtime.gradcheck import Pass, gradient_check, run_pass
from neural.runtime.model import Model

# --- helpers -----------------------------------------------------------------------------------


def padding_mask(batch: int, length: int, pad_last: int = 2) -> np.ndarray:
    """(batch, length): sample 0 all tokens, the others end with `pad_last` padding positions."""
    mask = np.ones((batch, length), dtype=np.float32)
    mask[1:, length - pad_last :] = 0
    return mask


def output(model: Model, inputs: dict[str, np.ndarray], training: bool = False) -> np.ndarray:
    """The single output of a forward pass as an array."""
    result = model(inputs, training=training)
    assert not isinstance(result, tuple)
    return result.data


def check_shape(model: Model, out: np.ndarray) -> None:
    """The output has exactly the shape the spec predicts (plus the batch axis)."""
    assert out.shape[1:] == tuple(model.shaped.layers[-1].output_shape)


def node_name(model: Model) -> str:
    return model.shaped.layers[-1].node.name


def attention_names(
    model: Model, ours_prefix: str, torch_prefix: str, *, separate: bool = False
) -> dict[str, tuple[str, slice | None]]:
    """Our `<node>.<prefix>q_proj.weight` ... -> (torch name, slice of the packed torch tensor)."""
    node = node_name(model)
    found: dict[str, tuple[str, slice | None]] = {}
    weight_rows = model.params[f"{node}.{ours_prefix}q_proj.weight"].shape[0]
    for i, part in enumerate(("q", "k", "v")):
        rows = slice(i * weight_rows, (i + 1) * weight_rows)
        if separate:
            found[f"{node}.{ours_prefix}{part}_proj.weight"] = (f"{torch_prefix}{part}_proj_weight", None)
        else:
            found[f"{node}.{ours_prefix}{part}_proj.weight"] = (f"{torch_prefix}in_proj_weight", rows)
        found[f"{node}.{ours_prefix}{part}_proj.bias"] = (f"{torch_prefix}in_proj_bias", rows)
    for leaf in ("weight", "bias"):
        found[f"{node}.{ours_prefix}out_proj.{leaf}"] = (f"{torch_prefix}out_proj.{leaf}", None)
    return {k: v for k, v in found.items() if k in model.params}


def transformer_names(model: Model, decoder: bool) -> dict[str, tuple[str, slice | None]]:
    node = node_name(model)
    found = attention_names(model, "self_attn.", "self_attn.")
    if decoder:
        found.update(attention_names(model, "cross_attn.", "multihead_attn."))
    for full in model.params:
        local = full[len(node) + 1 :]
        if local.split(".")[0] in ("linear1", "linear2", "norm1", "norm2", "norm3"):
            found[full] = (local, None)
    return found


def load_mapped(module: Any, model: Model, names: dict[str, tuple[str, slice | None]]) -> None:
    """Copy our weights into `module`, concatenating the pieces of packed torch tensors."""
    import torch

    pieces: dict[str, list[tuple[int, np.ndarray]]] = {}
    for ours, (theirs, rows) in names.items():
        pieces.setdefault(theirs, []).append((rows.start if rows is not None else 0, model.params[ours].data))
    state = {
        name: torch.tensor(np.concatenate([v for _, v in sorted(parts, key=lambda p: p[0])]))
        for name, parts in pieces.items()
    }
    missing, unexpected = module.load_state_dict(state, strict=False)
    trainable = {n for n, _ in module.named_parameters()}
    assert not (set(missing) & trainable), f"torch parameters not loaded: {set(missing) & trainable}"
    assert not unexpected


def _rows(rows: slice) -> Callable[[np.ndarray], np.ndarray]:
    return lambda g: g[rows]


def compare_mapped(
    ours: Pass, theirs: Pass, names: dict[str, tuple[str, slice | None]], input_map: dict[str, str]
) -> None:
    """As compare_passes; the key-projection biases, whose true gradient is zero (softmax ignores a
    shift shared by every key), are checked to be negligible next to the query bias's instead."""
    names = dict(names)
    for ours_name in [n for n in names if n.endswith("k_proj.bias")]:
        names.pop(ours_name)
        query_grad = ours.param_grads[ours_name.replace("k_proj", "q_proj")]
        assert np.abs(ours.param_grads[ours_name]).max() <= 1e-4 * max(np.abs(query_grad).max(), 1e-3)
    transforms: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        ours_name: _rows(rows) for ours_name, (_, rows) in names.items() if rows is not None
    }
    compare_passes(
        ours, theirs, param_names={k: v[0] for k, v in names.items()}, input_map=input_map, grad_transform=transforms
    )


def checked_gradients(
    model: Model, inputs: dict[str, np.ndarray], *, training: bool, rtol: float, limit: int = 40
) -> None:
    """gradient_check, leaving out the key-projection biases: their true gradient is exactly zero
    (a relative test of zero against rounding noise cannot pass), so they are checked to be ~0 here."""
    zero = [n for n in model.params if n.endswith("k_proj.bias")]
    if zero:
        probe = model(dict(inputs), training=training)
        outs = list(probe) if isinstance(probe, tuple) else [probe]
        result = run_pass(model, inputs, [np.ones_like(o.data) for o in outs], training=training, seed=0)
        for name in zero:
            assert np.abs(result.param_grads[name]).max() < 1e-9
    kept = model.params
    model.params = {n: p for n, p in kept.items() if n not in zero}
    try:
        gradient_check(model, inputs, training=training, rtol=rtol, limit=limit)
    finally:
        model.params = kept


def bool_tensor(array: np.ndarray) -> Any:
    import torch

    return torch.tensor(array)


def causal_bool(tq: int, tk: int) -> np.ndarray:
    """torch's boolean attention mask: True = not allowed."""
    return ~np.tri(tq, tk, dtype=bool)


# --- MultiHeadAttention -------------------------------------------------------------------------


MHA_CASES = [
    # (layer, shapes, torch kwargs, which inputs: query/key/value from our input names)
    ("MultiHeadAttention(2)", [(5, 8)], {}),
    ("MultiHeadAttention(2, causal=true)", [(5, 8)], {}),
    ("MultiHeadAttention(4, use_bias=false)", [(5, 8)], {"bias": False}),
    ("MultiHeadAttention(2, key_padding_mask=true)(a, b)", [(5, 8), (5,)], {}),
    ("MultiHeadAttention(2, causal=true, key_padding_mask=true)(a, b)", [(5, 8), (5,)], {}),
    ("MultiHeadAttention(2)(a, b)", [(4, 8), (6, 8)], {}),
    ("MultiHeadAttention(2, key_padding_mask=true)(a, b, c)", [(4, 8), (6, 8), (6,)], {}),
    ("MultiHeadAttention(2)(a, b, c)", [(4, 8), (6, 6), (6, 10)], {"kdim": 10, "vdim": 6}),
]


def _mha_inputs(model: Model, masked: bool) -> dict[str, np.ndarray]:
    inputs = random_inputs(model)
    if masked:
        last = model.network.inputs[-1].name
        inputs[last] = padding_mask(2, inputs[last].shape[1])
    return inputs


@pytest.mark.parametrize(("layer", "shapes", "torch_kwargs"), MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_multi_head_attention_matches_torch(
    layer: str, shapes: list[tuple[int, ...]], torch_kwargs: dict[str, Any]
) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, *shapes)
    cfg = model.shaped.layers[-1].node.config
    inputs = _mha_inputs(model, cfg.key_padding_mask)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    module = torch.nn.MultiheadAttention(shapes[0][1], cfg.num_heads, batch_first=True, **torch_kwargs)
    separate = "kdim" in torch_kwargs
    names = attention_names(model, "", "", separate=separate)
    load_mapped(module, model, names)
    arrays = [inputs[spec.name] for spec in model.network.inputs]
    data = arrays[:-1] if cfg.key_padding_mask else arrays
    kpm = bool_tensor(arrays[-1] == 0) if cfg.key_padding_mask else None
    tq = data[0].shape[1]
    tk = data[-1].shape[1] if len(data) > 1 else tq
    attn_mask = bool_tensor(causal_bool(tq, tk)) if cfg.causal else None

    def forward(*ts: Any) -> Any:
        query = ts[0]
        value = ts[1] if len(ts) > 1 else query
        key = ts[2] if len(ts) > 2 else value
        return module(query, key, value, key_padding_mask=kpm, attn_mask=attn_mask, need_weights=False)[0]

    theirs = torch_pass(module, data, upstream, forward=forward)
    input_map = {spec.name: str(i) for i, spec in enumerate(model.network.inputs[: len(data)])}
    if len(data) == 1:
        input_map = {model.network.inputs[0].name: "0"}
    compare_mapped(ours, theirs, names, input_map)


class ReferenceMHA:
    """Multi-head attention written with torch ops (separate projections, any key/value/output dims)."""

    def __new__(cls, dq: int, dk_in: int, dv_in: int, heads: int, key_dim: int, value_dim: int, out: int) -> Any:
        import torch

        class Module(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.q_proj = torch.nn.Linear(dq, heads * key_dim)
                self.k_proj = torch.nn.Linear(dk_in, heads * key_dim)
                self.v_proj = torch.nn.Linear(dv_in, heads * value_dim)
                self.out_proj = torch.nn.Linear(heads * value_dim, out)

            def forward(self, query: Any, value: Any, key: Any, causal: bool) -> Any:
                n, tq, _ = query.shape
                tk = key.shape[1]
                q = self.q_proj(query).reshape(n, tq, heads, key_dim).transpose(1, 2)
                k = self.k_proj(key).reshape(n, tk, heads, key_dim).transpose(1, 2)
                v = self.v_proj(value).reshape(n, tk, heads, value_dim).transpose(1, 2)
                scores = q @ k.transpose(-1, -2) / math.sqrt(key_dim)
                if causal:
                    scores = scores.masked_fill(torch.tensor(causal_bool(tq, tk)), float("-inf"))
                context = torch.softmax(scores, -1) @ v
                return self.out_proj(context.transpose(1, 2).reshape(n, tq, heads * value_dim))

        return Module()


@pytest.mark.parametrize(
    ("layer", "shapes", "dims"),
    [
        ("MultiHeadAttention(2, 3)", [(5, 8)], (2, 3, 3, 8)),
        ("MultiHeadAttention(2, 3, 5, output_dim=7)(a, b)", [(4, 8), (6, 6)], (2, 3, 5, 7)),
        ("MultiHeadAttention(3, 4, 2, output_dim=5, causal=true)(a, b, c)", [(6, 8), (6, 6), (6, 9)], (3, 4, 2, 5)),
    ],
)
def test_multi_head_attention_custom_dims_match_reference(
    layer: str, shapes: list[tuple[int, ...]], dims: tuple[int, int, int, int]
) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, *shapes)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    heads, key_dim, value_dim, out = dims
    dq = shapes[0][1]
    dv_in = shapes[1][1] if len(shapes) > 1 else dq
    dk_in = shapes[2][1] if len(shapes) > 2 else dv_in
    module = ReferenceMHA(dq, dk_in, dv_in, heads, key_dim, value_dim, out)
    node = node_name(model)
    load_into_torch(module, model, node)
    causal = bool(model.shaped.layers[-1].node.config.causal)
    arrays = [inputs[spec.name] for spec in model.network.inputs]

    def forward(*ts: Any) -> Any:
        value = ts[1] if len(ts) > 1 else ts[0]
        return module(ts[0], value, ts[2] if len(ts) > 2 else value, causal)

    theirs = torch_pass(module, arrays, upstream, forward=forward)
    names: dict[str, tuple[str, slice | None]] = {f"{node}.{n}": (n, None) for n, _ in module.named_parameters()}
    compare_mapped(ours, theirs, names, {spec.name: str(i) for i, spec in enumerate(model.network.inputs)})


@pytest.mark.parametrize(
    ("layer", "shapes", "training"),
    [
        ("MultiHeadAttention(2)", [(4, 6)], False),
        ("MultiHeadAttention(2, causal=true, key_padding_mask=true)(a, b)", [(4, 6), (4,)], False),
        ("MultiHeadAttention(2, 2, 3, output_dim=5)(a, b, c)", [(3, 6), (4, 5), (4, 7)], False),
        ("MultiHeadAttention(2, dropout=0.3, causal=true)", [(4, 6)], True),
    ],
)
def test_multi_head_attention_gradients(layer: str, shapes: list[tuple[int, ...]], training: bool) -> None:
    model = model_for(layer, *shapes, dtype=np.float64)
    inputs = _mha_inputs(model, model.shaped.layers[-1].node.config.key_padding_mask)
    inputs = {k: v.astype(np.float64) for k, v in inputs.items()}
    checked_gradients(model, inputs, training=training, rtol=1e-6)


def test_attention_dropout_only_in_training() -> None:
    model = model_for("MultiHeadAttention(2, dropout=0.5)", (6, 8))
    inputs = random_inputs(model)
    first = output(model, inputs)
    np.testing.assert_array_equal(first, output(model, inputs))
    assert not np.allclose(first, output(model, inputs, training=True))


def test_fully_padded_keys_give_zero_attention_not_nan() -> None:
    model = model_for("MultiHeadAttention(2, key_padding_mask=true)(a, b)", (4, 8), (4,))
    inputs = random_inputs(model)
    inputs["b"] = np.zeros((2, 4), dtype=np.float32)
    out = output(model, inputs)
    bias = model.params[f"{node_name(model)}.out_proj.bias"].data
    np.testing.assert_allclose(out, np.broadcast_to(bias, out.shape))


def test_padding_mask_hides_padded_keys() -> None:
    """Changing padded keys changes nothing; causal: a query never sees later keys."""
    model = model_for("MultiHeadAttention(2, causal=true, key_padding_mask=true)(a, b)", (6, 8), (6,))
    inputs = random_inputs(model)
    inputs["b"] = padding_mask(2, 6)
    base = output(model, inputs)
    changed = dict(inputs)
    changed["a"] = inputs["a"].copy()
    changed["a"][1, 4:] += 5.0
    after = output(model, changed)
    np.testing.assert_allclose(after[:, :4], base[:, :4], rtol=1e-6)
    np.testing.assert_allclose(after[0], base[0], rtol=1e-6)


# --- Attention (Keras) --------------------------------------------------------------------------


def keras_attention_module(use_scale: bool, concat: bool) -> Any:
    """keras.layers.Attention's call, written with torch ops (same parameter names)."""
    import torch

    class Module(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale: Any = torch.nn.Parameter(torch.ones(1)) if use_scale else None
            self.concat_score_weight: Any = torch.nn.Parameter(torch.ones(1)) if concat else None

        def forward(self, query: Any, value: Any, key: Any, causal: bool) -> Any:
            if concat:
                pairs = query[:, :, None, :] + key[:, None, :, :]
                if self.scale is not None:
                    pairs = self.scale * pairs
                scores = torch.tanh(pairs).sum(-1) * self.concat_score_weight
            else:
                scores = query @ key.transpose(1, 2)
                if self.scale is not None:
                    scores = scores * self.scale
            if causal:
                mask = torch.tensor(np.tri(scores.shape[1], scores.shape[2]), dtype=scores.dtype)
                scores = scores - 1e9 * (1 - mask)
            return torch.softmax(scores, -1) @ value

    return Module()


ATTENTION_CASES = [
    ("Attention()(a, b)", [(4, 6), (5, 6)]),
    ("Attention(true)(a, b)", [(4, 6), (5, 6)]),
    ("Attention(causal=true)(a, b, c)", [(5, 6), (5, 3), (5, 6)]),
    ('Attention(false, "concat")(a, b)', [(4, 6), (5, 6)]),
    ('Attention(true, "concat", causal=true)(a, b, c)', [(4, 6), (4, 3), (4, 6)]),
]


@pytest.mark.parametrize(("layer", "shapes"), ATTENTION_CASES, ids=[c[0] for c in ATTENTION_CASES])
def test_attention_layer_matches_reference(layer: str, shapes: list[tuple[int, ...]]) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, *shapes)
    node = node_name(model)
    cfg = model.shaped.layers[-1].node.config
    for name, p in model.params.items():  # away from 1 so that the scale gradients matter
        p.data[...] = 0.7 if name.endswith("scale") else 1.3
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    module = keras_attention_module(cfg.use_scale, cfg.score_mode == "concat")
    load_into_torch(module, model, node)
    arrays = [inputs[spec.name] for spec in model.network.inputs]
    theirs = torch_pass(module, arrays, upstream, forward=lambda q, v, *k: module(q, v, k[0] if k else v, cfg.causal))
    params = {f"{node}.{n}": n for n, _ in module.named_parameters()}
    compare_passes(
        ours, theirs, param_names=params, input_map={spec.name: str(i) for i, spec in enumerate(model.network.inputs)}
    )
    del torch


@pytest.mark.parametrize(
    ("layer", "shapes"),
    [*ATTENTION_CASES, ('Attention(true, "concat", dropout=0.3)(a, b, c)', [(3, 4), (4, 2), (4, 4)])],
)
def test_attention_layer_gradients(layer: str, shapes: list[tuple[int, ...]]) -> None:
    model = model_for(layer, *shapes, dtype=np.float64)
    for name, p in model.params.items():
        p.data[...] = 0.7 if name.endswith("scale") else 1.3
    gradient_check(model, random_inputs(model), training="dropout" in layer, rtol=1e-6)


# --- PositionalEncoding -------------------------------------------------------------------------


def tutorial_positional_encoding(d_model: int, max_len: int) -> Any:
    """The PyTorch tutorial's PositionalEncoding (batch first, without its dropout)."""
    import torch

    class Module(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x: Any) -> Any:
            table: Any = self.pe
            return x + table[: x.size(1)]

    return Module()


@pytest.mark.parametrize(("layer", "length"), [("PositionalEncoding()", 7), ("PositionalEncoding(max_len=50)", 40)])
def test_sinusoidal_encoding_matches_tutorial(layer: str, length: int) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, (length, 12))
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    theirs = torch_pass(tutorial_positional_encoding(12, 50), [inputs["input"]], upstream)
    compare_passes(ours, theirs, param_names={}, input_map={"input": "0"})
    assert not model.params


def test_learned_encoding_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    model = model_for('PositionalEncoding("learned", 9)', (6, 4))
    node = node_name(model)
    assert model.params[f"{node}.weight"].shape == (9, 4)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    module = torch.nn.Embedding(9, 4)
    load_into_torch(module, model, node)
    table: Any = module.weight
    theirs = torch_pass(module, [inputs["input"]], upstream, forward=lambda x: x + table[:6])
    compare_passes(ours, theirs, param_names={f"{node}.weight": "weight"}, input_map={"input": "0"})


@pytest.mark.parametrize(
    ("layer", "training"),
    [
        ("PositionalEncoding()", False),
        ('PositionalEncoding("learned", 8)', False),
        ('PositionalEncoding("learned", dropout=0.4)', True),
    ],
)
def test_positional_encoding_gradients(layer: str, training: bool) -> None:
    model = model_for(layer, (5, 6), dtype=np.float64)
    gradient_check(model, random_inputs(model), training=training, rtol=1e-6)


def test_positional_encoding_too_long_sequence_is_an_error() -> None:
    from neural.runtime.kernels.attention import positional_encoding

    model = model_for("PositionalEncoding(max_len=6)", (5, 4))
    layer = model.shaped.layers[-1]
    from neural.runtime.kernels import Call
    from neural.runtime.tensor import Tensor

    call = Call(
        layer.node, [Tensor(np.zeros((1, 8, 4), np.float32))], {}, {}, False, np.random.default_rng(0), model.ctx
    )
    with pytest.raises(BackendError, match="max_len=6"):
        positional_encoding(call)


# --- FeedForward --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "act"),
    [
        ("FeedForward(10)", "relu"),
        ('FeedForward(10, "gelu", output_dim=3)', "gelu"),
        ('FeedForward(6, "prelu", use_bias=false)', "prelu"),
    ],
)
def test_feed_forward_matches_torch(layer: str, act: str) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, (3, 5))
    node = node_name(model)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    cfg = model.shaped.layers[-1].node.config
    out = cfg.output_dim or 5
    activation = {"relu": torch.nn.ReLU(), "gelu": torch.nn.GELU(), "prelu": torch.nn.PReLU()}[act]
    module = torch.nn.Sequential(
        torch.nn.Linear(5, cfg.ff_dim, bias=cfg.use_bias),
        activation,
        torch.nn.Linear(cfg.ff_dim, out, bias=cfg.use_bias),
    )
    rename = {
        "linear1.weight": "0.weight",
        "linear1.bias": "0.bias",
        "activation.weight": "1.weight",
        "linear2.weight": "2.weight",
        "linear2.bias": "2.bias",
    }
    load_into_torch(module, model, node, rename=rename)
    theirs = torch_pass(module, [inputs["input"]], upstream)
    names = {f"{node}.{k}": v for k, v in rename.items() if f"{node}.{k}" in model.params}
    compare_passes(ours, theirs, param_names=names, input_map={"input": "0"})


@pytest.mark.parametrize(
    ("layer", "training"), [('FeedForward(7, "gelu")', False), ("FeedForward(7, dropout=0.3, output_dim=2)", True)]
)
def test_feed_forward_gradients(layer: str, training: bool) -> None:
    model = model_for(layer, (3, 4), dtype=np.float64)
    gradient_check(model, random_inputs(model), training=training, rtol=1e-6)


# --- Transformer layers -------------------------------------------------------------------------

ENCODER_CASES = [
    "TransformerEncoder(2, 16, 0.0)",
    'TransformerEncoder(2, 16, 0.0, "gelu", norm_first=true)',
    "TransformerEncoder(4, 12, 0.0, causal=true)",
    "TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, b)",
    'TransformerEncoder(2, 16, 0.0, "gelu", norm_first=true, causal=true, key_padding_mask=true, layer_norm_eps=1e-3)(a, b)',
    "TransformerEncoder(2, 16, 0.0, use_bias=false)",
]


def _transformer_inputs(model: Model, masks: int) -> dict[str, np.ndarray]:
    inputs = random_inputs(model)
    for spec in model.network.inputs[len(model.network.inputs) - masks :]:
        inputs[spec.name] = padding_mask(2, inputs[spec.name].shape[1])
    return inputs


@pytest.mark.parametrize("layer", ENCODER_CASES)
def test_transformer_encoder_matches_torch(layer: str) -> None:
    torch = pytest.importorskip("torch")
    masked = "key_padding_mask" in layer
    model = model_for(layer, (6, 8), *([(6,)] if masked else []))
    cfg = model.shaped.layers[-1].node.config
    inputs = _transformer_inputs(model, int(masked))
    ours, upstream = ours_pass(model, inputs, training=True)
    check_shape(model, ours.outputs[0])
    module = torch.nn.TransformerEncoderLayer(
        8,
        cfg.num_heads,
        cfg.ff_dim,
        0.0,
        cfg.activation,
        cfg.layer_norm_eps,
        batch_first=True,
        norm_first=cfg.norm_first,
        bias=cfg.use_bias,
    )
    names = transformer_names(model, decoder=False)
    load_mapped(module, model, names)
    arrays = [inputs[spec.name] for spec in model.network.inputs]
    kpm = bool_tensor(arrays[1] == 0) if masked else None
    src_mask = bool_tensor(causal_bool(6, 6)) if cfg.causal else None
    theirs = torch_pass(
        module,
        arrays[:1],
        upstream,
        forward=lambda x: module(x, src_mask=src_mask, src_key_padding_mask=kpm, is_causal=cfg.causal),
    )
    compare_mapped(ours, theirs, names, {model.network.inputs[0].name: "0"})


DECODER_CASES = [
    ("TransformerDecoder(2, 16, 0.0)(a, b)", 0),
    ('TransformerDecoder(2, 16, 0.0, "gelu", norm_first=true)(a, b)', 0),
    ("TransformerDecoder(4, 12, 0.0, causal=false, key_padding_mask=true)(a, b, c)", 1),
    ("TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)", 1),
    (
        "TransformerDecoder(2, 16, 0.0, norm_first=true, key_padding_mask=true, memory_key_padding_mask=true)(a, b, c, d)",
        2,
    ),
    ("TransformerDecoder(2, 16, 0.0, use_bias=false)(a, b)", 0),
]


def _decoder_shapes(masks: str) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = [(5, 8), (7, 8)]
    if "key_padding_mask=true" in masks.replace("memory_key_padding_mask=true", ""):
        shapes.append((5,))
    if "memory_key_padding_mask=true" in masks:
        shapes.append((7,))
    return shapes


@pytest.mark.parametrize(("layer", "masks"), DECODER_CASES, ids=[c[0] for c in DECODER_CASES])
def test_transformer_decoder_matches_torch(layer: str, masks: int) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, *_decoder_shapes(layer))
    cfg = model.shaped.layers[-1].node.config
    inputs = _transformer_inputs(model, masks)
    ours, upstream = ours_pass(model, inputs, training=True)
    check_shape(model, ours.outputs[0])
    module = torch.nn.TransformerDecoderLayer(
        8,
        cfg.num_heads,
        cfg.ff_dim,
        0.0,
        cfg.activation,
        cfg.layer_norm_eps,
        batch_first=True,
        norm_first=cfg.norm_first,
        bias=cfg.use_bias,
    )
    names = transformer_names(model, decoder=True)
    load_mapped(module, model, names)
    arrays = [inputs[spec.name] for spec in model.network.inputs]
    extra = arrays[2:]
    tgt_kpm = bool_tensor(extra.pop(0) == 0) if cfg.key_padding_mask else None
    mem_kpm = bool_tensor(extra.pop(0) == 0) if cfg.memory_key_padding_mask else None
    tgt_mask = bool_tensor(causal_bool(5, 5)) if cfg.causal else None

    def forward(tgt: Any, memory: Any) -> Any:
        return module(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            tgt_key_padding_mask=tgt_kpm,
            memory_key_padding_mask=mem_kpm,
            tgt_is_causal=cfg.causal,
        )

    theirs = torch_pass(module, arrays[:2], upstream, forward=forward)
    compare_mapped(ours, theirs, names, {"a": "0", "b": "1"})


@pytest.mark.parametrize(
    ("layer", "shapes", "training"),
    [
        ("TransformerEncoder(2, 6, 0.0)", [(4, 4)], False),
        (
            'TransformerEncoder(2, 6, 0.2, "gelu", norm_first=true, causal=true, key_padding_mask=true)(a, b)',
            [(4, 4), (4,)],
            True,
        ),
        (
            "TransformerDecoder(2, 6, 0.0, key_padding_mask=true, memory_key_padding_mask=true)(a, b, c, d)",
            [(3, 4), (4, 4), (3,), (4,)],
            False,
        ),
        ('TransformerDecoder(2, 6, 0.2, "gelu", norm_first=true)(a, b)', [(3, 4), (4, 4)], True),
    ],
)
def test_transformer_gradients(layer: str, shapes: list[tuple[int, ...]], training: bool) -> None:
    model = model_for(layer, *shapes, dtype=np.float64)
    masks = sum(1 for s in shapes if len(s) == 1)
    inputs = {k: v.astype(np.float64) for k, v in _transformer_inputs(model, masks).items()}
    checked_gradients(model, inputs, training=training, rtol=1e-5, limit=20)


def test_transformer_dropout_is_active_in_training_only() -> None:
    model = model_for("TransformerEncoder(2, 16)", (6, 8))
    inputs = random_inputs(model)
    np.testing.assert_array_equal(output(model, inputs), output(model, inputs))
    assert not np.allclose(output(model, inputs), output(model, inputs, training=True))
    upstream = [np.ones((2, 6, 8), np.float32)]
    trained = run_pass(model, inputs, upstream, training=True, seed=5)
    assert all(np.isfinite(g).all() for g in trained.param_grads.values())
