"""Kernels of the merge layers."""

from __future__ import annotations

from functools import reduce

import numpy as np

from neural.runtime import ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.kernels.common import batch_axis
from neural.runtime.tensor import Tensor


@kernel("Add")
def add(call: Call) -> Tensor:
    return reduce(ops.add, call.inputs)


@kernel("Subtract")
def subtract(call: Call) -> Tensor:
    return ops.sub(call.inputs[0], call.inputs[1])


@kernel("Multiply")
def multiply(call: Call) -> Tensor:
    return reduce(ops.mul, call.inputs)


@kernel("Average")
def average(call: Call) -> Tensor:
    return ops.div(reduce(ops.add, call.inputs), float(len(call.inputs)))


@kernel("Maximum")
def maximum(call: Call) -> Tensor:
    return reduce(ops.maximum, call.inputs)


@kernel("Minimum")
def minimum(call: Call) -> Tensor:
    return reduce(ops.minimum, call.inputs)


@kernel("Concatenate")
def concatenate(call: Call) -> Tensor:
    return ops.concat(call.inputs, batch_axis(call.config.axis))


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    norm = ops.sqrt(ops.maximum(ops.sum(ops.mul(x, x), axis, keepdims=True), Tensor(np.asarray(1e-12, x.dtype))))
    return ops.div(x, norm)


@kernel("Dot")
def dot(call: Call) -> Tensor:
    """Keras `Dot`: contracts one axis of each input (axes count the batch axis as 0)."""
    a, b = call.inputs
    raw = call.config.axes if isinstance(call.config.axes, tuple) else (call.config.axes, call.config.axes)
    ia = raw[0] % a.ndim
    ib = raw[1] % b.ndim
    if call.config.normalize:
        a, b = _l2_normalize(a, ia), _l2_normalize(b, ib)
    a_rest = [i for i in range(1, a.ndim) if i != ia]
    b_rest = [i for i in range(1, b.ndim) if i != ib]
    a2 = ops.reshape(ops.transpose(a, (0, *a_rest, ia)), (a.shape[0], -1, a.shape[ia]))
    b2 = ops.reshape(ops.transpose(b, (0, ib, *b_rest)), (b.shape[0], b.shape[ib], -1))
    out = ops.matmul(a2, b2)
    shape = [a.shape[i] for i in a_rest] + [b.shape[i] for i in b_rest]
    return ops.reshape(out, (a.shape[0], *(shape or [1])))
