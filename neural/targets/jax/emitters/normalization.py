"""JAX emitters: normalization layers (BatchNormalization, LayerNormalization, InstanceNormalization,
GroupNormalization).

- BatchNormalization is the generated `BatchNorm` (nnx.BatchNorm's running variance is the biased one,
  PyTorch's the unbiased one); it takes the channel axis as an argument, so it works in whatever layout
  arrives. `momentum` keeps the language's (Keras') convention, which is also flax's.
- LayerNormalization is nnx.LayerNorm over the trailing axes of the language's layout (several axes:
  reduction_axes = feature_axes, the learned scale and bias flattened, reshaped by the weight table).
- GroupNormalization and InstanceNormalization are nnx.GroupNorm / nnx.InstanceNorm on channels-last
  maps; an explicit `axis` other than the layout's channel axis is moved last around the call.
  Instance normalization with running statistics is the generated `InstanceNorm`.
- Every variance is the two-pass one (use_fast_variance=False), as the NumPy runtime and PyTorch compute it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from neural.layers.normalization import DEFAULT_EPSILON, DEFAULT_MOMENTUM, LayerNormalization, _Norm
from neural.layers.registry import get_spec
from neural.targets.jax.emit import EmitContext, LayerCode, Layout, WeightSlot, call, emitter, with_rngs


def _affine_slots(cfg: object, running: bool = False) -> dict[str, WeightSlot]:
    found: dict[str, WeightSlot] = {}
    if cfg.scale:  # type: ignore[attr-defined]
        found["weight"] = WeightSlot(("scale",))
    if cfg.center:  # type: ignore[attr-defined]
        found["bias"] = WeightSlot(("bias",))
    if running:
        found["running_mean"] = WeightSlot(("mean",))
        found["running_var"] = WeightSlot(("var",))
    return found


def _switches(cfg: object) -> dict[str, object]:
    found: dict[str, object] = {}
    if not cfg.scale:  # type: ignore[attr-defined]
        found["use_scale"] = False
    if not cfg.center:  # type: ignore[attr-defined]
        found["use_bias"] = False
    return found


class ChannelAxis:
    """The statistics' channel axis: the layout's own (asks for channels-last maps, then it is the last axis)
    or an explicit other axis (kept in the incoming layout and moved last around the call)."""

    def __init__(self, e: EmitContext) -> None:
        spec = get_spec(e.node.kind)
        assert isinstance(spec, _Norm)
        shape = e.in_shape
        self.rank = len(shape)
        axis = spec.channel_axis(e.config, shape, e.ctx)
        default = spec.channel_axis(e.config.replace(axis=None), shape, e.ctx)
        self.needs: Layout = "flax" if axis == default else "any"
        self.axis = -1 if axis == default else e.jax_axis(axis, self.rank)
        self.channels = shape[axis]

    def wrap(self, apply: Callable[[str], str], x: str) -> str:
        if self.axis == -1:
            return apply(x)
        return f"jnp.moveaxis({apply(f'jnp.moveaxis({x}, {self.axis}, -1)')}, -1, {self.axis})"


def _epsilon(e: EmitContext) -> dict[str, object]:
    return {"epsilon": e.config.epsilon}


@emitter("BatchNormalization")
def batch_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    spec = get_spec(e.node.kind)
    assert isinstance(spec, _Norm)
    lang_axis = spec.channel_axis(cfg, e.in_shape, e.ctx)
    axis = e.jax_axis(lang_axis, len(e.in_shape))
    options: dict[str, object] = {"axis": axis} if axis != len(e.in_shape) else {}
    if cfg.momentum != DEFAULT_MOMENTUM:
        options["momentum"] = cfg.momentum
    if cfg.epsilon != DEFAULT_EPSILON:
        options["epsilon"] = cfg.epsilon
    return LayerCode(
        module=call("BatchNorm", e.in_shape[lang_axis], **options, **_switches(cfg)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        helpers=("BatchNorm",),
        weights=_affine_slots(cfg, running=True),
    )


@emitter("InstanceNormalization")
def instance_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    if cfg.track_running_stats:
        spec = get_spec(e.node.kind)
        assert isinstance(spec, _Norm)
        lang_axis = spec.channel_axis(cfg, e.in_shape, e.ctx)
        axis = e.jax_axis(lang_axis, len(e.in_shape))
        options: dict[str, object] = {"axis": axis} if axis != len(e.in_shape) else {}
        if cfg.momentum != DEFAULT_MOMENTUM:
            options["momentum"] = cfg.momentum
        if cfg.epsilon != DEFAULT_EPSILON:
            options["epsilon"] = cfg.epsilon
        switches = {k: v for k, v in (("use_scale", cfg.scale), ("use_bias", cfg.center)) if v}
        return LayerCode(
            module=call("InstanceNorm", e.in_shape[lang_axis], **options, **switches),
            forward=lambda inputs, m: f"{m}({inputs[0]})",
            helpers=("InstanceNorm",),
            weights=_affine_slots(cfg, running=True),
        )
    channel = ChannelAxis(e)
    if not cfg.scale and not cfg.center:
        eps = cfg.epsilon
        return LayerCode(
            forward=lambda inputs, m: channel.wrap(lambda x: f"instance_norm({x}, {eps!r})", inputs[0]),
            needs=channel.needs,
            helpers=("instance_norm",),
        )
    switches = {"use_scale": bool(cfg.scale), "use_bias": bool(cfg.center)}
    module = with_rngs(call("nnx.InstanceNorm", channel.channels, **_epsilon(e), **switches, use_fast_variance=False))
    return LayerCode(
        module=module,
        forward=lambda inputs, m: channel.wrap(lambda x: f"{m}({x})", inputs[0]),
        needs=channel.needs,
        weights=_affine_slots(cfg),
    )


@emitter("GroupNormalization")
def group_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    channel = ChannelAxis(e)
    module = with_rngs(
        call("nnx.GroupNorm", channel.channels, cfg.groups, **_epsilon(e), **_switches(cfg), use_fast_variance=False)
    )
    return LayerCode(
        module=module,
        forward=lambda inputs, m: channel.wrap(lambda x: f"{m}({x})", inputs[0]),
        needs=channel.needs,
        weights=_affine_slots(cfg),
    )


@emitter("LayerNormalization")
def layer_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    spec = get_spec(e.node.kind)
    assert isinstance(spec, LayerNormalization)
    shape = spec.normalized_shape(cfg, e.in_shape)
    options: dict[str, object] = {"epsilon": cfg.epsilon, **_switches(cfg)}
    if len(shape) > 1:
        axes = tuple(range(-len(shape), 0))
        options["reduction_axes"] = axes
        options["feature_axes"] = axes
    options["use_fast_variance"] = False
    return LayerCode(
        module=with_rngs(call("nnx.LayerNorm", math.prod(shape), **options)),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        weights=_affine_slots(cfg),
    )
