"""PyTorch emitters of the pooling family: the code they write and what they refuse. Their numbers are the
conformance suite's (tests/conformance)."""

from __future__ import annotations

import pytest

from neural.targets.pytorch.codegen import generate
from neural.testing import analyse_snippet


def test_generated_pooling_code_reads_as_pytorch() -> None:
    code = generate(analyse_snippet('MaxPooling2D(3, strides=2, padding="same")', (9, 9, 3)))
    assert "nn.MaxPool2d(3, stride=2)" in code
    assert "same_pad(input.movedim(-1, 1), (3, 3), (2, 2), (1, 1), value=-math.inf)" in code
    code = generate(analyse_snippet("AveragePooling2D(3, strides=2, padding=1)", (9, 9, 3)))
    assert "nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)" in code
    code = generate(analyse_snippet("GlobalAveragePooling2D()", (9, 9, 3)))
    assert "input.mean(dim=(1, 2))" in code
    code = generate(analyse_snippet("Conv2D(3, 1)\nGlobalMaxPooling2D(keepdims=true)", (9, 9, 3)))
    assert "x.amax(dim=(2, 3), keepdim=True)" in code


def test_ceil_mode_with_uneven_pads_on_an_unknown_length_is_a_positioned_error() -> None:
    """Whether torch's ceil mode adds a window in the after-padding depends on the length: known lengths
    slice it off, an unknown one is refused rather than guessed."""
    from neural.errors import BackendError

    with pytest.raises(BackendError, match="ceil_mode and uneven padding") as info:
        generate(analyse_snippet("MaxPooling1D(2, padding=(0, 1), ceil_mode=true)", (None, None, 3)))
    assert info.value.span is not None
