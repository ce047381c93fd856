"""PyTorch emitters of attention layers: the code they write, padded keys ignored, dropout only in training,
the sinusoid table not state, full-size examples built. Their numbers (outputs and one training step, fully
padded rows included) are the conformance suite's (tests/conformance).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_helpers import snippet_network

from neural.api import analyse, loads
from neural.shapes.engine import ShapedNetwork
from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.load import import_network

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


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


# --- whole examples -------------------------------------------------------------------------------------


def count_and_shape(shaped: ShapedNetwork) -> None:
    """Parameters and the output shape of a large model, batch 1 (no numbers: too slow for NumPy)."""
    model = import_network(shaped).build_model().eval()
    assert sum(p.numel() for p in model.parameters()) == shaped.params
    inputs = [
        torch.zeros((1, *spec.shape), dtype=torch.long if spec.dtype == "int64" else torch.float32)
        for spec in shaped.network.inputs
    ]
    with torch.no_grad():
        out = model(*inputs)
    assert tuple(out.shape[1:]) == tuple(shaped.output_shapes[0])


# parameter counts published for the same models, where known
PUBLISHED = {"bert_base.neural": 109_482_240}  # Hugging Face BertModel(BertConfig())


@pytest.mark.parametrize("name", ["transformer_encoder.neural", "transformer_seq2seq.neural", "bert_base.neural"])
def test_full_example_builds_with_exact_parameters_and_shape(name: str) -> None:
    shaped = analyse(loads((EXAMPLES / name).read_text()).network())
    if name in PUBLISHED:
        assert shaped.params == PUBLISHED[name]
    count_and_shape(shaped)


@pytest.mark.parametrize("name", ["FeedForward", "MultiHeadAttention", "EncoderLayer", "SqueezeExcitation"])
def test_network_named_like_a_helper_class(name: str) -> None:
    """The model class gets another name rather than shadowing the helper its layers use."""
    text = f"network {name} {{\n  input: (6, 8)\n  layers:\n    TransformerEncoder(2, 16)\n    FeedForward(8)\n"
    text += "    SqueezeExcitation(2)\n}\n"
    module = import_network(analyse(loads(text).network()))
    model = module.build_model()
    assert type(model).__name__ == f"{name}Network"
    assert model(torch.randn(2, 6, 8)).shape == (2, 6, 8)
