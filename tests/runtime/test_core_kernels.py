"""Core, activation, merge and regularization kernels: against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import compare_passes, load_into_torch, model_for, ours_pass, random_inputs, torch_pass

from neural.runtime.gradcheck import gradient_check

ACTIVATION_LAYERS = [
    ("ReLU()", "ReLU"),
    ("ReLU6()", "ReLU6"),
    ("LeakyReLU(0.2)", "LeakyReLU"),
    ("ELU(0.7)", "ELU"),
    ("SELU()", "SELU"),
    ("GELU()", "GELU"),
    ('GELU(approximate="tanh")', "GELU_tanh"),
    ("SiLU()", "SiLU"),
    ("Mish()", "Mish"),
    ("Sigmoid()", "Sigmoid"),
    ("HardSigmoid()", "Hardsigmoid"),
    ("Tanh()", "Tanh"),
    ("Softplus()", "Softplus"),
    ("Softsign()", "Softsign"),
    ("Softmax()", "Softmax"),
    ("LogSoftmax()", "LogSoftmax"),
    ('Activation("exponential")', "exp"),
    ('Activation("linear")', "identity"),
    ("PReLU()", "PReLU"),
]


def torch_activation(name: str):  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    nn = torch.nn
    table = {
        "ReLU": nn.ReLU(),
        "ReLU6": nn.ReLU6(),
        "LeakyReLU": nn.LeakyReLU(0.2),
        "ELU": nn.ELU(0.7),
        "SELU": nn.SELU(),
        "GELU": nn.GELU(),
        "GELU_tanh": nn.GELU(approximate="tanh"),
        "SiLU": nn.SiLU(),
        "Mish": nn.Mish(),
        "Sigmoid": nn.Sigmoid(),
        "Hardsigmoid": nn.Hardsigmoid(),
        "Tanh": nn.Tanh(),
        "Softplus": nn.Softplus(),
        "Softsign": nn.Softsign(),
        "Softmax": nn.Softmax(-1),
        "LogSoftmax": nn.LogSoftmax(-1),
        "exp": None,
        "identity": nn.Identity(),
        "PReLU": nn.PReLU(),
    }
    return table[name]


@pytest.mark.parametrize(("layer", "torch_name"), ACTIVATION_LAYERS, ids=[a[1] for a in ACTIVATION_LAYERS])
def test_activation_layers_match_torch(layer: str, torch_name: str) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, (4, 6))
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    module = torch_activation(torch_name) or torch.nn.Identity()
    forward = torch.exp if torch_name == "exp" else None
    if torch_name == "PReLU":
        load_into_torch(module, model, model.shaped.layers[0].node.name)
    theirs = torch_pass(module, [inputs["input"]], upstream, forward=forward)
    params = {f"{model.shaped.layers[0].node.name}.weight": "weight"} if torch_name == "PReLU" else {}
    compare_passes(ours, theirs, param_names=params, input_map={"input": "0"})


@pytest.mark.parametrize(
    "activation", ["relu", "gelu", "tanh", "sigmoid", "softmax", "prelu", "selu", "mish", "elu", "leaky_relu"]
)
def test_dense_matches_torch_linear(activation: str) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(f'Dense(7, "{activation}")', (3, 5))
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    linear = torch.nn.Linear(5, 7)
    act = {
        "relu": torch.nn.ReLU(),
        "gelu": torch.nn.GELU(),
        "tanh": torch.nn.Tanh(),
        "sigmoid": torch.nn.Sigmoid(),
        "softmax": torch.nn.Softmax(-1),
        "prelu": torch.nn.PReLU(),
        "selu": torch.nn.SELU(),
        "mish": torch.nn.Mish(),
        "elu": torch.nn.ELU(),
        "leaky_relu": torch.nn.LeakyReLU(0.01),
    }[activation]
    module = torch.nn.Sequential(linear, act)
    rename = {"weight": "0.weight", "bias": "0.bias", "activation.weight": "1.weight"}
    load_into_torch(module, model, "dense_1", rename=rename)
    theirs = torch_pass(module, [inputs["input"]], upstream)
    names = {f"dense_1.{k}": v for k, v in rename.items() if f"dense_1.{k}" in model.params}
    compare_passes(ours, theirs, param_names=names, input_map={"input": "0"})


def test_embedding_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    model = model_for("Embedding(10, 4, padding_idx=0)", (6,))
    inputs = random_inputs(model, int_high=10)
    ours, upstream = ours_pass(model, inputs)
    module = torch.nn.Embedding(10, 4, padding_idx=0)
    load_into_torch(module, model, "embedding_1")
    theirs = torch_pass(module, [inputs["input"]], upstream)
    compare_passes(ours, theirs, param_names={"embedding_1.weight": "weight"}, input_map={})


@pytest.mark.parametrize(
    ("layers", "shapes"),
    [
        ("Dense(4)\nFlatten()", [(3, 2)]),
        ("Reshape((3, 4))", [(12,)]),
        ("Permute((2, 1))", [(3, 4)]),
        ("RepeatVector(3)", [(4,)]),
        ("Add()(a, b)", [(3, 4), (3, 4)]),
        ("Subtract()(a, b)", [(3, 4), (3, 4)]),
        ("Multiply()(a, b, c)", [(3, 4), (3, 4), (3, 4)]),
        ("Average()(a, b)", [(3, 4), (3, 4)]),
        ("Maximum()(a, b)", [(3, 4), (3, 4)]),
        ("Minimum()(a, b)", [(3, 4), (3, 4)]),
        ("Concatenate()(a, b)", [(3, 4), (3, 2)]),
        ("Concatenate(axis=0)(a, b)", [(3, 4), (2, 4)]),
        ("Dot(axes=1)(a, b)", [(4,), (4,)]),
        ("Dot(axes=(2, 2))(a, b)", [(3, 4), (5, 4)]),
        ("Dot(axes=2, normalize=true)(a, b)", [(3, 4), (5, 4)]),
        ('Dense(3, "prelu")\nSoftmax()', [(5,)]),
        ('Activation("softmax")', [(6,)]),
        ("GELU()", [(6,)]),
    ],
)
def test_core_kernels_gradients(layers: str, shapes: list[tuple[int, ...]]) -> None:
    model = model_for(layers, *shapes, dtype=np.float64)
    gradient_check(model, random_inputs(model), rtol=1e-6)


@pytest.mark.parametrize(
    "layer",
    ["Dropout(0.3)", "SpatialDropout1D(0.3)", "GaussianNoise(0.5)", "GaussianDropout(0.3)", "AlphaDropout(0.3)"],
)
def test_regularization_training_gradients_and_eval_identity(layer: str) -> None:
    model = model_for(layer, (6, 4), dtype=np.float64)
    inputs = random_inputs(model)
    gradient_check(model, inputs, training=True, rtol=1e-6)
    np.testing.assert_array_equal(model(inputs, training=False).data, inputs["input"])


def test_dropout_keeps_expectation() -> None:
    model = model_for("Dropout(0.4)", (20000,), dtype=np.float64)
    out = model({"input": np.ones((1, 20000))}, training=True).data
    assert abs(out.mean() - 1.0) < 0.03
    assert abs((out == 0).mean() - 0.4) < 0.02
