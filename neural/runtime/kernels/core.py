"""Kernels of the core layers: Dense, Output, Identity, Flatten, Reshape, Permute, RepeatVector, Embedding."""

from __future__ import annotations

import numpy as np

from neural.runtime import ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.kernels.common import fused_activation
from neural.runtime.tensor import Array, Tensor, make


@kernel("Dense", "Output")
def dense(call: Call) -> Tensor:
    """(N, ..., in) -> (N, ..., units): x @ weight.T + bias, then the activation."""
    y = ops.linear(call.x, call.params["weight"], call.params.get("bias"))
    return fused_activation(call, y)


@kernel("Identity")
def identity(call: Call) -> Tensor:
    return call.x


@kernel("Flatten")
def flatten(call: Call) -> Tensor:
    return ops.reshape(call.x, (call.x.shape[0], -1))


@kernel("Reshape")
def reshape(call: Call) -> Tensor:
    return ops.reshape(call.x, (call.x.shape[0], *call.config.target_shape))


@kernel("Permute")
def permute(call: Call) -> Tensor:
    return ops.transpose(call.x, (0, *call.config.dims))


@kernel("RepeatVector")
def repeat_vector(call: Call) -> Tensor:
    """(N, F) -> (N, n, F)."""
    x = call.x
    n = call.config.n
    return make(np.repeat(x.data[:, None, :], n, axis=1), (x,), lambda g: (g.sum(axis=1),))


@kernel("Embedding")
def embedding(call: Call) -> Tensor:
    """(N, ...) integer ids -> (N, ..., dim); the gradient is scattered back into the table rows."""
    ids = call.x.data.astype(np.int64)
    table = call.params["weight"]
    rows = table.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = int(ids.min() if ids.min() < 0 else ids.max())
        raise ValueError(f"Embedding `{call.node.name}` got token id {bad}; ids must be in [0, {rows})")
    padding = call.config.padding_idx

    def backward(g: Array) -> tuple[Array]:
        grad = np.zeros_like(table.data)
        np.add.at(grad, ids.reshape(-1), g.reshape(-1, table.shape[1]))
        if padding is not None:
            grad[padding] = 0
        return (grad,)

    return make(table.data[ids], (table,), backward)
