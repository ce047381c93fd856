"""PyTorch emitters of the recurrent layers: torch's modules where torch has them, the generated loop where it
does not, Keras' options reaching the helpers, and input dropout masks in training. Their numbers (outputs and
one training step, gradients through time included) are the conformance suite's (tests/conformance).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_helpers import snippet_network

from neural.api import analyse, loads
from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.load import import_network

ROOT = Path(__file__).resolve().parents[3]


def _module_lines(layers: str, *shapes: tuple[int | None, ...]) -> str:
    code = generate(snippet_network(layers, *shapes))
    return code[code.index("class T(") : code.index("def build_model")]


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ("LSTM(6)", "nn.LSTM(4, 6, batch_first=True)"),
        ('SimpleRNN(6, "relu", use_bias=false)', "nn.RNN(4, 6, batch_first=True, nonlinearity='relu', bias=False)"),
        ("GRU(6)", "nn.GRU(4, 6, batch_first=True)"),
        ("Bidirectional(LSTM(6))", "nn.LSTM(4, 6, batch_first=True, bidirectional=True)"),
        ('LSTM(6, "relu")', "RecurrentLoop('LSTM', 4, 6, activation=nn.ReLU(), recurrent_activation=torch.sigmoid)"),
        (
            'Bidirectional(GRU(6, recurrent_activation="hard_sigmoid"))',
            "RecurrentLoop('GRU', 4, 6, bidirectional=True, activation=torch.tanh, recurrent_activation=nn.Hardsigmoid())",
        ),
    ],
)
def test_torch_modules_where_torch_has_them(layers: str, expected: str) -> None:
    assert f"= {expected}" in _module_lines(layers, (5, 4))


def test_keras_options_reach_the_helper() -> None:
    lines = _module_lines("LSTM(6, return_sequences=true, go_backwards=true, dropout=0.25)", (5, 4))
    assert "keras_rnn(self.lstm_1, input, return_sequences=True, go_backwards=True, dropout=0.25)" in lines
    lines = _module_lines('Bidirectional(GRU(6), "ave")', (5, 4))
    assert "keras_bidirectional(self.bidirectional_1, input, merge_mode='ave')" in lines


def _inputs_seen(module: torch.nn.Module, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    seen: list[torch.Tensor] = []
    handle = module.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model(x)
    handle.remove()
    return seen[0]


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        ("LSTM(3, dropout=0.5)", (6, 4)),
        ('GRU(3, "relu", dropout=0.5)', (6, 4)),
        ("ConvLSTM2D(2, 3, dropout=0.5)", (6, 5, 5, 2)),
    ],
)
def test_input_dropout_draws_one_mask_per_sample_and_feature(layer: str, shape: tuple[int, ...]) -> None:
    """As the NumPy kernel (and Keras): the mask is shared by every time step; none outside training."""
    torch.manual_seed(0)
    model = import_network(snippet_network(layer, shape, loss=None)).build_model()
    rnn = next(iter(model.children()))
    x = torch.ones(8, *shape)
    masked = _inputs_seen(rnn, model.train(), x)
    assert set(masked.unique().tolist()) == {0.0, 2.0}  # inverted dropout, rate 0.5
    assert torch.equal(masked, masked[:, :1].expand_as(masked))  # the same mask at every step
    assert not torch.equal(masked[0], masked[1])  # a mask per sample
    assert torch.equal(_inputs_seen(rnn, model.eval(), x), x if x.dim() == 3 else x.movedim(-1, 2))


def test_bidirectional_dropout_draws_a_mask_per_direction() -> None:
    torch.manual_seed(0)
    model = import_network(snippet_network("Bidirectional(LSTM(3, dropout=0.5))", (6, 4), loss=None)).build_model()
    x = torch.ones(8, 6, 4)
    masked = _inputs_seen(model.bidirectional_1, model.train(), x)
    assert masked.shape == (16, 6, 4)  # the batch twice: the forward direction reads the first copy
    forward, backward = masked[:8], masked[8:]
    assert torch.equal(forward, forward[:, :1].expand_as(forward))
    assert torch.equal(backward, backward[:, :1].expand_as(backward))
    assert not torch.equal(forward, backward)
    assert _inputs_seen(model.bidirectional_1, model.eval(), x).shape == (8, 6, 4)


def test_loop_class_matches_torch_modules_for_their_activations() -> None:
    """RecurrentLoop with tanh/sigmoid computes what nn.LSTM/GRU/RNN compute (bidirectional too)."""
    namespace = vars(import_network(snippet_network('Bidirectional(LSTM(3, "relu"))', (6, 4), loss=None)))
    loop_class = namespace["RecurrentLoop"]
    torch.manual_seed(0)
    x = torch.randn(2, 6, 4)
    for mode, module in (("LSTM", torch.nn.LSTM), ("GRU", torch.nn.GRU), ("RNN", torch.nn.RNN)):
        reference = module(4, 3, batch_first=True, bidirectional=True)
        loop = loop_class(mode, 4, 3, bidirectional=True)
        loop.load_state_dict(reference.state_dict())
        expected, got = reference(x), loop(x)
        torch.testing.assert_close(got[0], expected[0])
        torch.testing.assert_close(got[1], expected[1])


def test_sentiment_example_stacked_lstms() -> None:
    """examples/compat/sentiment.neural at full size: Embedding + two LSTMs through nn.LSTM."""
    text = (ROOT / "examples" / "compat" / "sentiment.neural").read_text(encoding="utf-8")
    code = generate(analyse(loads(text).network()))
    assert "nn.LSTM(300, 128, batch_first=True)" in code and "nn.LSTM(128, 64, batch_first=True)" in code
    assert "keras_rnn(self.lstm_1, x, return_sequences=True)" in code
