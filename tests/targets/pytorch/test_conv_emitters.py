"""PyTorch emitters of the convolution family: the code they write, canonical weight names, and the example
networks that use convolutions at full size. Their numbers are the conformance suite's (tests/conformance)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neural.api import analyse, loads
from neural.targets.pytorch.codegen import generate
from neural.targets.pytorch.emit import support_status
from neural.testing import analyse_snippet

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_generated_conv_code_reads_as_pytorch() -> None:
    code = generate(analyse_snippet('Conv2D(8, 3, strides=2, padding="same", use_bias=false)', (9, 9, 3)))
    assert "self.conv2d_1 = nn.Conv2d(3, 8, 3, stride=2, bias=False)" in code
    assert "same_pad(input.movedim(-1, 1), (3, 3), (2, 2), (1, 1))" in code
    code = generate(analyse_snippet('Conv2D(8, 3, padding="same", dilation_rate=2)', (9, 9, 3)))
    assert "nn.Conv2d(3, 8, 3, padding='same', dilation=2)" in code
    code = generate(analyse_snippet("SeparableConv2D(8, 3, depth_multiplier=2)", (9, 9, 3)))
    assert "SeparableConv(3, 8, 3, depth_multiplier=2)" in code and "class SeparableConv(nn.Module):" in code


def test_weight_names_are_canonical() -> None:
    from neural.runtime.model import Model
    from neural.targets.pytorch.load import import_network

    shaped = analyse_snippet(
        'SeparableConv2D(8, 3, activation="prelu")\nConv2DTranspose(4, 3, strides=2, padding="same")', (9, 9, 3)
    )
    model = import_network(shaped).build_model()
    assert set(model.state_dict()) == set(Model(shaped).state_dict())


# --------------------------------------------------------------------------------------------
# Example networks
# --------------------------------------------------------------------------------------------

PUBLISHED = {"vgg16": 138_357_544, "resnet18": 11_689_512, "mobilenet_v2": 3_504_872}
EXAMPLE_FILES = ["lenet5", "vgg16", "resnet18", "mobilenet_v2", "unet", "inception"]


def needs_families(shaped: object) -> None:
    missing = sorted({layer.node.kind for layer in shaped.layers if not support_status(layer.node.kind)[0]})  # type: ignore[attr-defined]
    if missing:
        pytest.skip(f"no PyTorch emitter yet for {', '.join(missing)} (another family)")


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_full_example_builds_with_exact_parameters_and_shape(name: str) -> None:
    """The example at its real size: parameter count (published where known) and one forward pass, batch 1."""
    from neural.targets.pytorch.load import import_network

    shaped = analyse(loads((EXAMPLES / f"{name}.neural").read_text()).network())
    needs_families(shaped)
    torch.manual_seed(0)
    model = import_network(shaped).build_model().eval()
    params = sum(p.numel() for p in model.parameters())
    assert params == shaped.params
    if name in PUBLISHED:
        assert params == PUBLISHED[name]
    x = torch.randn(1, *shaped.network.inputs[0].shape)
    with torch.no_grad():
        out = model(x)
    assert tuple(out.shape) == (1, *shaped.output_shapes[0])
