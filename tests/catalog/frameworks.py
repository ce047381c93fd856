"""The frameworks each backend needs, its pytest marker, and a skip (with the reason) where one is missing."""

from __future__ import annotations

import pytest

REQUIRES = {
    "pytorch": ("torch",),
    "tensorflow": ("tensorflow", "keras"),
    "jax": ("jax", "flax.nnx", "optax"),
    "onnx": ("torch", "onnx", "onnxruntime"),
}
MARKS = {
    "pytorch": pytest.mark.torch,
    "tensorflow": pytest.mark.tensorflow,
    "jax": pytest.mark.jax,
    "onnx": pytest.mark.onnx,
}


def need_framework(backend: str) -> None:
    """Skip the running test, with the reason, unless every module `backend` needs can be imported here."""
    for module in REQUIRES[backend]:
        pytest.importorskip(
            module,
            minversion="3.0" if module == "keras" else None,
            reason=f"the {backend} backend needs {module} (installed by `make test`)",
        )
