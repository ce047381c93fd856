"""Estimate training memory before allocating anything, and refuse what cannot fit."""

from __future__ import annotations

import os
from dataclasses import dataclass

from neural.errors import NeuralError
from neural.report import human_bytes
from neural.shapes.engine import ShapedNetwork

OPTIMIZER_SLOTS = {"SGD": 1, "Adam": 2, "AdamW": 2, "RMSprop": 2, "Adagrad": 1}


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.optimizer + self.activations


def estimate(shaped: ShapedNetwork, batch_size: int, itemsize: int = 4, unknown_dim: int = 512) -> MemoryEstimate:
    """Bytes for weights and their gradients, optimizer buffers, and activations kept for backward
    (every layer output, twice for its gradient) at `batch_size`."""
    weights = (shaped.params * 2 + shaped.state) * itemsize
    optimizer = (
        shaped.params
        * OPTIMIZER_SLOTS.get(shaped.network.optimizer.name if shaped.network.optimizer else "Adam", 2)
        * itemsize
    )
    elements = 0
    for layer in shaped.layers:
        for shape in layer.output_shapes:
            size = 1
            for d in shape:
                size *= d if d is not None else unknown_dim
            elements += size
    return MemoryEstimate(weights, optimizer, elements * batch_size * 2 * itemsize)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux /proc/meminfo, else physical pages), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(shaped: ShapedNetwork, batch_size: int, itemsize: int = 4) -> MemoryEstimate:
    """Raise a clear error when training would need more memory than is available."""
    found = estimate(shaped, batch_size, itemsize)
    limit = available_memory()
    if limit is not None and found.total > limit:
        raise NeuralError(
            f"training {shaped.network.name} needs about {human_bytes(found.total)} "
            f"(weights and gradients {human_bytes(found.weights)}, optimizer {human_bytes(found.optimizer)}, "
            f"activations at batch size {batch_size} {human_bytes(found.activations)}); "
            f"only {human_bytes(limit)} is available",
            hint="use a smaller batch size or a smaller network",
        )
    return found
