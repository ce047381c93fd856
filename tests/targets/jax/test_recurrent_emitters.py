"""JAX emitters of the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, ConvLSTM2D): PyTorch's two
biases and gate order, Keras' options; exact against the NumPy runtime."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from jax_helpers import Group, check_group, check_layer, groups, snippet_network

from neural.targets.jax.codegen import format_code, generate
from neural.targets.jax.load import import_network
from neural.targets.jax.weights import weight_table

SEQUENCES = [
    ("SimpleRNN(4)", [(5, 3)]),
    ('SimpleRNN(4, "relu", return_sequences=true)', [(5, 3)]),
    ("LSTM(4)", [(5, 3)]),
    ("LSTM(4, return_sequences=true, go_backwards=true)", [(5, 3)]),
    ("LSTM(4, use_bias=false)", [(5, 3)]),
    ('LSTM(4, "relu", "hard_sigmoid")', [(5, 3)]),
    ("GRU(4)", [(5, 3)]),
    ('GRU(4, "softsign", return_sequences=true)', [(5, 3)]),
    ("GRU(4, go_backwards=true, use_bias=false)", [(5, 3)]),
    ("Bidirectional(LSTM(4))", [(5, 3)]),
    ("Bidirectional(GRU(4, return_sequences=true))", [(5, 3)]),
    ('Bidirectional(SimpleRNN(4, go_backwards=true), "sum")', [(5, 3)]),
    ('Bidirectional(LSTM(4, return_sequences=true), "ave")', [(5, 3)]),
    ('Bidirectional(GRU(4), "mul")', [(5, 3)]),
    ("GRU(4)", [(None, None, 3)]),
    ("LSTM(4, return_sequences=true)", [(None, None, 3)]),
    ("Bidirectional(LSTM(4, return_sequences=true))", [(None, None, 3)]),
    ("ConvLSTM2D(3, 3)", [(4, 6, 6, 2)]),
    ('ConvLSTM2D(3, 3, padding="same", return_sequences=true)', [(4, 6, 6, 2)]),
    ('ConvLSTM2D(3, (2, 3), strides=2, padding="same", go_backwards=true)', [(4, 6, 6, 2)]),
    ("ConvLSTM2D(3, 2, dilation_rate=2, use_bias=false)", [(4, 6, 6, 2)]),
    ('ConvLSTM2D(3, 3, "relu", recurrent_activation="hard_sigmoid")', [(4, 6, 6, 2)]),
]
# with input dropout: stepped in evaluation mode
RANDOM = [
    ("LSTM(4, dropout=0.3)", [(5, 3)]),
    ("Bidirectional(GRU(4, dropout=0.2))", [(5, 3)]),
    ("ConvLSTM2D(3, 3, dropout=0.2)", [(3, 6, 6, 2)]),
]
GROUPS = (
    groups(SEQUENCES)
    + groups(RANDOM)
    + groups([("ConvLSTM2D(3, 3, return_sequences=true)", [(4, 2, 6, 6)])], "channels_first")
)


@pytest.mark.parametrize("group", GROUPS, ids=[g.id for g in GROUPS])
def test_recurrent_emitters_match_numpy_runtime(group: Group) -> None:
    check_group(group)


STATES = """
out, h = GRU(4, return_state=true)(input)
o2, h2, c2 = LSTM(4, return_state=true)(input)
f, b = Bidirectional(LSTM(4), none)(input)
o3, hf, hb = Bidirectional(GRU(4, return_state=true))(input)
Concatenate()(out, h, o2, h2, c2, f, b, o3, hf, hb)
"""


def test_final_states_match_numpy_runtime() -> None:
    check_layer(STATES, (5, 3))


def test_conv_lstm_states_channels_first_match_numpy_runtime() -> None:
    layers = "o, h, c = ConvLSTM2D(3, 3, return_state=true)\nConcatenate()(o, h, c)\nFlatten()\nDense(2)"
    check_layer(layers, (3, 2, 6, 6), layout="channels_first")


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
