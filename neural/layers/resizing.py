"""Resizing layers: UpSampling, ZeroPadding and Cropping in 1, 2 and 3 dimensions (Keras semantics).

Shapes are channels-last, `(*spatial, channels)`, unless the network declares
`layout: channels_first`. None of these layers has weights or MACs; the channel count is kept.
Padding and cropping amounts are (before, after) pairs per spatial axis, in axis order
(depth, height, width), whatever the layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neural.config.args import Arg, Choice, Config, IntTuple
from neural.layers.base import LayerContext, Outputs, Shape, fmt_shape
from neural.layers.conv import SpatialLayer, SpatialPadding
from neural.layers.registry import register

_SHAPES = {1: "(steps, channels)", 2: "(height, width, channels)", 3: "(depth, height, width, channels)"}

# Interpolation modes per rank; each is the PyTorch `nn.Upsample` mode of that name (align_corners=False,
# which is also TensorFlow's half-pixel rule).
_INTERPOLATION: dict[int, tuple[tuple[str, ...], Mapping[str, str]]] = {
    1: (("nearest", "linear"), {}),
    2: (("nearest", "bilinear"), {"linear": "bilinear"}),
    3: (("nearest", "trilinear"), {"linear": "trilinear"}),
}


class _UpSampling(SpatialLayer):
    family = "resizing"
    shape_rule = "(*spatial, channels) -> (*(spatial * size), channels)"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        spatial, channels = self.split_input(inputs[0], ctx, need_channels=False)
        out = tuple(None if n is None else n * s for n, s in zip(spatial, cfg.size))
        return ctx.join(out, channels)


def _upsampling(rank: int) -> None:
    kind = f"UpSampling{rank}D"
    options, aliases = _INTERPOLATION[rank]
    schema = (
        Arg(
            "size",
            IntTuple(rank),
            (2,) * rank,
            positional=True,
            aliases=("scale_factor",),
            doc="integer scale per spatial axis",
        ),
        Arg(
            "interpolation",
            Choice(options, aliases),
            "nearest",
            aliases=("mode",),
            doc=" or ".join(f'"{o}"' for o in options) + " (PyTorch modes, align_corners=false)",
        ),
    )
    doc = f"Repeats (nearest) or interpolates each spatial axis by `size`: {_SHAPES[rank]} -> (*(spatial * size), channels)."
    attrs = {"kind": kind, "aliases": (f"UpSample{rank}D",), "rank": rank, "schema": schema, "__doc__": doc}
    register(type(kind, (_UpSampling,), attrs))


class _ZeroPadding(SpatialLayer):
    family = "resizing"
    shape_rule = "(*spatial, channels) -> (*(n + before + after), channels)"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        spatial, channels = self.split_input(inputs[0], ctx, need_channels=False)
        out = tuple(None if n is None else n + before + after for n, (before, after) in zip(spatial, cfg.padding))
        return ctx.join(out, channels)


def _zero_padding(rank: int) -> None:
    kind = f"ZeroPadding{rank}D"
    forms = (
        "an int, a (before, after) pair"
        if rank == 1
        else f"an int, {rank} ints (symmetric) or {rank} (before, after) pairs"
    )
    schema = (
        Arg(
            "padding", SpatialPadding(rank, words=False), ((1, 1),) * rank, positional=True, doc=f"zeros added: {forms}"
        ),
    )
    doc = f"Adds zeros before and after each spatial axis: {_SHAPES[rank]} -> (*(n + before + after), channels)."
    attrs = {"kind": kind, "aliases": (f"ZeroPad{rank}D",), "rank": rank, "schema": schema, "__doc__": doc}
    register(type(kind, (_ZeroPadding,), attrs))


class _Cropping(SpatialLayer):
    family = "resizing"
    shape_rule = "(*spatial, channels) -> (*(n - before - after), channels); at least 1 must remain"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        spatial, channels = self.split_input(shape, ctx, need_channels=False)
        out = tuple(None if n is None else n - before - after for n, (before, after) in zip(spatial, cfg.cropping))
        if any(o is not None and o < 1 for o in out):
            totals = tuple(before + after for before, after in cfg.cropping)
            raise self.fail(
                f"spatial dims {self.axis_names()} larger than the cropping {cfg.cropping} "
                f"(total {fmt_shape(totals)}) so that something remains",
                shape,
            )
        return ctx.join(out, channels)


# Keras defaults: Cropping1D (1, 1), Cropping2D ((0, 0), (0, 0)), Cropping3D ((1, 1), (1, 1), (1, 1)).
_CROPPING_DEFAULT = {1: 1, 2: 0, 3: 1}


def _cropping(rank: int) -> None:
    kind = f"Cropping{rank}D"
    forms = (
        "an int, a (before, after) pair"
        if rank == 1
        else f"an int, {rank} ints (symmetric) or {rank} (before, after) pairs"
    )
    default = ((_CROPPING_DEFAULT[rank],) * 2,) * rank
    schema = (
        Arg("cropping", SpatialPadding(rank, words=False), default, positional=True, doc=f"positions removed: {forms}"),
    )
    doc = f"Removes positions before and after each spatial axis: {_SHAPES[rank]} -> (*(n - before - after), channels)."
    attrs = {"kind": kind, "aliases": (f"Crop{rank}D",), "rank": rank, "schema": schema, "__doc__": doc}
    register(type(kind, (_Cropping,), attrs))


for _rank in (1, 2, 3):
    _upsampling(_rank)
    _zero_padding(_rank)
    _cropping(_rank)
