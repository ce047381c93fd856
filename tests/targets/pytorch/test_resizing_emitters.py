"""PyTorch emitters of the resizing family (UpSampling, ZeroPadding, Cropping): the code they write. Their
numbers are the conformance suite's (tests/conformance)."""

from __future__ import annotations

from neural.targets.pytorch.codegen import generate
from neural.testing import analyse_snippet


def test_generated_resizing_code_reads_as_pytorch() -> None:
    code = generate(analyse_snippet('UpSampling2D((2, 3), interpolation="bilinear")', (4, 4, 3)))
    assert "nn.Upsample(scale_factor=(2, 3), mode='bilinear', align_corners=False)" in code
    code = generate(analyse_snippet("ZeroPadding2D(((1, 2), (0, 3)))", (4, 4, 3)))
    assert "nn.ZeroPad2d((0, 3, 1, 2))" in code
    code = generate(analyse_snippet("Cropping2D(((1, 0), (0, 2)))", (4, 4, 3)))
    assert "input[:, 1:, :-2]" in code
