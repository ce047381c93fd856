"""Recurrent kernels (SimpleRNN, LSTM, GRU, Bidirectional, ConvLSTM2D): against PyTorch, Keras (for
ConvLSTM2D and go_backwards), a plain NumPy reference (other activations) and finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import compare_passes, load_into_torch, model_for, ours_pass, random_inputs, torch_pass

from neural.runtime.gradcheck import Pass, assert_close, gradient_check, run_pass
from neural.runtime.model import Model
from neural.runtime.tensor import Tensor

# our weight names are torch's (one layer): the maps are the identity, kept explicit for the reader
TORCH_NAMES = {n: n for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
BIDIRECTIONAL_NAMES = {**TORCH_NAMES, **{f"{k}_reverse": f"{v}_reverse" for k, v in TORCH_NAMES.items()}}


def _one(result: Tensor | tuple[Tensor, ...]) -> Tensor:
    assert isinstance(result, Tensor)
    return result


def _node(model: Model) -> str:
    return model.shaped.layers[-1].node.name


def _torch_module(
    kind: str, features: int, units: int, *, bias: bool, bidirectional: bool = False, nonlinearity: str = "tanh"
) -> Any:
    torch = pytest.importorskip("torch")
    extra = {"nonlinearity": nonlinearity} if kind == "SimpleRNN" else {}
    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    return cls(features, units, batch_first=True, bias=bias, bidirectional=bidirectional, **extra)


def _torch_forward(
    module: Any,
    kind: str,
    *,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    mask: np.ndarray | None = None,
) -> Callable[[Any], tuple[Any, ...]]:
    """The outputs of our layer, in our order, computed by a torch one-direction module."""
    torch = pytest.importorskip("torch")

    def forward(x: Any) -> tuple[Any, ...]:
        if mask is not None:
            x = x * torch.tensor(mask)
        if go_backwards:
            x = torch.flip(x, [1])
        out, state = module(x)
        states = state if kind == "LSTM" else (state,)
        result = [out if return_sequences else out[:, -1]]
        if return_state:
            result += [s[0] for s in states]
        return tuple(result)

    return forward


def _flags(layer: str) -> dict[str, bool]:
    return {flag: f"{flag}=true" in layer for flag in ("return_sequences", "return_state", "go_backwards")}


def _check_shapes(model: Model, outputs: list[np.ndarray]) -> None:
    expected = model.shaped.layers[-1].output_shapes
    assert tuple(o.shape[1:] for o in outputs) == expected


# --- SimpleRNN / LSTM / GRU against torch.nn.RNN / LSTM / GRU --------------------------------------

SINGLE_CASES = [
    ("SimpleRNN", "SimpleRNN(5)"),
    ("SimpleRNN", 'SimpleRNN(5, "relu", return_sequences=true)'),
    ("SimpleRNN", "SimpleRNN(4, go_backwards=true, return_sequences=true, return_state=true)"),
    ("LSTM", "LSTM(5)"),
    ("LSTM", "LSTM(5, return_state=true)"),
    ("LSTM", "LSTM(5, return_sequences=true, return_state=true, go_backwards=true)"),
    ("LSTM", "LSTM(4, use_bias=false, return_sequences=true)"),
    ("GRU", "GRU(5, return_sequences=true)"),
    ("GRU", "GRU(5, return_state=true, go_backwards=true)"),
    ("GRU", "GRU(4, use_bias=false)"),
]


@pytest.mark.parametrize(("kind", "layer"), SINGLE_CASES)
def test_recurrent_matches_torch(kind: str, layer: str) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, (6, 3))
    inputs = random_inputs(model, batch=2)
    ours, upstream = ours_pass(model, inputs)
    _check_shapes(model, ours.outputs)
    units = model.params[f"{_node(model)}.weight_hh_l0"].shape[1]
    module = _torch_module(
        kind, 3, units, bias="use_bias=false" not in layer, nonlinearity="relu" if '"relu"' in layer else "tanh"
    )
    node = _node(model)
    load_into_torch(module, model, node, rename=TORCH_NAMES)
    theirs = torch_pass(
        module, [inputs["input"]], upstream, forward=_torch_forward(module, kind, **_flags(layer), mask=None)
    )
    names = {f"{node}.{k}": v for k, v in TORCH_NAMES.items() if f"{node}.{k}" in model.params}
    compare_passes(ours, theirs, param_names=names, input_map={"input": "0"})


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_input_dropout_matches_torch_on_masked_inputs(kind: str) -> None:
    """Training-mode dropout: one mask per sample and feature (drawn from the model's generator),
    shared by every step, scaled by 1/(1 - rate)."""
    pytest.importorskip("torch")
    layer = f"{kind}(4, dropout=0.4, return_sequences=true)"
    model = model_for(layer, (5, 6))
    inputs = random_inputs(model, batch=3)
    upstream = [np.random.default_rng(2).standard_normal((3, 5, 4)).astype(np.float32)]
    ours = run_pass(model, inputs, upstream, training=True, seed=11)
    mask = ((np.random.default_rng(11).random((3, 1, 6)) < 0.6) / 0.6).astype(np.float32)
    assert 0 < (mask == 0).sum() < mask.size
    module = _torch_module(kind, 6, 4, bias=True)
    node = _node(model)
    load_into_torch(module, model, node, rename=TORCH_NAMES)
    forward = _torch_forward(module, kind, return_sequences=True, return_state=False, go_backwards=False, mask=mask)
    theirs = torch_pass(module, [inputs["input"]], upstream, forward=forward)
    compare_passes(
        ours, theirs, param_names={f"{node}.{k}": v for k, v in TORCH_NAMES.items()}, input_map={"input": "0"}
    )
    # eval mode: no dropout
    evaluated = _one(model(inputs, training=False)).data
    expected = _torch_forward(module, kind, return_sequences=True, return_state=False, go_backwards=False)
    torch = pytest.importorskip("torch")
    assert_close(evaluated, expected(torch.tensor(inputs["input"]))[0].detach().numpy(), 1e-5)


# --- Bidirectional against torch bidirectional=True ------------------------------------------------


def _torch_bidirectional(
    module: Any, kind: str, merge: str | None, *, return_sequences: bool, return_state: bool, go_backwards: bool
) -> Callable[[Any], tuple[Any, ...]]:
    torch = pytest.importorskip("torch")

    def forward(x: Any) -> tuple[Any, ...]:
        if go_backwards:
            x = torch.flip(x, [1])
        out, state = module(x)
        units = out.shape[-1] // 2
        if return_sequences:
            fwd, bwd = out[..., :units], out[..., units:]
        else:
            fwd, bwd = out[:, -1, :units], out[:, 0, units:]
        merged = {
            "concat": lambda: [torch.cat([fwd, bwd], -1)],
            "sum": lambda: [fwd + bwd],
            "mul": lambda: [fwd * bwd],
            "ave": lambda: [(fwd + bwd) / 2],
            None: lambda: [fwd, bwd],
        }[merge]()
        if return_state:
            states = state if kind == "LSTM" else (state,)
            merged += [s[0] for s in states] + [s[1] for s in states]
        return tuple(merged)

    return forward


BIDIRECTIONAL_CASES = [
    ("LSTM", "LSTM(4, return_sequences=true)", "concat"),
    ("LSTM", "LSTM(4)", "concat"),
    ("GRU", "GRU(4, return_sequences=true)", "sum"),
    ("SimpleRNN", "SimpleRNN(4)", "mul"),
    ("LSTM", "LSTM(3, return_sequences=true, return_state=true)", "ave"),
    ("GRU", "GRU(3, return_state=true)", None),
    ("LSTM", "LSTM(3, return_sequences=true, return_state=true)", None),
    ("LSTM", "LSTM(3, return_sequences=true, go_backwards=true)", "concat"),
]


@pytest.mark.parametrize(("kind", "inner", "merge"), BIDIRECTIONAL_CASES)
def test_bidirectional_matches_torch(kind: str, inner: str, merge: str | None) -> None:
    pytest.importorskip("torch")
    mode = "none" if merge is None else f'"{merge}"'
    model = model_for(f"Bidirectional({inner}, {mode})", (5, 3))
    inputs = random_inputs(model, batch=2)
    ours, upstream = ours_pass(model, inputs)
    _check_shapes(model, ours.outputs)
    node = _node(model)
    units = model.params[f"{node}.weight_hh_l0"].shape[1]
    module = _torch_module(kind, 3, units, bias=True, bidirectional=True)
    load_into_torch(module, model, node, rename=BIDIRECTIONAL_NAMES)
    forward = _torch_bidirectional(module, kind, merge, **_flags(inner))
    theirs = torch_pass(module, [inputs["input"]], upstream, forward=forward)
    compare_passes(
        ours, theirs, param_names={f"{node}.{k}": v for k, v in BIDIRECTIONAL_NAMES.items()}, input_map={"input": "0"}
    )


# --- other activations against a plain NumPy reference ---------------------------------------------

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0),
    "hard_sigmoid": lambda z: np.clip(z / 6 + 0.5, 0, 1),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
}


def _reference(kind: str, weights: dict[str, np.ndarray], x: np.ndarray, act: str, gate: str) -> np.ndarray:
    """Every hidden state (N, T, H), one step at a time, in float64."""
    f, g = ACTIVATIONS[act], ACTIVATIONS[gate]
    w_ih, w_hh, b_ih, b_hh = (
        weights[k].astype(np.float64) for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    )
    units = w_hh.shape[1]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    found = []
    for t in range(x.shape[1]):
        xi, hh = x[:, t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        if kind == "SimpleRNN":
            h = f(xi + hh)
        elif kind == "LSTM":
            i, fg, cand, o = np.split(xi + hh, 4, axis=-1)
            c = g(fg) * c + g(i) * f(cand)
            h = g(o) * f(c)
        else:
            (xr, xz, xn), (hr, hz, hn) = np.split(xi, 3, axis=-1), np.split(hh, 3, axis=-1)
            r, z = g(xr + hr), g(xz + hz)
            n = f(xn + r * hn)
            h = (1 - z) * n + z * h
        found.append(h)
    return np.stack(found, axis=1)


@pytest.mark.parametrize(
    ("kind", "act", "gate"),
    [
        ("SimpleRNN", "elu", "sigmoid"),
        ("LSTM", "relu", "hard_sigmoid"),
        ("GRU", "softsign", "hard_sigmoid"),
        ("LSTM", "tanh", "sigmoid"),
    ],
)
def test_activation_arguments_match_reference(kind: str, act: str, gate: str) -> None:
    gate_arg = "" if kind == "SimpleRNN" else f', recurrent_activation="{gate}"'
    model = model_for(f'{kind}(4, activation="{act}"{gate_arg}, return_sequences=true)', (5, 3), dtype=np.float64)
    inputs = random_inputs(model)
    node = _node(model)
    weights = {k[len(node) + 1 :]: v for k, v in model.state_dict().items()}
    expected = _reference(kind, weights, inputs["input"], act, gate)
    assert_close(_one(model(inputs)).data, expected, 1e-12)
    gradient_check(model, inputs, rtol=1e-5)


# --- Keras semantics: go_backwards, ConvLSTM2D -------------------------------------------------------


def _keras() -> Any:
    return pytest.importorskip("keras")


def test_go_backwards_sequence_order_matches_keras() -> None:
    """Keras returns a go_backwards sequence in processed order (first output = last input step)."""
    keras = _keras()
    model = model_for("SimpleRNN(4, go_backwards=true, return_sequences=true)", (5, 3))
    inputs = random_inputs(model)
    node = _node(model)
    w = {k[len(node) + 1 :]: v for k, v in model.state_dict().items()}
    layer = keras.layers.SimpleRNN(4, go_backwards=True, return_sequences=True)
    layer.build((None, 5, 3))
    layer.set_weights([w["weight_ih_l0"].T, w["weight_hh_l0"].T, w["bias_ih_l0"] + w["bias_hh_l0"]])
    expected = np.asarray(layer(inputs["input"]))
    assert_close(_one(model(inputs)).data, expected, 1e-5)


def _keras_conv_lstm_pass(
    kwargs: dict[str, Any], weights: dict[str, np.ndarray], x: np.ndarray, upstream: list[np.ndarray]
) -> Pass:
    """Keras' ConvLSTM2D on our weights (transposed to (kh, kw, in, 4F)); gradients with TensorFlow's tape.

    TensorFlow's CPU convolution has no channels-first form: such cases run channels-last on moved axes.
    """
    if kwargs.get("data_format") == "channels_first":
        kwargs = {k: v for k, v in kwargs.items() if k != "data_format"}
        moved = [np.moveaxis(u, -3, -1) for u in upstream]
        found = _keras_conv_lstm_pass(kwargs, weights, np.ascontiguousarray(np.moveaxis(x, 2, -1)), moved)
        grads = {k: np.moveaxis(g, -1, 2) for k, g in found.input_grads.items()}
        return Pass([np.moveaxis(o, -1, -3) for o in found.outputs], grads, found.param_grads)
    keras = _keras()
    layer = keras.layers.ConvLSTM2D(**kwargs)
    layer.build((None, *x.shape[1:]))
    values = [weights["weight_ih"].transpose(2, 3, 1, 0), weights["weight_hh"].transpose(2, 3, 1, 0)]
    if "bias" in weights:
        values.append(weights["bias"])
    layer.set_weights(values)
    if keras.backend.backend() != "tensorflow":
        result = layer(x)
        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        return Pass([np.asarray(o) for o in outs], {}, {})
    import tensorflow as tf

    xt = tf.Variable(x)
    with tf.GradientTape() as tape:
        result = layer(xt)
        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        total = tf.add_n([tf.reduce_sum(o * u) for o, u in zip(outs, upstream)])
    variables = [xt, *layer.trainable_weights]
    grads = tape.gradient(total, variables)
    names = ["weight_ih", "weight_hh", "bias"]
    params = {names[i]: (g.numpy().transpose(3, 2, 0, 1) if i < 2 else g.numpy()) for i, g in enumerate(grads[1:])}
    return Pass([o.numpy() for o in outs], {"0": grads[0].numpy()}, params)


CONV_LSTM_CASES = [
    ("ConvLSTM2D(3, 3)", (4, 6, 6, 2), "channels_last", {"filters": 3, "kernel_size": 3}),
    (
        'ConvLSTM2D(2, (3, 3), padding="same", strides=2, return_sequences=true, return_state=true)',
        (3, 7, 6, 2),
        "channels_last",
        {
            "filters": 2,
            "kernel_size": 3,
            "padding": "same",
            "strides": 2,
            "return_sequences": True,
            "return_state": True,
        },
    ),
    (
        "ConvLSTM2D(2, (3, 2), dilation_rate=2, use_bias=false, go_backwards=true, return_sequences=true)",
        (3, 7, 6, 3),
        "channels_last",
        {
            "filters": 2,
            "kernel_size": (3, 2),
            "dilation_rate": 2,
            "use_bias": False,
            "go_backwards": True,
            "return_sequences": True,
        },
    ),
    (
        'ConvLSTM2D(3, (2, 3), padding="same", activation="relu", return_state=true)',
        (3, 2, 5, 6),
        "channels_first",
        {
            "filters": 3,
            "kernel_size": (2, 3),
            "padding": "same",
            "activation": "relu",
            "return_state": True,
            "data_format": "channels_first",
        },
    ),
    (
        "ConvLSTM2D(2, 2, return_sequences=true)",
        (3, 2, 5, 4),
        "channels_first",
        {"filters": 2, "kernel_size": 2, "return_sequences": True, "data_format": "channels_first"},
    ),
]


@pytest.mark.parametrize(("layer", "shape", "layout", "kwargs"), CONV_LSTM_CASES)
def test_conv_lstm2d_matches_keras(layer: str, shape: tuple[int, ...], layout: str, kwargs: dict[str, Any]) -> None:
    _keras()
    model = model_for(layer, shape, layout=layout)
    inputs = random_inputs(model, batch=2)
    ours, upstream = ours_pass(model, inputs)
    _check_shapes(model, ours.outputs)
    node = _node(model)
    weights = {k[len(node) + 1 :]: v for k, v in model.state_dict().items()}
    theirs = _keras_conv_lstm_pass(kwargs, weights, inputs["input"], upstream)
    params = {f"{node}.{k}": k for k in weights} if theirs.param_grads else {}
    compare_passes(ours, theirs, param_names=params, input_map={"input": "0"} if theirs.input_grads else {})


# --- finite differences (float64), training and eval ------------------------------------------------

GRADCHECK_CASES = [
    ("SimpleRNN(3, return_sequences=true)", (4, 2), "channels_last"),
    ('SimpleRNN(3, "relu", go_backwards=true, dropout=0.3)', (4, 2), "channels_last"),
    ("LSTM(3, return_state=true, go_backwards=true)", (4, 2), "channels_last"),
    ("LSTM(3, return_sequences=true, dropout=0.3, use_bias=false)", (4, 2), "channels_last"),
    ("GRU(3, return_sequences=true, return_state=true, dropout=0.3)", (4, 2), "channels_last"),
    ("GRU(3, go_backwards=true)", (4, 2), "channels_last"),
    ('Bidirectional(LSTM(3, return_sequences=true, return_state=true), "sum")', (4, 2), "channels_last"),
    ("Bidirectional(GRU(2, dropout=0.3), none)", (4, 2), "channels_last"),
    ('Bidirectional(SimpleRNN(2, return_sequences=true), "ave")', (3, 2), "channels_last"),
    ("ConvLSTM2D(2, 3, return_sequences=true, return_state=true)", (3, 5, 4, 2), "channels_last"),
    ('ConvLSTM2D(2, 2, padding="same", strides=2, go_backwards=true, dropout=0.3)', (3, 5, 4, 2), "channels_last"),
    (
        'ConvLSTM2D(2, (2, 3), dilation_rate=(1, 2), use_bias=false, recurrent_activation="hard_sigmoid")',
        (2, 2, 4, 6),
        "channels_first",
    ),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("layer", "shape", "layout"), GRADCHECK_CASES)
def test_recurrent_gradients(layer: str, shape: tuple[int, ...], layout: str, training: bool) -> None:
    model = model_for(layer, shape, layout=layout, dtype=np.float64)
    inputs = random_inputs(model, batch=2)
    result = model(inputs, training=training)
    outputs = list(result) if isinstance(result, tuple) else [result]
    _check_shapes(model, [o.data for o in outputs])
    assert all(o.dtype == np.float64 for o in outputs)
    gradient_check(model, inputs, training=training, rtol=1e-5)


@pytest.mark.parametrize(("layer", "shape", "layout"), GRADCHECK_CASES)
def test_recurrent_float32_and_eval_determinism(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = model_for(layer, shape, layout=layout)
    inputs = random_inputs(model, batch=2)
    first = model(inputs)
    second = model(inputs)
    for a, b in zip(
        first if isinstance(first, tuple) else (first,), second if isinstance(second, tuple) else (second,)
    ):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a.data, b.data)
