"""Support definitions for the convolution, pooling and resizing families (copied into generated modules
that use them)."""

from __future__ import annotations

from neural.targets.jax.support import helper

helper(
    "SeparableConv",
    '''
class SeparableConv(nnx.Module):
    """Depthwise-separable convolution for 1 or 2 spatial dims (channels last).

    `depthwise`: one filter set per input channel (depth_multiplier outputs each, no bias), carrying the
    strides, padding and dilation; `pointwise`: a 1x1 convolution to out_features.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        *,
        padding: Any = "VALID",
        kernel_dilation: int | tuple[int, ...] = 1,
        depth_multiplier: int = 1,
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ) -> None:
        inner = in_features * depth_multiplier
        self.depthwise = nnx.Conv(
            in_features, inner, kernel_size, strides, padding=padding, kernel_dilation=kernel_dilation,
            feature_group_count=in_features, use_bias=False, rngs=rngs,
        )
        self.pointwise = nnx.Conv(inner, out_features, (1,) * len(kernel_size), use_bias=use_bias, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.pointwise(self.depthwise(x))
''',
)

helper(
    "GroupedConvTranspose",
    '''
class GroupedConvTranspose(nnx.Module):
    """A transposed convolution with channel groups (channels last), as torch.nn.ConvTranspose with groups:
    the gradient of a grouped convolution, computed as a convolution of the stride-dilated input with the
    flipped kernel. `kernel` is kept in PyTorch's layout (in, out / groups, *kernel_size); `padding` is lax's
    explicit (low, high) padding of the dilated input.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: tuple[int, ...],
        strides: tuple[int, ...] | None = None,
        *,
        padding: tuple[tuple[int, int], ...],
        kernel_dilation: tuple[int, ...] | None = None,
        groups: int,
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ) -> None:
        rank = len(kernel_size)
        self.strides = strides or (1,) * rank
        self.kernel_dilation = kernel_dilation or (1,) * rank
        self.padding, self.groups = padding, groups
        bound = 1 / math.sqrt(out_features // groups * math.prod(kernel_size))
        shape = (in_features, out_features // groups, *kernel_size)
        self.kernel = nnx.Param(jax.random.uniform(rngs.params(), shape, minval=-bound, maxval=bound))
        self.bias = nnx.Param(jnp.zeros((out_features,))) if use_bias else None

    def __call__(self, x: jax.Array) -> jax.Array:
        w = self.kernel[...]
        rank, groups = w.ndim - 2, self.groups
        spatial = tuple(range(3, 3 + rank))
        # (in, out/g, *k) -> (g, in/g, out/g, *k), flipped -> (*k, in/g, g * out/g): a grouped HWIO kernel
        w = jnp.flip(w.reshape(groups, w.shape[0] // groups, *w.shape[1:]), axis=spatial)
        w = jnp.transpose(w, (*spatial, 1, 0, 2)).reshape(*w.shape[3:], w.shape[1], -1)
        names = "WHD"[:rank][::-1]
        y = lax.conv_general_dilated(
            x, w, (1,) * rank, self.padding, lhs_dilation=self.strides, rhs_dilation=self.kernel_dilation,
            dimension_numbers=(f"N{names}C", f"{names}IO", f"N{names}C"), feature_group_count=groups,
        )
        return y + self.bias[...] if self.bias is not None else y
''',
)

helper(
    "avg_pool_counted",
    '''
def avg_pool_counted(
    x: jax.Array,
    window: tuple[int, ...],
    strides: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    counted: tuple[tuple[int, int], ...],
) -> jax.Array:
    """Average pooling of channels-last `x` zero-padded by `pads`, dividing each window by its real
    positions plus the `counted` part of the padding (PyTorch's ceil_mode overhang never counts)."""
    total = nnx.avg_pool(x, window, strides, pads) * math.prod(window)
    ones = jnp.pad(jnp.ones((1, *x.shape[1:-1], 1), x.dtype), [(0, 0), *counted, (0, 0)], constant_values=1)
    rest = tuple((b - cb, a - ca) for (b, a), (cb, ca) in zip(pads, counted))
    counts = nnx.avg_pool(ones, window, strides, rest) * math.prod(window)
    return total / counts
''',
)

helper(
    "adaptive_pool",
    '''
def adaptive_pool(x: jax.Array, output_size: tuple[int | None, ...], axes: tuple[int, ...], reduce: str) -> jax.Array:
    """PyTorch's adaptive pooling ("max" or "mean") over `axes`: along an axis of length n, output i reduces
    positions [floor(i * n / m), ceil((i + 1) * n / m)); an output size of None keeps the axis."""
    for axis, m in zip(axes, output_size):
        n = x.shape[axis]
        if m is None or m == n:
            continue
        bins = [lax.slice_in_dim(x, (i * n) // m, -(-(i + 1) * n // m), axis=axis) for i in range(m)]
        pooled = [b.max(axis=axis, keepdims=True) if reduce == "max" else b.mean(axis=axis, keepdims=True) for b in bins]
        x = jnp.concatenate(pooled, axis=axis)
    return x
''',
)
