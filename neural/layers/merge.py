"""Merge layers: combine several tensors into one (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot)."""

from __future__ import annotations

from collections.abc import Sequence

from neural.config.args import Arg, Bool, Config, Int, IntSeq, OneOf
from neural.layers.activations import check_axis
from neural.layers.base import Dim, LayerContext, LayerSpec, Outputs, Shape, fmt_shape, mul
from neural.layers.registry import register


def _common_dim(a: Dim, b: Dim) -> tuple[bool, Dim]:
    if a is None or b is None:
        return True, a if b is None else b
    return a == b, a


class _Elementwise(LayerSpec):
    family = "merge"
    min_inputs = 2
    max_inputs = None
    shape_rule = "all inputs have the same shape; output has that shape"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        result = list(inputs[0])
        for shape in inputs[1:]:
            if len(shape) != len(result):
                raise self.fail("inputs of the same shape", " and ".join(fmt_shape(s) for s in inputs))
            for i, d in enumerate(shape):
                ok, result[i] = _common_dim(result[i], d)
                if not ok:
                    raise self.fail("inputs of the same shape", " and ".join(fmt_shape(s) for s in inputs))
        return tuple(result)


def _merge(kind: str, doc: str, max_inputs: int | None = None) -> None:
    cls = type(kind, (_Elementwise,), {"kind": kind, "__doc__": doc, "max_inputs": max_inputs, "min_inputs": 2})
    register(cls)


_merge("Add", "Element-wise sum of its inputs.")
_merge("Subtract", "First input minus the second.", max_inputs=2)
_merge("Multiply", "Element-wise product of its inputs.")
_merge("Average", "Element-wise mean of its inputs.")
_merge("Maximum", "Element-wise maximum of its inputs.")
_merge("Minimum", "Element-wise minimum of its inputs.")


@register
class Concatenate(LayerSpec):
    """Joins its inputs along `axis` (default: the last, the channels in channels-last layout)."""

    kind = "Concatenate"
    aliases = ("Concat",)
    family = "merge"
    min_inputs = 2
    max_inputs = None
    schema = (Arg("axis", Int(), -1, positional=True, aliases=("dim",), doc="axis of the non-batch dims (-1 = last)"),)
    shape_rule = "inputs agree except on `axis`; output `axis` is the sum"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        first = inputs[0]
        axis = check_axis(self, first, cfg.axis)
        result = list(first)
        total: Dim = first[axis]
        listed = " and ".join(fmt_shape(s) for s in inputs)
        for shape in inputs[1:]:
            if len(shape) != len(first):
                raise self.fail(f"inputs of the same rank (axis {cfg.axis})", listed)
            for i, d in enumerate(shape):
                if i == axis:
                    total = None if total is None or d is None else total + d
                    continue
                ok, result[i] = _common_dim(result[i], d)
                if not ok:
                    raise self.fail(f"inputs that agree on every axis but axis {cfg.axis}", listed)
        result[axis] = total
        return tuple(result)


@register
class Dot(LayerSpec):
    """Dot product of two inputs along `axes` (Keras semantics: axis 0 is the batch axis)."""

    kind = "Dot"
    family = "merge"
    min_inputs = 2
    max_inputs = 2
    schema = (
        Arg(
            "axes",
            OneOf((Int(), IntSeq(min_len=2))),
            positional=True,
            doc="axis (or pair of axes) to contract, counting the batch axis as 0",
        ),
        Arg("normalize", Bool(), False, doc="L2-normalize along the axes first (cosine similarity)"),
    )
    shape_rule = "contracts one axis of each input; output holds the remaining axes ((1,) if none)"

    def _axes(self, cfg: Config, a: Shape, b: Shape) -> tuple[int, int]:
        raw = cfg.axes if isinstance(cfg.axes, tuple) else (cfg.axes, cfg.axes)
        if len(raw) != 2:
            raise self.fail("`axes` to be one axis or a pair", str(raw))
        resolved = []
        for axis, shape in zip(raw, (a, b)):
            rank = len(shape) + 1
            r = axis + rank if axis < 0 else axis
            if not 1 <= r < rank:
                raise self.fail(f"an input with axis {axis} (counting the batch axis as 0)", shape)
            resolved.append(r - 1)
        return resolved[0], resolved[1]

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        a, b = inputs
        ia, ib = self._axes(cfg, a, b)
        ok, _ = _common_dim(a[ia], b[ib])
        if not ok:
            raise self.fail("inputs of equal size on the contracted axes", f"{fmt_shape(a)} and {fmt_shape(b)}")
        out = tuple(d for i, d in enumerate(a) if i != ia) + tuple(d for i, d in enumerate(b) if i != ib)
        return out or (1,)

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        a, b = inputs
        ia, _ = self._axes(cfg, a, b)
        return mul(a[ia], *outputs[0])
