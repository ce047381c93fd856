"""Checks every ONNX export test makes: the model passes onnx.checker with full shape inference, has
the network's input names, named outputs and a dynamic batch axis, and onnxruntime agrees with the
PyTorch model within 1e-5 (relative to the outputs' magnitude) at batch sizes 1 and 5."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import onnxruntime

from neural.compare import random_inputs
from neural.runtime.gradcheck import max_relative_error
from neural.shapes.engine import ShapedNetwork
from neural.targets.onnx.export import (
    BATCH_AXIS,
    TOLERANCE,
    ExportedModel,
    export_network,
    fresh_weights,
    output_names,
    torch_model,
    torch_outputs,
)

BATCHES = (1, 5)


def session(exported: ExportedModel | bytes) -> onnxruntime.InferenceSession:
    data = exported if isinstance(exported, bytes) else exported.to_bytes()
    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])


def run(sess: onnxruntime.InferenceSession, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(o) for o in sess.run(None, {k: np.asarray(v) for k, v in inputs.items()})]


def check_structure(exported: ExportedModel, shaped: ShapedNetwork) -> None:
    """Checker (full shape inference), opset, input and output names, batch axis dynamic."""
    onnx.checker.check_model(exported.to_bytes(), full_check=True)
    proto = exported.proto
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [v.name for v in proto.graph.input] == [spec.name for spec in shaped.network.inputs]
    assert [v.name for v in proto.graph.output] == list(output_names(shaped))
    for value in [*proto.graph.input, *proto.graph.output]:
        first = value.type.tensor_type.shape.dim[0]
        assert first.dim_param == BATCH_AXIS and not first.dim_value, f"{value.name}: batch axis is not dynamic"
    assert not {i.name for i in proto.graph.initializer} & {v.name for v in proto.graph.input}


def check_export(
    shaped: ShapedNetwork, weights: Mapping[str, np.ndarray] | None = None, *, seed: int = 0
) -> tuple[ExportedModel, float]:
    """Export, check the structure, and compare onnxruntime with PyTorch at batch sizes 1 and 5 (open
    sizes 4). Returns the model and the largest difference measured here."""
    weights = fresh_weights(shaped, seed) if weights is None else weights
    exported = export_network(shaped, weights)
    assert exported.difference is not None and exported.difference <= TOLERANCE
    check_structure(exported, shaped)
    model = torch_model(shaped, weights)
    sess = session(exported)
    worst = 0.0
    for batch in BATCHES:
        inputs = random_inputs(shaped, batch, np.random.default_rng(seed + batch), unknown=4)
        expected = torch_outputs(model, shaped, inputs)
        got = run(sess, inputs)
        assert len(got) == len(expected)
        for ours, reference in zip(got, expected):
            assert ours.shape == reference.shape
            worst = max(worst, max_relative_error(ours, reference))
    assert worst <= TOLERANCE, f"onnxruntime differs from PyTorch by {worst:.3g}"
    return exported, worst
