"""PyTorch emitters: convolutions (Conv, ConvTranspose, Depthwise and Separable, 1 to 3 spatial dims).

All of them work on channels-first tensors (needs="torch") with torch.nn modules whose parameter names are
the spec's (`weight`, `bias`; `depthwise.weight`, `pointwise.weight`, `pointwise.bias` for the
`SeparableConv` support class). Padding, by the language's rules:
- "valid": none; an explicit symmetric pair per axis: the module's `padding=`; an uneven pair: `F.pad`
  before the module;
- "same" (TensorFlow: out = ceil(n / s), the extra pixel after): with stride 1 the pads do not depend on
  the input size, so an even total is `padding="same"` and an odd one a fixed `F.pad`; with a stride the
  `same_pad` helper pads at run time;
- "causal" (1-D): `F.pad` of dilation * (kernel - 1) zeros before.
A transposed convolution's output size (Keras rules for "same" and for output_padding=None) is reached
with the module's `padding` / `output_padding`, and a slice where the excess is uneven.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from neural.errors import BackendError
from neural.layers.conv import axis_padding, conv_transpose_length, effective_kernel
from neural.targets.pytorch.emit import EmitContext, LayerCode, call, emitter, lit
from neural.targets.pytorch.emitters.common import fused_activation, prelu_init

# A stand-in length for an axis of unknown size where the padding rule does not depend on it.
ANY_LENGTH = 16


def collapse(values: Sequence[int | None]) -> object:
    """One value when all agree (torch broadcasts an int to every spatial axis), else a tuple."""
    items = tuple(values)
    return items[0] if items and all(v == items[0] for v in items) else items


def pad_order(pairs: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """(before, after) pairs in axis order -> F.pad's flat order (last axis first)."""
    return tuple(v for pair in reversed(pairs) for v in pair)


def pad_expr(x: str, pairs: Sequence[tuple[int, int]], value: str = "") -> str:
    """`F.pad(x, (...))` (with `value=` when given as code), or `x` when nothing is padded."""
    flat = pad_order(pairs)
    if not any(flat):
        return x
    return f"F.pad({x}, {lit(flat)}{f', value={value}' if value else ''})"


def torch_slice(rank: int, ranges: Sequence[tuple[int, int]]) -> str:
    """`[:, :, a:-b, ...]`: the (start, trailing excess) of each spatial axis of a channels-first tensor."""
    parts = [":", ":"]
    for start, tail in ranges[:rank]:
        parts.append(f"{start or ''}:{-tail if tail else ''}")
    return f"[{', '.join(parts)}]"


def explicit_pairs(padding: object, rank: int) -> list[tuple[int, int]]:
    """The (before, after) pairs of an explicit `padding` config value, one per spatial axis."""
    pairs = []
    for i in range(rank):
        pair = axis_padding(padding, i)  # type: ignore[arg-type]
        pairs.append((int(pair[0]), int(pair[1])))
    return pairs


@dataclass(frozen=True)
class WindowPadding:
    """How a windowed layer pads: `kwargs` go to the module, `wrap` pads its input first."""

    kwargs: dict[str, object] = field(default_factory=dict)
    wrap: Callable[[str], str] = lambda x: x
    helpers: tuple[str, ...] = ()


def conv_padding(e: EmitContext, *, rank: int) -> WindowPadding:
    """The padding of a forward convolution (Conv, Depthwise, Separable) by the language's rules."""
    cfg = e.config
    kernel, strides, dilation = tuple(cfg.kernel_size), tuple(cfg.strides), tuple(cfg.dilation_rate)
    padding = cfg.padding
    if padding == "valid":
        return WindowPadding()
    if padding == "causal":
        pairs = [(effective_kernel(k, d) - 1, 0) for k, d in zip(kernel, dilation)]
        return WindowPadding(wrap=lambda x: pad_expr(x, pairs))
    if padding == "same":
        if any(s != 1 for s in strides):
            args = f"{lit(kernel)}, {lit(strides)}, {lit(dilation)}"
            return WindowPadding(wrap=lambda x: f"same_pad({x}, {args})", helpers=("same_pad",))
        totals = [effective_kernel(k, d) - 1 for k, d in zip(kernel, dilation)]
        if all(t % 2 == 0 for t in totals):
            return WindowPadding(kwargs={"padding": "same"})
        pairs = [(t // 2, t - t // 2) for t in totals]
        return WindowPadding(wrap=lambda x: pad_expr(x, pairs))
    pairs = explicit_pairs(padding, rank)
    if all(b == a for b, a in pairs):
        befores = [b for b, _ in pairs]
        return WindowPadding(kwargs={"padding": collapse(befores)} if any(befores) else {})
    return WindowPadding(wrap=lambda x: pad_expr(x, pairs))


def window_kwargs(e: EmitContext, pad: WindowPadding) -> dict[str, object]:
    """stride=, padding=, dilation= of a convolution module, left out where torch's default applies."""
    cfg = e.config
    found: dict[str, object] = {}
    if any(s != 1 for s in cfg.strides):
        found["stride"] = collapse(cfg.strides)
    found.update(pad.kwargs)
    if any(d != 1 for d in cfg.dilation_rate):
        found["dilation"] = collapse(cfg.dilation_rate)
    return found


def spatial_rank(kind: str) -> int:
    """The number of spatial dims in a kind's name: `Conv2DTranspose` -> 2."""
    found = re.search(r"(\d)D", kind)
    assert found is not None
    return int(found.group(1))


def _conv_code(
    e: EmitContext, module: str, pad: WindowPadding, after: str = "", helpers: tuple[str, ...] = ()
) -> LayerCode:
    """A channels-first module applied to the (padded) input, then `after` (a slice) and the activation."""
    return LayerCode(
        module=module,
        forward=lambda inputs, m: fused_activation(e, f"{m}({pad.wrap(inputs[0])}){after}", m, "torch"),
        needs="torch",
        produces="torch",
        helpers=(*pad.helpers, *helpers),
        init_after=prelu_init(e),
    )


@emitter("Conv1D", "Conv2D", "Conv3D")
def conv(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    pad = conv_padding(e, rank=rank)
    kwargs = window_kwargs(e, pad)
    if cfg.groups != 1:
        kwargs["groups"] = cfg.groups
    if not cfg.use_bias:
        kwargs["bias"] = False
    module = call(f"nn.Conv{rank}d", e.channels(), cfg.filters, collapse(cfg.kernel_size), **kwargs)
    return _conv_code(e, module, pad)


@emitter("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    channels = e.channels()
    pad = conv_padding(e, rank=rank)
    kwargs = {**window_kwargs(e, pad), "groups": channels}
    if not cfg.use_bias:
        kwargs["bias"] = False
    out = channels * cfg.depth_multiplier
    module = call(f"nn.Conv{rank}d", channels, out, collapse(cfg.kernel_size), **kwargs)
    return _conv_code(e, module, pad)


@emitter("SeparableConv1D", "SeparableConv2D")
def separable(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    pad = conv_padding(e, rank=rank)
    kwargs = window_kwargs(e, pad)
    if cfg.depth_multiplier != 1:
        kwargs["depth_multiplier"] = cfg.depth_multiplier
    if not cfg.use_bias:
        kwargs["bias"] = False
    if rank != 2:
        kwargs["dims"] = rank
    module = call("SeparableConv", e.channels(), cfg.filters, collapse(cfg.kernel_size), **kwargs)
    return _conv_code(e, module, pad, helpers=("SeparableConv",))


# --------------------------------------------------------------------------------------------
# Transposed convolutions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransposeAxis:
    """One spatial axis of a transposed convolution in torch terms.

    torch's full output (padding 0) has length L = (n - 1) * s + k_eff; the language's output is
    `length` positions starting at `before` of it (positions past L are zeros plus bias). torch crops
    `padding` from both ends and appends `output_padding` (< max(s, d)); the slice then removes `start`
    positions before and `tail` after.
    """

    padding: int
    output_padding: int
    start: int
    tail: int


def transpose_axis(n: int, k: int, s: int, d: int, mode: object, op: int | None) -> TransposeAxis:
    k_eff = effective_kernel(k, d)
    length = conv_transpose_length(n, k, s, d, mode, op)  # type: ignore[arg-type]
    assert length is not None
    full = (n - 1) * s + k_eff
    if mode == "same":
        before = max(full - length, 0) // 2
    elif mode == "valid":
        before = 0
    else:
        before = int(mode[0])  # type: ignore[index]
    excess = full - before - length  # positions of the full output after the wanted ones (negative: missing)
    padding = min(before, excess + max(s, d) - 1)
    if padding < 0:
        raise BackendError(f"torch's ConvTranspose cannot reach an output of {length} from {n} positions")
    output_padding = max(0, padding - excess)
    return TransposeAxis(padding, output_padding, before - padding, excess - padding + output_padding)


@emitter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    spatial, _ = e.ctx.split(e.in_shape)
    ops = cfg.output_padding or (None,) * rank
    axes = [
        transpose_axis(n if n is not None else ANY_LENGTH, k, s, d, axis_padding(cfg.padding, i), op)
        for i, (n, k, s, d, op) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate, ops))
    ]
    kwargs: dict[str, object] = {}
    if any(s != 1 for s in cfg.strides):
        kwargs["stride"] = collapse(cfg.strides)
    if any(a.padding for a in axes):
        kwargs["padding"] = collapse([a.padding for a in axes])
    if any(a.output_padding for a in axes):
        kwargs["output_padding"] = collapse([a.output_padding for a in axes])
    if cfg.groups != 1:
        kwargs["groups"] = cfg.groups
    if not cfg.use_bias:
        kwargs["bias"] = False
    if any(d != 1 for d in cfg.dilation_rate):
        kwargs["dilation"] = collapse(cfg.dilation_rate)
    module = call(f"nn.ConvTranspose{rank}d", e.channels(), cfg.filters, collapse(cfg.kernel_size), **kwargs)
    crop = any(a.start or a.tail for a in axes)
    after = torch_slice(rank, [(a.start, a.tail) for a in axes]) if crop else ""
    return _conv_code(e, module, WindowPadding(), after)
