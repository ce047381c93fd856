"""JAX emitters of the attention and structure families: exact against the NumPy runtime (outputs and one
training step), many cases per compiled network; masks, dropout in training, generated code."""

from __future__ import annotations

import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax_helpers import Group, check_generated, check_group, groups, snippet_network

from neural.compare import NumpyReference, random_targets
from neural.targets.jax.adapter import Adapter
from neural.targets.jax.codegen import format_code, generate
from neural.targets.jax.load import import_network

MHA_CASES = [
    ("MultiHeadAttention(2)", [(6, 8)]),  # self-attention
    ("MultiHeadAttention(2, causal=true)", [(6, 8)]),
    ("MultiHeadAttention(4, embed_dim=8)", [(None, None, 8)]),
    ("MultiHeadAttention(2)(a, b)", [(6, 8), (5, 4)]),  # cross-attention, key = value
    ("MultiHeadAttention(2)(a, b, c)", [(6, 8), (5, 4), (5, 3)]),  # query, value, key (Keras order)
    ("MultiHeadAttention(2, causal=true)(a, b)", [(6, 8), (4, 8)]),  # causal with Tq > Tk
    ("MultiHeadAttention(2, causal=true)(a, b)", [(3, 8), (5, 8)]),  # causal with Tq < Tk
    ("MultiHeadAttention(2, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),  # self-attention + mask
    ("MultiHeadAttention(2, key_padding_mask=true)(a, b, c)", [(6, 8), (5, 4), (5,)]),
    ("MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c, d)", [(6, 8), (5, 4), (5, 3), (5,)]),
    ("MultiHeadAttention(3, 4, 5, output_dim=7, use_bias=false)", [(6, 8)]),  # 8 features, 3 heads
    ("MultiHeadAttention(2, key_dim=3)", [(6, 8)]),
    ("MultiHeadAttention(2, value_dim=6)(a, b)", [(6, 8), (5, 4)]),
    ("MultiHeadAttention(2, dropout=0.2)", [(6, 8)]),
    ("MultiHeadAttention(2, dropout=0.2, causal=true, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),
]

DOT_ATTENTION_CASES = [
    ("Attention()(a, b)", [(6, 4), (5, 4)]),
    ("Attention()(a, b, c)", [(6, 4), (5, 3), (5, 4)]),
    ("Attention(causal=true)(a, b)", [(6, 4), (5, 4)]),
    ("Attention(dropout=0.3)(a, b)", [(6, 4), (5, 4)]),
    ("Attention(true)(a, b, c)", [(6, 4), (5, 3), (5, 4)]),
    ("Attention(true, causal=true, dropout=0.3)(a, b)", [(6, 4), (5, 4)]),
    ('Attention(score_mode="concat")(a, b)', [(6, 4), (5, 4)]),
    ('Attention(true, "concat", causal=true)(a, b, c)', [(6, 4), (5, 3), (5, 4)]),
    ('Attention(true, "concat", dropout=0.3)(a, b)', [(6, 4), (5, 4)]),
]

POSITIONAL_CASES = [
    ("PositionalEncoding()", [(6, 8)]),
    ("PositionalEncoding(max_len=10)", [(6, 8)]),
    ("PositionalEncoding()", [(None, None, 8)]),  # table made per call
    ("PositionalEncoding(max_len=10)", [(None, None, 8)]),
    ("PositionalEncoding(dropout=0.2)", [(6, 8)]),
    ('PositionalEncoding("learned")', [(6, 8)]),
    ('PositionalEncoding("learned", max_len=10, dropout=0.1)', [(6, 8)]),
    ('PositionalEncoding("learned", max_len=10)', [(None, None, 8)]),
]

FEED_FORWARD_CASES = [
    ("FeedForward(16)", [(6, 8)]),
    ('FeedForward(16, "gelu", dropout=0.1)', [(6, 8)]),
    ('FeedForward(16, "prelu", use_bias=false, output_dim=5)', [(8,)]),
    ('FeedForward(4, "softmax")', [(2, 3, 8)]),
    ('FeedForward(4, "exponential")', [(3, 8)]),
    ("FeedForward(4, activation=none)", [(3, 8)]),
]

ENCODER_CASES = [
    ("TransformerEncoder(2, 16)", [(6, 8)]),  # default dropout 0.1
    ("TransformerEncoder(2, 16, 0.0)", [(6, 8)]),
    ('TransformerEncoder(2, 16, 0.0, "gelu", norm_first=true)', [(6, 8)]),
    ('TransformerEncoder(2, 16, 0.0, "gelu")', [(None, None, 8)]),
    ("TransformerEncoder(2, 16, 0.0, causal=true)", [(6, 8)]),
    ("TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),
    ("TransformerEncoder(2, 16, 0.0, norm_first=true, causal=true, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),
    ("TransformerEncoder(4, 16, 0.0, use_bias=false, layer_norm_eps=1e-6)", [(6, 8)]),
    ("TransformerEncoder(2, 16, 0.2, norm_first=true, key_padding_mask=true)(a, b)", [(6, 8), (6,)]),
]

DECODER_CASES = [
    ("TransformerDecoder(2, 16, 0.0)(a, b)", [(6, 8), (5, 8)]),  # decoder with memory, causal by default
    ("TransformerDecoder(2, 16)(a, b)", [(6, 8), (5, 8)]),
    ('TransformerDecoder(2, 16, 0.0, "gelu", norm_first=true)(a, b)', [(6, 8), (5, 8)]),
    ("TransformerDecoder(2, 16, 0.0, causal=false)(a, b)", [(6, 8), (5, 8)]),
    ("TransformerDecoder(2, 16, 0.0, key_padding_mask=true)(a, b, c)", [(6, 8), (5, 8), (6,)]),
    ("TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)", [(6, 8), (5, 8), (5,)]),
    (
        "TransformerDecoder(2, 16, 0.0, norm_first=true, key_padding_mask=true, memory_key_padding_mask=true)(a, b, c, d)",
        [(6, 8), (5, 8), (6,), (5,)],
    ),
    ("TransformerDecoder(4, 16, 0.0, use_bias=false, layer_norm_eps=1e-6)(a, b)", [(6, 8), (None, None, 8)]),
]

CASES = MHA_CASES + DOT_ATTENTION_CASES + POSITIONAL_CASES + FEED_FORWARD_CASES + ENCODER_CASES + DECODER_CASES
TIME_DISTRIBUTED_CASES = [
    ("TimeDistributed(Dense(3))", [(4, 5)], "channels_last"),
    ('TimeDistributed(Dense(3, "prelu"))', [(4, 5)], "channels_last"),  # fused activation with a weight
    ('TimeDistributed(Dense(3, "softmax"))', [(4, 2, 5)], "channels_last"),
    ("TimeDistributed(Dense(3))", [(None, None, 5)], "channels_last"),  # unknown number of steps
    ("TimeDistributed(Conv2D(4, 3))", [(3, 6, 6, 2)], "channels_last"),  # inner layer needs channels first
    ('TimeDistributed(Conv2D(4, 3, strides=2, padding="same"))', [(3, 7, 7, 2)], "channels_last"),
    ("TimeDistributed(Conv2D(4, 3))", [(3, 2, 6, 6)], "channels_first"),
    ("TimeDistributed(Conv1D(4, 3))\nTimeDistributed(Flatten())\nDense(2)", [(3, 6, 2)], "channels_last"),
    ("TimeDistributed(MaxPooling2D(2))\nTimeDistributed(Flatten())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
    ("TimeDistributed(BatchNormalization())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),  # running stats as state
    ("TimeDistributed(LayerNormalization())", [(4, 5)], "channels_last"),
    ("TimeDistributed(Flatten())\nDense(2)", [(3, 2, 4)], "channels_last"),
    ("TimeDistributed(Dropout(0.5))\nDense(2)", [(3, 4)], "channels_last"),
    ("TimeDistributed(TimeDistributed(Dense(3)))", [(2, 3, 4)], "channels_last"),
    ('TimeDistributed(FeedForward(8, "gelu"))', [(2, 3, 4)], "channels_last"),
    ("TimeDistributed(SqueezeExcitation(2))", [(3, 4, 4, 6)], "channels_last"),
    ("TimeDistributed(LSTM(3))", [(2, 4, 5)], "channels_last"),
    ("TimeDistributed(GlobalAveragePooling2D())\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
]

SQUEEZE_EXCITATION_CASES = [
    ("SqueezeExcitation()", [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(3)", [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(3)", [(8, 5, 5)], "channels_first"),
    ("SqueezeExcitation(ratio=0.5)", [(6, 8)], "channels_last"),  # 1 spatial dim
    ("SqueezeExcitation(ratio=0.5)", [(8, 6)], "channels_first"),
    ("SqueezeExcitation(2)", [(3, 4, 4, 6)], "channels_last"),  # 3 spatial dims
    ("SqueezeExcitation(2)", [(6, 3, 4, 4)], "channels_first"),
    ('SqueezeExcitation(4, activation="silu", gate="hard_sigmoid")', [(5, 5, 8)], "channels_last"),
    ('SqueezeExcitation(4, activation="prelu")', [(5, 5, 8)], "channels_last"),
    ('SqueezeExcitation(4, activation="softmax")', [(5, 5, 8)], "channels_first"),
    ('SqueezeExcitation(4, activation="exponential", gate="hard_sigmoid")', [(5, 5, 8)], "channels_last"),
    ("SqueezeExcitation(4, activation=none)", [(5, 5, 8)], "channels_last"),
    ("Conv2D(8, 3)\nSqueezeExcitation(2)\nConv2D(4, 1)", [(6, 6, 3)], "channels_last"),  # stays channels first inside
]

SCASES = TIME_DISTRIBUTED_CASES + SQUEEZE_EXCITATION_CASES


def _structure_groups() -> list[Group]:
    by_layout: dict[str, list[tuple[str, list[tuple[int | None, ...]]]]] = {}
    for layers, shapes, layout in SCASES:
        by_layout.setdefault(layout, []).append((layers, shapes))
    single = {k: [(s, sh) for s, sh in v if "\n" not in s] for k, v in by_layout.items()}
    return [g for layout, found in single.items() for g in groups(found, layout)]


# multi-statement structure cases (TimeDistributed(Flatten()) and friends) run alone
CHAINS = [(layers, shapes, layout) for layers, shapes, layout in SCASES if "\n" in layers]
GROUPS = groups(CASES) + _structure_groups()


@pytest.mark.parametrize("group", GROUPS, ids=[g.id for g in GROUPS])
def test_emitters_match_numpy_runtime(group: Group) -> None:
    check_group(group)


@pytest.mark.parametrize(("layers", "shapes", "layout"), CHAINS, ids=[c[0].replace("\n", " | ") for c in CHAINS])
def test_structure_chains_match_numpy_runtime(layers: str, shapes: list[tuple[int, ...]], layout: str) -> None:
    check_generated(snippet_network(layers, *shapes, layout=layout))


# --- masks: fully padded rows, as the NumPy kernel (zero attention weights, finite gradients) --------------

MASKED = [
    "MultiHeadAttention(2, key_padding_mask=true)(a, b, c)",
    "MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c)",
    "TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, c)",
    "TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)",
]


def test_fully_padded_rows_match_numpy() -> None:
    """Batch item 0 is all padding; item 1 pads its first key, so a causal query 0 sees no key either."""
    names = [f"m{i}" for i in range(len(MASKED))]
    layers = "\n".join(f"{n} = {m}" for n, m in zip(names, MASKED)) + f"\nConcatenate()({', '.join(names)})"
    shaped = snippet_network(layers, (5, 8), (5, 8), (5,))
    rng = np.random.default_rng(1)
    inputs = {
        "a": rng.standard_normal((2, 5, 8)).astype(np.float32),
        "b": rng.standard_normal((2, 5, 8)).astype(np.float32),
        "c": np.array([[0, 0, 0, 0, 0], [0, 1, 1, 0, 1]], dtype=np.float32),
    }
    reference = NumpyReference(shaped, seed=0)
    weights = reference.initial_weights()
    expected = reference.forward(weights, inputs)[0]
    adapter = Adapter(shaped)
    got = adapter.forward(weights, inputs)[0]
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    targets = random_targets(shaped, expected, rng)
    stepped = adapter.train_step(weights, inputs, targets, True)
    expected_step = reference.train_step(weights, inputs, targets, True)
    for name, value in expected_step.items():
        assert np.isfinite(stepped[name]).all(), name
        np.testing.assert_allclose(stepped[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_padded_keys_get_no_attention() -> None:
    """Changing the value of a padded key changes nothing; changing a real one does."""
    module = import_network(
        snippet_network("MultiHeadAttention(2, key_padding_mask=true)(a, b, c)", (4, 8), (5, 8), (5,))
    )
    model = module.build_model()
    model.eval()
    rng = np.random.default_rng(0)
    query, value = jnp.asarray(rng.standard_normal((1, 4, 8))), np.asarray(rng.standard_normal((1, 5, 8)))
    mask = jnp.asarray([[1.0, 1.0, 0.0, 1.0, 0.0]])
    before = np.asarray(model(query, jnp.asarray(value), mask))
    value[0, 2] += 10.0
    np.testing.assert_allclose(np.asarray(model(query, jnp.asarray(value), mask)), before, rtol=1e-6)
    value[0, 1] += 10.0
    assert not np.allclose(np.asarray(model(query, jnp.asarray(value), mask)), before)


# --- dropout in training mode -----------------------------------------------------------------------------

# one branch per generated module that draws a mask (compiling random draws is slow on a CPU: few branches)
DROPOUT = """
m = MultiHeadAttention(2, dropout=0.5)(a)
c = Attention(true, "concat", dropout=0.5)(a, b)
p = PositionalEncoding(dropout=0.5)(a)
l = PositionalEncoding("learned", dropout=0.5)(a)
"""
DROPOUT_NAMES = ["m", "c", "p", "l"]


def test_dropout_only_in_training() -> None:
    shaped = snippet_network(DROPOUT + f"Concatenate()({', '.join(DROPOUT_NAMES)})", (6, 8), (6, 8), loss=None)
    adapter = Adapter(shaped)
    model = adapter.model(NumpyReference(shaped, seed=0).initial_weights())
    run = nnx.jit(lambda model, a, b: model(a, b))
    rng = np.random.default_rng(0)
    inputs = [jnp.asarray(rng.standard_normal((2, 6, 8)), dtype=jnp.float32) for _ in range(2)]
    model.eval()
    first, second = np.asarray(run(model, *inputs)), np.asarray(run(model, *inputs))
    assert np.array_equal(first, second)
    model.train()
    noisy = np.asarray(run(model, *inputs))
    assert noisy.shape == first.shape
    assert not np.array_equal(noisy, np.asarray(run(model, *inputs)))  # the streams advance: a fresh mask every call
    for i, name in enumerate(DROPOUT_NAMES):  # every branch is random in training
        assert not np.allclose(noisy[..., 8 * i : 8 * i + 8], first[..., 8 * i : 8 * i + 8]), name


# --- generated code -------------------------------------------------------------------------------------


def test_generated_code_reads_well() -> None:
    code = format_code(
        generate(
            snippet_network("MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c)", (6, 8), (5, 4), (5,))
        )
    )
    assert "self.multi_head_attention_1 = MultiHeadAttention(8, 2, kdim=4, vdim=4, causal=True, rngs=rngs)" in code
    assert "self.multi_head_attention_1(a, b, key_padding_mask=c)" in code
    code = format_code(generate(snippet_network("TransformerEncoder(4, 32, norm_first=true)", (6, 8))))
    assert "EncoderLayer(8, 4, 32, norm_first=True, rngs=rngs)" in code
    code = format_code(generate(snippet_network("TimeDistributed(Conv2D(4, 3))", (3, 6, 6, 2))))
    assert 'self.time_distributed_1 = nnx.Conv(2, 4, (3, 3), padding="VALID", rngs=rngs)' in code
    assert "time_distributed(lambda step: self.time_distributed_1(step), input)" in code


ALL_KINDS = """
    x1 = MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, b, c)
    x2 = MultiHeadAttention(2, 3, 5, dropout=0.1, output_dim=7)(a)
    x3 = Attention(true, "concat", causal=true)(a, a)
    x4 = Attention(dropout=0.1)(a, a)
    p = PositionalEncoding()(a)
    q = PositionalEncoding("learned", max_len=10)(a)
    f = FeedForward(16, "prelu", dropout=0.1)(a)
    e = TransformerEncoder(2, 16, norm_first=true, activation="gelu", key_padding_mask=true)(a, d)
    dec = TransformerDecoder(2, 16, memory_key_padding_mask=true)(e, b, c)
    t = TimeDistributed(Dense(3, "relu"))(a)
    Concatenate()(x1, x2, x3, x4, p, q, f, e, dec, t)
    SqueezeExcitation(4)
"""


def test_generated_module_passes_ruff(tmp_path: object) -> None:
    from pathlib import Path

    shaped = snippet_network(ALL_KINDS, (6, 8), (5, 8), (5,), (6,), loss=None)
    path = Path(str(tmp_path)) / "model.py"
    path.write_text(format_code(generate(shaped)))
    for command in (["check", "--isolated"], ["format", "--isolated", "--line-length", "120", "--check"]):
        result = subprocess.run([sys.executable, "-m", "ruff", *command, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "name", ["FeedForward", "MultiHeadAttention", "EncoderLayer", "SqueezeExcitation", "BatchNorm"]
)
def test_network_named_like_a_helper_class(name: str) -> None:
    """The model class gets another name rather than shadowing the helper its layers use."""
    from neural.api import analyse, loads

    text = f"network {name} {{\n  input: (6, 8)\n  layers:\n    TransformerEncoder(2, 16)\n    FeedForward(8)\n"
    text += "    SqueezeExcitation(2)\n    BatchNormalization()\n}\n"
    module = import_network(analyse(loads(text).network()))
    model = nnx.eval_shape(module.build_model)
    assert type(model).__name__ == f"{name}Network"
