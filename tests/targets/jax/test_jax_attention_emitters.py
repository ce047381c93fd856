"""JAX emitters of the attention and structure families, what the conformance suite does not check: padded keys
get no attention, dropout acts only in training, the generated code, a network named like a helper class."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax_helpers import snippet_network

from neural.compare import NumpyReference
from neural.targets.jax.adapter import Adapter
from neural.targets.jax.codegen import format_code, generate
from neural.targets.jax.load import import_network

# --- masks --------------------------------------------------------------------------------------------


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
