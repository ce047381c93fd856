"""The ONNX side of `neural compare`: forward passes in onnxruntime with canonical weights.

ONNX is an inference format, so the adapter is `inference_only`: compare() runs its forward pass
and skips the training step. The model is exported (and checked) for the given weights, without
the PyTorch-agreement verification: compare() measures agreement with the NumPy reference itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from neural.errors import BackendError
from neural.shapes.engine import ShapedNetwork
from neural.targets.onnx.export import export_network


class Adapter:
    name = "onnx"
    inference_only = True

    def __init__(self, shaped: ShapedNetwork) -> None:
        self.shaped = shaped

    def forward(self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        import onnxruntime

        exported = export_network(self.shaped, weights, verify=False, weights_source="compare")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4
        session = onnxruntime.InferenceSession(exported.to_bytes(), options, providers=["CPUExecutionProvider"])
        feed = {spec.name: np.asarray(inputs[spec.name]) for spec in self.shaped.network.inputs}
        return [np.asarray(out) for out in session.run(None, feed)]

    def train_step(
        self, weights: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], targets: np.ndarray, training: bool
    ) -> dict[str, np.ndarray]:
        raise BackendError("ONNX is an inference backend: it has no training step (compare skips it)")
