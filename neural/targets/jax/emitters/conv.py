"""JAX emitters: convolutions (Conv, ConvTranspose, Depthwise and Separable, 1 to 3 spatial dims).

Flax convolutions take channels-last feature maps (needs="flax"). Kernels: nnx.Conv keeps (*kernel,
in / groups, out), the canonical (PyTorch) weight is (out, in / groups, *kernel): the "conv" layout
transform. Padding, by the language's rules:
- "valid", "same" and "causal" are flax's 'VALID', 'SAME' and 'CAUSAL': lax's 'SAME' is TensorFlow's rule
  (output ceil(n / s), the odd pixel after), computed from the dilated kernel, so it holds for strided
  and dilated convolutions and for lengths known only at run time;
- explicit (before, after) pairs are passed as they are.
Depthwise convolutions are nnx.Conv with feature_group_count = channels; SeparableConv is a small
module of two nnx.Conv (`depthwise`, `pointwise`).

Transposed convolutions are nnx.ConvTranspose(transpose_kernel=True): the kernel is flipped and its
channel axes swapped inside, the transpose (gradient) of a convolution as in PyTorch and Keras, so the
canonical (in, out / groups, *kernel) weight maps with the same "conv" transform. The language's output
size (Keras rules for "same" and output_padding=None, explicit pads) is reached with explicit lax
padding of the stride-dilated input: `k_eff - 1 - before` before and what makes the wanted length after
(negative amounts crop). With groups, the generated `GroupedConvTranspose` does the same through
lax.conv_general_dilated (its kernel kept in PyTorch's layout).
"""

from __future__ import annotations

import re

from neural.errors import BackendError
from neural.layers.conv import axis_padding, conv_transpose_length, effective_kernel
from neural.targets.jax.emit import EmitContext, LayerCode, WeightSlot, call, emitter, with_rngs
from neural.targets.jax.emitters.common import fused_activation, prelu_extras, prelu_slots


def spatial_rank(kind: str) -> int:
    """The number of spatial dims in a kind's name: `Conv2DTranspose` -> 2."""
    found = re.search(r"(\d)D", kind)
    assert found is not None
    return int(found.group(1))


def flax_padding(padding: object, rank: int) -> object:
    """The language's padding as flax's `padding=` value."""
    if padding == "valid":
        return "VALID"
    if padding == "same":
        return "SAME"
    if padding == "causal":
        return "CAUSAL"
    pairs = []
    for i in range(rank):
        pair = axis_padding(padding, i)  # type: ignore[arg-type]
        pairs.append((int(pair[0]), int(pair[1])))
    return tuple(pairs)


def window_kwargs(e: EmitContext, rank: int) -> dict[str, object]:
    """strides=, padding=, kernel_dilation= of a flax convolution (padding always given: flax's default is SAME)."""
    cfg = e.config
    found: dict[str, object] = {}
    if any(s != 1 for s in cfg.strides):
        found["strides"] = tuple(cfg.strides)
    found["padding"] = flax_padding(cfg.padding, rank)
    if any(d != 1 for d in cfg.dilation_rate):
        found["kernel_dilation"] = tuple(cfg.dilation_rate)
    return found


def conv_slots(e: EmitContext, bias: bool, prefix: str = "", path: tuple[str, ...] = ()) -> dict[str, WeightSlot]:
    found = {f"{prefix}weight": WeightSlot((*path, "kernel"), "conv")}
    if bias:
        found[f"{prefix}bias"] = WeightSlot((*path, "bias"))
    return found


def _conv_code(
    e: EmitContext, module: str, weights: dict[str, WeightSlot], helpers: tuple[str, ...] = (), comment: str = ""
) -> LayerCode:
    """A channels-last module applied to the input, then the fused activation."""
    return LayerCode(
        comment=comment,
        module=module,
        extras=prelu_extras(e),
        forward=lambda inputs, m: fused_activation(e, f"{m}({inputs[0]})", m, "flax"),
        needs="flax",
        produces="flax",
        helpers=helpers,
        weights={**weights, **prelu_slots(e)},
    )


@emitter("Conv1D", "Conv2D", "Conv3D")
def conv(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    kwargs = window_kwargs(e, rank)
    if cfg.groups != 1:
        kwargs["feature_group_count"] = cfg.groups
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    module = with_rngs(call("nnx.Conv", e.channels(), cfg.filters, tuple(cfg.kernel_size), **kwargs))
    return _conv_code(e, module, conv_slots(e, cfg.use_bias))


@emitter("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    channels = e.channels()
    kwargs = {**window_kwargs(e, rank), "feature_group_count": channels}
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    out = channels * cfg.depth_multiplier
    module = with_rngs(call("nnx.Conv", channels, out, tuple(cfg.kernel_size), **kwargs))
    return _conv_code(e, module, conv_slots(e, cfg.use_bias))


@emitter("SeparableConv1D", "SeparableConv2D")
def separable(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    kwargs = window_kwargs(e, rank)
    if cfg.depth_multiplier != 1:
        kwargs["depth_multiplier"] = cfg.depth_multiplier
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    module = with_rngs(call("SeparableConv", e.channels(), cfg.filters, tuple(cfg.kernel_size), **kwargs))
    weights = {
        "depthwise.weight": WeightSlot(("depthwise", "kernel"), "conv"),
        **conv_slots(e, cfg.use_bias, "pointwise.", ("pointwise",)),
    }
    return _conv_code(e, module, weights, ("SeparableConv",))


# --------------------------------------------------------------------------------------------
# Transposed convolutions
# --------------------------------------------------------------------------------------------

# Stand-in lengths for an axis of unknown size: the padding must come out the same for both.
PROBE_LENGTHS = (16, 17)


def transpose_pads(n: int, k: int, s: int, d: int, mode: object, op: int | None) -> tuple[int, int]:
    """lax padding (before, after) of the stride-dilated input giving the language's output on one axis.

    The full transposed convolution (no padding) has (n - 1) * s + k_eff positions; the language's
    output is `length` of them from position `before` on (positions past the end are zeros plus bias).
    """
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
    low = k_eff - 1 - before
    high = length + k_eff - 2 - (n - 1) * s - low
    return low, high


def transpose_padding(e: EmitContext, rank: int) -> tuple[tuple[int, int], ...]:
    cfg = e.config
    spatial, _ = e.ctx.split(e.in_shape)
    ops = cfg.output_padding or (None,) * rank
    pads = []
    for i, (n, k, s, d, op) in enumerate(zip(spatial, cfg.kernel_size, cfg.strides, cfg.dilation_rate, ops)):
        mode = axis_padding(cfg.padding, i)
        if n is not None:
            pads.append(transpose_pads(n, k, s, d, mode, op))
            continue
        found = {transpose_pads(length, k, s, d, mode, op) for length in PROBE_LENGTHS}
        if len(found) != 1:
            raise BackendError(f"{e.node.kind} with padding {cfg.padding} needs known spatial sizes in the JAX backend")
        pads.append(found.pop())
    return tuple(pads)


@emitter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = spatial_rank(e.node.kind)
    kwargs: dict[str, object] = {}
    if any(s != 1 for s in cfg.strides):
        kwargs["strides"] = tuple(cfg.strides)
    kwargs["padding"] = transpose_padding(e, rank)
    if any(d != 1 for d in cfg.dilation_rate):
        kwargs["kernel_dilation"] = tuple(cfg.dilation_rate)
    if not cfg.use_bias:
        kwargs["use_bias"] = False
    if cfg.groups != 1:
        module = with_rngs(
            call("GroupedConvTranspose", e.channels(), cfg.filters, tuple(cfg.kernel_size), groups=cfg.groups, **kwargs)
        )
        weights = {"weight": WeightSlot(("kernel",))}
        if cfg.use_bias:
            weights["bias"] = WeightSlot(("bias",))
        return _conv_code(e, module, weights, ("GroupedConvTranspose",), TRANSPOSE_COMMENT)
    kwargs["transpose_kernel"] = True
    module = with_rngs(call("nnx.ConvTranspose", e.channels(), cfg.filters, tuple(cfg.kernel_size), **kwargs))
    return _conv_code(e, module, conv_slots(e, cfg.use_bias), comment=TRANSPOSE_COMMENT)


TRANSPOSE_COMMENT = "padding: of the stride-dilated input (lax.conv_transpose)"
