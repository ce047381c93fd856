"""PyTorch emitters: normalization layers (BatchNormalization, LayerNormalization, InstanceNormalization,
GroupNormalization).

The spec's names are PyTorch's (`weight` = scale, `bias` = center, `running_mean`, `running_var`), so
the torch.nn modules are used as they are. Conventions bridged here:
- `momentum` is the spec's Keras convention; torch's is `1 - momentum` (defaults agree: 0.9 <-> 0.1).
- torch switches the learned gain and offset together (`affine`); when only one of the spec's `scale`
  and `center` is on, the other parameter is removed after construction with
  `register_parameter(name, None)` (torch's functional norms accept a missing weight or bias), except
  for group norm, whose CPU backward fails without a weight: the generated `GroupNorm` applies its
  learned parts itself.
- The statistics run over torch's dim 1: the layer asks for the channels-first layout, and an explicit
  `axis` that is not the layout's channel axis is moved to dim 1 (and back) around the call.
- torch's BatchNorm/InstanceNorm modules stop at 3 spatial dims: more are flattened into one.
"""

from __future__ import annotations

from collections.abc import Callable

from neural.layers.normalization import DEFAULT_EPSILON, DEFAULT_MOMENTUM, LayerNormalization, _Norm, torch_momentum
from neural.layers.registry import get_spec
from neural.targets.pytorch.emit import EmitContext, LayerCode, Layout, call, emitter

MAX_MODULE_RANK = 4  # (C, D, H, W): torch's *3d modules


def _options(e: EmitContext, *, momentum: bool = False) -> dict[str, object]:
    """eps (and momentum in torch's convention) where they differ from the defaults."""
    cfg = e.config
    found: dict[str, object] = {}
    if cfg.epsilon != DEFAULT_EPSILON:
        found["eps"] = cfg.epsilon
    if momentum and cfg.momentum != DEFAULT_MOMENTUM:
        found["momentum"] = round(torch_momentum(cfg.momentum), 12)
    return found


def _partial_affine(e: EmitContext) -> tuple[str, ...]:
    """Constructor lines removing the gain or the offset when only one of scale/center is on."""
    cfg = e.config
    if cfg.scale and not cfg.center:
        return ('{module}.register_parameter("bias", None)  # scale only (center=false): no learned offset',)
    if cfg.center and not cfg.scale:
        return ('{module}.register_parameter("weight", None)  # center only (scale=false): no learned gain',)
    return ()


class ChannelAxis:
    """Where the statistics' channel axis is, and the layout the layer asks for.

    The layer's own channel axis (the spec's default, or an explicit `axis` naming it) asks for the
    channels-first layout, so that it is torch's dim 1. Any other axis keeps the incoming layout and
    is moved to dim 1 around the call.
    """

    def __init__(self, e: EmitContext) -> None:
        spec = get_spec(e.node.kind)
        assert isinstance(spec, _Norm)
        shape = e.in_shape
        self.rank = len(shape)
        axis = spec.channel_axis(e.config, shape, e.ctx)
        default = spec.channel_axis(e.config.replace(axis=None), shape, e.ctx)
        self.needs: Layout = "torch" if axis == default else "any"
        layout = e.input_layouts[0] if e.input_layouts else "lang"
        self.dim = 1 if self.needs == "torch" else e.torch_axis(axis, self.rank, layout)
        self.channels = shape[axis]

    def wrap(self, apply: Callable[[str], str], x: str) -> str:
        """`apply` (input expression -> output expression) on `x` with the channel axis at dim 1."""
        if self.dim == 1:
            return apply(x)
        return f"{apply(f'{x}.movedim({self.dim}, 1)')}.movedim(1, {self.dim})"


def _numbered(base: str, rank: int) -> tuple[str, bool]:
    """torch's module for an input of `rank` non-batch dims (channels included), and whether the
    spatial dims must be flattened into one first (more than torch's 3)."""
    if rank > MAX_MODULE_RANK:
        return f"{base}1d", True
    return f"{base}{max(rank - 1, 1)}d", False


def _module_call(m: str, flatten: bool) -> Callable[[str], str]:
    """Applying module `m` to an expression (through one flattened spatial dim when `flatten`)."""
    if flatten:
        return lambda x: f"{m}({x}.flatten(2)).unflatten(2, {x}.shape[2:])"
    return lambda x: f"{m}({x})"


@emitter("BatchNormalization")
def batch_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    axis = ChannelAxis(e)
    module, flatten = _numbered("nn.BatchNorm", axis.rank)
    affine = cfg.scale or cfg.center
    extra = {} if affine else {"affine": False}
    return LayerCode(
        module=call(module, axis.channels, **_options(e, momentum=True), **extra),
        forward=lambda inputs, m: axis.wrap(_module_call(m, flatten), inputs[0]),
        needs=axis.needs,
        init_after=_partial_affine(e),
    )


@emitter("InstanceNormalization")
def instance_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    axis = ChannelAxis(e)
    affine = cfg.scale or cfg.center
    if axis.channels is None:
        # no parameters and no running statistics (the spec requires channels for those): functional
        eps = _options(e)
        return LayerCode(
            forward=lambda inputs, m: axis.wrap(lambda x: call("F.instance_norm", x, **eps), inputs[0]),
            needs=axis.needs,
        )
    module, flatten = _numbered("nn.InstanceNorm", axis.rank)
    extra: dict[str, object] = {}
    if affine:
        extra["affine"] = True
    if cfg.track_running_stats:
        extra["track_running_stats"] = True
    return LayerCode(
        module=call(module, axis.channels, **_options(e, momentum=cfg.track_running_stats), **extra),
        forward=lambda inputs, m: axis.wrap(_module_call(m, flatten), inputs[0]),
        needs=axis.needs,
        init_after=_partial_affine(e),
    )


@emitter("GroupNormalization")
def group_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    axis = ChannelAxis(e)
    if cfg.scale != cfg.center:
        switches = {"scale": False} if not cfg.scale else {"center": False}
        return LayerCode(
            module=call("GroupNorm", cfg.groups, axis.channels, **_options(e), **switches),
            forward=lambda inputs, m: axis.wrap(_module_call(m, False), inputs[0]),
            needs=axis.needs,
            helpers=("GroupNorm",),
        )
    extra = {} if cfg.scale else {"affine": False}
    # torch's CPU backward of group norm crashes on channels-last strided 4-D/5-D inputs that need no
    # gradient (torch 2.13): such inputs are made contiguous first (no copy when they already are)
    contiguous = axis.rank >= 3 and cfg.scale

    def apply(m: str) -> Callable[[str], str]:
        return (lambda x: f"{m}({x}.contiguous())") if contiguous else _module_call(m, False)

    return LayerCode(
        module=call("nn.GroupNorm", cfg.groups, axis.channels, **_options(e), **extra),
        forward=lambda inputs, m: axis.wrap(apply(m), inputs[0]),
        needs=axis.needs,
    )


@emitter("LayerNormalization")
def layer_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    spec = get_spec(e.node.kind)
    assert isinstance(spec, LayerNormalization)
    shape = spec.normalized_shape(cfg, e.in_shape)
    normalized: object = shape[0] if len(shape) == 1 else shape
    extra: dict[str, object] = {}
    init_after: tuple[str, ...] = ()
    if not cfg.scale and not cfg.center:
        extra["elementwise_affine"] = False
    elif not cfg.center:
        extra["bias"] = False
    elif not cfg.scale:
        init_after = _partial_affine(e)
    return LayerCode(
        module=call("nn.LayerNorm", normalized, **_options(e), **extra),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="lang",
        produces="lang",
        init_after=init_after,
    )
