"""Pooling layers: windowed (MaxPooling, AveragePooling), global and adaptive, in 1, 2 and 3 dimensions.

Shapes are channels-last, `(*spatial, channels)`, unless the network declares
`layout: channels_first`. Pooling keeps the channel count, has no weights and counts 0 MACs.
The output length of a window along one axis is `pool_length` (the convolution rule of
`neural.layers.conv.conv_length`, plus PyTorch's `ceil_mode`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neural.config.args import Arg, ArgType, ArgTypeError, Bool, Config, IntTuple, Optional_
from neural.errors import InvalidValueError
from neural.layers.base import Dim, LayerContext, Outputs, Shape, fmt_shape
from neural.layers.conv import PadMode, SpatialLayer, SpatialPadding, axis_padding, conv_length, explicit_pads
from neural.layers.registry import register


def pool_length(length: Dim, pool: int, stride: int, pad: PadMode, ceil_mode: bool = False) -> Dim:
    """Output length of a pooling window along one axis (None stays None; <= 0 when the window does not fit).

    valid / explicit (b, a): floor((n + b + a - k) / s) + 1; same: ceil(n / s). With `ceil_mode`
    (PyTorch's rule) valid / explicit use ceil((n + b + a - k) / s) + 1 instead, minus one when the
    last window would start at or after the end of the input (in the after-padding).
    """
    if length is None or pad == "same" or not ceil_mode:
        return conv_length(length, pool, stride, 1, pad)
    before, after = explicit_pads(pad)
    out = (length + before + after - pool + stride - 1) // stride + 1
    if (out - 1) * stride >= length + before:
        out -= 1
    return out


def _pool_schema(rank: int, *, average: bool) -> tuple[Arg, ...]:
    args = [
        Arg("pool_size", IntTuple(rank), (2,) * rank, positional=True, aliases=("kernel_size",), doc="window size"),
        Arg(
            "strides",
            Optional_(IntTuple(rank)),
            None,
            positional=True,
            aliases=("stride",),
            doc="step (none: pool_size)",
        ),
        Arg(
            "padding",
            SpatialPadding(rank),
            "valid",
            positional=True,
            doc='"same": output ceil(n / strides), TensorFlow split; explicit pads at most pool_size // 2 per side',
        ),
        Arg("ceil_mode", Bool(), False, doc="round the output size up (PyTorch ceil_mode) with valid/explicit padding"),
    ]
    if average:
        args.append(
            Arg("count_include_pad", Bool(), False, doc="average over padded zeros too (false: TensorFlow rule)")
        )
    return tuple(args)


class _Pooling(SpatialLayer):
    family = "pooling"
    shape_rule = (
        "(*spatial, channels) -> (*out, channels); valid/explicit (b, a): out = floor((n + b + a - k) / s) + 1 "
        "(ceil with ceil_mode), same: ceil(n / s)"
    )

    def check_config(self, cfg: Config) -> Config:
        if cfg.strides is None:
            cfg = cfg.replace(strides=cfg.pool_size)
        if not isinstance(cfg.padding, str):
            for (before, after), k in zip(cfg.padding, cfg.pool_size):
                if max(before, after) > k // 2:
                    raise InvalidValueError(
                        f"`{self.kind}` argument `padding` must be at most half the pool size "
                        f"(pool_size={fmt_shape(cfg.pool_size)}) on each side; received {cfg.padding}"
                    )
        return cfg

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        spatial, channels = self.split_input(shape, ctx, need_channels=False)
        strides = cfg.strides or cfg.pool_size
        out = tuple(
            pool_length(n, k, s, axis_padding(cfg.padding, i), cfg.ceil_mode)
            for i, (n, k, s) in enumerate(zip(spatial, cfg.pool_size, strides))
        )
        if any(o is not None and o < 1 for o in out):
            pads = "" if cfg.padding == "valid" else f" plus padding {cfg.padding}"
            raise self.fail(
                f"spatial dims {self.axis_names()} at least as large as the pool size {fmt_shape(cfg.pool_size)}{pads}",
                shape,
            )
        return ctx.join(out, channels)


def _windowed(kind: str, rank: int, average: bool, aliases: tuple[str, ...], doc: str) -> None:
    attrs = {
        "kind": kind,
        "aliases": aliases,
        "rank": rank,
        "schema": _pool_schema(rank, average=average),
        "__doc__": doc,
    }
    register(type(kind, (_Pooling,), attrs))


_SHAPES = {1: "(steps, channels)", 2: "(height, width, channels)", 3: "(depth, height, width, channels)"}
_OUT = {1: "(steps', channels)", 2: "(height', width', channels)", 3: "(depth', height', width', channels)"}

for _rank in (1, 2, 3):
    _windowed(
        f"MaxPooling{_rank}D",
        _rank,
        False,
        (f"MaxPool{_rank}D",),
        f"Maximum over windows of pool_size: {_SHAPES[_rank]} -> {_OUT[_rank]}.",
    )
    _windowed(
        f"AveragePooling{_rank}D",
        _rank,
        True,
        (f"AvgPool{_rank}D", f"AveragePool{_rank}D"),
        f"Mean over windows of pool_size (padding excluded unless count_include_pad): {_SHAPES[_rank]} -> {_OUT[_rank]}.",
    )


class _GlobalPooling(SpatialLayer):
    family = "pooling"
    schema = (Arg("keepdims", Bool(), False, aliases=("keep_dims",), doc="keep the spatial axes with size 1"),)
    shape_rule = "(*spatial, channels) -> (channels,), or (1, ..., 1, channels) with keepdims"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        _, channels = self.split_input(inputs[0], ctx, need_channels=False)
        return ctx.join((1,) * self.rank, channels) if cfg.keepdims else (channels,)


def _global(kind: str, rank: int, aliases: tuple[str, ...], what: str) -> None:
    doc = f"{what} over all spatial positions: {_SHAPES[rank]} -> (channels,)."
    register(type(kind, (_GlobalPooling,), {"kind": kind, "aliases": aliases, "rank": rank, "__doc__": doc}))


for _rank in (1, 2, 3):
    _global(f"GlobalMaxPooling{_rank}D", _rank, (f"GlobalMaxPool{_rank}D",), "Maximum")
    _global(f"GlobalAveragePooling{_rank}D", _rank, (f"GlobalAvgPool{_rank}D", f"GlobalAveragePool{_rank}D"), "Mean")


@dataclass(frozen=True)
class OutputSize(ArgType):
    """An int (for every spatial axis) or a tuple of `n` entries, each a positive int or none (keep that axis)."""

    n: int

    def describe(self) -> str:
        if self.n == 1:
            return "a positive integer"
        return f"a positive integer or a tuple of {self.n} positive integers (or none to keep an axis)"

    def convert(self, value: Any) -> tuple[int | None, ...]:
        items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * self.n
        if len(items) != self.n or all(v is None for v in items):
            raise ArgTypeError(self.describe())
        for v in items:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ArgTypeError(self.describe())
        return items


class _AdaptivePooling(SpatialLayer):
    family = "pooling"
    shape_rule = "(*spatial, channels) -> (*output_size, channels); a none entry keeps that input axis"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        spatial, channels = self.split_input(inputs[0], ctx, need_channels=False)
        out = tuple(n if size is None else size for n, size in zip(spatial, cfg.output_size))
        return ctx.join(out, channels)


def _adaptive(kind: str, rank: int, aliases: tuple[str, ...], what: str) -> None:
    doc = (
        f"{what} over output_size adaptive windows (PyTorch rule: window i spans "
        f"[floor(i * n / m), ceil((i + 1) * n / m))): {_SHAPES[rank]} -> (*output_size, channels)."
    )
    schema = (Arg("output_size", OutputSize(rank), positional=True, doc="output spatial size"),)
    register(
        type(
            kind,
            (_AdaptivePooling,),
            {"kind": kind, "aliases": aliases, "rank": rank, "schema": schema, "__doc__": doc},
        )
    )


for _rank in (1, 2, 3):
    _adaptive(f"AdaptiveMaxPooling{_rank}D", _rank, (f"AdaptiveMaxPool{_rank}D",), "Maximum")
    _adaptive(
        f"AdaptiveAveragePooling{_rank}D",
        _rank,
        (f"AdaptiveAvgPool{_rank}D", f"AdaptiveAveragePool{_rank}D"),
        "Mean",
    )
