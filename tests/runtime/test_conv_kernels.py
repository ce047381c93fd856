"""Convolution kernels (Conv, ConvTranspose, Depthwise, Separable in 1-3 D): against PyTorch (forward and
every gradient), Keras (TensorFlow's "same" rules, forward) and float64 finite differences.

The PyTorch references are built from the layer's normalized config, not from our kernels: "same",
"causal" and explicit pads become `F.pad` before an unpadded torch convolution; a transposed
convolution is torch's full (unpadded) transposed convolution cropped / zero-extended to the output
the spec predicts, plus the bias everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
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

from neural.layers.base import LayerContext
from neural.layers.conv import axis_padding, effective_kernel, same_padding
from neural.runtime.gradcheck import gradient_check
from neural.runtime.model import Model

CL, CF = "channels_last", "channels_first"

CONV_CASES = [
    ("Conv1D(4, 3)", (9, 3), CL),
    ('Conv1D(4, 3, strides=2, padding="same")', (10, 3), CL),
    ('Conv1D(4, 3, padding="causal", dilation_rate=2)', (9, 3), CL),
    ("Conv1D(6, 3, groups=3, padding=(1, 2), strides=2)", (9, 3), CF),
    ("Conv2D(5, 3)", (7, 8, 3), CL),
    ('Conv2D(4, (3, 2), strides=(2, 1), padding="same")', (7, 8, 3), CL),
    ('Conv2D(4, 4, strides=3, padding="same", use_bias=false)', (10, 8, 3), CL),
    ('Conv2D(4, 3, strides=2, dilation_rate=2, padding="same")', (9, 8, 2), CL),
    ("Conv2D(6, 3, groups=3, padding=((1, 0), (2, 1)), use_bias=false)", (7, 8, 6), CL),
    ('Conv2D(4, 3, "relu", padding="same")', (3, 7, 8), CF),
    ('Conv2D(4, 3, "tanh", strides=2, groups=2, padding="same")', (4, 7, 8), CF),
    ("Conv3D(4, 2)", (4, 5, 6, 2), CL),
    ('Conv3D(4, (2, 3, 2), strides=(1, 2, 2), padding="same", groups=2)', (4, 5, 6, 2), CL),
    ("Conv2D(3, 2, strides=2)", (2, 7, 8), CF),
    ("Conv3D(3, 2, dilation_rate=(1, 2, 1), padding=1)", (2, 4, 5, 6), CF),
]

TRANSPOSE_CASES = [
    ("Conv1DTranspose(4, 3)", (5, 3), CL),
    ('Conv1DTranspose(4, 3, strides=2, padding="same")', (5, 3), CL),
    ("Conv1DTranspose(4, 3, strides=4)", (5, 3), CL),
    ("Conv1DTranspose(4, 3, strides=2, padding=(1, 2), output_padding=1)", (5, 3), CF),
    ("Conv2DTranspose(4, 3, strides=2, padding=1, output_padding=1)", (4, 5, 3), CL),
    ('Conv2DTranspose(4, (3, 2), strides=(2, 3), padding="same")', (4, 5, 3), CL),
    ('Conv2DTranspose(4, 4, strides=3, padding="same", output_padding=(1, 2))', (4, 5, 3), CL),
    ("Conv2DTranspose(6, 3, groups=3, strides=2, dilation_rate=2, output_padding=1)", (4, 5, 6), CL),
    ('Conv2DTranspose(4, 3, "relu", strides=2, padding="same", use_bias=false)', (3, 4, 5), CF),
    ("Conv3DTranspose(3, 2, strides=2)", (2, 3, 4, 2), CL),
    ('Conv3DTranspose(4, 3, strides=(1, 2, 2), padding="same", groups=2)', (4, 2, 3, 4), CF),
]

DEPTHWISE_CASES = [
    ("DepthwiseConv1D(3)", (9, 4), CL),
    ('DepthwiseConv1D(3, padding="causal", depth_multiplier=2, use_bias=false)', (9, 4), CL),
    ("DepthwiseConv2D(3)", (7, 8, 3), CL),
    ('DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same")', (7, 8, 3), CL),
    ('DepthwiseConv2D((2, 3), "relu", dilation_rate=2, padding=((1, 1), (0, 2)))', (3, 7, 8), CF),
]

SEPARABLE_CASES = [
    ('SeparableConv1D(4, 3, "relu")', (9, 3), CL),
    ('SeparableConv1D(4, 3, padding="causal", depth_multiplier=2, use_bias=false)', (9, 3), CF),
    ("SeparableConv2D(5, 3)", (7, 8, 3), CL),
    ('SeparableConv2D(5, 3, depth_multiplier=2, padding="same", strides=2)', (7, 8, 3), CL),
    ('SeparableConv2D(4, (3, 2), "tanh", dilation_rate=(1, 2), padding="same")', (3, 7, 8), CF),
]

ALL_CASES = CONV_CASES + TRANSPOSE_CASES + DEPTHWISE_CASES + SEPARABLE_CASES


def _ids(cases: list[tuple[str, tuple[int, ...], str]]) -> list[str]:
    return [f"{layer}-{'cf' if layout == CF else 'cl'}" for layer, _, layout in cases]


# --------------------------------------------------------------------------------------------
# PyTorch references
# --------------------------------------------------------------------------------------------


def _torch_activation(name: str | None) -> Callable[[Any], Any]:
    torch = pytest.importorskip("torch")
    table: dict[str | None, Callable[[Any], Any]] = {
        None: lambda t: t,
        "linear": lambda t: t,
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
    }
    return table[name]


def _layer_geometry(model: Model, layout: str) -> tuple[Any, tuple[int, ...], int, tuple[int, ...], int]:
    """(config, input spatial, input channels, output spatial, output channels) from the shape engine."""
    layer = model.shaped.layers[-1]
    ctx = LayerContext(layout)
    spatial, channels = ctx.split(layer.input_shapes[0])
    out_spatial, out_channels = ctx.split(layer.output_shapes[0])
    return layer.node.config, spatial, channels, out_spatial, out_channels  # type: ignore[return-value]


def _forward_pads(cfg: Any, spatial: tuple[int, ...]) -> list[tuple[int, int]]:
    """The spec's padding rules, written out: TensorFlow "same", "causal" zeros before, explicit pairs."""
    pads = []
    for i, (n, k, s, d) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate)):
        mode = axis_padding(cfg.padding, i)
        if mode == "same":
            pads.append(same_padding(n, k, s, d))
        elif mode == "causal":
            pads.append((d * (k - 1), 0))
        elif mode == "valid":
            pads.append((0, 0))
        else:
            pads.append(tuple(mode))
    return pads


def _flat(pads: list[tuple[int, int]]) -> list[int]:
    """(before, after) per spatial axis -> F.pad's list, last axis first."""
    return [v for pair in reversed(pads) for v in pair]


def _torch_conv_module(rank: int, cin: int, cout: int, cfg: Any, groups: int, bias: bool) -> Any:
    torch = pytest.importorskip("torch")
    cls = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[rank]
    return cls(cin, cout, cfg.kernel_size, stride=cfg.strides, dilation=cfg.dilation_rate, groups=groups, bias=bias)


def conv_reference(model: Model, layout: str) -> tuple[Any, Callable[[Any], Any], dict[str, str]]:
    """(torch module, forward on channels-first input, our param name -> torch name)."""
    import torch.nn.functional as F

    cfg, spatial, cin, _, cout = _layer_geometry(model, layout)
    node = model.shaped.layers[-1].node
    if node.kind.startswith("Separable"):
        torch = pytest.importorskip("torch")
        inner = cin * cfg.depth_multiplier
        depthwise = _torch_conv_module(len(spatial), cin, inner, cfg, cin, False)
        pointwise = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d}[len(spatial)](inner, cout, 1, bias=cfg.use_bias)
        module = torch.nn.Sequential(depthwise, pointwise)
        names = {"depthwise.weight": "0.weight", "pointwise.weight": "1.weight", "pointwise.bias": "1.bias"}
    else:
        groups = cin if node.kind.startswith("Depthwise") else cfg.groups
        module = _torch_conv_module(len(spatial), cin, cout, cfg, groups, cfg.use_bias)
        names = {"weight": "weight", "bias": "bias"}
    pads = _flat(_forward_pads(cfg, spatial))
    act = _torch_activation(cfg.get("activation"))
    return module, lambda x: act(module(F.pad(x, pads))), names


def transpose_reference(model: Model, layout: str) -> tuple[Any, Callable[[Any], Any], dict[str, str]]:
    """Torch's full transposed convolution, then the output window of the spec: `before` positions cropped
    (valid 0, explicit its own, same TensorFlow's split of max((n - 1) * s + k_eff - out, 0)), zeros past
    the end, bias everywhere."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    cfg, spatial, cin, out, cout = _layer_geometry(model, layout)
    rank = len(spatial)
    cls = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}[rank]
    module = cls(
        cin, cout, cfg.kernel_size, stride=cfg.strides, dilation=cfg.dilation_rate, groups=cfg.groups, bias=cfg.use_bias
    )
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    befores = []
    for i, (n, o, k, s, d) in enumerate(zip(spatial, out, cfg.kernel_size, cfg.strides, cfg.dilation_rate)):
        mode = axis_padding(cfg.padding, i)
        if mode == "same":
            befores.append(max((n - 1) * s + effective_kernel(k, d) - o, 0) // 2)
        else:
            befores.append(0 if mode == "valid" else mode[0])
    act = _torch_activation(cfg.get("activation"))

    def forward(x: Any) -> Any:
        full = fn(x, module.weight, None, stride=cfg.strides, dilation=cfg.dilation_rate, groups=cfg.groups)
        window = [(-b, o - (f - b)) for b, o, f in zip(befores, out, full.shape[2:])]
        y = F.pad(full, _flat(window))
        if module.bias is not None:
            y = y + module.bias.view(1, -1, *([1] * rank))
        return act(y)

    return module, forward, {"weight": "weight", "bias": "bias"}


def check_against_torch(
    model: Model, module: Any, forward: Callable[[Any], Any], names: dict[str, str], layout: str
) -> None:
    """Forward within 1e-5 and every gradient within 1e-4 of torch; output shape as the spec predicts."""
    node = model.shaped.layers[-1].node.name
    load_into_torch(module, model, node, rename=names)
    inputs = random_inputs(model)
    ours, upstream = ours_pass(model, inputs)
    assert ours.outputs[0].shape[1:] == model.shaped.layers[-1].output_shapes[0]
    assert ours.outputs[0].dtype == np.float32
    to_torch = nhwc_to_nchw if layout == CL else np.ascontiguousarray
    back = nchw_to_nhwc if layout == CL else None
    theirs = torch_pass(module, [to_torch(inputs["input"])], [to_torch(u) for u in upstream], forward=forward)
    params = {
        f"{node}.{ours_name}": torch_name
        for ours_name, torch_name in names.items()
        if f"{node}.{ours_name}" in model.params
    }
    compare_passes(
        ours, theirs, param_names=params, input_map={"input": "0"}, output_transform=back, input_grad_transform=back
    )


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "layout"),
    CONV_CASES + DEPTHWISE_CASES + SEPARABLE_CASES,
    ids=_ids(CONV_CASES + DEPTHWISE_CASES + SEPARABLE_CASES),
)
def test_convolutions_match_torch(layer: str, shape: tuple[int, ...], layout: str) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    check_against_torch(model, *conv_reference(model, layout), layout=layout)


@pytest.mark.parametrize(("layer", "shape", "layout"), TRANSPOSE_CASES, ids=_ids(TRANSPOSE_CASES))
def test_transposed_convolutions_match_torch(layer: str, shape: tuple[int, ...], layout: str) -> None:
    pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    check_against_torch(model, *transpose_reference(model, layout), layout=layout)


def test_transposed_padding_matches_torch_module() -> None:
    """Symmetric explicit padding with output_padding is exactly torch.nn.ConvTranspose2d's."""
    torch = pytest.importorskip("torch")
    model = model_for("Conv2DTranspose(4, 3, strides=2, padding=1, output_padding=1, dilation_rate=1)", (4, 5, 3))
    module = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
    check_against_torch(model, module, module, {"weight": "weight", "bias": "bias"}, CL)


@pytest.mark.parametrize(("layer", "shape", "layout"), ALL_CASES, ids=_ids(ALL_CASES))
def test_convolution_gradients(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = model_for(layer, shape, layout=layout, dtype=np.float64)
    inputs = random_inputs(model)
    assert model(inputs).data.dtype == np.float64
    gradient_check(model, inputs, rtol=1e-6, limit=25)


def test_prelu_fused_activation_gradients() -> None:
    model = model_for('Conv2D(3, 3, "prelu", padding="same")', (5, 5, 2), dtype=np.float64)
    gradient_check(model, random_inputs(model), rtol=1e-6, limit=25)


KERAS_CASES = [
    (
        'Conv2D(4, 3, strides=2, padding="same")',
        (7, 8, 3),
        "Conv2D",
        {"kernel_size": 3, "strides": 2, "padding": "same"},
    ),
    (
        'Conv2D(4, 4, strides=3, padding="same")',
        (10, 8, 3),
        "Conv2D",
        {"kernel_size": 4, "strides": 3, "padding": "same"},
    ),
    (
        'Conv2DTranspose(4, 3, strides=2, padding="same")',
        (4, 5, 3),
        "Conv2DTranspose",
        {"kernel_size": 3, "strides": 2, "padding": "same"},
    ),
    (
        'Conv2DTranspose(4, 4, strides=3, padding="same")',
        (4, 5, 3),
        "Conv2DTranspose",
        {"kernel_size": 4, "strides": 3, "padding": "same"},
    ),
    ("Conv2DTranspose(4, 2, strides=3)", (4, 5, 3), "Conv2DTranspose", {"kernel_size": 2, "strides": 3}),
    (
        'Conv2DTranspose(4, 4, strides=3, padding="same", output_padding=(1, 2))',
        (4, 5, 3),
        "Conv2DTranspose",
        {"kernel_size": 4, "strides": 3, "padding": "same", "output_padding": (1, 2)},
    ),
    (
        "Conv2DTranspose(4, 3, strides=2, output_padding=1)",
        (4, 5, 3),
        "Conv2DTranspose",
        {"kernel_size": 3, "strides": 2, "output_padding": 1},
    ),
    (
        'Conv1D(4, 3, padding="causal", dilation_rate=2)',
        (9, 3),
        "Conv1D",
        {"kernel_size": 3, "padding": "causal", "dilation_rate": 2},
    ),
]


@pytest.mark.parametrize(("layer", "shape", "keras_kind", "kwargs"), KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_tensorflow_padding_rules_match_keras(
    layer: str, shape: tuple[int, ...], keras_kind: str, kwargs: dict[str, Any]
) -> None:
    """The "same" (and "causal") padding follows TensorFlow, including where it differs from torch's symmetric padding."""
    keras = pytest.importorskip("keras")
    model = model_for(layer, shape)
    node = model.shaped.layers[-1].node.name
    x = random_inputs(model)["input"]
    weight = model.params[f"{node}.weight"].data
    rank = weight.ndim - 2
    kernel = np.transpose(weight, (*range(2, 2 + rank), 1, 0))  # both layouts: (*k, in, out) / (*k, out, in)
    reference = getattr(keras.layers, keras_kind)(4, **kwargs)
    reference.build((None, *shape))
    reference.set_weights([kernel, model.params[f"{node}.bias"].data])
    np.testing.assert_allclose(model({"input": x}).data, np.asarray(reference(x)), rtol=1e-5, atol=1e-5)


def test_batch_of_one_and_odd_sizes() -> None:
    """Batch 1, a 1x1 kernel and a kernel as large as the input."""
    for layer, shape in [("Conv2D(3, 1)", (4, 5, 2)), ("Conv2D(3, (4, 5))", (4, 5, 2))]:
        model = model_for(layer, shape, dtype=np.float64)
        gradient_check(model, random_inputs(model, batch=1), rtol=1e-6, limit=15)


@pytest.mark.parametrize(
    "layer",
    [
        'Conv2D(4, 3, strides=2, padding="same")',
        'Conv2DTranspose(3, 3, strides=2, padding="same")',
        "DepthwiseConv2D(3)",
    ],
)
def test_unknown_spatial_sizes_follow_the_input(layer: str) -> None:
    """With `(None, None, C)` inputs the kernels size everything from the arrays they receive."""
    model = model_for(layer, (None, None, None, 2), dtype=np.float64)  # a leading None is the batch axis
    for size in (5, 8):
        inputs = random_inputs(model, fill={None: size})
        gradient_check(model, inputs, rtol=1e-6, limit=10)
