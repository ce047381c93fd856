"""A small reverse-mode autograd on NumPy arrays, in the spirit of micrograd but on tensors.

A `Tensor` holds an array, its gradient, the tensors it was computed from and a function that maps
the gradient of the output to gradients of those inputs. Ops are coarse (a whole matrix product, a
whole convolution, a fused softmax) so that Python overhead stays small next to the array work.
`Tensor.backward()` walks the graph in reverse topological order and accumulates gradients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import numpy as np

Array = np.ndarray
Grads = Sequence[Union[Array, None]]
BackwardFn = Callable[[Array], Grads]


class _Mode:
    grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Within this block ops record nothing (evaluation, metrics)."""
    previous = _Mode.grad_enabled
    _Mode.grad_enabled = False
    try:
        yield
    finally:
        _Mode.grad_enabled = previous


def grad_enabled() -> bool:
    return _Mode.grad_enabled


class Tensor:
    """An array that remembers how it was computed.

    `requires_grad` marks leaves (parameters, inputs under test) whose `.grad` is wanted; results
    of ops on them require grad too.
    """

    __slots__ = ("_backward", "_parents", "data", "grad", "name", "requires_grad")

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        parents: tuple[Tensor, ...] = (),
        backward: BackwardFn | None = None,
        name: str = "",
    ) -> None:
        self.data: Array = data if isinstance(data, np.ndarray) else np.asarray(data)
        self.grad: Array | None = None
        self.requires_grad = requires_grad
        self._parents = parents
        self._backward = backward
        self.name = name

    # --- basic properties ---
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def numpy(self) -> Array:
        return self.data

    def __repr__(self) -> str:
        flag = ", requires_grad" if self.requires_grad else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{flag})"

    def detach(self) -> Tensor:
        return Tensor(self.data)

    # --- autograd ---
    def backward(self, grad: Array | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (seed: ones for a scalar)."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError("backward() without a gradient needs a scalar tensor")
            grad = np.ones_like(self.data)
        order = _topological(self)
        grads: dict[int, Array] = {id(self): grad}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:
                node.grad = g if node.grad is None else node.grad + g
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg

    # --- operators (implemented in ops.py) ---
    def __add__(self, other: Any) -> Tensor:
        from neural.runtime import ops

        return ops.add(self, other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Tensor:
        from neural.runtime import ops

        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        from neural.runtime import ops

        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        from neural.runtime import ops

        return ops.mul(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Tensor:
        from neural.runtime import ops

        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        from neural.runtime import ops

        return ops.div(other, self)

    def __neg__(self) -> Tensor:
        from neural.runtime import ops

        return ops.neg(self)

    def __matmul__(self, other: Tensor) -> Tensor:
        from neural.runtime import ops

        return ops.matmul(self, other)

    def __getitem__(self, index: Any) -> Tensor:
        from neural.runtime import ops

        return ops.getitem(self, index)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        from neural.runtime import ops

        return ops.sum(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        from neural.runtime import ops

        return ops.mean(self, axis, keepdims)

    def reshape(self, *shape: int) -> Tensor:
        from neural.runtime import ops

        return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape)

    def transpose(self, *axes: int) -> Tensor:
        from neural.runtime import ops

        return ops.transpose(self, axes if axes else None)


def _topological(root: Tensor) -> list[Tensor]:
    """Nodes reachable from `root` that need gradients, parents before children (iterative DFS)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                stack.append((parent, False))
    return order


def make(data: Array, parents: tuple[Tensor, ...], backward: BackwardFn) -> Tensor:
    """The result of an op: records parents and backward only when a gradient can flow."""
    if _Mode.grad_enabled and any(p.requires_grad for p in parents):
        return Tensor(data, True, parents, backward)
    return Tensor(data)


def as_tensor(value: Any, dtype: Any = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=dtype))


def parameter(data: Array, name: str = "") -> Tensor:
    """A leaf that collects gradients."""
    return Tensor(data, requires_grad=True, name=name)
