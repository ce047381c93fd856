"""PyTorch emitters of the recurrent layers: exact against the NumPy runtime.

`check_layer` compares outputs and one training step (gradients through time included). Layers with
several outputs feed a Concatenate, so that the step is compared too. A shape (None, None, F) is a
sequence of unknown length (the leading None is the batch axis in the language). With `dropout` the
step runs in evaluation mode (masks are random); the masks themselves are checked below.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch_helpers import check_generated, check_layer, snippet_network

from neural.api import analyse, loads
from neural.compare import compare
from neural.targets.pytorch.codegen import format_code, generate
from neural.targets.pytorch.load import import_network

ROOT = Path(__file__).resolve().parents[3]

CASES = [
    # SimpleRNN / LSTM / GRU through torch's modules
    ("SimpleRNN(6)", [(5, 4)], "channels_last"),
    ('SimpleRNN(6, "relu", return_sequences=true)', [(5, 4)], "channels_last"),
    ("SimpleRNN(6, go_backwards=true, use_bias=false)", [(5, 4)], "channels_last"),
    ("LSTM(6)", [(5, 4)], "channels_last"),
    ("LSTM(6, return_sequences=true)\nDense(2)", [(None, None, 4)], "channels_last"),
    ("LSTM(6, return_sequences=true, go_backwards=true)", [(5, 4)], "channels_last"),
    ("LSTM(6, go_backwards=true, use_bias=false)", [(5, 4)], "channels_last"),
    ("out, h, c = LSTM(6, return_state=true)\nConcatenate()(out, h, c)", [(5, 4)], "channels_last"),
    (
        "seq, h, c = LSTM(6, return_sequences=true, return_state=true)\nDense(3)(seq)\nflat = Flatten()\nConcatenate()(flat, h, c)",
        [(5, 4)],
        "channels_last",
    ),
    ("LSTM(6, dropout=0.3)", [(5, 4)], "channels_last"),
    ("GRU(6)", [(5, 4)], "channels_last"),
    ("GRU(6, return_sequences=true, go_backwards=true)", [(5, 4)], "channels_last"),
    ("out, h = GRU(6, return_state=true, use_bias=false)\nConcatenate()(out, h)", [(None, None, 4)], "channels_last"),
    ("GRU(6, dropout=0.2, return_sequences=true)", [(5, 4)], "channels_last"),
    # activations torch's modules do not offer: the generated RecurrentLoop
    ('SimpleRNN(6, "linear", return_sequences=true)', [(5, 4)], "channels_last"),
    ('SimpleRNN(6, "softmax", return_sequences=true, go_backwards=true)', [(5, 4)], "channels_last"),
    ('LSTM(6, "relu", "hard_sigmoid", return_sequences=true)', [(5, 4)], "channels_last"),
    (
        'out, h, c = LSTM(6, recurrent_activation="hard_sigmoid", return_state=true, use_bias=false)\nConcatenate()(out, h, c)',
        [(5, 4)],
        "channels_last",
    ),
    ('GRU(6, "elu", "hard_sigmoid")', [(5, 4)], "channels_last"),
    ('GRU(6, "gelu", go_backwards=true, return_sequences=true)\nDense(2)', [(None, None, 4)], "channels_last"),
    # Bidirectional: merge modes, states, go_backwards, loops
    ("Bidirectional(LSTM(6, return_sequences=true))", [(5, 4)], "channels_last"),
    ("Bidirectional(LSTM(6))", [(5, 4)], "channels_last"),
    ('Bidirectional(GRU(6), "sum")', [(5, 4)], "channels_last"),
    ('Bidirectional(SimpleRNN(6, return_sequences=true, go_backwards=true), "ave")', [(5, 4)], "channels_last"),
    ('Bidirectional(LSTM(6, return_sequences=true, go_backwards=true), "mul")', [(5, 4)], "channels_last"),
    (
        "f, b = Bidirectional(GRU(6, return_sequences=true), none)\nConcatenate()(f, b)",
        [(None, None, 4)],
        "channels_last",
    ),
    (
        "out, fh, fc, bh, bc = Bidirectional(LSTM(6, return_state=true))\nConcatenate()(out, fh, fc, bh, bc)",
        [(5, 4)],
        "channels_last",
    ),
    (
        "f, b, fh, bh = Bidirectional(GRU(5, go_backwards=true, return_state=true), none)\nConcatenate()(f, b, fh, bh)",
        [(5, 4)],
        "channels_last",
    ),
    ('Bidirectional(LSTM(6, "relu", return_sequences=true))', [(5, 4)], "channels_last"),
    ('Bidirectional(GRU(6, "selu", use_bias=false, go_backwards=true), "concat")', [(5, 4)], "channels_last"),
    ('Bidirectional(SimpleRNN(6, "relu", dropout=0.3), "sum")', [(5, 4)], "channels_last"),
    # ConvLSTM2D: kernel, strides, padding, dilation, activations, states, layouts
    ("ConvLSTM2D(4, 3)\nFlatten()\nDense(2)", [(4, 6, 6, 3)], "channels_last"),
    ('ConvLSTM2D(4, 2, padding="same", return_sequences=true)\nFlatten()\nDense(2)', [(4, 6, 6, 3)], "channels_last"),
    ('ConvLSTM2D(4, 3, strides=2, padding="same")\nFlatten()\nDense(2)', [(4, 7, 7, 3)], "channels_last"),
    (
        'ConvLSTM2D(4, (2, 3), strides=(1, 2), padding="same", use_bias=false)\nFlatten()\nDense(2)',
        [(3, 6, 7, 2)],
        "channels_last",
    ),
    ("ConvLSTM2D(3, 3, strides=2)\nFlatten()\nDense(2)", [(3, 7, 7, 2)], "channels_last"),
    (
        'ConvLSTM2D(4, 3, dilation_rate=2, padding="same", go_backwards=true)\nFlatten()\nDense(2)',
        [(4, 7, 7, 3)],
        "channels_last",
    ),
    ("ConvLSTM2D(3, 2, dilation_rate=(2, 1))\nFlatten()\nDense(2)", [(3, 6, 6, 2)], "channels_last"),
    (
        'ConvLSTM2D(4, 3, activation="relu", recurrent_activation="hard_sigmoid", padding="same")\nFlatten()\nDense(2)',
        [(4, 6, 6, 3)],
        "channels_last",
    ),
    ('ConvLSTM2D(4, 3, activation="softmax", padding="same")\nFlatten()\nDense(2)', [(4, 6, 6, 3)], "channels_last"),
    (
        'seq, h, c = ConvLSTM2D(3, 3, padding="same", return_sequences=true, return_state=true)\nConcatenate()(h, c)\nFlatten()\nDense(2)',
        [(3, 5, 5, 2)],
        "channels_last",
    ),
    (
        'ConvLSTM2D(3, 3, padding="same", return_sequences=true, dropout=0.2)\nDense(2)',
        [(None, None, 5, 5, 2)],
        "channels_last",
    ),
    (
        "ConvLSTM2D(4, (2, 3), strides=(2, 1), use_bias=false, return_sequences=true)\nFlatten()\nDense(2)",
        [(4, 3, 7, 7)],
        "channels_first",
    ),
    (
        'seq, h, c = ConvLSTM2D(3, 3, padding="same", return_state=true)\nConcatenate(axis=0)(seq, h, c)\nFlatten()\nDense(2)',
        [(3, 2, 5, 5)],
        "channels_first",
    ),
    (
        'ConvLSTM2D(3, 3, padding="same", recurrent_activation="softmax", return_sequences=true)\nFlatten()\nDense(2)',
        [(3, 2, 5, 5)],
        "channels_first",
    ),
    # sequences read (timesteps, features) in either layout
    ("LSTM(6, return_sequences=true)\nGRU(3)", [(5, 4)], "channels_first"),
    ('Bidirectional(SimpleRNN(6, "selu", return_sequences=true), "sum")', [(5, 4)], "channels_first"),
    # recurrent layers after an embedding, stacked
    ("Embedding(30, 6)\nLSTM(5, return_sequences=true)\nGRU(4)\nDense(2)", [(7,)], "channels_last"),
]


@pytest.mark.parametrize(
    ("layers", "shapes", "layout"), CASES, ids=[f"{c[0].replace(chr(10), ' | ')} {c[1]} {c[2]}" for c in CASES]
)
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]], layout: str) -> None:
    check_layer(layers, *shapes, layout=layout)


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
    """examples/compat/sentiment.neural: Embedding + two LSTMs through nn.LSTM.

    The file trains with Adam, whose first step divides each gradient by its own magnitude (plus 1e-8):
    gradients of ~1e-9 (the first steps of a 100-step sequence) then turn float32 rounding into large
    relative differences. The forward pass is compared on the file as written, the training step with SGD.
    """
    text = (ROOT / "examples" / "compat" / "sentiment.neural").read_text(encoding="utf-8")
    shaped = analyse(loads(text).network())
    code = generate(shaped)
    assert "nn.LSTM(300, 128, batch_first=True)" in code and "nn.LSTM(128, 64, batch_first=True)" in code
    assert "keras_rnn(self.lstm_1, x, return_sequences=True)" in code
    (result,) = compare(shaped, ["pytorch"])
    assert result.forward <= 1e-4
    sgd = analyse(loads(text.replace("Adam(learning_rate=0.001)", "SGD(learning_rate=0.1)")).network())
    check_generated(sgd)


ALL_KINDS = """
network AllKinds {
  input { frames: (4, 6, 6, 3)  tokens: (7, 5) }
  layers:
    ConvLSTM2D(4, 3, padding="same", return_sequences=true, dropout=0.1)(frames)
    seq, h, c = ConvLSTM2D(4, 2, strides=2, padding="same", recurrent_activation="hard_sigmoid", return_state=true)
    BatchNormalization(momentum=0.99, epsilon=0.001)(h)
    GroupNormalization(2, center=false)
    GroupNormalization(2)
    InstanceNormalization(affine=true, track_running_stats=true)
    InstanceNormalization(center=true, axis=0)
    Flatten()
    image = Dense(8)
    LayerNormalization(scale=false)(tokens)
    SimpleRNN(6, "relu", return_sequences=true)
    GRU(6, "selu", return_sequences=true, go_backwards=true)
    Bidirectional(LSTM(6, return_sequences=true, dropout=0.2), "ave")
    fwd, bwd = Bidirectional(GRU(5), none)
    last = LSTM(4, "relu")(tokens)
    Concatenate()(image, fwd, bwd, last)
    Output(2, "softmax")
  loss: "categorical_crossentropy"
  optimizer: Adam(learning_rate=0.001)
}
"""


def test_generated_module_with_every_kind_passes_ruff(tmp_path: Path) -> None:
    shaped = analyse(loads(ALL_KINDS).network())
    path = tmp_path / "model.py"
    path.write_text(format_code(generate(shaped)), encoding="utf-8")
    for command in (["check", "--isolated"], ["format", "--isolated", "--line-length", "120", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
    check_generated(shaped)
