"""Differentiable array ops. Each returns a `Tensor` whose backward maps the output gradient to
input gradients; broadcasting is undone by `unbroadcast`."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from neural.runtime.tensor import Array, Tensor, as_tensor, make

Axis = int | tuple[int, ...] | None


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum `grad` over the axes that broadcasting added or stretched to reach `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    dtype = (ta or tb).dtype if (ta or tb) is not None else None  # type: ignore[union-attr]
    return (ta or as_tensor(np.asarray(a, dtype=dtype))), (tb or as_tensor(np.asarray(b, dtype=dtype)))


def add(a: Any, b: Any) -> Tensor:
    x, y = _pair(a, b)
    return make(x.data + y.data, (x, y), lambda g: (unbroadcast(g, x.shape), unbroadcast(g, y.shape)))


def sub(a: Any, b: Any) -> Tensor:
    x, y = _pair(a, b)
    return make(x.data - y.data, (x, y), lambda g: (unbroadcast(g, x.shape), unbroadcast(-g, y.shape)))


def mul(a: Any, b: Any) -> Tensor:
    x, y = _pair(a, b)
    return make(
        x.data * y.data,
        (x, y),
        lambda g: (
            unbroadcast(g * y.data, x.shape) if x.requires_grad else None,
            unbroadcast(g * x.data, y.shape) if y.requires_grad else None,
        ),
    )


def div(a: Any, b: Any) -> Tensor:
    x, y = _pair(a, b)
    out = x.data / y.data
    return make(
        out,
        (x, y),
        lambda g: (
            unbroadcast(g / y.data, x.shape) if x.requires_grad else None,
            unbroadcast(-g * out / y.data, y.shape) if y.requires_grad else None,
        ),
    )


def neg(a: Tensor) -> Tensor:
    return make(-a.data, (a,), lambda g: (-g,))


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Batched matrix product with NumPy broadcasting of the leading axes."""

    def backward(g: Array) -> tuple[Array | None, Array | None]:
        ga = unbroadcast(g @ np.swapaxes(b.data, -1, -2), a.shape) if a.requires_grad else None
        gb = unbroadcast(np.swapaxes(a.data, -1, -2) @ g, b.shape) if b.requires_grad else None
        return ga, gb

    return make(a.data @ b.data, (a, b), backward)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x @ weight.T + bias over the last axis; weight (out, in) as in PyTorch."""
    flat = x.data.reshape(-1, x.shape[-1])
    out = flat @ weight.data.T
    if bias is not None:
        out += bias.data
    parents = (x, weight) if bias is None else (x, weight, bias)

    def backward(g: Array) -> tuple[Array | None, ...]:
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ weight.data).reshape(x.shape) if x.requires_grad else None
        gw = g2.T @ flat if weight.requires_grad else None
        grads: tuple[Array | None, ...] = (gx, gw)
        if bias is not None:
            grads += (g2.sum(axis=0) if bias.requires_grad else None,)
        return grads

    return make(out.reshape(*x.shape[:-1], weight.shape[0]), parents, backward)


def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)
    return make(out, (a,), lambda g: (g * out,))


def log(a: Tensor) -> Tensor:
    return make(np.log(a.data), (a,), lambda g: (g / a.data,))


def sqrt(a: Tensor) -> Tensor:
    out = np.sqrt(a.data)
    return make(out, (a,), lambda g: (g / (2 * out),))


def power(a: Tensor, exponent: float) -> Tensor:
    return make(a.data**exponent, (a,), lambda g: (g * exponent * a.data ** (exponent - 1),))


def abs(a: Tensor) -> Tensor:
    return make(np.abs(a.data), (a,), lambda g: (g * np.sign(a.data),))


def sum(a: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    def backward(g: Array) -> tuple[Array]:
        if not keepdims and axis is not None:
            g = np.expand_dims(g, axis)
        return (np.broadcast_to(g, a.shape).copy(),)

    return make(np.sum(a.data, axis=axis, keepdims=keepdims), (a,), backward)


def mean(a: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    count = a.data.size if axis is None else int(np.prod([a.shape[i] for i in np.atleast_1d(axis)]))
    total = sum(a, axis, keepdims)
    return div(total, float(count))


def max_reduce(a: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """max over `axis`; the gradient is shared among tied maxima."""
    kept = np.max(a.data, axis=axis, keepdims=True)
    mask = a.data == kept
    share = mask / mask.sum(axis=axis, keepdims=True)
    out = kept if keepdims else (kept.reshape(()) if axis is None else np.squeeze(kept, axis=axis))
    return make(out, (a,), lambda g: (share * g.reshape(kept.shape),))


def reshape(a: Tensor, shape: Sequence[int]) -> Tensor:
    return make(a.data.reshape(shape), (a,), lambda g: (g.reshape(a.shape),))


def transpose(a: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    inverse = None if axes is None else tuple(np.argsort(axes))
    return make(np.transpose(a.data, axes), (a,), lambda g: (np.transpose(g, inverse),))


def getitem(a: Tensor, index: Any) -> Tensor:
    def backward(g: Array) -> tuple[Array]:
        full = np.zeros_like(a.data)
        np.add.at(full, index, g) if _advanced(index) else full.__setitem__(index, g)
        return (full,)

    return make(a.data[index], (a,), backward)


def _advanced(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return builtins.any(isinstance(i, (np.ndarray, list)) for i in items)


def concat(tensors: Sequence[Tensor], axis: int) -> Tensor:
    sizes = [t.shape[axis] for t in tensors]
    bounds = np.cumsum(sizes)[:-1]
    return make(
        np.concatenate([t.data for t in tensors], axis=axis),
        tuple(tensors),
        lambda g: tuple(np.split(g, bounds, axis=axis)),
    )


def stack(tensors: Sequence[Tensor], axis: int) -> Tensor:
    def backward(g: Array) -> tuple[Array, ...]:
        return tuple(np.take(g, i, axis=axis) for i in range(len(tensors)))

    return make(np.stack([t.data for t in tensors], axis=axis), tuple(tensors), backward)


def pad(a: Tensor, widths: Sequence[tuple[int, int]], value: float = 0.0) -> Tensor:
    """Constant padding; `widths` has one (before, after) pair per axis."""
    slices = tuple(slice(b, a.shape[i] + b) for i, (b, _) in enumerate(widths))
    return make(np.pad(a.data, widths, constant_values=value), (a,), lambda g: (g[slices],))


def where(condition: Array, a: Tensor, b: Tensor) -> Tensor:
    return make(
        np.where(condition, a.data, b.data),
        (a, b),
        lambda g: (unbroadcast(np.where(condition, g, 0), a.shape), unbroadcast(np.where(condition, 0, g), b.shape)),
    )


def maximum(a: Tensor, b: Tensor) -> Tensor:
    mask = a.data >= b.data
    return make(
        np.maximum(a.data, b.data),
        (a, b),
        lambda g: (unbroadcast(g * mask, a.shape), unbroadcast(g * ~mask, b.shape)),
    )


def minimum(a: Tensor, b: Tensor) -> Tensor:
    mask = a.data <= b.data
    return make(
        np.minimum(a.data, b.data),
        (a, b),
        lambda g: (unbroadcast(g * mask, a.shape), unbroadcast(g * ~mask, b.shape)),
    )


def softmax(a: Tensor, axis: int = -1) -> Tensor:
    shifted = a.data - a.data.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    out = e / e.sum(axis=axis, keepdims=True)

    def backward(g: Array) -> tuple[Array]:
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    return make(out, (a,), backward)


def log_softmax(a: Tensor, axis: int = -1) -> Tensor:
    shifted = a.data - a.data.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    out = shifted - lse

    def backward(g: Array) -> tuple[Array]:
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return make(out, (a,), backward)


def elementwise(a: Tensor, forward: Array, derivative: Array) -> Tensor:
    """An op given its output and its local derivative (same shape as `a`)."""
    return make(forward, (a,), lambda g: (g * derivative,))
