"""Kernels of the pooling family: windowed max / average, global and adaptive pooling in 1, 2 and 3-D.

Pooling never mixes channels, so these kernels work in the network's layout directly: they only need
the positions of the spatial axes (`spatial_axes`), never a transpose.

- Windowed pooling is one N-d routine: pad (with -inf for max, zeros for average), then loop over the
  taps of the window (a few iterations), each a strided slice of the whole batch. Max pooling keeps,
  per output, the tap of its first maximum (PyTorch's tie rule) and routes the gradient there;
  average pooling divides by the number of counted positions per window (padding counted only with
  `count_include_pad`, the ceil-mode overhang never).
- Adaptive pooling uses PyTorch's bins (window i spans [floor(i * n / m), ceil((i + 1) * n / m))), one
  spatial axis at a time: averaging is a product with a bin matrix, max is a gather plus argmax.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neural.config.args import Config
from neural.layers.conv import axis_padding, same_padding
from neural.layers.pooling import pool_length
from neural.runtime import ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.kernels.conv import Pads, known
from neural.runtime.tensor import Array, Tensor, make


def spatial_axes(call: Call, rank: int) -> tuple[int, ...]:
    """Positions of the spatial axes in the batched array of the network's layout."""
    first = 1 if call.ctx.channels_last else 2
    return tuple(range(first, first + rank))


def _interior(ndim: int, axes: Sequence[int], pads: Pads, sizes: Sequence[int]) -> tuple[slice, ...]:
    """Slices that select the unpadded region of a padded array."""
    index = [slice(None)] * ndim
    for a, (before, _), n in zip(axes, pads, sizes):
        index[a] = slice(before, before + n)
    return tuple(index)


def pad_axes(x: Array, axes: Sequence[int], pads: Pads, value: float) -> Array:
    """Pad the given axes of `x` with `value` ((before, after) per axis)."""
    if not any(b or a for b, a in pads):
        return x
    shape = list(x.shape)
    for axis, (before, after) in zip(axes, pads):
        shape[axis] += before + after
    out = np.full(shape, value, dtype=x.dtype)
    out[_interior(x.ndim, axes, pads, [x.shape[a] for a in axes])] = x
    return out


def window_taps(
    ndim: int, axes: Sequence[int], pool: Sequence[int], strides: Sequence[int], out: Sequence[int]
) -> list[tuple[slice, ...]]:
    """For every tap of the window (row-major), the strided slice of the padded input it reads."""
    taps = []
    for offset in np.ndindex(*pool):
        index = [slice(None)] * ndim
        for a, o, s, n in zip(axes, offset, strides, out):
            index[a] = slice(o, o + (n - 1) * s + 1, s)
        taps.append(tuple(index))
    return taps


def max_pool(
    x: Tensor, axes: Sequence[int], pool: Sequence[int], strides: Sequence[int], pads: Pads, out: Sequence[int]
) -> Tensor:
    """Max over windows; positions in `pads` are -inf. Gradient goes to each window's first maximum.

    The forward pass is a chain of `np.maximum`; the backward pass finds, tap by tap, the windows
    whose maximum sits there and has not been claimed by an earlier tap.
    """
    xp = pad_axes(x.data, axes, pads, -np.inf)
    taps = window_taps(x.ndim, axes, pool, strides, out)
    y = xp[taps[0]].copy()
    for tap in taps[1:]:
        np.maximum(y, xp[tap], out=y)

    def backward(g: Array) -> tuple[Array]:
        dxp = np.zeros_like(xp)
        unclaimed = np.ones(y.shape, dtype=bool)
        for tap in taps:
            hit = xp[tap] == y
            hit &= unclaimed
            unclaimed ^= hit
            dxp[tap] += g * hit
        return (dxp[_interior(x.ndim, axes, pads, [x.shape[a] for a in axes])],)

    return make(y, (x,), backward)


def window_counts(
    shape: Sequence[int],
    axes: Sequence[int],
    pool: Sequence[int],
    strides: Sequence[int],
    pads: Pads,
    counted: Pads,
    out: Sequence[int],
    dtype: np.dtype,
) -> Array:
    """Positions counted per window, broadcastable to the output: the input plus `counted` of the padding."""
    sizes = [shape[a] for a in axes]
    mask_shape = [1] * len(shape)
    for a, n, (b, e) in zip(axes, sizes, pads):
        mask_shape[a] = n + b + e
    mask = np.zeros(mask_shape, dtype=dtype)
    index = [slice(None)] * len(shape)
    for a, n, (b, _), (cb, ca) in zip(axes, sizes, pads, counted):
        index[a] = slice(b - cb, b + n + ca)
    mask[tuple(index)] = 1
    taps = window_taps(len(shape), axes, pool, strides, out)
    return sum((mask[t] for t in taps[1:]), mask[taps[0]].copy())


def avg_pool(
    x: Tensor,
    axes: Sequence[int],
    pool: Sequence[int],
    strides: Sequence[int],
    pads: Pads,
    counted: Pads,
    out: Sequence[int],
) -> Tensor:
    """Mean over windows; `counted` (before, after) of the zero `pads` enter the divisor."""
    xp = pad_axes(x.data, axes, pads, 0.0)
    taps = window_taps(x.ndim, axes, pool, strides, out)
    counts = window_counts(x.shape, axes, pool, strides, pads, counted, out, x.dtype)
    y = xp[taps[0]].copy()
    for tap in taps[1:]:
        y += xp[tap]
    y /= counts

    def backward(g: Array) -> tuple[Array]:
        share = g / counts
        dxp = np.zeros_like(xp)
        for tap in taps:
            dxp[tap] += share
        return (dxp[_interior(x.ndim, axes, pads, [x.shape[a] for a in axes])],)

    return make(y, (x,), backward)


def pool_geometry(cfg: Config, spatial: Sequence[int]) -> tuple[Pads, Pads, tuple[int, ...]]:
    """(pads with the ceil-mode overhang, the part of them that is real padding, output sizes) per axis."""
    pads, real, out = [], [], []
    strides = cfg.strides or cfg.pool_size
    for i, (n, k, s) in enumerate(zip(spatial, cfg.pool_size, strides)):
        mode = axis_padding(cfg.padding, i)
        if mode == "same":
            before, after = same_padding(n, k, s)
        elif mode == "valid":
            before, after = 0, 0
        else:
            before, after = int(mode[0]), int(mode[1])
        length = known(pool_length(n, k, s, mode, cfg.ceil_mode))
        overhang = max((length - 1) * s + k - (n + before + after), 0)
        pads.append((before, after + overhang))
        real.append((before, after))
        out.append(length)
    return tuple(pads), tuple(real), tuple(out)


@kernel("MaxPooling1D", "MaxPooling2D", "MaxPooling3D")
def max_pooling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *out, C) in the network's layout."""
    cfg = call.config
    axes = spatial_axes(call, len(cfg.pool_size))
    pads, _, out = pool_geometry(cfg, [call.x.shape[a] for a in axes])
    return max_pool(call.x, axes, cfg.pool_size, cfg.strides or cfg.pool_size, pads, out)


@kernel("AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
def average_pooling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *out, C); padding enters the divisor only with `count_include_pad`."""
    cfg = call.config
    axes = spatial_axes(call, len(cfg.pool_size))
    pads, real, out = pool_geometry(cfg, [call.x.shape[a] for a in axes])
    counted = real if cfg.count_include_pad else ((0, 0),) * len(axes)
    return avg_pool(call.x, axes, cfg.pool_size, cfg.strides or cfg.pool_size, pads, counted, out)


def _rank(kind: str) -> int:
    return int(kind[-2])


@kernel("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")
def global_max_pooling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, C), or (N, 1, ..., 1, C) with keepdims; ties share the gradient."""
    axes = spatial_axes(call, _rank(call.node.kind))
    return ops.max_reduce(call.x, axes, call.config.keepdims)


@kernel("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")
def global_average_pooling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, C), or (N, 1, ..., 1, C) with keepdims."""
    axes = spatial_axes(call, _rank(call.node.kind))
    return ops.mean(call.x, axes, call.config.keepdims)


# --------------------------------------------------------------------------------------------
# Adaptive pooling, one axis at a time
# --------------------------------------------------------------------------------------------


def adaptive_bins(n: int, m: int) -> tuple[Array, Array]:
    """PyTorch's bins: starts floor(i * n / m), ends ceil((i + 1) * n / m), i < m."""
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def along_axis(x: Tensor, matrix: Array, axis: int) -> Tensor:
    """Contract axis `axis` (length n) of x with `matrix` (m, n): the axis becomes length m."""
    shape = x.shape
    pre, post = math.prod(shape[:axis]), math.prod(shape[axis + 1 :])
    m, n = matrix.shape
    matrix = matrix.astype(x.dtype, copy=False)
    y = np.matmul(matrix, x.data.reshape(pre, n, post)).reshape(*shape[:axis], m, *shape[axis + 1 :])

    def backward(g: Array) -> tuple[Array]:
        return (np.matmul(matrix.T, g.reshape(pre, m, post)).reshape(shape),)

    return make(y, (x,), backward)


def bin_average_matrix(n: int, m: int) -> Array:
    """(m, n): row i averages the positions of bin i."""
    starts, ends = adaptive_bins(n, m)
    cols = np.arange(n)
    inside = (cols >= starts[:, None]) & (cols < ends[:, None])
    return inside / (ends - starts)[:, None]


def adaptive_max_axis(x: Tensor, axis: int, m: int) -> Tensor:
    """Max over PyTorch's adaptive bins along one axis (length n -> m); the gradient goes to each bin's first max."""
    n = x.shape[axis]
    starts, ends = adaptive_bins(n, m)
    width = int((ends - starts).max())
    index = np.minimum(starts[:, None] + np.arange(width), ends[:, None] - 1)  # (m, width)
    pre, post = math.prod(x.shape[:axis]), math.prod(x.shape[axis + 1 :])
    gathered = x.data.reshape(pre, n, post)[:, index.reshape(-1), :].reshape(pre, m, width, post)
    arg = gathered.argmax(axis=2)
    y = np.take_along_axis(gathered, arg[:, :, None, :], axis=2)[:, :, 0, :]
    picks = np.zeros((m * width, n), dtype=x.dtype)
    picks[np.arange(m * width), index.reshape(-1)] = 1

    def backward(g: Array) -> tuple[Array]:
        spread = (arg[:, :, None, :] == np.arange(width)[None, None, :, None]) * g.reshape(pre, m, 1, post)
        return (np.matmul(picks.T, spread.reshape(pre, m * width, post)).reshape(x.shape),)

    return make(y.reshape(*x.shape[:axis], m, *x.shape[axis + 1 :]), (x,), backward)


@kernel("AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D")
def adaptive_average_pooling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *output_size, C); a none entry keeps that axis."""
    x = call.x
    for axis, m in zip(spatial_axes(call, _rank(call.node.kind)), call.config.output_size):
        if m is not None and m != x.shape[axis]:
            x = along_axis(x, bin_average_matrix(x.shape[axis], m), axis)
    return x


@kernel("AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D")
def adaptive_max_pooling(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *output_size, C); a none entry keeps that axis."""
    x = call.x
    for axis, m in zip(spatial_axes(call, _rank(call.node.kind)), call.config.output_size):
        if m is not None and m != x.shape[axis]:
            x = adaptive_max_axis(x, axis, m)
    return x
