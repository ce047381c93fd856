"""PyTorch emitters of the normalization layers: the torch modules they choose and the code around them.
Their numbers, running statistics after a training step included, are the conformance suite's
(tests/conformance)."""

from __future__ import annotations

import pytest
import torch
from torch_helpers import snippet_network

from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.load import import_network


def test_input_with_unknown_channels_uses_the_functional_instance_norm() -> None:
    """Without parameters or running statistics the channel count may be unknown: F.instance_norm."""
    shaped = snippet_network("InstanceNormalization()", (None, 5, None), loss=None)
    assert "F.instance_norm(" in generate(shaped)


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


def test_group_norm_on_a_channels_last_input_trains() -> None:
    """torch's CPU group-norm backward crashes on channels-last strided inputs that need no gradient;
    the generated code makes them contiguous."""
    module = import_network(snippet_network("GroupNormalization(2)\nFlatten()\nDense(2)", (4, 4, 6)))
    model = module.build_model().train()
    model(torch.randn(2, 4, 4, 6)).sum().backward()
    assert model.group_normalization_1.weight.grad is not None
