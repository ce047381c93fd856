"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

Shapes are channels-last, `(*spatial, channels)`, unless the network declares
`layout: channels_first`, `(channels, *spatial)`. Weights use PyTorch names and layouts.

Padding along one spatial axis is "valid" (none), "same" (TensorFlow: out = ceil(in / stride), the
total padding split with the smaller half before), "causal" (1-D only: dilation * (kernel - 1) zeros
before) or an explicit (before, after) pair. The rules of one axis live in `conv_length` and
`conv_transpose_length`; every dimensionality shares them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from neural.config.args import Arg, ArgType, ArgTypeError, Bool, Config, Int, IntTuple, Optional_, Pad, Padding
from neural.config.values import SymbolValue
from neural.errors import InvalidValueError
from neural.layers.activations import activation_arg, activation_weights
from neural.layers.base import Dim, LayerContext, LayerSpec, Outputs, Shape, Weight, fmt_shape, mul
from neural.layers.registry import register

PadMode = Union[str, tuple[int, int]]
"""The padding of one spatial axis: "valid", "same", "causal" or a (before, after) pair."""


# --------------------------------------------------------------------------------------------
# Argument type
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpatialPadding(ArgType):
    """`Padding(n, causal)` that also reads a 1-D `(before, after)` pair such as `padding=(1, 2)`.

    With `words=False` only numbers are accepted (ZeroPadding, Cropping). Normalized like `Padding`:
    "valid" / "same" / "causal", or a tuple of `n` (before, after) pairs.
    """

    n: int
    causal: bool = False
    words: bool = True

    def describe(self) -> str:
        words = ('"valid", "same"' + (', "causal"' if self.causal else "") + ", ") if self.words else ""
        if self.n == 1:
            return f"{words}a non-negative integer or a (before, after) pair"
        return f"{words}a non-negative integer, a tuple of {self.n} such integers or of {self.n} (before, after) pairs"

    def convert(self, value: Any) -> str | Pad:
        if not self.words and isinstance(value, (str, SymbolValue)):
            raise ArgTypeError(self.describe())
        if self.n == 1 and _is_int_pair(value):
            value = (tuple(value),)
        try:
            return Padding(self.n, self.causal).convert(value)
        except ArgTypeError as exc:
            raise ArgTypeError(self.describe(), detail=exc.detail) from None


def _is_int_pair(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


# --------------------------------------------------------------------------------------------
# Shape rules of one axis (shared by every dimensionality, and by pooling)
# --------------------------------------------------------------------------------------------


def effective_kernel(kernel: int, dilation: int) -> int:
    """Extent of a dilated kernel: dilation * (kernel - 1) + 1."""
    return dilation * (kernel - 1) + 1


def axis_padding(padding: str | Pad, axis: int) -> PadMode:
    """The padding of spatial axis `axis` from a normalized `padding` config value."""
    return padding if isinstance(padding, str) else padding[axis]


def explicit_pads(pad: PadMode) -> tuple[int, int]:
    """(before, after) of an explicit pad; (0, 0) for "valid" (the string modes are handled by the callers)."""
    return (0, 0) if isinstance(pad, str) else pad


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis: total = max((ceil(n/s) - 1) * s + k_eff - n, 0),
    the smaller half before. Backends that need explicit pads (PyTorch with stride > 1) use this."""
    out = -(-length // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - length, 0)
    return total // 2, total - total // 2


def conv_length(length: Dim, kernel: int, stride: int, dilation: int, pad: PadMode) -> Dim:
    """Output length of a convolution along one axis (None stays None; <= 0 when the kernel does not fit).

    valid: floor((n - k_eff) / s) + 1; explicit (b, a): floor((n + b + a - k_eff) / s) + 1;
    same and causal: ceil(n / s); with k_eff = dilation * (kernel - 1) + 1.
    """
    if length is None:
        return None
    if pad in ("same", "causal"):
        return -(-length // stride)
    before, after = explicit_pads(pad)
    return (length + before + after - effective_kernel(kernel, dilation)) // stride + 1


def conv_transpose_length(
    length: Dim, kernel: int, stride: int, dilation: int, pad: PadMode, output_padding: int | None
) -> Dim:
    """Output length of a transposed convolution along one axis (None stays None).

    With k_eff = dilation * (kernel - 1) + 1 and op = output_padding (Keras rules where op is none):
    valid: (n - 1) * s + k_eff + op, or (n - 1) * s + max(k_eff, s) when op is none;
    same: n * s when op is none, else (n - 1) * s + k_eff % 2 + op;
    explicit (b, a): (n - 1) * s + k_eff + op - b - a (op none = 0, as torch).
    """
    if length is None:
        return None
    k_eff = effective_kernel(kernel, dilation)
    if pad == "same":
        return length * stride if output_padding is None else (length - 1) * stride + k_eff % 2 + output_padding
    if pad == "valid":
        extent = max(k_eff, stride) if output_padding is None else k_eff + output_padding
        return (length - 1) * stride + extent
    before, after = explicit_pads(pad)
    return (length - 1) * stride + k_eff + (output_padding or 0) - before - after


# --------------------------------------------------------------------------------------------
# Base classes
# --------------------------------------------------------------------------------------------


class SpatialLayer(LayerSpec):
    """A layer on feature maps `(*spatial, channels)` (or `(channels, *spatial)`) with `rank` spatial axes."""

    rank: ClassVar[int] = 2

    def split_input(self, shape: Shape, ctx: LayerContext, *, need_channels: bool = True) -> tuple[Shape, Dim]:
        """(spatial dims, channels) after checking the rank (and that the channels are known)."""
        self.expect_rank(shape, self.rank + 1, ctx.spatial_names(self.rank))
        spatial, channels = ctx.split(shape)
        if need_channels and channels is None:
            raise self.fail(f"a known number of channels {ctx.spatial_names(self.rank)}", shape)
        return spatial, channels

    def axis_names(self) -> str:
        return {1: "(steps,)", 2: "(height, width)", 3: "(depth, height, width)"}[self.rank]


def _padding_arg(rank: int, *, causal: bool) -> Arg:
    causal_doc = '; "causal": dilation * (kernel - 1) zeros before only' if causal else ""
    doc = (
        f'zeros around the input; "same": output ceil(n / strides), TensorFlow split (smaller half before){causal_doc}'
    )
    return Arg("padding", SpatialPadding(rank, causal=causal), "valid", doc=doc)


def _window_args(rank: int, *, causal: bool) -> list[Arg]:
    """strides, padding and dilation_rate, shared by every convolution kind."""
    ones = (1,) * rank
    return [
        Arg("strides", IntTuple(rank), ones, aliases=("stride",), doc="step of the window"),
        _padding_arg(rank, causal=causal),
        Arg("dilation_rate", IntTuple(rank), ones, aliases=("dilation",), doc="spacing between kernel taps"),
    ]


def _conv_schema(rank: int, *, causal: bool, transposed: bool = False) -> tuple[Arg, ...]:
    output_padding = Arg(
        "output_padding",
        Optional_(IntTuple(rank, min=0)),
        None,
        doc="size added after the last position; below the stride or the dilation (none: Keras rule)",
    )
    return (
        Arg("filters", Int(min=1), positional=True, aliases=("out_channels",), doc="output channels"),
        Arg("kernel_size", IntTuple(rank), positional=True, doc="window size, an int or one per spatial axis"),
        activation_arg(),
        *_window_args(rank, causal=causal),
        *((output_padding,) if transposed else ()),
        Arg("groups", Int(min=1), 1, doc="channel groups; divides input channels and filters"),
        Arg("use_bias", Bool(), True, aliases=("bias",), doc="add a learned bias per output channel"),
    )


def _depthwise_schema(rank: int, *, separable: bool) -> tuple[Arg, ...]:
    filters = Arg("filters", Int(min=1), positional=True, doc="output channels of the pointwise convolution")
    return (
        *((filters,) if separable else ()),
        Arg("kernel_size", IntTuple(rank), positional=True, doc="depthwise window size"),
        activation_arg(),
        *_window_args(rank, causal=rank == 1),
        Arg("depth_multiplier", Int(min=1), 1, doc="depthwise output channels per input channel"),
        Arg("use_bias", Bool(), True, aliases=("bias",), doc="add a learned bias" + (" (pointwise)" * separable)),
    )


class _WindowedConv(SpatialLayer):
    """Shared rules of forward convolutions: a kernel sliding over `rank` spatial axes."""

    family = "conv"

    def out_spatial(self, cfg: Config, shape: Shape, spatial: Shape) -> Shape:
        """Output spatial dims; shape error when the (dilated) kernel does not fit the padded input."""
        out = tuple(
            conv_length(n, k, s, d, axis_padding(cfg.padding, i))
            for i, (n, k, s, d) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate))
        )
        if any(o is not None and o < 1 for o in out):
            kernel = tuple(effective_kernel(k, d) for k, d in zip(cfg.kernel_size, cfg.dilation_rate))
            pads = "" if cfg.padding == "valid" else f" plus padding {cfg.padding}"
            raise self.fail(
                f"spatial dims {self.axis_names()} at least as large as the"
                f"{' dilated' if any(d > 1 for d in cfg.dilation_rate) else ''} kernel {fmt_shape(kernel)}{pads}",
                shape,
            )
        return out

    def kernel_volume(self, cfg: Config) -> int:
        return math.prod(cfg.kernel_size)


class _Conv(_WindowedConv):
    shape_rule = (
        "(*spatial, in) -> (*out, filters); valid: out = floor((n - k_eff) / s) + 1, "
        "same/causal: ceil(n / s), explicit (b, a): floor((n + b + a - k_eff) / s) + 1, k_eff = d * (k - 1) + 1"
    )

    def check_config(self, cfg: Config) -> Config:
        _check_filter_groups(self, cfg)
        return cfg

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        spatial, channels = self.split_input(shape, ctx)
        _check_channel_groups(self, cfg, channels, shape)
        return ctx.join(self.out_spatial(cfg, shape, spatial), cfg.filters)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        _, channels = ctx.split(inputs[0])
        assert channels is not None
        found = {"weight": Weight((cfg.filters, channels // cfg.groups, *cfg.kernel_size))}
        if cfg.use_bias:
            found["bias"] = Weight((cfg.filters,))
        return {**found, **activation_weights(cfg)}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        _, channels = ctx.split(inputs[0])
        out_spatial, _ = ctx.split(outputs[0])
        assert channels is not None
        return mul(self.kernel_volume(cfg), channels // cfg.groups, cfg.filters, *out_spatial)


def _check_filter_groups(spec: LayerSpec, cfg: Config) -> None:
    if cfg.filters % cfg.groups:
        raise InvalidValueError(
            f"`{spec.kind}` argument `groups` must divide filters={cfg.filters}; received {cfg.groups}"
        )


def _check_channel_groups(spec: LayerSpec, cfg: Config, channels: Dim, shape: Shape) -> None:
    if channels is not None and channels % cfg.groups:
        raise spec.fail(f"input channels divisible by groups={cfg.groups}", shape)


@register
class Conv1D(_Conv):
    """1-D convolution: (steps, in) -> (steps', filters); weight (filters, in/groups, k)."""

    kind = "Conv1D"
    aliases = ("Convolution1D",)
    rank = 1
    schema = _conv_schema(1, causal=True)


@register
class Conv2D(_Conv):
    """2-D convolution: (height, width, in) -> (height', width', filters); weight (filters, in/groups, kh, kw)."""

    kind = "Conv2D"
    aliases = ("Convolution2D",)
    rank = 2
    schema = _conv_schema(2, causal=False)


@register
class Conv3D(_Conv):
    """3-D convolution: (depth, height, width, in) -> (depth', height', width', filters)."""

    kind = "Conv3D"
    aliases = ("Convolution3D",)
    rank = 3
    schema = _conv_schema(3, causal=False)


# --------------------------------------------------------------------------------------------
# Transposed convolutions
# --------------------------------------------------------------------------------------------


class _ConvTranspose(SpatialLayer):
    family = "conv"
    shape_rule = (
        "(*spatial, in) -> (*out, filters); valid: out = (n - 1) * s + k_eff + op (op none: max(k_eff, s)), "
        "same: n * s (op none) or (n - 1) * s + k_eff % 2 + op, explicit (b, a): (n - 1) * s + k_eff + op - b - a"
    )

    def check_config(self, cfg: Config) -> Config:
        _check_filter_groups(self, cfg)
        ops = cfg.output_padding or ()
        if any(op >= max(s, d) for op, s, d in zip(ops, cfg.strides, cfg.dilation_rate)):
            raise InvalidValueError(
                f"`{self.kind}` argument `output_padding` must be smaller than the stride or the dilation on every "
                f"axis (strides={fmt_shape(cfg.strides)}, dilation_rate={fmt_shape(cfg.dilation_rate)}); "
                f"received {fmt_shape(ops)}"
            )
        return cfg

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        spatial, channels = self.split_input(shape, ctx)
        _check_channel_groups(self, cfg, channels, shape)
        ops = cfg.output_padding or (None,) * self.rank
        out = tuple(
            conv_transpose_length(n, k, s, d, axis_padding(cfg.padding, i), op)
            for i, (n, k, s, d, op) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate, ops))
        )
        if any(o is not None and o < 1 for o in out):
            raise self.fail(
                f"spatial dims {self.axis_names()} that give a positive output size with padding {cfg.padding} "
                f"(output would be {fmt_shape(out)})",
                shape,
            )
        return ctx.join(out, cfg.filters)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        _, channels = ctx.split(inputs[0])
        assert channels is not None
        found = {"weight": Weight((channels, cfg.filters // cfg.groups, *cfg.kernel_size))}
        if cfg.use_bias:
            found["bias"] = Weight((cfg.filters,))
        return {**found, **activation_weights(cfg)}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        spatial, channels = ctx.split(inputs[0])
        return mul(math.prod(cfg.kernel_size), channels, cfg.filters // cfg.groups, *spatial)


@register
class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution: (steps, in) -> (steps', filters); weight (in, filters/groups, k)."""

    kind = "Conv1DTranspose"
    aliases = ("ConvTranspose1D", "Deconvolution1D", "Deconv1D")
    rank = 1
    schema = _conv_schema(1, causal=False, transposed=True)


@register
class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution: (height, width, in) -> (height', width', filters); weight (in, filters/groups, kh, kw)."""

    kind = "Conv2DTranspose"
    aliases = ("ConvTranspose2D", "Deconvolution2D", "Deconv2D")
    rank = 2
    schema = _conv_schema(2, causal=False, transposed=True)


@register
class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution: (depth, height, width, in) -> (depth', height', width', filters)."""

    kind = "Conv3DTranspose"
    aliases = ("ConvTranspose3D", "Deconvolution3D", "Deconv3D")
    rank = 3
    schema = _conv_schema(3, causal=False, transposed=True)


# --------------------------------------------------------------------------------------------
# Depthwise and separable convolutions
# --------------------------------------------------------------------------------------------


class _Depthwise(_WindowedConv):
    shape_rule = "(*spatial, in) -> (*out, in * depth_multiplier); out as for Conv with the same arguments"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        spatial, channels = self.split_input(shape, ctx)
        assert channels is not None
        return ctx.join(self.out_spatial(cfg, shape, spatial), channels * cfg.depth_multiplier)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        _, channels = ctx.split(inputs[0])
        assert channels is not None
        inner = channels * cfg.depth_multiplier
        found = {"weight": Weight((inner, 1, *cfg.kernel_size))}
        if cfg.use_bias:
            found["bias"] = Weight((inner,))
        return {**found, **activation_weights(cfg)}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        out_spatial, channels = ctx.split(outputs[0])
        return mul(self.kernel_volume(cfg), channels, *out_spatial)


@register
class DepthwiseConv1D(_Depthwise):
    """Depthwise 1-D convolution (one filter set per channel): (steps, in) -> (steps', in * depth_multiplier)."""

    kind = "DepthwiseConv1D"
    rank = 1
    schema = _depthwise_schema(1, separable=False)


@register
class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: (height, width, in) -> (height', width', in * depth_multiplier); weight (in*dm, 1, kh, kw)."""

    kind = "DepthwiseConv2D"
    rank = 2
    schema = _depthwise_schema(2, separable=False)


class _Separable(_WindowedConv):
    shape_rule = "(*spatial, in) -> (*out, filters); depthwise conv (strides, padding, dilation) then 1x1 conv"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        spatial, _ = self.split_input(shape, ctx)
        return ctx.join(self.out_spatial(cfg, shape, spatial), cfg.filters)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        _, channels = ctx.split(inputs[0])
        assert channels is not None
        inner = channels * cfg.depth_multiplier
        ones = (1,) * self.rank
        found = {
            "depthwise.weight": Weight((inner, 1, *cfg.kernel_size)),
            "pointwise.weight": Weight((cfg.filters, inner, *ones)),
        }
        if cfg.use_bias:
            found["pointwise.bias"] = Weight((cfg.filters,))
        return {**found, **activation_weights(cfg)}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        _, channels = ctx.split(inputs[0])
        out_spatial, _ = ctx.split(outputs[0])
        positions = mul(*out_spatial)
        if positions is None or channels is None:
            return None
        inner = channels * cfg.depth_multiplier
        return self.kernel_volume(cfg) * inner * positions + inner * cfg.filters * positions


@register
class SeparableConv1D(_Separable):
    """Depthwise-separable 1-D convolution: (steps, in) -> (steps', filters)."""

    kind = "SeparableConv1D"
    aliases = ("SeparableConvolution1D",)
    rank = 1
    schema = _depthwise_schema(1, separable=True)


@register
class SeparableConv2D(_Separable):
    """Depthwise-separable 2-D convolution: (height, width, in) -> (height', width', filters)."""

    kind = "SeparableConv2D"
    aliases = ("SeparableConvolution2D",)
    rank = 2
    schema = _depthwise_schema(2, separable=True)
