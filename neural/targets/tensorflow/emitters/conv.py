"""TensorFlow emitters: convolutions (Conv, ConvTranspose, Depthwise and Separable, 1 to 3 spatial dims).

Keras' own layers on channels-last tensors (a channels-first network moves its feature maps channels
last first: TensorFlow's CPU convolutions take no other layout). Padding, by the language's rules:
- "valid" and "same" (TensorFlow's rule, the language's) are Keras' own; "causal" too for Conv1D;
- explicit (before, after) pads and "causal" elsewhere: a ZeroPadding layer (`<node>_pad`) first;
- Keras takes strides or a dilation, not both (and TensorFlow's depthwise kernels only equal strides): such
  a convolution runs with stride 1 on the padded input ("same" pads computed for the stride) and
  `Subsample` (`<node>_stride`) keeps every stride-th output.
Transposed convolutions are Keras' ConvNDTranspose ("same" and output_padding follow Keras' rules, which
are the language's; explicit pads crop the full output), except grouped or dilated ones, which Keras
cannot run on a CPU: the generated `ConvTranspose` layer computes those.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from neural.layers.conv import axis_padding, conv_transpose_length, effective_kernel, same_padding
from neural.targets.tensorflow.emit import Binding, EmitContext, LayerCode, Piece, emitter, transpose
from neural.targets.tensorflow.emitters.common import Fused

# A stand-in length for an axis of unknown size where the rule does not depend on it.
ANY_LENGTH = 16


def spatial_rank(kind: str) -> int:
    """The number of spatial dims in a kind's name: `Conv2DTranspose` -> 2."""
    found = re.search(r"(\d)D", kind)
    assert found is not None
    return int(found.group(1))


def collapse(values: Sequence[object]) -> object:
    """One value when all agree (Keras broadcasts an int to every spatial axis), else a tuple."""
    items = tuple(values)
    return items[0] if items and all(v == items[0] for v in items) else items


def pad_value(pairs: Sequence[tuple[int, int]]) -> object:
    """ZeroPadding's or Cropping's argument for (before, after) pairs, as short as Keras reads it: one int
    when every side agrees, one int per axis when each axis is symmetric, else the pairs (one pair for 1-D)."""
    pairs = [(int(b), int(a)) for b, a in pairs]
    if all(b == a for b, a in pairs):
        sizes = [b for b, _ in pairs]
        return collapse(sizes)
    return pairs[0] if len(pairs) == 1 else tuple(pairs)


def explicit_pairs(padding: object, rank: int) -> list[tuple[int, int]]:
    pairs = []
    for i in range(rank):
        pair = axis_padding(padding, i)  # type: ignore[arg-type]
        pairs.append((int(pair[0]), int(pair[1])))
    return pairs


@dataclass(frozen=True)
class ConvPadding:
    """How a forward convolution pads: layers before it, its Keras `padding=`, and layers after it."""

    before: tuple[Piece, ...]
    padding: str
    after: tuple[Piece, ...]
    helpers: tuple[str, ...] = ()
    strided: bool = True  # whether the Keras layer itself takes the strides


def conv_padding(e: EmitContext, rank: int, *, causal_native: bool = False, depthwise: bool = False) -> ConvPadding:
    """`depthwise`: TensorFlow's depthwise kernels also need equal strides on every axis."""
    cfg = e.config
    kernel, strides, dilation = tuple(cfg.kernel_size), tuple(cfg.strides), tuple(cfg.dilation_rate)
    both = any(s > 1 for s in strides) and any(d > 1 for d in dilation)
    both = both or (depthwise and len(set(strides)) > 1)
    padding = cfg.padding
    if not both and (padding in ("valid", "same") or (padding == "causal" and causal_native)):
        return ConvPadding((), str(padding), ())
    after = (Piece("Subsample", (strides,), role="stride"),) if both else ()
    helpers: tuple[str, ...] = ("Subsample",) if both else ()
    if padding == "valid":
        return ConvPadding((), "valid", after, helpers, strided=not both)
    if padding == "causal":
        pairs = [(effective_kernel(k, d) - 1, 0) for k, d in zip(kernel, dilation)]
    elif padding == "same":
        spatial = e.spatial()
        if any(n is None for n in spatial):
            pad = Piece("SamePadding", (kernel, strides, dilation), role="pad")
            return ConvPadding((pad,), "valid", after, ("SamePadding", *helpers), strided=not both)
        pairs = [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)]  # type: ignore[arg-type]
    else:
        pairs = explicit_pairs(padding, rank)
    before = (
        (Piece(f"layers.ZeroPadding{rank}D", (pad_value(pairs),), role="pad"),) if any(any(p) for p in pairs) else ()
    )
    return ConvPadding(before, "valid", after, helpers, strided=not both)


def window_kwargs(e: EmitContext, pad: ConvPadding) -> dict[str, object]:
    """strides=, padding=, dilation_rate= of a Keras convolution, left out where Keras' default applies."""
    cfg = e.config
    found: dict[str, object] = {}
    if pad.strided and any(s != 1 for s in cfg.strides):
        found["strides"] = collapse(cfg.strides)
    if pad.padding != "valid":
        found["padding"] = pad.padding
    if any(d != 1 for d in cfg.dilation_rate):
        found["dilation_rate"] = collapse(cfg.dilation_rate)
    return found


def _conv_code(
    e: EmitContext,
    main: Piece,
    pad: ConvPadding,
    fused: Fused,
    weights: Sequence[Binding],
    helpers: tuple[str, ...] = (),
) -> LayerCode:
    return LayerCode(
        pieces=(*pad.before, main, *pad.after, *fused.pieces),
        needs="keras",
        produces="keras",
        helpers=(*pad.helpers, *fused.helpers, *helpers),
        weights=(*weights, *fused.weights),
    )


def _bias(e: EmitContext, name: str = "bias") -> tuple[Binding, ...]:
    return (Binding(name, "bias"),) if e.config.use_bias else ()


@emitter("Conv1D", "Conv2D", "Conv3D")
def conv(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    pad = conv_padding(e, rank, causal_native=rank == 1)
    fused = Fused(e, "keras")
    kwargs = {**window_kwargs(e, pad), **fused.kwargs}
    if cfg.groups != 1:
        kwargs["groups"] = cfg.groups
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    main = Piece(f"layers.Conv{rank}D", (cfg.filters, collapse(cfg.kernel_size)), kwargs)
    return _conv_code(e, main, pad, fused, (Binding("weight", "kernel", (transpose(rank + 2),)), *_bias(e)))


def depthwise_ops(channels: int, multiplier: int, kernel: Sequence[int]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(channels * multiplier, 1, *k) -> Keras' depthwise kernel (*k, channels, multiplier)."""
    rank = len(kernel)
    return (("reshape", (channels, multiplier, *kernel)), ("transpose", (*range(2, rank + 2), 0, 1)))


@emitter("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    pad = conv_padding(e, rank, depthwise=True)
    fused = Fused(e, "keras")
    kwargs = {**window_kwargs(e, pad), **fused.kwargs}
    if cfg.depth_multiplier != 1:
        kwargs["depth_multiplier"] = cfg.depth_multiplier
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    main = Piece(f"layers.DepthwiseConv{rank}D", (collapse(cfg.kernel_size),), kwargs)
    kernel = Binding("weight", "kernel", depthwise_ops(e.channels(), cfg.depth_multiplier, cfg.kernel_size))
    return _conv_code(e, main, pad, fused, (kernel, *_bias(e)))


@emitter("SeparableConv1D", "SeparableConv2D")
def separable(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    pad = conv_padding(e, rank, depthwise=True)
    fused = Fused(e, "keras")
    kwargs = {**window_kwargs(e, pad), **fused.kwargs}
    if cfg.depth_multiplier != 1:
        kwargs["depth_multiplier"] = cfg.depth_multiplier
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    main = Piece(f"layers.SeparableConv{rank}D", (cfg.filters, collapse(cfg.kernel_size)), kwargs)
    weights = (
        Binding(
            "depthwise.weight", "depthwise_kernel", depthwise_ops(e.channels(), cfg.depth_multiplier, cfg.kernel_size)
        ),
        Binding("pointwise.weight", "pointwise_kernel", (transpose(rank + 2),)),
        *_bias(e, "pointwise.bias"),
    )
    return _conv_code(e, main, pad, fused, weights)


# --------------------------------------------------------------------------------------------
# Transposed convolutions
# --------------------------------------------------------------------------------------------


def transpose_crop(n: int, k: int, s: int, d: int, mode: object, op: int | None) -> tuple[int, int]:
    """(start, excess) of the language's output within the full transposed output of length
    (n - 1) * s + k_eff: the output starts `start` positions in and ends `excess` positions before the
    end (a negative excess: that many zeros appended)."""
    length = conv_transpose_length(n, k, s, d, mode, op)  # type: ignore[arg-type]
    assert length is not None
    full = (n - 1) * s + effective_kernel(k, d)
    if mode == "same":
        start = max(full - length, 0) // 2
    elif mode == "valid":
        start = 0
    else:
        start = int(mode[0])  # type: ignore[index]
    return start, full - start - length


def _tf_same_fits(e: EmitContext, spatial: Sequence[int | None]) -> bool:
    """Whether TensorFlow's "same" transposed convolution can produce the language's length: it needs
    ceil(length / stride) == n, which an explicit output_padding can break."""
    cfg = e.config
    if cfg.padding != "same" or cfg.output_padding is None:
        return True
    for n, k, s, op in zip(spatial, cfg.kernel_size, cfg.strides, cfg.output_padding):
        n = n if n is not None else ANY_LENGTH
        length = conv_transpose_length(n, k, s, 1, "same", op)
        if length is None or -(-length // s) != n:
            return False
    return True


@emitter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    fused = Fused(e, "keras")
    spatial = e.spatial()
    native = cfg.groups == 1 and all(d == 1 for d in cfg.dilation_rate) and _tf_same_fits(e, spatial)
    # Keras' kernel is (*k, filters, in); the generated ConvTranspose keeps torch's (in, filters / groups, *k)
    kernel = Binding("weight", "kernel", (transpose(rank + 2),)) if native else Binding("weight", "weight")
    weights = (kernel, *_bias(e))
    if native:
        kwargs: dict[str, object] = {}
        if any(s != 1 for s in cfg.strides):
            kwargs["strides"] = collapse(cfg.strides)
        crop: tuple[Piece, ...] = ()
        if cfg.padding in ("valid", "same"):
            if cfg.padding == "same":
                kwargs["padding"] = "same"
            if cfg.output_padding is not None:
                kwargs["output_padding"] = collapse(cfg.output_padding)
        else:
            kwargs["output_padding"] = collapse(cfg.output_padding or (0,) * rank)
            pairs = explicit_pairs(cfg.padding, rank)
            if any(any(p) for p in pairs):
                crop = (Piece(f"layers.Cropping{rank}D", (pad_value(pairs),), role="crop"),)
        kwargs.update(fused.kwargs)
        if not cfg.use_bias:
            kwargs["use_bias"] = False
        main = Piece(f"layers.Conv{rank}DTranspose", (cfg.filters, collapse(cfg.kernel_size)), kwargs)
        return LayerCode(
            pieces=(main, *crop, *fused.pieces),
            needs="keras",
            produces="keras",
            helpers=fused.helpers,
            weights=(*weights, *fused.weights),
        )
    ops_ = cfg.output_padding or (None,) * rank
    crops = tuple(
        transpose_crop(n if n is not None else ANY_LENGTH, k, s, d, axis_padding(cfg.padding, i), op)
        for i, (n, k, s, d, op) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate, ops_))
    )
    kwargs = {"crop": crops}
    if cfg.groups != 1:
        kwargs["groups"] = cfg.groups
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    kwargs.update(fused.kwargs)
    main = Piece(
        "ConvTranspose",
        (cfg.filters, tuple(cfg.kernel_size), tuple(cfg.strides), tuple(cfg.dilation_rate)),
        kwargs,
    )
    return LayerCode(
        pieces=(main, *fused.pieces),
        needs="keras",
        produces="keras",
        helpers=("ConvTranspose", *fused.helpers),
        weights=(*weights, *fused.weights),
    )
