"""Kernels of the resizing family: UpSampling, ZeroPadding and Cropping in 1, 2 and 3-D.

All work in the network's layout on the spatial axes (`pooling.spatial_axes`). Nearest upsampling
repeats each position (its gradient sums the copies); linear upsampling (linear / bilinear /
trilinear) multiplies one axis at a time by an interpolation matrix with PyTorch's
`align_corners=False` rule, the same as `torch.nn.Upsample(scale_factor=s, mode=...)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neural.runtime import ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.kernels.pooling import along_axis, spatial_axes
from neural.runtime.tensor import Array, Tensor, make


def repeat_axes(x: Tensor, axes: Sequence[int], factors: Sequence[int]) -> Tensor:
    """Repeat each position `factor` times along each of `axes` (one copy); the gradient sums the copies."""
    factor = dict(zip(axes, factors))
    expanded: list[int] = []
    wide: list[int] = []
    copy_axes: list[int] = []
    for a, n in enumerate(x.shape):
        expanded.append(n)
        wide.append(n)
        if a in factor:
            expanded.append(1)
            wide.append(factor[a])
            copy_axes.append(len(wide) - 1)
    out_shape = tuple(n * factor.get(a, 1) for a, n in enumerate(x.shape))
    y = np.broadcast_to(x.data.reshape(expanded), wide).reshape(out_shape)

    def backward(g: Array) -> tuple[Array]:
        return (g.reshape(wide).sum(axis=tuple(copy_axes)),)

    return make(y, (x,), backward)


def linear_matrix(n: int, scale: int) -> Array:
    """(n * scale, n) interpolation weights, align_corners=False: source (i + 0.5) / scale - 0.5, clamped at 0."""
    m = n * scale
    source = np.maximum((np.arange(m) + 0.5) / scale - 0.5, 0.0)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    frac = source - low
    matrix = np.zeros((m, n))
    rows = np.arange(m)
    np.add.at(matrix, (rows, low), 1.0 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


@kernel("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *(S * size), C): nearest repeats, linear modes interpolate (align_corners=False)."""
    cfg = call.config
    axes = spatial_axes(call, len(cfg.size))
    if cfg.interpolation == "nearest":
        return repeat_axes(call.x, axes, cfg.size)
    x = call.x
    for axis, scale in zip(axes, cfg.size):
        if scale != 1:
            x = along_axis(x, linear_matrix(x.shape[axis], scale), axis)
    return x


@kernel("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *(S + before + after), C)."""
    widths = [(0, 0)] * call.x.ndim
    for axis, pair in zip(spatial_axes(call, len(call.config.padding)), call.config.padding):
        widths[axis] = (int(pair[0]), int(pair[1]))
    return ops.pad(call.x, widths)


@kernel("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *(S - before - after), C)."""
    index = [slice(None)] * call.x.ndim
    for axis, (before, after) in zip(spatial_axes(call, len(call.config.cropping)), call.config.cropping):
        index[axis] = slice(before, call.x.shape[axis] - after)
    return ops.getitem(call.x, tuple(index))
