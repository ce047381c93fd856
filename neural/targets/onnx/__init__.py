"""The ONNX target: an analysed network exported through the PyTorch backend's exporter.

`export_network(shaped, weights)` generates and imports the PyTorch module, loads canonical
weights, exports it with `torch.onnx.export`, checks the model with `onnx.checker` (full shape
inference) and verifies onnxruntime's output against the PyTorch model. ONNX is an inference
format: the compare adapter runs forward passes only.
"""

from neural.targets.onnx.export import OPSET, TOLERANCE, ExportedModel, export_network, fresh_weights

__all__ = ["OPSET", "TOLERANCE", "ExportedModel", "export_network", "fresh_weights"]
