"""Kernels of the convolution family: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

One N-d convolution does all the work. It runs on channels-last arrays `(N, *spatial, C)` with
PyTorch's weight layout `(F, C / groups, *kernel)`:

- forward: pad, take a strided window view `(N, *out, *kernel, C)` of the padded input (no copy),
  copy it once into columns `(groups, N * prod(out), prod(kernel) * C / groups)` (im2col), and do one
  matrix product per group with the weight matrix `(groups, prod(kernel) * C / groups, F / groups)`;
- backward: the weight gradient is `columns.T @ grad`; the input gradient (col2im) is built kernel
  tap by kernel tap, `grad @ weight_tap` added onto the strided positions that tap read, then cropped.

A transposed convolution is the adjoint of the convolution with the same geometry: its forward pass
is the input gradient of that convolution, its input gradient is that convolution's forward pass.
Depthwise convolutions (one input channel per group) replace the per-group products, which would be
thin, by one `einsum` over the columns; a separable convolution is a depthwise one followed by a 1x1
convolution (`ops.linear`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from neural.config.args import Config
from neural.layers.conv import axis_padding, conv_transpose_length, effective_kernel, same_padding
from neural.runtime import ops
from neural.runtime.kernels import Call, kernel
from neural.runtime.kernels.common import from_channels_last, fused_activation, to_channels_last
from neural.runtime.tensor import Array, Tensor, make

Pads = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Geometry:
    """How a kernel slides over the spatial axes of a channels-last array.

    `pads` are (before, after) zeros per spatial axis; `groups` splits the channels.
    """

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pads
    groups: int = 1

    def output_spatial(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        """floor((n + before + after - k_eff) / s) + 1 per axis."""
        return tuple(
            (n + b + a - effective_kernel(k, d)) // s + 1
            for n, (b, a), k, s, d in zip(spatial, self.pads, self.kernel, self.strides, self.dilation)
        )

    def span(self, out: tuple[int, ...]) -> tuple[int, ...]:
        """Padded length each axis needs for `out` windows: (out - 1) * s + k_eff."""
        return tuple(
            (o - 1) * s + effective_kernel(k, d) for o, k, s, d in zip(out, self.kernel, self.strides, self.dilation)
        )

    def offsets(self) -> list[tuple[int, ...]]:
        """Every kernel tap, in row-major order."""
        return list(np.ndindex(*self.kernel))

    def tap(self, offset: tuple[int, ...], out: tuple[int, ...]) -> tuple[slice, ...]:
        """Slices of the padded input (batch and channel axes whole) read by kernel tap `offset`."""
        inner = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, s, n in zip(offset, self.dilation, self.strides, out)
        )
        return (slice(None), *inner, slice(None))


# --------------------------------------------------------------------------------------------
# Array-level building blocks (channels-last, no autograd)
# --------------------------------------------------------------------------------------------


def known(size: int | None) -> int:
    """A length computed by a shape rule from an array's actual size, so never None."""
    assert size is not None
    return size


def interior(spatial: tuple[int, ...], pads: Pads) -> tuple[slice, ...]:
    """Index of the unpadded region (N, *spatial, C) of a padded channels-last array."""
    return (slice(None), *(slice(b, b + n) for n, (b, _) in zip(spatial, pads)), slice(None))


def pad_spatial(x: Array, pads: Pads, size: tuple[int, ...] | None = None) -> Array:
    """Zero-pad the spatial axes of `x` (N, *S, C) by (before, after); `size` (>= padded) adds zeros at the end."""
    spatial = x.shape[1:-1]
    target = size or tuple(n + b + a for n, (b, a) in zip(spatial, pads))
    if target == spatial:
        return x
    out = np.zeros((x.shape[0], *target, x.shape[-1]), dtype=x.dtype)
    out[interior(spatial, pads)] = x
    return out


def window_view(xp: Array, out: tuple[int, ...], geo: Geometry) -> Array:
    """Read-only view (N, *out, *kernel, C) of a padded channels-last array: every window, no copy."""
    n_stride, *axis_strides, c_stride = xp.strides
    shape = (xp.shape[0], *out, *geo.kernel, xp.shape[-1])
    strides = (
        n_stride,
        *(st * s for st, s in zip(axis_strides, geo.strides)),
        *(st * d for st, d in zip(axis_strides, geo.dilation)),
        c_stride,
    )
    return as_strided(xp, shape, strides, writeable=False)


def im2col(xp: Array, out: tuple[int, ...], geo: Geometry) -> Array:
    """Columns (groups, N * prod(out), prod(kernel) * C / groups) of a padded (N, *S, C) array.

    One copy of the window view; with groups the copy is row-major (N * prod(out), groups, ...) and
    the result a view of it, which BLAS reads without another copy.
    """
    view = window_view(xp, out, geo)
    g = geo.groups
    rows = xp.shape[0] * math.prod(out)
    if g == 1:
        return np.ascontiguousarray(view).reshape(1, rows, -1)
    rank = len(out)
    grouped = np.moveaxis(view.reshape(*view.shape[:-1], g, xp.shape[-1] // g), -2, 1 + rank)
    return np.ascontiguousarray(grouped).reshape(rows, g, -1).transpose(1, 0, 2)


def col2im(grad: Array, w: Array, out: tuple[int, ...], size: tuple[int, ...], geo: Geometry) -> Array:
    """Adjoint of `im2col` after the product: output gradient (N, *out, F) -> padded input gradient (N, *size, C).

    Kernel tap by kernel tap, `grad @ weight_tap` (N * prod(out), C) is added onto the strided positions
    that tap read; the products come out contiguous, so each add streams through memory.
    """
    g = geo.groups
    batch = grad.shape[0]
    filters, per_group = w.shape[:2]
    taps = np.ascontiguousarray(w.reshape(g, filters // g, per_group, -1).transpose(3, 0, 1, 2))
    rows = split_groups(grad.reshape(-1, filters), g)
    padded = np.zeros((batch, *size, g * per_group), dtype=grad.dtype)
    for k, offset in enumerate(geo.offsets()):
        padded[geo.tap(offset, out)] += grouped_matmul(rows, taps[k]).reshape(batch, *out, -1)
    return padded


def weight_matrix(w: Array, groups: int) -> Array:
    """PyTorch conv weight (F, C / groups, *kernel) -> (groups, prod(kernel) * C / groups, F / groups)."""
    filters, per_group, *kernel_size = w.shape
    rank = len(kernel_size)
    grouped = w.reshape(groups, filters // groups, per_group, *kernel_size)
    ordered = grouped.transpose(0, *range(3, 3 + rank), 2, 1)
    return np.ascontiguousarray(ordered).reshape(groups, -1, filters // groups)


def weight_from_matrix(m: Array, shape: tuple[int, ...]) -> Array:
    """Inverse of `weight_matrix`: (groups, prod(kernel) * C / groups, F / groups) -> (F, C / groups, *kernel)."""
    filters, per_group, *kernel_size = shape
    groups = m.shape[0]
    rank = len(kernel_size)
    unpacked = m.reshape(groups, *kernel_size, per_group, filters // groups)
    return np.ascontiguousarray(unpacked.transpose(0, rank + 2, rank + 1, *range(1, rank + 1))).reshape(shape)


def split_groups(rows: Array, groups: int) -> Array:
    """(M, F) -> (groups, M, F / groups), a view."""
    m, f = rows.shape
    return rows.reshape(m, groups, f // groups).transpose(1, 0, 2)


def grouped_matmul(a: Array, b: Array) -> Array:
    """Per-group products (groups, M, K) @ (groups, K, P) -> (M, groups * P), written group after group."""
    g, m, _ = a.shape
    if g == 1:
        return a[0] @ b[0]
    out = np.empty((m, g, b.shape[-1]), dtype=np.result_type(a, b))
    np.matmul(a, b, out=out.transpose(1, 0, 2))
    return out.reshape(m, -1)


def conv_forward(x: Array, w: Array, geo: Geometry, out: tuple[int, ...]) -> tuple[Array, Array]:
    """(N, *S, C) -> ((N, *out, F), columns); the columns serve the weight gradient."""
    cols = im2col(pad_spatial(x, geo.pads), out, geo)
    y = grouped_matmul(cols, weight_matrix(w, geo.groups))
    return y.reshape(x.shape[0], *out, w.shape[0]), cols


def conv_input_grad(grad: Array, w: Array, geo: Geometry, spatial: tuple[int, ...]) -> Array:
    """Gradient (N, *spatial, C) of a convolution's input from that of its output (N, *out, F).

    Also the forward pass of the transposed convolution: positions beyond the windows' reach stay zero.
    """
    out = grad.shape[1:-1]
    size = tuple(max(need, b + n) for need, n, (b, _) in zip(geo.span(out), spatial, geo.pads))
    padded = col2im(grad, w, out, size, geo)
    return padded[interior(spatial, geo.pads)]


def conv_weight_grad(cols: Array, grad: Array, shape: tuple[int, ...], groups: int) -> Array:
    """Weight gradient (F, C / groups, *kernel) from the columns and the output gradient (N, *out, F)."""
    rows = split_groups(grad.reshape(-1, grad.shape[-1]), groups)
    product = cols[0].T @ rows[0] if groups == 1 else np.matmul(cols.transpose(0, 2, 1), rows)
    return weight_from_matrix(product.reshape(groups, *product.shape[-2:]), shape)


def _bias_grad(grad: Array) -> Array:
    """Sum of the output gradient (N, ..., F) over everything but the channels (as a BLAS product)."""
    rows = grad.reshape(-1, grad.shape[-1])
    return np.ones(rows.shape[0], dtype=rows.dtype) @ rows


# --------------------------------------------------------------------------------------------
# Depthwise (one input channel per group): columns without a matrix product
# --------------------------------------------------------------------------------------------


def _depthwise_taps(w: Array, channels: int) -> Array:
    """(C * m, 1, *kernel) -> (prod(kernel), C, m)."""
    return np.ascontiguousarray(w.reshape(channels, w.shape[0] // channels, -1).transpose(2, 0, 1))


def depthwise_forward(xp: Array, w: Array, geo: Geometry, out: tuple[int, ...]) -> tuple[Array, Array]:
    """Padded (N, *S, C) -> ((N, *out, C * m), columns (M, prod(kernel), C)); channel c * m + j reads channel c."""
    channels = xp.shape[-1]
    cols = im2col(xp, out, Geometry(geo.kernel, geo.strides, geo.dilation, geo.pads)).reshape(
        -1, len(geo.offsets()), channels
    )
    y = np.einsum("mkc,kcj->mcj", cols, _depthwise_taps(w, channels))
    return y.reshape(xp.shape[0], *out, -1), cols


def depthwise_backward(
    cols: Array, padded_shape: tuple[int, ...], w: Array, grad: Array, geo: Geometry, need_input: bool
) -> tuple[Array | None, Array]:
    """(gradient of the padded input or None, weight gradient (C * m, 1, *kernel)) from grad (N, *out, C * m).

    The input gradient adds `grad * tap` onto the positions each tap read, tap by tap.
    """
    channels = padded_shape[-1]
    out = grad.shape[1:-1]
    taps = _depthwise_taps(w, channels)
    g3 = grad.reshape(-1, channels, taps.shape[-1])
    dtaps = np.einsum("mkc,mcj->kcj", cols, g3)
    if not need_input:
        return None, dtaps.transpose(1, 2, 0).reshape(w.shape)
    dxp = np.zeros(padded_shape, dtype=grad.dtype)
    g4 = g3.reshape(*grad.shape[:-1], channels, -1)
    for k, offset in enumerate(geo.offsets()):
        part = g4[..., 0] * taps[k, :, 0] if taps.shape[-1] == 1 else np.einsum("...cj,cj->...c", g4, taps[k])
        dxp[geo.tap(offset, out)] += part
    return dxp, dtaps.transpose(1, 2, 0).reshape(w.shape)


# --------------------------------------------------------------------------------------------
# Differentiable ops
# --------------------------------------------------------------------------------------------


def conv(x: Tensor, weight: Tensor, bias: Tensor | None, geo: Geometry) -> Tensor:
    """N-d convolution: x (N, *S, C) channels-last, weight (F, C / groups, *kernel), bias (F,) -> (N, *out, F)."""
    spatial = x.shape[1:-1]
    out = geo.output_spatial(spatial)
    parents = (x, weight) if bias is None else (x, weight, bias)
    if geo.groups > 1 and weight.shape[1] == 1:
        return _depthwise(x, weight, bias, geo, out, parents)
    y, cols = conv_forward(x.data, weight.data, geo, out)
    if bias is not None:
        y += bias.data

    def backward(g: Array) -> tuple[Array | None, ...]:
        gx = conv_input_grad(g, weight.data, geo, spatial) if x.requires_grad else None
        gw = conv_weight_grad(cols, g, weight.shape, geo.groups) if weight.requires_grad else None
        return (gx, gw) if bias is None else (gx, gw, _bias_grad(g))

    return make(y, parents, backward)


def _depthwise(
    x: Tensor, weight: Tensor, bias: Tensor | None, geo: Geometry, out: tuple[int, ...], parents: tuple[Tensor, ...]
) -> Tensor:
    xp = pad_spatial(x.data, geo.pads)
    y, cols = depthwise_forward(xp, weight.data, geo, out)
    if bias is not None:
        y += bias.data

    def backward(g: Array) -> tuple[Array | None, ...]:
        dxp, gw = depthwise_backward(cols, xp.shape, weight.data, g, geo, x.requires_grad)
        gx = None if dxp is None else dxp[interior(x.shape[1:-1], geo.pads)]
        return (gx, gw) if bias is None else (gx, gw, _bias_grad(g))

    return make(y, parents, backward)


def conv_transpose(x: Tensor, weight: Tensor, bias: Tensor | None, geo: Geometry, spatial: tuple[int, ...]) -> Tensor:
    """Transposed convolution: x (N, *I, C) channels-last, weight (C, F / groups, *kernel) -> (N, *spatial, F).

    The adjoint of `conv` with geometry `geo` mapping (N, *spatial, F) to (N, *I, C): output position
    `i * s + k * d - before` receives input position `i` times tap `k`.
    """
    y = conv_input_grad(x.data, weight.data, geo, spatial)
    if bias is not None:
        y = y + bias.data
    else:
        y = np.ascontiguousarray(y)
    out = x.shape[1:-1]
    parents = (x, weight) if bias is None else (x, weight, bias)

    def backward(g: Array) -> tuple[Array | None, ...]:
        size = tuple(max(need, b + n) for need, n, (b, _) in zip(geo.span(out), spatial, geo.pads))
        cols = im2col(pad_spatial(g, geo.pads, size), out, geo)
        gx = None
        if x.requires_grad:
            gx = grouped_matmul(cols, weight_matrix(weight.data, geo.groups)).reshape(x.shape)
        gw = conv_weight_grad(cols, x.data, weight.shape, geo.groups) if weight.requires_grad else None
        return (gx, gw) if bias is None else (gx, gw, _bias_grad(g))

    return make(y, parents, backward)


# --------------------------------------------------------------------------------------------
# Padding rules and kernels
# --------------------------------------------------------------------------------------------


def conv_pads(cfg: Config, spatial: tuple[int, ...]) -> Pads:
    """(before, after) per spatial axis of a forward convolution: valid, same (TensorFlow split), causal or explicit."""
    pads = []
    for i, (n, k, s, d) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate)):
        mode = axis_padding(cfg.padding, i)
        if mode == "same":
            pads.append(same_padding(n, k, s, d))
        elif mode == "causal":
            pads.append((d * (k - 1), 0))
        elif mode == "valid":
            pads.append((0, 0))
        else:
            pads.append((int(mode[0]), int(mode[1])))
    return tuple(pads)


def transpose_pads(cfg: Config, spatial: tuple[int, ...], out: tuple[int, ...]) -> Pads:
    """(before, after) of the convolution that a transposed convolution is the adjoint of.

    Only `before` matters (positions past the windows' reach are zeros): valid 0, explicit its own,
    same TensorFlow's split of max((n - 1) * s + k_eff - out, 0).
    """
    pads = []
    for i, (n, o, k, s, d) in enumerate(zip(spatial, out, cfg.kernel_size, cfg.strides, cfg.dilation_rate)):
        mode = axis_padding(cfg.padding, i)
        if mode == "same":
            total = max((n - 1) * s + effective_kernel(k, d) - o, 0)
            pads.append((total // 2, total - total // 2))
        elif mode == "valid":
            pads.append((0, 0))
        else:
            pads.append((int(mode[0]), int(mode[1])))
    return tuple(pads)


def _geometry(cfg: Config, spatial: tuple[int, ...], groups: int) -> Geometry:
    return Geometry(
        tuple(cfg.kernel_size), tuple(cfg.strides), tuple(cfg.dilation_rate), conv_pads(cfg, spatial), groups
    )


@kernel("Conv1D", "Conv2D", "Conv3D")
def conv_layer(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *out, filters) in the network's layout; weight (filters, C / groups, *kernel)."""
    x = to_channels_last(call, call.x)
    geo = _geometry(call.config, x.shape[1:-1], call.config.groups)
    y = conv(x, call.params["weight"], call.params.get("bias"), geo)
    return fused_activation(call, from_channels_last(call, y))


@kernel("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose_layer(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *out, filters); weight (C, filters / groups, *kernel); out by `conv_transpose_length`."""
    cfg = call.config
    x = to_channels_last(call, call.x)
    spatial = x.shape[1:-1]
    output_paddings = cfg.output_padding or (None,) * len(spatial)
    out = tuple(
        known(conv_transpose_length(n, k, s, d, axis_padding(cfg.padding, i), op))
        for i, (n, k, s, d, op) in enumerate(
            zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate, output_paddings)
        )
    )
    geo = Geometry(
        tuple(cfg.kernel_size),
        tuple(cfg.strides),
        tuple(cfg.dilation_rate),
        transpose_pads(cfg, spatial, out),
        cfg.groups,
    )
    y = conv_transpose(x, call.params["weight"], call.params.get("bias"), geo, out)
    return fused_activation(call, from_channels_last(call, y))


@kernel("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise_layer(call: Call) -> Tensor:
    """(N, *S, C) -> (N, *out, C * depth_multiplier); weight (C * m, 1, *kernel)."""
    x = to_channels_last(call, call.x)
    geo = _geometry(call.config, x.shape[1:-1], x.shape[-1])
    y = conv(x, call.params["weight"], call.params.get("bias"), geo)
    return fused_activation(call, from_channels_last(call, y))


@kernel("SeparableConv1D", "SeparableConv2D")
def separable_layer(call: Call) -> Tensor:
    """Depthwise convolution (`depthwise.weight`, no bias) then a 1x1 convolution (`pointwise.weight`, `.bias`)."""
    x = to_channels_last(call, call.x)
    geo = _geometry(call.config, x.shape[1:-1], x.shape[-1])
    h = conv(x, call.params["depthwise.weight"], None, geo)
    pointwise = call.params["pointwise.weight"]
    w = ops.reshape(pointwise, (pointwise.shape[0], pointwise.shape[1]))
    y = ops.linear(h, w, call.params.get("pointwise.bias"))
    return fused_activation(call, from_channels_last(call, y))
