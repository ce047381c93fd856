"""Checkpoints: one safetensors file holding weights, optimizer buffers and the JSON training state.

A checkpoint is written to a temporary file in the same directory and then renamed over the old
one, so a kill at any moment leaves the previous good checkpoint intact. No pickle is involved:
arrays go into safetensors, everything else into its string metadata as JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from neural.errors import NeuralError

FORMAT = "neural-checkpoint/1"
STATE_KEY = "neural.state"


@dataclass
class Checkpoint:
    """Weights by canonical name, named auxiliary arrays (optimizer moments, best weights) and JSON state."""

    weights: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    tensors = {f"weights/{k}": np.ascontiguousarray(v) for k, v in checkpoint.weights.items()}
    tensors.update({f"arrays/{k}": np.ascontiguousarray(v) for k, v in checkpoint.arrays.items()})
    metadata = {"format": FORMAT, STATE_KEY: json.dumps(checkpoint.state)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint` (by any backend)."""
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
    except FileNotFoundError:
        raise NeuralError(f"no checkpoint at {path}") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise NeuralError(f"{path} is not a readable checkpoint: {exc}") from None
    if metadata.get("format") != FORMAT:
        raise NeuralError(f"{path} is not a Neural checkpoint (format {metadata.get('format')!r})")
    weights = {k[len("weights/") :]: v for k, v in tensors.items() if k.startswith("weights/")}
    arrays = {k[len("arrays/") :]: v for k, v in tensors.items() if k.startswith("arrays/")}
    return Checkpoint(weights, arrays, json.loads(metadata.get(STATE_KEY, "{}")))


def save_weights(path: Path, weights: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> None:
    """A plain weights file (safetensors), written atomically."""
    save_checkpoint(path, Checkpoint(dict(weights), {}, dict(metadata or {})))
