"""Kernel registry: one forward function per layer kind, built from differentiable ops.

A kernel receives a `Call` (the node's config, its input tensors, its parameters by local name,
its mutable state, the mode and a random generator) and returns a tensor or a tuple of tensors.
Gradients come from the ops it uses (`neural.runtime.ops` and the fused ops of each family).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from neural.config.args import Config
from neural.errors import BackendError
from neural.ir import Node
from neural.layers.base import LayerContext, Shape
from neural.runtime.tensor import Tensor


@dataclass
class Call:
    """Everything a kernel may use for one node."""

    node: Node
    inputs: list[Tensor]
    params: Mapping[str, Tensor]
    state: dict[str, np.ndarray]
    training: bool
    rng: np.random.Generator
    ctx: LayerContext
    input_shapes: tuple[Shape, ...] = ()
    output_shapes: tuple[Shape, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.node.config

    @property
    def x(self) -> Tensor:
        return self.inputs[0]


KernelResult = Union[Tensor, tuple[Tensor, ...]]
Kernel = Callable[[Call], KernelResult]
_KERNELS: dict[str, Kernel] = {}
_LOADED: list[bool] = []


def kernel(*kinds: str) -> Callable[[Kernel], Kernel]:
    """Decorator: the forward function of one or more layer kinds."""

    def register(fn: Kernel) -> Kernel:
        for kind in kinds:
            if kind in _KERNELS:
                raise TypeError(f"two NumPy kernels for {kind}")
            _KERNELS[kind] = fn
        return fn

    return register


def _ensure_loaded() -> None:
    if not _LOADED:
        _LOADED.append(True)
        import neural.runtime.kernels.catalogue  # noqa: F401


def get_kernel(node: Node) -> Kernel:
    """The kernel of a node's kind, or a positioned error naming the kind."""
    _ensure_loaded()
    found = _KERNELS.get(node.kind)
    if found is None:
        raise BackendError(f"the NumPy runtime has no kernel for {node.kind}", node.span)
    return found


def supported_kinds() -> set[str]:
    _ensure_loaded()
    return set(_KERNELS)
