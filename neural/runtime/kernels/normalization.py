"""Kernels of the normalization layers: BatchNormalization, LayerNormalization, InstanceNormalization,
GroupNormalization.

All four are one fused op, `normalize`: it views the input with the statistics axes and the parameter
axes laid out (GroupNormalization splits the channel axis into (groups, channels per group)),
normalizes with either statistics of the batch (their gradient included, the standard batch-norm
backward formula) or fixed running statistics, and applies the per-channel (or per-element) gain and
offset. The running averages follow PyTorch exactly: `running = (1 - m) * running + m * batch` with
PyTorch's `m = 1 - momentum` (the spec keeps Keras' convention), and the batch variance in the running
estimate is the unbiased one (the biased one normalizes).

Speed: the view is compacted (adjacent axes of the same role merged, e.g. a channels-last batch norm
becomes (N*H*W, C)), sums over axes are products with a vector of ones (BLAS, far faster than NumPy's
multi-axis reductions over strided axes), the backward reuses its temporaries in place, and batch norm
shares one pair of sums between the input and the parameter gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neural.layers.normalization import LayerNormalization, torch_momentum
from neural.layers.registry import get_spec
from neural.runtime.kernels import Call, kernel
from neural.runtime.tensor import Array, Tensor, make


@dataclass(frozen=True)
class NormLayout:
    """How to view an input of shape `shape` for normalization.

    `view`: the shape the input is reshaped to; `stat_axes`: the axes of `view` the mean and variance
    run over; `param_view`: the shape weight/bias (and running statistics) are reshaped to so that they
    broadcast against `view`.
    """

    view: tuple[int, ...]
    stat_axes: tuple[int, ...]
    param_view: tuple[int, ...]

    @property
    def count(self) -> int:
        """Elements per statistic."""
        return int(np.prod([self.view[a] for a in self.stat_axes]))

    def compact(self) -> NormLayout:
        """The same layout with adjacent axes of the same role merged (fewer, longer axes)."""
        view: list[int] = []
        params: list[int] = []
        stats: list[bool] = []
        roles: list[tuple[bool, bool]] = []
        for i, n in enumerate(self.view):
            role = (i in self.stat_axes, self.param_view[i] != 1)
            if roles and roles[-1] == role:
                view[-1] *= n
                params[-1] *= self.param_view[i]
            else:
                view.append(n)
                params.append(self.param_view[i])
                stats.append(role[0])
                roles.append(role)
        return NormLayout(tuple(view), tuple(i for i, flag in enumerate(stats) if flag), tuple(params))


def reduce_sum(x: Array, axes: tuple[int, ...]) -> Array:
    """Sum over `axes`, kept as size-1 axes.

    Each axis is summed by a product with a vector of ones (BLAS): much faster than NumPy's
    multi-axis reduction over strided axes (e.g. the spatial axes of a channels-last batch norm),
    and as accurate. Merge adjacent axes first (`NormLayout.compact`).
    """
    y = x
    for k in sorted(axes, key=lambda k: -x.shape[k]):
        pre, n, post = int(np.prod(y.shape[:k])), y.shape[k], int(np.prod(y.shape[k + 1 :]))
        ones = np.ones(n, dtype=y.dtype)
        if post == 1:
            summed = y.reshape(pre, n) @ ones
        elif pre == 1:
            summed = ones @ y.reshape(n, post)
        else:
            summed = np.matmul(ones[None, :], y.reshape(pre, n, post))
        y = summed.reshape(*y.shape[:k], 1, *y.shape[k + 1 :])
    return y


def moments(x: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """Mean and biased variance over `axes` (kept as size-1 axes); two passes for accuracy."""
    count = int(np.prod([x.shape[a] for a in axes]))
    mean = reduce_sum(x, axes) / count
    centered = x - _spread(mean, x.shape, axes)
    return mean, reduce_sum(np.square(centered, out=centered), axes) / count


def normalize(
    x: Tensor,
    layout: NormLayout,
    eps: float,
    weight: Tensor | None,
    bias: Tensor | None,
    stats: tuple[Array, Array] | None = None,
    *,
    fixed: bool = True,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, fused.

    x: any shape, viewed as `layout.view` (pass a `compact()` layout: fewer axes are faster). Without
    `stats` the mean and variance are those of x over `layout.stat_axes` and the gradient flows through
    them; `stats` (mean, biased variance; arrays broadcastable to the view) are constants (running
    statistics) when `fixed`, else x's own moments computed by the caller. weight/bias: any shape with
    `prod(layout.param_view)` elements. Returns x's shape.
    """
    xv = x.data.reshape(layout.view)
    batch_stats = stats is None or not fixed
    mean, var = moments(xv, layout.stat_axes) if stats is None else stats
    inv_std = _spread(1.0 / np.sqrt(var + eps), layout.view, layout.stat_axes)
    xhat = xv - _spread(mean, layout.view, layout.stat_axes)
    xhat *= inv_std
    gamma = None if weight is None else weight.data.reshape(layout.param_view)
    out = xhat if gamma is None else xhat * gamma
    if bias is not None:
        beta = bias.data.reshape(layout.param_view)
        out = out + beta if gamma is None else np.add(out, beta, out=out)
    param_axes = tuple(i for i, n in enumerate(layout.param_view) if n == 1)
    shared = param_axes == layout.stat_axes  # batch norm: one set of sums serves both
    parents = tuple(t for t in (x, weight, bias) if t is not None)

    def backward(g: Array) -> tuple[Array | None, ...]:
        gv = g.reshape(layout.view)
        sum_g = reduce_sum(gv, param_axes) if bias is not None or shared else None
        sum_gx = reduce_sum(gv * xhat, param_axes) if weight is not None or shared else None
        grads: list[Array | None] = [_input_grad(gv, sum_g, sum_gx) if x.requires_grad else None]
        if weight is not None:
            grads.append(sum_gx.reshape(weight.shape) if weight.requires_grad and sum_gx is not None else None)
        if bias is not None:
            grads.append(sum_g.reshape(bias.shape) if bias.requires_grad and sum_g is not None else None)
        return tuple(grads)

    def _input_grad(gv: Array, sum_g: Array | None, sum_gx: Array | None) -> Array:
        """dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) * inv_std with dxhat = g * gamma."""
        dxhat = gv if gamma is None else gv * gamma
        if not batch_stats:
            return (dxhat * inv_std).reshape(x.shape)
        count = layout.count
        if shared and sum_g is not None and sum_gx is not None:
            mean_d = sum_g / count if gamma is None else sum_g * gamma / count
            mean_dx = sum_gx / count if gamma is None else sum_gx * gamma / count
            dx = xhat * _spread(mean_dx, layout.view, layout.stat_axes)
        else:
            mean_d = reduce_sum(dxhat, layout.stat_axes) / count
            dx = dxhat * xhat
            mean_dx = reduce_sum(dx, layout.stat_axes) / count
            np.multiply(xhat, _spread(mean_dx, layout.view, layout.stat_axes), out=dx)
        dx += _spread(mean_d, layout.view, layout.stat_axes)
        np.subtract(dxhat, dx, out=dx)
        dx *= inv_std
        return dx.reshape(x.shape)

    return make(out.reshape(x.shape), parents, backward)


def _spread(stat: Array, view: tuple[int, ...], stat_axes: tuple[int, ...]) -> Array:
    """A statistic (size 1 on the statistics axes) materialized along a short trailing statistics axis.

    NumPy runs its inner loop over the last axis: broadcasting a size-1 last axis against a short one
    (a channels-last group norm's channels per group) makes that loop a few elements long and the
    whole op many times slower. The copy is at most 64 times the (small) statistic.
    """
    if len(view) - 1 not in stat_axes or stat.shape[-1] != 1 or view[-1] > 64 or stat.ndim != len(view):
        return stat
    return np.ascontiguousarray(np.broadcast_to(stat, (*stat.shape[:-1], view[-1])))


def update_running(call: Call, mean: Array, var: Array, count: int, per_sample: int = 1) -> None:
    """PyTorch's running-statistics update from the batch mean and biased variance (one per channel).

    `per_sample`: how many per-sample statistics `mean`/`var` hold per channel (instance norm averages
    them over the batch, as PyTorch does). The arrays in `call.state` are updated in place.
    """
    channels = call.state["running_mean"].shape[0]
    if count < 2:
        raise ValueError(
            f"`{call.node.name}` ({call.node.kind}) needs more than 1 value per channel in training; received {count}"
        )
    m = torch_momentum(call.config.momentum)
    unbiased = var.reshape(per_sample, channels) * (count / (count - 1))
    batch_mean = mean.reshape(per_sample, channels).mean(axis=0)
    running_mean, running_var = call.state["running_mean"], call.state["running_var"]
    running_mean[...] = (1 - m) * running_mean + m * batch_mean
    running_var[...] = (1 - m) * running_var + m * unbiased.mean(axis=0)


def _channel_axis(call: Call) -> int:
    """The channel axis of the batched input (the spec's rule: `axis` if given, else the layout's)."""
    axis = call.config.axis
    rank = call.x.ndim
    if axis is None:
        return rank - 1 if call.ctx.channels_last else 1
    return int(axis + rank if axis < 0 else axis + 1)


def _channel_layout(shape: tuple[int, ...], axis: int, *, per_sample: bool) -> NormLayout:
    """Statistics per channel (over every other axis), or per sample and channel; compacted."""
    kept = {0, axis} if per_sample else {axis}
    params = tuple(n if i == axis else 1 for i, n in enumerate(shape))
    return NormLayout(shape, tuple(i for i in range(len(shape)) if i not in kept), params).compact()


def _running(call: Call, layout: NormLayout) -> tuple[Array, Array]:
    """The running statistics shaped to broadcast against the layout's view."""
    return (
        call.state["running_mean"].reshape(layout.param_view),
        call.state["running_var"].reshape(layout.param_view),
    )


@kernel("BatchNormalization")
def batch_normalization(call: Call) -> Tensor:
    """(N, ..., C, ...) -> same shape; statistics per channel over every other axis (batch included).

    Training: batch statistics, running averages updated in `call.state`; eval: running statistics.
    """
    x = call.x
    cfg = call.config
    layout = _channel_layout(x.shape, _channel_axis(call), per_sample=False)
    weight, bias = call.params.get("weight"), call.params.get("bias")
    if not call.training:
        return normalize(x, layout, cfg.epsilon, weight, bias, _running(call, layout))
    mean, var = moments(x.data.reshape(layout.view), layout.stat_axes)
    update_running(call, mean.reshape(-1), var.reshape(-1), layout.count)
    return normalize(x, layout, cfg.epsilon, weight, bias, (mean, var), fixed=False)


@kernel("InstanceNormalization")
def instance_normalization(call: Call) -> Tensor:
    """(N, ..., C, ...) -> same shape; statistics per sample and channel over the spatial axes.

    With `track_running_stats`, training also updates running averages (PyTorch: the per-instance
    statistics averaged over the batch) and eval uses them; otherwise both modes use instance statistics.
    """
    x = call.x
    cfg = call.config
    layout = _channel_layout(x.shape, _channel_axis(call), per_sample=True)
    weight, bias = call.params.get("weight"), call.params.get("bias")
    if cfg.track_running_stats:
        if not call.training:
            return normalize(x, layout, cfg.epsilon, weight, bias, _running(call, layout))
        mean, var = moments(x.data.reshape(layout.view), layout.stat_axes)
        # the view keeps the batch axis before the channel axis: flat statistics are sample-major
        update_running(call, mean.reshape(-1), var.reshape(-1), layout.count, per_sample=x.shape[0])
        return normalize(x, layout, cfg.epsilon, weight, bias, (mean, var), fixed=False)
    return normalize(x, layout, cfg.epsilon, weight, bias)


@kernel("LayerNormalization")
def layer_normalization(call: Call) -> Tensor:
    """(N, ..., *normalized) -> same shape; statistics per sample over the trailing normalized axes."""
    x = call.x
    cfg = call.config
    spec = get_spec(call.node.kind)
    assert isinstance(spec, LayerNormalization)
    count = len(spec.normalized_axes(cfg, call.input_shapes[0]))
    lead, trail = x.shape[: x.ndim - count], x.shape[x.ndim - count :]
    layout = NormLayout(x.shape, tuple(range(len(lead), x.ndim)), (1,) * len(lead) + trail).compact()
    return normalize(x, layout, cfg.epsilon, call.params.get("weight"), call.params.get("bias"))


@kernel("GroupNormalization")
def group_normalization(call: Call) -> Tensor:
    """(N, ..., C, ...) -> same shape; statistics per sample and group of C/groups channels."""
    x = call.x
    cfg = call.config
    axis = _channel_axis(call)
    groups = cfg.groups
    channels = x.shape[axis]
    view = (*x.shape[:axis], groups, channels // groups, *x.shape[axis + 1 :])
    stat_axes = tuple(i for i in range(1, len(view)) if i != axis)
    params = tuple(n if i in (axis, axis + 1) else 1 for i, n in enumerate(view))
    layout = NormLayout(view, stat_axes, params).compact()
    return normalize(x, layout, cfg.epsilon, call.params.get("weight"), call.params.get("bias"))
