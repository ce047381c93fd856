"""PyTorch emitters of the normalization layers: exact against the NumPy runtime.

`check_layer` compares the outputs in evaluation mode and every state_dict entry after one training
step, so batch and instance norm's running statistics (buffers) are checked after a training-mode update.
Each case ends in a Dense layer, so that every normalization parameter gets a gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_helpers import check_layer, snippet_network

from neural.compare import NumpyReference, random_inputs, random_targets
from neural.targets.pytorch.adapter import Adapter
from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.load import import_network

# (layers, input shapes, layout); a shape (None, None, F) is a sequence of unknown length (the leading
# None is the batch axis in the language)
CASES = [
    # BatchNormalization: BatchNorm1d/2d/3d, momentum and epsilon, center/scale, axis, ranks, layouts
    ("BatchNormalization()\nDense(2)", [(8,)], "channels_last"),
    ("BatchNormalization(momentum=0.5, epsilon=0.01)\nFlatten()\nDense(2)", [(6, 4)], "channels_last"),
    ("BatchNormalization()\nDense(2)", [(None, None, 4)], "channels_last"),
    ("BatchNormalization()\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(momentum=0.99, eps=0.001)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(scale=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(center=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(affine=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(axis=1)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(axis=-1, center=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("BatchNormalization(2)\nFlatten()\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
    ("BatchNormalization()\nFlatten()\nDense(2)", [(2, 3, 2, 3, 2)], "channels_last"),
    ("BatchNormalization(axis=1)\nFlatten()\nDense(2)", [(2, 3, 2, 3, 2)], "channels_last"),
    ("BatchNormalization()\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("BatchNormalization(axis=-1, scale=false)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("BatchNormalization()\nFlatten()\nDense(2)", [(3, 6)], "channels_first"),
    # LayerNormalization: trailing shapes, center/scale, epsilon, layouts
    ("LayerNormalization()\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization()\nDense(2)", [(None, None, 4)], "channels_last"),
    ("LayerNormalization(axis=(-2, -1), epsilon=0.001)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization((4, 4, 3), center=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization(scale=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization(elementwise_affine=false)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("LayerNormalization(scale=false)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("LayerNormalization()\nDense(2)", [(6,)], "channels_last"),
    # InstanceNormalization: affine, center/scale, running statistics with momentum, axis, ranks, layouts
    ("InstanceNormalization()\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("InstanceNormalization(affine=true, epsilon=0.001)\nFlatten()\nDense(2)", [(6, 3)], "channels_last"),
    ("InstanceNormalization(affine=true)\nDense(2)", [(None, None, 3)], "channels_last"),
    ("InstanceNormalization(scale=true)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    ("InstanceNormalization(center=true)\nFlatten()\nDense(2)", [(4, 4, 3)], "channels_last"),
    (
        "InstanceNormalization(track_running_stats=true, momentum=0.7)\nFlatten()\nDense(2)",
        [(4, 4, 3)],
        "channels_last",
    ),
    (
        "InstanceNormalization(axis=0, affine=true, track_running_stats=true)\nFlatten()\nDense(2)",
        [(4, 4, 3)],
        "channels_last",
    ),
    ("InstanceNormalization(affine=true)\nFlatten()\nDense(2)", [(3, 4, 4, 2)], "channels_last"),
    (
        "InstanceNormalization(affine=true, track_running_stats=true)\nFlatten()\nDense(2)",
        [(2, 3, 2, 3, 2)],
        "channels_last",
    ),
    ("InstanceNormalization(affine=true)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    ("InstanceNormalization(track_running_stats=true)\nFlatten()\nDense(2)", [(3, 4, 4)], "channels_first"),
    # GroupNormalization: groups, center/scale, epsilon, axis, ranks, layouts
    ("GroupNormalization(2)\nFlatten()\nDense(2)", [(6, 4)], "channels_last"),
    ("GroupNormalization(4)\nDense(2)", [(8,)], "channels_last"),
    ("GroupNormalization(2)\nDense(2)", [(None, None, 4)], "channels_last"),
    ("GroupNormalization(3)\nFlatten()\nDense(2)", [(4, 4, 6)], "channels_last"),
    ("GroupNormalization(3, center=false, epsilon=0.001)\nFlatten()\nDense(2)", [(4, 4, 6)], "channels_last"),
    ("GroupNormalization(1, scale=false)\nFlatten()\nDense(2)", [(4, 4, 6)], "channels_last"),
    ("GroupNormalization(6, affine=false)\nFlatten()\nDense(2)", [(4, 4, 6)], "channels_last"),
    ("GroupNormalization(2, axis=1)\nFlatten()\nDense(2)", [(4, 6, 4)], "channels_last"),
    ("GroupNormalization(2)\nFlatten()\nDense(2)", [(2, 3, 2, 4)], "channels_last"),
    ("GroupNormalization(3)\nFlatten()\nDense(2)", [(6, 4, 4)], "channels_first"),
    ("GroupNormalization(3, scale=false)\nFlatten()\nDense(2)", [(6, 4, 4)], "channels_first"),
    # a chain: norms on a channels-first flow, then a layer norm on the channels-last view
    (
        "BatchNormalization()\nGroupNormalization(2)\nInstanceNormalization(affine=true)\nLayerNormalization()\n"
        "Flatten()\nDense(2)",
        [(4, 4, 4)],
        "channels_last",
    ),
]


@pytest.mark.parametrize(
    ("layers", "shapes", "layout"), CASES, ids=[f"{c[0].replace(chr(10), ' | ')} {c[1]} {c[2]}" for c in CASES]
)
def test_emitter_matches_numpy_runtime(layers: str, shapes: list[tuple[int | None, ...]], layout: str) -> None:
    check_layer(layers, *shapes, layout=layout)


def test_input_with_unknown_channels_uses_the_functional_instance_norm() -> None:
    """Without parameters or running statistics the channel count may be unknown: F.instance_norm."""
    shaped = snippet_network("InstanceNormalization()", (None, 5, None), loss=None)
    assert "F.instance_norm(" in generate(shaped)
    check_layer("InstanceNormalization()", (None, 5, None), loss=None)


def _module_lines(layers: str, shape: tuple[int, ...], layout: str = "channels_last") -> str:
    code = generate(snippet_network(layers, shape, layout=layout))
    return code[code.index("class T(") : code.index("def build_model")]


@pytest.mark.parametrize(
    ("layers", "shape", "expected"),
    [
        ("BatchNormalization()", (4, 4, 3), "nn.BatchNorm2d(3)"),
        ("BatchNormalization(momentum=0.99, epsilon=0.001)", (6, 3), "nn.BatchNorm1d(3, eps=0.001, momentum=0.01)"),
        ("BatchNormalization()", (2, 2, 2, 3), "nn.BatchNorm3d(3)"),
        ("BatchNormalization(affine=false)", (5,), "nn.BatchNorm1d(5, affine=False)"),
        ("LayerNormalization(axis=(-2, -1), center=false)", (4, 3), "nn.LayerNorm((4, 3), bias=False)"),
        ("LayerNormalization(affine=false)", (4, 3), "nn.LayerNorm(3, elementwise_affine=False)"),
        (
            "InstanceNormalization(affine=true, track_running_stats=true, momentum=0.8)",
            (4, 4, 3),
            "nn.InstanceNorm2d(3, momentum=0.2, affine=True, track_running_stats=True)",
        ),
        ("GroupNormalization(2)", (4, 4, 6), "nn.GroupNorm(2, 6)"),
        ("GroupNormalization(2, scale=false)", (4, 4, 6), "GroupNorm(2, 6, scale=False)"),
    ],
)
def test_generated_modules_are_torch_modules(layers: str, shape: tuple[int, ...], expected: str) -> None:
    assert f"= {expected}" in _module_lines(layers, shape)


def test_one_sided_affine_removes_the_other_parameter() -> None:
    lines = _module_lines("BatchNormalization(center=false)", (4, 4, 3))
    assert '.register_parameter("bias", None)' in lines
    lines = _module_lines("InstanceNormalization(center=true)", (4, 4, 3))
    assert "affine=True" in lines and '.register_parameter("weight", None)' in lines


def test_non_channel_axis_is_moved_to_dim_1_and_back() -> None:
    lines = _module_lines("BatchNormalization(axis=1)", (5, 4, 3))
    assert "nn.BatchNorm2d(4)" in lines
    assert "self.batch_normalization_1(input.movedim(2, 1)).movedim(1, 2)" in lines
    # the first axis of a channels-last input is dim 1 already
    lines = _module_lines("BatchNormalization(axis=0)", (5, 4, 3))
    assert "self.batch_normalization_1(input)" in lines


@pytest.mark.parametrize(
    "layer",
    ["BatchNormalization(momentum=0.7)", "InstanceNormalization(track_running_stats=true, affine=true, momentum=0.6)"],
)
def test_running_statistics_after_a_training_step_equal_the_numpy_runtime(layer: str) -> None:
    """The training-mode step updates running_mean/var (buffers) exactly as the NumPy runtime does."""
    shaped = snippet_network(f"{layer}\nFlatten()\nDense(2)", (4, 4, 3))
    rng = np.random.default_rng(1)
    reference = NumpyReference(shaped, 1)
    weights = reference.initial_weights()
    inputs = {name: value + 1.5 for name, value in random_inputs(shaped, 3, rng).items()}  # means away from 0
    targets = random_targets(shaped, reference.forward(weights, inputs)[0], rng)
    expected = reference.train_step(weights, inputs, targets, training=True)
    stepped = Adapter(shaped).train_step(weights, inputs, targets, training=True)
    name = shaped.layers[0].node.name
    for buffer in ("running_mean", "running_var"):
        key = f"{name}.{buffer}"
        assert not np.allclose(expected[key], weights[key])  # the step did update the statistics
        np.testing.assert_allclose(stepped[key], expected[key], rtol=1e-5, atol=1e-6)


def test_group_norm_on_a_channels_last_input_trains() -> None:
    """torch's CPU group-norm backward crashes on channels-last strided inputs that need no gradient;
    the generated code makes them contiguous."""
    module = import_network(snippet_network("GroupNormalization(2)\nFlatten()\nDense(2)", (4, 4, 6)))
    model = module.build_model().train()
    model(torch.randn(2, 4, 4, 6)).sum().backward()
    assert model.group_normalization_1.weight.grad is not None
