"""JAX emitters of the recurrent layers, what the conformance suite does not check: the weights keep PyTorch's
names and two biases, go_backwards reads the sequence from its end, the generated code."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax_helpers import snippet_network

from neural.targets.jax.codegen import format_code, generate
from neural.targets.jax.load import import_network
from neural.targets.jax.weights import weight_table


def test_recurrent_weights_keep_pytorch_names_and_two_biases() -> None:
    table = weight_table(snippet_network("Bidirectional(LSTM(4))", (5, 3)))
    assert table["bidirectional_1.weight_ih_l0"] == (
        ("bidirectional_1", "forward_layer", "ih", "kernel"),
        "linear",
        (16, 3),
    )
    assert table["bidirectional_1.bias_hh_l0_reverse"] == (
        ("bidirectional_1", "backward_layer", "hh", "bias"),
        "same",
        (16,),
    )
    assert len(table) == 8


def test_go_backwards_reads_the_sequence_from_its_end() -> None:
    forward = import_network(snippet_network("LSTM(4, return_sequences=true)", (5, 3), loss=None)).build_model()
    backward = import_network(
        snippet_network("LSTM(4, return_sequences=true, go_backwards=true)", (5, 3), loss=None)
    ).build_model()
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 5, 3)), dtype=jnp.float32)
    np.testing.assert_allclose(np.asarray(backward(x)), np.asarray(forward(x[:, ::-1])), rtol=1e-6)


def test_generated_recurrent_code() -> None:
    code = format_code(generate(snippet_network('GRU(4, "relu", return_sequences=true, dropout=0.1)', (5, 3))))
    assert (
        'self.gru_1 = RNN("GRU", 3, 4, activation=jax.nn.relu, return_sequences=True, dropout=0.1, rngs=rngs)' in code
    )
    assert "lax.scan(step, state, inputs, reverse=reverse)" in code
