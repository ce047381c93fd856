"""PyTorch emitters of attention layers: exact against the NumPy runtime (outputs and one training step).

Layers with dropout are compared in evaluation mode (compare() steps such networks with training off);
their training-mode behaviour is checked separately (dropout active, masks respected).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_helpers import check_generated, check_layer, snippet_network

from neural.api import analyse, loads
from neural.compare import NumpyReference, random_targets
from neural.targets.pytorch.adapter import Adapter
from neural.targets.pytorch.codegen import format_code, generate
from neural.targets.pytorch.load import import_network

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"

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
    ("Attention()(a, b)\nDense(3)", [(6, 4), (5, 4)]),
    ("Attention()(a, b, c)\nDense(3)", [(6, 4), (5, 3), (5, 4)]),
    ("Attention(causal=true)(a, b)\nDense(3)", [(6, 4), (5, 4)]),
    ("Attention(dropout=0.3)(a, b)\nDense(3)", [(6, 4), (5, 4)]),
    ("Attention(true)(a, b, c)", [(6, 4), (5, 3), (5, 4)]),
    ("Attention(true, causal=true, dropout=0.3)(a, b)", [(6, 4), (5, 4)]),
    ('Attention(score_mode="concat")(a, b)', [(6, 4), (5, 4)]),
    ('Attention(true, "concat", causal=true)(a, b, c)', [(6, 4), (5, 3), (5, 4)]),
    ('Attention(true, "concat", dropout=0.3)(a, b)', [(6, 4), (5, 4)]),
]

POSITIONAL_CASES = [
    ("PositionalEncoding()\nDense(3)", [(6, 8)]),
    ("PositionalEncoding(max_len=10)\nDense(3)", [(6, 8)]),
    ("PositionalEncoding()\nDense(3)", [(None, None, 8)]),  # table made per call
    ("PositionalEncoding(max_len=10)\nDense(3)", [(None, None, 8)]),
    ("PositionalEncoding(dropout=0.2)\nDense(3)", [(6, 8)]),
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


@pytest.mark.parametrize(("layers", "shapes"), CASES, ids=[c[0].replace("\n", " | ") for c in CASES])
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]]) -> None:
    check_layer(layers, *shapes)


# --- masks: fully padded rows, as the NumPy kernel (zero attention weights, finite gradients) --------------


MASKED = [
    "MultiHeadAttention(2, key_padding_mask=true)(a, b, c)",
    "MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c)",
    "TransformerEncoder(2, 16, 0.0, key_padding_mask=true)(a, c)",
    "TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(a, b, c)",
]


@pytest.mark.parametrize("layers", MASKED)
def test_fully_padded_rows_match_numpy(layers: str) -> None:
    """Batch item 0 is all padding; item 1 pads its first key, so a causal query 0 sees no key either."""
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
    model = module.build_model().eval()
    query, value = torch.randn(1, 4, 8), torch.randn(1, 5, 8)
    mask = torch.tensor([[1.0, 1.0, 0.0, 1.0, 0.0]])
    before = model(query, value, mask)
    changed = value.clone()
    changed[0, 2] += 10.0
    assert torch.allclose(model(query, changed, mask), before)
    changed[0, 1] += 10.0
    assert not torch.allclose(model(query, changed, mask), before)


# --- dropout in training mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "shapes"),
    [
        ("MultiHeadAttention(2, dropout=0.5)", [(6, 8)]),
        ("Attention(dropout=0.5)(a, b)", [(6, 8), (6, 8)]),
        ('Attention(true, "concat", dropout=0.5)(a, b)', [(6, 8), (6, 8)]),
        ("PositionalEncoding(dropout=0.5)", [(6, 8)]),
        ('PositionalEncoding("learned", dropout=0.5)', [(6, 8)]),
        ("FeedForward(16, dropout=0.5)", [(6, 8)]),
        ("TransformerEncoder(2, 16, 0.5)", [(6, 8)]),
        ("TransformerDecoder(2, 16, 0.5)(a, b)", [(6, 8), (6, 8)]),
    ],
)
def test_dropout_only_in_training(layers: str, shapes: list[tuple[int, ...]]) -> None:
    module = import_network(snippet_network(layers, *shapes, loss=None))
    model = module.build_model()
    inputs = [torch.randn(2, *s) for s in shapes]
    model.eval()
    with torch.no_grad():
        first, second = model(*inputs), model(*inputs)
    assert torch.equal(first, second)
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        noisy = model(*inputs)
    assert noisy.shape == first.shape
    assert not torch.allclose(noisy, first)


# --- generated code -------------------------------------------------------------------------------------


def test_generated_code_reads_well() -> None:
    code = generate(
        snippet_network("MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, c)", (6, 8), (5, 4), (5,))
    )
    assert "self.multi_head_attention_1 = MultiHeadAttention(8, 2, kdim=4, vdim=4, causal=True)" in code
    assert "self.multi_head_attention_1(a, b, key_padding_mask=c)" in code
    assert "F.scaled_dot_product_attention" in code
    code = generate(snippet_network("Attention(causal=true)(a, b)\nDense(2)", (6, 8), (5, 8)))
    assert "F.scaled_dot_product_attention(a, b, b, is_causal=True, scale=1.0)" in code
    code = generate(snippet_network("TransformerEncoder(4, 32, norm_first=true)", (6, 8)))
    assert "EncoderLayer(8, 4, 32, norm_first=True)" in code


def test_sinusoidal_table_is_not_state() -> None:
    module = import_network(snippet_network("PositionalEncoding(max_len=20)\nDense(2)", (6, 8)))
    model = module.build_model()
    assert [name for name, _ in model.named_buffers()] == ["positional_encoding_1.table"]
    assert sorted(model.state_dict()) == ["dense_1.bias", "dense_1.weight"]


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


def test_generated_module_passes_ruff(tmp_path: Path) -> None:
    pytest.importorskip("ruff")
    shaped = snippet_network(ALL_KINDS, (6, 8), (5, 8), (5,), (6,), loss=None)
    path = tmp_path / "model.py"
    path.write_text(format_code(generate(shaped)))
    for command in (["check", "--isolated"], ["format", "--isolated", "--line-length", "120", "--check"]):
        result = subprocess.run([sys.executable, "-m", "ruff", *command, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_all_kinds_together_match_numpy() -> None:
    shaped = snippet_network(ALL_KINDS, (6, 8), (5, 8), (5,), (6,))
    check_generated(shaped)


# --- whole examples -------------------------------------------------------------------------------------


def load_example(name: str, **replacements: str) -> object:
    text = (EXAMPLES / name).read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return analyse(loads(text).network())


def test_transformer_encoder_example() -> None:
    shaped = load_example("transformer_encoder.neural")
    check_generated(shaped)  # type: ignore[arg-type]


def count_and_shape(shaped: object) -> None:
    """Parameters, buffers and the output shape of a large model, batch 1 (no numbers: too slow for NumPy)."""
    module = import_network(shaped)  # type: ignore[arg-type]
    model = module.build_model().eval()
    assert sum(p.numel() for p in model.parameters()) == shaped.params  # type: ignore[attr-defined]
    inputs = [torch.zeros((1, *spec.shape), dtype=torch.long) for spec in shaped.network.inputs]  # type: ignore[attr-defined]
    with torch.no_grad():
        out = model(*inputs)
    assert tuple(out.shape[1:]) == tuple(shaped.output_shapes[0])  # type: ignore[attr-defined]


def test_transformer_seq2seq_example() -> None:
    count_and_shape(load_example("transformer_seq2seq.neural"))


def test_bert_base_example() -> None:
    shaped = load_example("bert_base.neural")
    assert shaped.params == 109_482_240  # type: ignore[attr-defined]  # Hugging Face BertModel(BertConfig())
    count_and_shape(shaped)


# Scaled-down copies step with SGD: under Adam, a key projection's bias (true gradient exactly zero) moves
# by up to the learning rate in a direction set by float32 rounding noise, differently in every backend.
SGD = "optimizer: SGD(learning_rate=0.1)"


def test_transformer_seq2seq_scaled_down_matches_numpy() -> None:
    shaped = load_example(
        "transformer_seq2seq.neural",
        **{
            "(32,)": "(7,)",
            "Embedding(8000, 512)": "Embedding(50, 16)",
            "(8, 2048)": "(2, 32)",
            "Dense(8000)": "Dense(50)",
            "optimizer: Adam(learning_rate=CosineDecay(5e-4, decay_steps=20000, warmup_steps=1000))": SGD,
        },
    )
    check_generated(shaped)  # type: ignore[arg-type]


def test_bert_base_scaled_down_matches_numpy() -> None:
    shaped = load_example(
        "bert_base.neural",
        **{
            "(128,)": "(9,)",
            "Embedding(30522, 768)": "Embedding(40, 16)",
            "Embedding(2, 768)": "Embedding(2, 16)",
            "TransformerEncoder(12, 3072,": "TransformerEncoder(4, 32,",
            "* 12": "* 2",
            "Cropping1D((0, 127))": "Cropping1D((0, 8))",
            'Dense(768, "tanh")': f'Dense(16, "tanh")\n  loss: "mse"\n  {SGD}',
        },
    )
    check_generated(shaped)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["FeedForward", "MultiHeadAttention", "EncoderLayer", "SqueezeExcitation"])
def test_network_named_like_a_helper_class(name: str) -> None:
    """The model class gets another name rather than shadowing the helper its layers use."""
    text = f"network {name} {{\n  input: (6, 8)\n  layers:\n    TransformerEncoder(2, 16)\n    FeedForward(8)\n"
    text += "    SqueezeExcitation(2)\n}\n"
    module = import_network(analyse(loads(text).network()))
    model = module.build_model()
    assert type(model).__name__ == f"{name}Network"
    assert model(torch.randn(2, 6, 8)).shape == (2, 6, 8)
