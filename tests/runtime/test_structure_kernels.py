"""TimeDistributed and SqueezeExcitation kernels against PyTorch and finite differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import (
    compare_passes,
    load_into_torch,
    model_for,
    nchw_to_nhwc,
    nhwc_to_nchw,
    ours_pass,
    random_inputs,
    torch_pass,
)

from neural.runtime.gradcheck import gradient_check
from neural.runtime.kernels import supported_kinds
from neural.runtime.model import Model


def node_name(model: Model) -> str:
    return model.shaped.layers[-1].node.name


def output(model: Model, inputs: dict[str, np.ndarray], training: bool = False) -> np.ndarray:
    """The single output of a forward pass as an array."""
    result = model(inputs, training=training)
    assert not isinstance(result, tuple)
    return result.data


def check_shape(model: Model, out: np.ndarray) -> None:
    assert out.shape[1:] == tuple(model.shaped.layers[-1].output_shape)


# --- TimeDistributed ----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_time_distributed_dense_matches_torch_linear(layout: str) -> None:
    torch = pytest.importorskip("torch")
    model = model_for('TimeDistributed(Dense(3, "tanh"))', (4, 6), layout=layout)
    node = node_name(model)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    module = torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Tanh())
    rename = {"weight": "0.weight", "bias": "0.bias"}
    load_into_torch(module, model, node, rename=rename)
    theirs = torch_pass(module, [inputs["input"]], upstream)
    compare_passes(ours, theirs, param_names={f"{node}.{k}": v for k, v in rename.items()}, input_map={"input": "0"})


def test_time_distributed_conv2d_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    if "Conv2D" not in supported_kinds():
        pytest.skip("the Conv2D kernel is not implemented yet")
    model = model_for("TimeDistributed(Conv2D(4, 3))", (3, 6, 6, 2))
    node = node_name(model)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    conv = torch.nn.Conv2d(2, 4, 3)
    load_into_torch(conv, model, node)

    def forward(x: Any) -> Any:
        n, t = x.shape[:2]
        y = conv(x.reshape(n * t, *x.shape[2:]).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return y.reshape(n, t, *y.shape[1:])

    theirs = torch_pass(conv, [inputs["input"]], upstream, forward=forward)
    compare_passes(
        ours, theirs, param_names={f"{node}.weight": "weight", f"{node}.bias": "bias"}, input_map={"input": "0"}
    )


def test_time_distributed_flatten_and_shapes() -> None:
    model = model_for("TimeDistributed(Flatten())", (4, 3, 2))
    inputs = random_inputs(model)
    out = output(model, inputs)
    check_shape(model, out)
    np.testing.assert_array_equal(out, inputs["input"].reshape(2, 4, 6))


def test_time_distributed_dropout_uses_training_flag() -> None:
    model = model_for("TimeDistributed(Dropout(0.5))", (4, 8))
    inputs = random_inputs(model)
    np.testing.assert_array_equal(output(model, inputs), inputs["input"])
    assert (output(model, inputs, training=True) == 0).any()


@pytest.mark.parametrize(
    ("layer", "shape", "training"),
    [
        ('TimeDistributed(Dense(3, "gelu"))', (4, 5), False),
        ('TimeDistributed(FeedForward(6, "prelu"))', (3, 2, 4), False),
        ("TimeDistributed(Dropout(0.3))", (3, 4), True),
        ("TimeDistributed(SqueezeExcitation(2))", (3, 4, 6), False),
    ],
)
def test_time_distributed_gradients(layer: str, shape: tuple[int, ...], training: bool) -> None:
    model = model_for(layer, shape, dtype=np.float64)
    inputs = random_inputs(model)
    out = output(model, inputs)
    check_shape(model, out)
    gradient_check(model, inputs, training=training, rtol=1e-6)


# --- SqueezeExcitation --------------------------------------------------------------------------


def torchvision_squeeze_excitation(channels: int, squeeze: int, rank: int, activation: str, gate: str) -> Any:
    """torchvision.ops.SqueezeExcitation (channels-first), generalized to 1 to 3 spatial dims."""
    import torch

    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[rank]
    acts = {"relu": torch.nn.ReLU(), "silu": torch.nn.SiLU(), "prelu": torch.nn.PReLU()}

    class Module(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = conv(channels, squeeze, 1)
            self.fc2 = conv(squeeze, channels, 1)
            self.activation = acts[activation]
            self.scale_activation = torch.nn.Sigmoid() if gate == "sigmoid" else torch.nn.Hardsigmoid()

        def forward(self, x: Any) -> Any:
            scale = x.mean(dim=tuple(range(2, x.ndim)), keepdim=True)
            scale = self.scale_activation(self.fc2(self.activation(self.fc1(scale))))
            return scale * x

    return Module()


SE_CASES = [
    ("SqueezeExcitation(2)", (5, 5, 8), "channels_last"),
    ('SqueezeExcitation(ratio=0.5, activation="silu")', (7, 6), "channels_last"),
    ('SqueezeExcitation(3, gate="hard_sigmoid")', (3, 4, 4, 6), "channels_last"),
    ('SqueezeExcitation(activation="prelu")', (8, 5, 5), "channels_first"),
]


@pytest.mark.parametrize(("layer", "shape", "layout"), SE_CASES, ids=[c[0] + c[2] for c in SE_CASES])
def test_squeeze_excitation_matches_torchvision(layer: str, shape: tuple[int, ...], layout: str) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    node = node_name(model)
    cfg = model.shaped.layers[-1].node.config
    inputs = random_inputs(model)
    if cfg.gate == "hard_sigmoid":  # scale the squeeze so the gate is not saturated
        model.params[f"{node}.fc2.weight"].data[...] *= 4
    ours, upstream = ours_pass(model, inputs)
    check_shape(model, ours.outputs[0])
    channels_last = layout == "channels_last"
    channels = shape[-1] if channels_last else shape[0]
    squeeze = model.params[f"{node}.fc1.bias"].shape[0]
    module = torchvision_squeeze_excitation(channels, squeeze, len(shape) - 1, cfg.activation, cfg.gate)
    load_into_torch(module, model, node)
    to_torch = nhwc_to_nchw if channels_last else np.ascontiguousarray
    back = nchw_to_nhwc if channels_last else None
    theirs = torch_pass(module, [to_torch(inputs["input"])], [to_torch(u) for u in upstream])
    names = {f"{node}.{n}": n for n, _ in module.named_parameters()}
    compare_passes(
        ours, theirs, param_names=names, input_map={"input": "0"}, output_transform=back, input_grad_transform=back
    )


@pytest.mark.parametrize(("layer", "shape", "layout"), SE_CASES, ids=[c[0] + c[2] for c in SE_CASES])
def test_squeeze_excitation_gradients(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = model_for(layer, shape, dtype=np.float64, layout=layout)
    gradient_check(model, random_inputs(model), rtol=1e-6)
