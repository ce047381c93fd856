"""Helpers shared by kernel families."""

from __future__ import annotations

from neural.runtime import activations, ops
from neural.runtime.kernels import Call
from neural.runtime.tensor import Tensor


def batch_axis(axis: int) -> int:
    """A non-batch axis (as the language counts them) as an axis of the batched array."""
    return axis + 1 if axis >= 0 else axis


def channel_axis(call: Call) -> int:
    """The channel axis of the batched array in the network's layout."""
    return -1 if call.ctx.channels_last else 1


def fused_activation(call: Call, x: Tensor) -> Tensor:
    """Apply the node's `activation=` argument (prelu uses the `activation.weight` slope)."""
    name = call.config.get("activation") or "linear"
    if name == "linear":
        return x
    return activations.apply(name, x, weight=call.params.get("activation.weight"), channel_axis=channel_axis(call))


def to_channels_last(call: Call, x: Tensor) -> Tensor:
    """Spatial kernels compute channels-last; a channels-first network's tensors are moved once."""
    if call.ctx.channels_last:
        return x
    return ops.transpose(x, (0, *range(2, x.ndim), 1))


def from_channels_last(call: Call, x: Tensor) -> Tensor:
    if call.ctx.channels_last:
        return x
    return ops.transpose(x, (0, x.ndim - 1, *range(1, x.ndim - 1)))
