"""Normalization kernels (batch, layer, instance, group): against PyTorch and finite differences."""

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
from neural.runtime.model import Model
from neural.runtime.tensor import Tensor


def _one(result: Tensor | tuple[Tensor, ...]) -> Tensor:
    assert isinstance(result, Tensor)
    return result


def _node(model: Model) -> str:
    return model.shaped.layers[-1].node.name


def _randomize(model: Model, seed: int = 5) -> None:
    """Non-trivial weights and running statistics (the defaults are ones/zeros)."""
    rng = np.random.default_rng(seed)
    values = {}
    for name, value in model.state_dict().items():
        if name.endswith("running_var"):
            values[name] = rng.uniform(0.5, 2.0, value.shape)
        elif name.endswith("weight"):
            values[name] = rng.uniform(0.5, 1.5, value.shape)
        else:
            values[name] = rng.standard_normal(value.shape)
    model.load_state_dict(values)


def _compare(model: Model, module: Any, *, training: bool, channels_last: bool, params: dict[str, str]) -> None:
    """One pass of ours and of torch (NCHW input) on the same weights; then the running statistics."""
    torch = pytest.importorskip("torch")
    node = _node(model)
    load_into_torch(module, model, node, rename=params)
    module.train(training)
    inputs = random_inputs(model, batch=3)
    x = inputs["input"]
    ours, upstream = ours_pass(model, inputs, training=training)  # a probe forward, then the pass
    to_torch = nhwc_to_nchw if channels_last else np.ascontiguousarray
    back = nchw_to_nhwc if channels_last else None
    torch_up = [to_torch(u) for u in upstream]
    # torch sees the probe too (two training steps in all)
    with torch.no_grad():
        module(torch.tensor(to_torch(x)))
    theirs = torch_pass(module, [to_torch(x)], torch_up)
    names = {
        f"{node}.{ours_name}": torch_name
        for ours_name, torch_name in params.items()
        if f"{node}.{ours_name}" in model.params
    }
    compare_passes(
        ours, theirs, param_names=names, input_map={"input": "0"}, output_transform=back, input_grad_transform=back
    )
    for stat in ("running_mean", "running_var"):
        if f"{node}.{stat}" in model.state:
            np.testing.assert_allclose(
                model.state[f"{node}.{stat}"], getattr(module, stat).numpy(), rtol=1e-5, atol=1e-6
            )


AFFINE = {"weight": "weight", "bias": "bias", "running_mean": "running_mean", "running_var": "running_var"}


# --- BatchNormalization --------------------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("layer", "shape", "layout", "torch_kind", "torch_kwargs"),
    [
        ("BatchNormalization()", (6,), "channels_last", "BatchNorm1d", {}),
        (
            "BatchNormalization(momentum=0.7, epsilon=1e-3)",
            (5, 4),
            "channels_last",
            "BatchNorm1d",
            {"momentum": 0.3, "eps": 1e-3},
        ),
        ("BatchNormalization()", (4, 5), "channels_first", "BatchNorm1d", {}),
        ("BatchNormalization()", (5, 4, 3), "channels_last", "BatchNorm2d", {}),
        ("BatchNormalization()", (3, 5, 4), "channels_first", "BatchNorm2d", {}),
        ("BatchNormalization(affine=false)", (5, 4, 3), "channels_last", "BatchNorm2d", {"affine": False}),
        ("BatchNormalization()", (3, 4, 3, 2), "channels_last", "BatchNorm3d", {}),
        ("BatchNormalization()", (2, 3, 4, 3), "channels_first", "BatchNorm3d", {}),
    ],
)
def test_batch_norm_matches_torch(
    layer: str, shape: tuple[int, ...], layout: str, torch_kind: str, torch_kwargs: dict[str, Any], training: bool
) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    _randomize(model)
    channels = shape[-1] if layout == "channels_last" else shape[0]
    module = getattr(torch.nn, torch_kind)(channels, **torch_kwargs)
    _compare(
        model, module, training=training, channels_last=layout == "channels_last" and len(shape) > 1, params=AFFINE
    )


def test_batch_norm_running_statistics_follow_torch_over_steps() -> None:
    """Three training steps with momentum 0.8 (PyTorch 0.2), then eval with the running averages."""
    torch = pytest.importorskip("torch")
    model = model_for("BatchNormalization(momentum=0.8)", (7, 3))
    module = torch.nn.BatchNorm1d(3, momentum=0.2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = (rng.standard_normal((4, 7, 3)) * 3 + 1).astype(np.float32)
        model({"input": x}, training=True)
        module.train()(torch.tensor(nhwc_to_nchw(x)))
    np.testing.assert_allclose(
        model.state["batch_normalization_1.running_mean"], module.running_mean.numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(model.state["batch_normalization_1.running_var"], module.running_var.numpy(), rtol=1e-5)
    x = rng.standard_normal((2, 7, 3)).astype(np.float32)
    expected = module.eval()(torch.tensor(nhwc_to_nchw(x))).detach().numpy()
    np.testing.assert_allclose(_one(model({"input": x})).data, nchw_to_nhwc(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("scale", "center"), [(True, False), (False, True)])
def test_batch_norm_partial_affine_matches_torch(scale: bool, center: bool) -> None:
    """Keras' separate switches: torch with the missing one fixed (ones / zeros)."""
    torch = pytest.importorskip("torch")
    model = model_for(f"BatchNormalization(scale={str(scale).lower()}, center={str(center).lower()})", (5, 3))
    _randomize(model)
    module = torch.nn.BatchNorm1d(3)
    inputs = random_inputs(model, batch=3)
    ours, upstream = ours_pass(model, inputs, training=True)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = model.state_dict().get(f"batch_normalization_1.{name}")
            if value is not None:
                getattr(module, name).copy_(torch.tensor(value))
    theirs = torch_pass(module.train(), [nhwc_to_nchw(inputs["input"])], [nhwc_to_nchw(u) for u in upstream])
    names = {"batch_normalization_1.weight": "weight"} if scale else {"batch_normalization_1.bias": "bias"}
    compare_passes(
        ours,
        theirs,
        param_names=names,
        input_map={"input": "0"},
        output_transform=nchw_to_nhwc,
        input_grad_transform=nchw_to_nhwc,
    )


def test_batch_norm_explicit_axis_matches_transposed_torch() -> None:
    """`axis=0` on a channels-last (C, L) input: the first non-batch axis holds the channels."""
    torch = pytest.importorskip("torch")
    model = model_for("BatchNormalization(axis=0)", (3, 5))
    _randomize(model)
    module = torch.nn.BatchNorm1d(3)
    _compare(model, module, training=True, channels_last=False, params=AFFINE)


def test_batch_norm_needs_more_than_one_value_in_training() -> None:
    model = model_for("BatchNormalization()", (4,))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        model({"input": np.ones((1, 4), np.float32)}, training=True)
    assert _one(model({"input": np.ones((1, 4), np.float32)}, training=False)).shape == (1, 4)


# --- LayerNormalization --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "normalized"),
    [
        ("LayerNormalization()", (4, 6), (6,)),
        ("LayerNormalization(axis=(-2, -1))", (3, 4, 5), (4, 5)),
        ("LayerNormalization((4, 5), epsilon=1e-3)", (3, 4, 5), (4, 5)),
        ("LayerNormalization(elementwise_affine=false)", (8,), (8,)),
    ],
)
def test_layer_norm_matches_torch(layer: str, shape: tuple[int, ...], normalized: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, shape)
    _randomize(model)
    eps = 1e-3 if "epsilon" in layer else 1e-5
    module = torch.nn.LayerNorm(normalized, eps=eps, elementwise_affine="false" not in layer)
    _compare(model, module, training=True, channels_last=False, params={"weight": "weight", "bias": "bias"})


# --- InstanceNormalization -----------------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("layer", "shape", "layout", "torch_kind", "torch_kwargs"),
    [
        ("InstanceNormalization()", (6, 3), "channels_last", "InstanceNorm1d", {}),
        ("InstanceNormalization(affine=true)", (3, 6), "channels_first", "InstanceNorm1d", {"affine": True}),
        ("InstanceNormalization(affine=true)", (4, 5, 3), "channels_last", "InstanceNorm2d", {"affine": True}),
        (
            "InstanceNormalization(affine=true, track_running_stats=true, momentum=0.8)",
            (4, 5, 3),
            "channels_last",
            "InstanceNorm2d",
            {"affine": True, "track_running_stats": True, "momentum": 0.2},
        ),
        (
            "InstanceNormalization(track_running_stats=true)",
            (3, 4, 5),
            "channels_first",
            "InstanceNorm2d",
            {"track_running_stats": True},
        ),
        ("InstanceNormalization(affine=true)", (2, 3, 4, 2), "channels_first", "InstanceNorm3d", {"affine": True}),
    ],
)
def test_instance_norm_matches_torch(
    layer: str, shape: tuple[int, ...], layout: str, torch_kind: str, torch_kwargs: dict[str, Any], training: bool
) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    _randomize(model)
    channels = shape[-1] if layout == "channels_last" else shape[0]
    module = getattr(torch.nn, torch_kind)(channels, **torch_kwargs)
    _compare(model, module, training=training, channels_last=layout == "channels_last", params=AFFINE)


# --- GroupNormalization --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "layout", "groups", "channels"),
    [
        ("GroupNormalization(2)", (5, 4), "channels_last", 2, 4),
        ("GroupNormalization(3, epsilon=1e-3)", (4, 3, 6), "channels_last", 3, 6),
        ("GroupNormalization(2)", (6, 3, 4), "channels_first", 2, 6),
        ("GroupNormalization(1)", (3, 4), "channels_first", 1, 3),
        ("GroupNormalization(4, affine=false)", (3, 2, 4), "channels_last", 4, 4),
        ("GroupNormalization(4)", (4, 2, 3, 2), "channels_first", 4, 4),
    ],
)
def test_group_norm_matches_torch(layer: str, shape: tuple[int, ...], layout: str, groups: int, channels: int) -> None:
    torch = pytest.importorskip("torch")
    model = model_for(layer, shape, layout=layout)
    _randomize(model)
    eps = 1e-3 if "epsilon" in layer else 1e-5
    module = torch.nn.GroupNorm(groups, channels, eps=eps, affine="affine" not in layer)
    _compare(
        model,
        module,
        training=True,
        channels_last=layout == "channels_last",
        params={"weight": "weight", "bias": "bias"},
    )


# --- shapes and finite differences ---------------------------------------------------------------


GRADCHECK_CASES = [
    ("BatchNormalization()", (5, 3), "channels_last"),
    ("BatchNormalization(center=false)", (3, 4, 2), "channels_first"),
    ("BatchNormalization(axis=0, scale=false)", (3, 4), "channels_last"),
    ("LayerNormalization()", (3, 5), "channels_last"),
    ("LayerNormalization(axis=(-2, -1))", (2, 3, 4), "channels_first"),
    ("InstanceNormalization(affine=true)", (4, 3), "channels_last"),
    ("InstanceNormalization(affine=true, track_running_stats=true)", (2, 3, 4), "channels_first"),
    ("InstanceNormalization()", (3, 3, 2), "channels_last"),
    ("GroupNormalization(2)", (3, 4), "channels_last"),
    ("GroupNormalization(3)", (6, 2, 3), "channels_first"),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("layer", "shape", "layout"), GRADCHECK_CASES)
def test_normalization_gradients(layer: str, shape: tuple[int, ...], layout: str, training: bool) -> None:
    model = model_for(layer, shape, layout=layout, dtype=np.float64)
    _randomize(model)
    inputs = random_inputs(model, batch=3)
    out = _one(model(inputs, training=training))
    assert out.shape[1:] == model.shaped.layers[-1].output_shapes[0]
    assert out.dtype == np.float64
    gradient_check(model, inputs, training=training, rtol=1e-5)


@pytest.mark.parametrize(("layer", "shape", "layout"), GRADCHECK_CASES)
def test_normalization_float32_shapes(layer: str, shape: tuple[int, ...], layout: str) -> None:
    model = model_for(layer, shape, layout=layout)
    for training in (True, False):
        out = _one(model(random_inputs(model), training=training))
        assert out.shape[1:] == model.shaped.layers[-1].output_shapes[0]
        assert out.dtype == np.float32
        assert all(v.dtype == np.float32 for v in model.state.values())
