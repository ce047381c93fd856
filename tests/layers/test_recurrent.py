"""Recurrent layers: shapes (with states), PyTorch-layout weights, MACs, errors, and agreement with
PyTorch (RNN/LSTM/GRU, bidirectional) and Keras (ConvLSTM2D)."""

from __future__ import annotations

from typing import Any

import pytest

from neural.errors import InvalidValueError, NameResolutionError, NeuralError, ShapeError
from neural.layers.base import Shape
from neural.layers.registry import lookup
from neural.shapes.engine import NodeShape
from neural.testing import analyse_snippet, layer_info


def info(layer: str, *shape: int | None, layout: str = "channels_last") -> NodeShape:
    """`layer` on one input of `shape` (written with an explicit batch axis so None dims stay)."""
    return layer_info(layer, (None, *shape), layout=layout)


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("SimpleRNN", "SimpleRNN"),
        ("RNN", "SimpleRNN"),
        ("SimpleRNNCell", "SimpleRNN"),
        ("RNNCell", "SimpleRNN"),
        ("CuDNNLSTM", "LSTM"),
        ("CuDNNGRU", "GRU"),
        ("LSTM", "LSTM"),
        ("LSTMCell", "LSTM"),
        ("GRU", "GRU"),
        ("GRUCell", "GRU"),
        ("Bidirectional", "Bidirectional"),
        ("ConvLSTM2D", "ConvLSTM2D"),
    ],
)
def test_names_resolve(name: str, kind: str) -> None:
    spec = lookup(name)
    assert spec is not None and spec.kind == kind
    assert spec.family == "recurrent"
    assert spec.shape_rule and spec.doc != spec.kind


def test_defaults() -> None:
    cfg = info("LSTM(8)", 5, 3).node.config
    assert dict(cfg) == {
        "units": 8,
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "return_sequences": False,
        "return_state": False,
        "go_backwards": False,
        "dropout": 0.0,
        "input_size": None,
    }
    assert "recurrent_activation" not in info("SimpleRNN(8)", 5, 3).node.config


# --- SimpleRNN / LSTM / GRU ------------------------------------------------------------------------

# G gates, per layer: params = G*H*(in + H) + 2*G*H (two biases, as PyTorch), MACs = T * G*H*(in + H)


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [
        # G=1, H=16, in=8, T=10: 16*(8+16) + 2*16 = 416; MACs 10*16*24 = 3840
        ("SimpleRNN(16)", (10, 8), ((16,), 416, 3840)),
        ("SimpleRNN(16, return_sequences=true)", (10, 8), ((10, 16), 416, 3840)),
        ('RNN(16, "relu", use_bias=false)', (10, 8), ((16,), 384, 3840)),
        # G=4, H=32, in=8, T=20: 128*40 + 256 = 5376; MACs 20*128*40 = 102400
        ("LSTM(32)", (20, 8), ((32,), 5376, 102400)),
        ("LSTM(32, return_sequences=true)", (20, 8), ((20, 32), 5376, 102400)),
        ("LSTMCell(32)", (20, 8), ((32,), 5376, 102400)),
        ("LSTM(hidden_size=32, bias=false)", (20, 8), ((32,), 5120, 102400)),
        # G=3, H=64, in=100, T=5: 192*164 + 384 = 31872; MACs 5*192*164 = 157440
        ("GRU(64)", (5, 100), ((64,), 31872, 157440)),
        ("GRU(64, return_sequences=true, go_backwards=true, dropout=0.2)", (5, 100), ((5, 64), 31872, 157440)),
        # unknown timesteps: shape keeps None, MACs unknown
        ("LSTM(32)", (None, 8), ((32,), 5376, None)),
        ("GRU(64, return_sequences=true)", (None, 100), ((None, 64), 31872, None)),
        # PyTorch's input_size is checked
        ("LSTM(32, input_size=8)", (20, 8), ((32,), 5376, 102400)),
    ],
)
def test_recurrent(layer: str, shape: Shape, expected: tuple[Shape, int, int | None]) -> None:
    node = info(layer, *shape)
    assert (node.output_shape, node.params, node.macs) == expected
    assert node.state == 0
    assert len(node.output_shapes) == 1


def test_lstm_weight_layout() -> None:
    weights = info("LSTM(32)", 20, 8).weights
    assert {k: w.shape for k, w in weights.items()} == {
        "weight_ih_l0": (128, 8),
        "weight_hh_l0": (128, 32),
        "bias_ih_l0": (128,),
        "bias_hh_l0": (128,),
    }


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ("SimpleRNN(16, return_state=true)", ((16,), (16,))),
        ("SimpleRNN(16, return_sequences=true, return_state=true)", ((10, 16), (16,))),
        ("GRU(16, return_state=true)", ((16,), (16,))),
        ("LSTM(16, return_state=true)", ((16,), (16,), (16,))),
        ("LSTM(16, return_sequences=true, return_state=true)", ((10, 16), (16,), (16,))),
    ],
)
def test_return_state(layer: str, expected: tuple[Shape, ...]) -> None:
    node = info(layer, 10, 4)
    assert node.output_shapes == expected
    spec = lookup(node.node.kind)
    assert spec is not None and spec.num_outputs(node.node.config) == len(expected)


def test_states_are_usable_tensors() -> None:
    net = analyse_snippet("seq, h, c = LSTM(16, return_sequences=true, return_state=true)\nout = Dense(3)(c)", (10, 4))
    assert net.layers[-1].output_shape == (3,)
    assert net.layers[0].output_shapes == ((10, 16), (16,), (16,))


def test_too_few_names_for_states() -> None:
    with pytest.raises(NeuralError) as caught:
        analyse_snippet("seq, h = LSTM(16, return_state=true)\nout = Dense(3)(seq)", (10, 4))
    errors = getattr(caught.value, "errors", [caught.value])
    assert any("2 names for 3 output" in str(e) for e in errors)


def test_stacked_lstm_network() -> None:
    net = analyse_snippet("LSTM(32, return_sequences=true)\nLSTM(16)\nDense(1)", (None, None, 12))
    assert net.output_shapes == ((1,),)
    # 4*32*(12+32) + 8*32 ; 4*16*(32+16) + 8*16 ; 16 + 1
    assert net.params == (4 * 32 * 44 + 256) + (4 * 16 * 48 + 128) + 17
    assert net.macs is None  # timesteps unknown


# --- Bidirectional ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "expected_shapes", "params", "macs"),
    [
        # LSTM H=16, in=8, T=5: one direction 64*24 + 128 = 1664; MACs 5*64*24 = 7680; both x2
        ("Bidirectional(LSTM(16))", ((32,),), 3328, 15360),
        ("Bidirectional(LSTM(16, return_sequences=true))", ((5, 32),), 3328, 15360),
        ('Bidirectional(LSTM(16, return_sequences=true), "sum")', ((5, 16),), 3328, 15360),
        ('Bidirectional(LSTM(16), merge_mode="mul")', ((16,),), 3328, 15360),
        ('Bidirectional(LSTM(16), merge_mode="ave")', ((16,),), 3328, 15360),
        ('Bidirectional(LSTM(16), merge_mode="average")', ((16,),), 3328, 15360),
        ("Bidirectional(LSTM(16, return_sequences=true), merge_mode=none)", ((5, 16), (5, 16)), 3328, 15360),
        # states: Keras order (output, *forward states, *backward states)
        ("Bidirectional(LSTM(16, return_state=true))", ((32,), (16,), (16,), (16,), (16,)), 3328, 15360),
        (
            "Bidirectional(LSTM(16, return_sequences=true, return_state=true), merge_mode=none)",
            ((5, 16), (5, 16), (16,), (16,), (16,), (16,)),
            3328,
            15360,
        ),
        # GRU H=16: one direction 48*24 + 96 = 1248; MACs 5*48*24 = 5760
        ("Bidirectional(GRU(16, return_state=true))", ((32,), (16,), (16,)), 2496, 11520),
        # SimpleRNN H=4: one direction 4*12 + 8 = 56; MACs 5*4*12 = 240
        ("Bidirectional(SimpleRNN(4))", ((8,),), 112, 480),
        ("Bidirectional(layer=RNN(4, use_bias=false))", ((8,),), 96, 480),
    ],
)
def test_bidirectional(layer: str, expected_shapes: tuple[Shape, ...], params: int, macs: int) -> None:
    node = info(layer, 5, 8)
    assert node.output_shapes == expected_shapes
    assert (node.params, node.macs) == (params, macs)
    spec = lookup("Bidirectional")
    assert spec is not None and spec.num_outputs(node.node.config) == len(expected_shapes)


def test_bidirectional_weight_names() -> None:
    weights = info("Bidirectional(GRU(4))", 5, 3).weights
    assert {k: w.shape for k, w in weights.items()} == {
        f"{n}{suffix}": s
        for suffix in ("_l0", "_l0_reverse")
        for n, s in (("weight_ih", (12, 3)), ("weight_hh", (12, 4)), ("bias_ih", (12,)), ("bias_hh", (12,)))
    }


def test_bidirectional_unknown_timesteps() -> None:
    node = info("Bidirectional(LSTM(16, return_sequences=true))", None, 8)
    assert (node.output_shape, node.macs) == ((None, 32), None)


def test_bidirectional_two_outputs_in_network() -> None:
    net = analyse_snippet("f, b = Bidirectional(GRU(8), merge_mode=none)\ny = Concatenate()(f, b)", (6, 3))
    assert net.layers[-1].output_shape == (16,)


# --- ConvLSTM2D ------------------------------------------------------------------------------------

# params = 4F*C*kh*kw + 4F*F*kh*kw + 4F; MACs = T * rows'*cols' * 4F*kh*kw*(C + F)


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "expected_shapes", "params", "macs"),
    [
        # F=4, C=2, k=3, valid 9 -> 7: 16*2*9 + 16*4*9 + 16 = 880; MACs 5*49*16*9*6 = 211680
        ("ConvLSTM2D(4, 3)", (5, 9, 9, 2), "channels_last", ((7, 7, 4),), 880, 211680),
        ("ConvLSTM2D(4, 3, return_sequences=true)", (5, 9, 9, 2), "channels_last", ((5, 7, 7, 4),), 880, 211680),
        # same padding, stride 2: ceil(9/2) = 5; MACs 5*25*16*9*6 = 108000
        (
            'ConvLSTM2D(4, (3, 3), padding="same", strides=2, return_sequences=true, return_state=true)',
            (5, 9, 9, 2),
            "channels_last",
            ((5, 5, 5, 4), (5, 5, 4), (5, 5, 4)),
            880,
            108000,
        ),
        # non-square kernel, channels-first (time, C, rows, cols): 9-3+1=7, 7-2+1=6
        # 16*2*6 + 16*4*6 + 16 = 592; MACs 5*42*16*6*6 = 120960
        ("ConvLSTM2D(4, (3, 2))", (5, 2, 9, 7), "channels_first", ((4, 7, 6),), 592, 120960),
        # dilation 2: span 5, 10 -> 6; no bias: 8*3*9 + 8*2*9 = 360; MACs 3*36*8*9*5 = 38880
        (
            "ConvLSTM2D(2, 3, dilation_rate=2, use_bias=false)",
            (3, 10, 10, 3),
            "channels_last",
            ((6, 6, 2),),
            360,
            38880,
        ),
        # valid stride 2: floor((10-3)/2)+1 = 4; MACs 3*16*8*9*5 = 17280
        ("ConvLSTM2D(2, 3, strides=(2, 2))", (3, 10, 10, 3), "channels_last", ((4, 4, 2),), 368, 17280),
        # unknown time and spatial sizes: None stays, MACs unknown
        (
            "ConvLSTM2D(2, 3, return_sequences=true)",
            (None, None, 10, 3),
            "channels_last",
            ((None, None, 8, 2),),
            368,
            None,
        ),
        ('ConvLSTM2D(2, 3, activation="relu")', (None, 10, 10, 3), "channels_last", ((8, 8, 2),), 368, None),
    ],
)
def test_conv_lstm2d(
    layer: str, shape: Shape, layout: str, expected_shapes: tuple[Shape, ...], params: int, macs: int | None
) -> None:
    node = info(layer, *shape, layout=layout)
    assert node.output_shapes == expected_shapes
    assert (node.params, node.state, node.macs) == (params, 0, macs)


def test_conv_lstm2d_weight_layout() -> None:
    weights = info("ConvLSTM2D(4, (3, 2))", 5, 9, 7, 2).weights
    assert {k: w.shape for k, w in weights.items()} == {
        "weight_ih": (16, 2, 3, 2),
        "weight_hh": (16, 4, 3, 2),
        "bias": (16,),
    }


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "error", "fragment"),
    [
        (
            "LSTM(16)",
            (28, 28, 1),
            ShapeError,
            "LSTM expects input of rank 2 (timesteps, features), received (28, 28, 1)",
        ),
        ("GRU(16)", (28,), ShapeError, "rank 2 (timesteps, features)"),
        ("LSTM(16)", (10, None), ShapeError, "a known number of features"),
        ("LSTM(16, input_size=4)", (10, 8), ShapeError, "4 features (input_size)"),
        ("LSTM(0)", (10, 8), InvalidValueError, "`units` expects a positive integer"),
        ("LSTM()", (10, 8), InvalidValueError, "`LSTM` needs the argument `units`"),
        ('LSTM(16, activation="prelu")', (10, 8), InvalidValueError, 'cannot be "prelu"'),
        ('LSTM(16, recurrent_activation="bogus")', (10, 8), InvalidValueError, "`recurrent_activation` expects"),
        ("LSTM(16, dropout=1)", (10, 8), InvalidValueError, "`dropout` expects a number in [0, 1)"),
        ("LSTM(16, hidden_size=8)", (10, 8), InvalidValueError, "given twice"),
        (
            'SimpleRNN(16, recurrent_activation="sigmoid")',
            (10, 8),
            NameResolutionError,
            "has no argument `recurrent_activation`",
        ),
        ("LSTM(16, num_layers=2)", (10, 8), NameResolutionError, "has no argument `num_layers`"),
        (
            "Bidirectional(Dense(16))",
            (10, 8),
            InvalidValueError,
            "expects a recurrent layer such as LSTM(64); received Dense(16)",
        ),
        ("Bidirectional(ConvLSTM2D(4, 3))", (10, 8), InvalidValueError, "expects a recurrent layer"),
        ("Bidirectional(16)", (10, 8), InvalidValueError, "expects a recurrent layer"),
        ("Bidirectional(LSTM(16, foo=1))", (10, 8), NameResolutionError, "`LSTM` has no argument `foo`"),
        ("Bidirectional(LSTM(0))", (10, 8), InvalidValueError, "`LSTM` argument `units`"),
        ('Bidirectional(LSTM(16), merge_mode="max")', (10, 8), InvalidValueError, "`merge_mode` expects one of"),
        ("Bidirectional(LSTM(16))", (10, 8, 2), ShapeError, "LSTM expects input of rank 2"),
        (
            "ConvLSTM2D(4, 5)",
            (5, 3, 3, 2),
            ShapeError,
            'ConvLSTM2D expects rows and cols of at least the kernel 5x5 (padding "valid"), received (5, 3, 3, 2)',
        ),
        ("ConvLSTM2D(4, 3, dilation_rate=3)", (5, 6, 6, 2), ShapeError, "dilated by (3, 3)"),
        (
            "ConvLSTM2D(4, 3)",
            (9, 9, 2),
            ShapeError,
            "ConvLSTM2D expects input of rank 4 (time, height, width, channels), received (9, 9, 2)",
        ),
        ("ConvLSTM2D(4, 3)", (5, 9, 9, None), ShapeError, "a known number of channels"),
        (
            "ConvLSTM2D(4, 3, strides=2, dilation_rate=2)",
            (5, 9, 9, 2),
            InvalidValueError,
            "cannot combine strides > 1 with dilation_rate > 1",
        ),
        (
            'ConvLSTM2D(4, 3, padding="causal")',
            (5, 9, 9, 2),
            InvalidValueError,
            '`padding` expects one of "valid", "same"',
        ),
        ("ConvLSTM2D(4, (3, 3, 3))", (5, 9, 9, 2), InvalidValueError, "`kernel_size` expects"),
        ("ConvLSTM2D(4)", (5, 9, 9, 2), InvalidValueError, "needs the argument `kernel_size`"),
    ],
)
def test_errors(layer: str, shape: Shape, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        info(layer, *shape)
    assert fragment in str(caught.value)


def test_rank_error_hint() -> None:
    with pytest.raises(ShapeError) as caught:
        info("LSTM(16)", 28, 28, 1)
    assert caught.value.hint is not None and "Reshape" in caught.value.hint


def test_conv_lstm2d_rank_error_channels_first() -> None:
    with pytest.raises(ShapeError, match=r"rank 4 \(time, channels, height, width\)"):
        info("ConvLSTM2D(4, 3)", 9, 9, 2, layout="channels_first")


# --- agreement with PyTorch ------------------------------------------------------------------------


def _torch_rnn(kind: str, features: int, units: int, **kwargs: Any) -> Any:
    import torch

    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    return cls(features, units, batch_first=True, **kwargs)


def _torch_state_shapes(kind: str, states: Any) -> list[tuple[int, ...]]:
    tensors = states if kind == "LSTM" else (states,)
    return [tuple(t.shape) for t in tensors]


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    ("units", "steps", "features", "use_bias", "return_sequences"),
    [(8, 5, 3, True, False), (8, 5, 3, True, True), (3, 7, 10, False, True), (1, 1, 1, True, False)],
)
def test_matches_torch(
    kind: str, units: int, steps: int, features: int, use_bias: bool, return_sequences: bool
) -> None:
    torch = pytest.importorskip("torch")
    layer = f"{kind}({units}, use_bias={str(use_bias).lower()}, return_sequences={str(return_sequences).lower()}, return_state=true)"
    node = info(layer, steps, features)
    module = _torch_rnn(kind, features, units, bias=use_bias)
    torch.manual_seed(0)
    sequence, states = module(torch.randn(2, steps, features))
    torch_output = tuple(sequence.shape[1:]) if return_sequences else tuple(sequence[:, -1].shape[1:])
    assert node.output_shapes[0] == torch_output
    # torch states are (num_layers, batch, H); ours drop layers and batch
    assert [s for s in node.output_shapes[1:]] == [t[2:] for t in _torch_state_shapes(kind, states)]
    assert node.params == sum(p.numel() for p in module.parameters())
    torch_weights = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert {k: w.shape for k, w in node.weights.items()} == torch_weights


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize(("return_sequences", "use_bias"), [(True, True), (False, True), (True, False)])
def test_bidirectional_matches_torch(kind: str, return_sequences: bool, use_bias: bool) -> None:
    torch = pytest.importorskip("torch")
    units, steps, features = 6, 4, 5
    inner = f"{kind}({units}, return_sequences={str(return_sequences).lower()}, use_bias={str(use_bias).lower()})"
    node = info(f"Bidirectional({inner})", steps, features)
    module = _torch_rnn(kind, features, units, bias=use_bias, bidirectional=True)
    sequence, _ = module(torch.randn(2, steps, features))
    # concat: torch's output already holds [forward, backward] on the last axis
    torch_output = tuple(sequence.shape[1:]) if return_sequences else (sequence.shape[-1],)
    assert node.output_shape == torch_output
    assert node.params == sum(p.numel() for p in module.parameters())

    torch_weights = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert {k: w.shape for k, w in node.weights.items()} == torch_weights


# --- agreement with Keras --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


def _keras_shapes(result: Any) -> tuple[Shape, ...]:
    shapes = result if isinstance(result[0], (tuple, list)) else (result,)
    return tuple(tuple(s)[1:] for s in shapes)


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "kwargs"),
    [
        ("ConvLSTM2D(4, 3)", (5, 9, 9, 2), "channels_last", {"filters": 4, "kernel_size": 3}),
        (
            'ConvLSTM2D(4, 3, padding="same", strides=2, return_sequences=true, return_state=true)',
            (5, 9, 9, 2),
            "channels_last",
            {
                "filters": 4,
                "kernel_size": 3,
                "padding": "same",
                "strides": 2,
                "return_sequences": True,
                "return_state": True,
            },
        ),
        (
            "ConvLSTM2D(3, (3, 2), dilation_rate=2, use_bias=false)",
            (2, 10, 8, 5),
            "channels_last",
            {"filters": 3, "kernel_size": (3, 2), "dilation_rate": 2, "use_bias": False},
        ),
        (
            "ConvLSTM2D(4, (3, 2), return_sequences=true)",
            (5, 2, 9, 7),
            "channels_first",
            {"filters": 4, "kernel_size": (3, 2), "return_sequences": True, "data_format": "channels_first"},
        ),
    ],
)
def test_conv_lstm2d_matches_keras(
    keras: Any, layer: str, shape: tuple[int, ...], layout: str, kwargs: dict[str, Any]
) -> None:
    node = info(layer, *shape, layout=layout)
    module = keras.layers.ConvLSTM2D(**kwargs)
    assert node.output_shapes == _keras_shapes(module.compute_output_shape((None, *shape)))
    module.build((None, *shape))
    assert node.params == module.count_params()


@pytest.mark.parametrize(("kind", "gates"), [("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_keras_counts_differ_only_by_the_second_bias(keras: Any, kind: str, gates: int) -> None:
    """PyTorch keeps two bias vectors; Keras' SimpleRNN and LSTM one (GRU reset_after keeps two)."""
    node = info(f"{kind}(6)", 4, 5)
    module = getattr(keras.layers, kind)(6)
    module.build((None, 4, 5))
    second_bias = 0 if kind == "GRU" else gates * 6
    assert node.params == module.count_params() + second_bias
