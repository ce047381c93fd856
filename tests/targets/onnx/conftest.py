"""ONNX target tests need torch, onnx and onnxruntime; helpers are importable by name."""

import sys
from pathlib import Path

import pytest

for module in ("torch", "onnx", "onnxruntime"):
    pytest.importorskip(module, reason=f"the ONNX target tests need {module} (installed by `make test`)")
sys.path.insert(0, str(Path(__file__).resolve().parent))
