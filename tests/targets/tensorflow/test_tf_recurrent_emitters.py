"""TensorFlow emitters of recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, ConvLSTM2D): PyTorch's two
biases and gate order in the generated cells, one input dropout mask per sequence, the generated code.
(Every recurrent case of the catalog runs in tests/conformance.)"""

from __future__ import annotations

import numpy as np
import pytest
from tf_helpers import parameter_count, snippet_network

from neural.errors import BackendError
from neural.targets.tensorflow.codegen import generate
from neural.targets.tensorflow.load import import_network


def test_cells_have_pytorch_parameters_and_counts() -> None:
    """Keras' own LSTM has one bias per layer: the generated cell has torch's two, so the counts agree."""
    shaped = snippet_network("LSTM(8)", (5, 3))
    model = import_network(shaped).build_model()
    cell = model.get_layer("lstm_1").cell
    assert [v.path.split("/")[-1] for v in cell.weights] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert parameter_count(model.trainable_variables) == shaped.params == 4 * 8 * (3 + 8 + 2)


def test_input_dropout_uses_one_mask_per_sequence() -> None:
    module = import_network(
        snippet_network("SimpleRNN(3, activation=none, use_bias=false, dropout=0.5, return_sequences=true)", (6, 4))
    )
    model = module.build_model()
    cell = model.get_layer("simple_rnn_1").cell
    cell.weight_hh.assign(np.zeros((3, 3), np.float32))  # each output then reads only its own step's input
    cell.weight_ih.assign(np.eye(3, 4, dtype=np.float32))
    out = np.asarray(model(np.ones((2, 6, 4), np.float32), training=True))
    assert np.all(out == out[:, :1])  # the same features dropped at every step


def test_generated_recurrent_code_reads_as_keras() -> None:
    code = generate(snippet_network("Bidirectional(LSTM(4, return_sequences=true))", (5, 3)))
    assert "layers.Bidirectional(layers.RNN(TorchLSTMCell(4), return_sequences=True), backward_layer=" in code
    assert "'bidirectional_1.weight_ih_l0_reverse': ('bidirectional_1', 'backward_layer.cell.weight_ih'" in code


def test_conv_lstm_states_in_a_channels_first_network_are_a_positioned_error() -> None:
    with pytest.raises(BackendError, match="return_state") as info:
        generate(
            snippet_network(
                "o, h, c = ConvLSTM2D(3, 3, return_state=true)\nAdd()(o, h)", (3, 2, 6, 6), layout="channels_first"
            )
        )
    assert info.value.span is not None
