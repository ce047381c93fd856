"""The ONNX compare adapter: forward passes in onnxruntime against the NumPy reference, no training step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neural.api import analyse, loads
from neural.cli.main import main
from neural.compare import ADAPTERS, adapter_for, compare, parse_backends
from neural.errors import BackendError
from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork
from neural.testing import analyse_snippet, network_source

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def with_training(layers: str, *shapes: Shape) -> ShapedNetwork:
    """A snippet network with a loss and an optimizer (compare would step a trainable backend)."""
    text = (
        network_source(layers, *shapes).rstrip().rstrip("}") + '  loss: "mse"\n  optimizer: SGD(learning_rate=0.1)\n}\n'
    )
    return analyse(loads(text).network())


def test_registered_and_part_of_all() -> None:
    assert ADAPTERS["onnx"] == "neural.targets.onnx.adapter"
    assert "onnx" in parse_backends("all")


@pytest.mark.parametrize(
    ("layers", "shapes"),
    [
        ('Conv2D(4, 3, "relu")\nBatchNormalization()\nFlatten()\nDense(3)', [(6, 6, 2)]),
        ("LSTM(5, return_sequences=true)\nMultiHeadAttention(1)\nGlobalAveragePooling1D()\nDense(2)", [(4, 3)]),
        ("Add()(a, b)\nDense(3)", [(4,), (4,)]),
    ],
)
def test_compare_runs_forward_only(layers: str, shapes: list[tuple[int, ...]]) -> None:
    shaped = with_training(layers, *shapes)
    (result,) = compare(shaped, ["onnx"], tolerance=1e-4)
    assert result.ok, f"onnx differs from numpy by {result.forward:.3g}"
    assert result.step is None and "inference backend" in result.note


def test_train_step_is_not_available() -> None:
    adapter = adapter_for("onnx", analyse_snippet("Dense(2)", (3,)))
    assert getattr(adapter, "inference_only", False)
    with pytest.raises(BackendError, match="inference backend"):
        adapter.train_step({}, {"input": np.zeros((1, 3), np.float32)}, np.zeros((1, 2), np.float32), True)


def test_compare_command(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["compare", str(EXAMPLES / "digits_cnn.neural"), "--backends", "numpy,onnx"])
    except SystemExit as exc:  # exit 1: above the tolerance
        pytest.fail(f"compare exited with {exc.code}")
    out = capsys.readouterr().out
    assert "onnx" in out and "inference backend: no training step" in out
