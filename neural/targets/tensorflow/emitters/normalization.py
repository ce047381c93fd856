"""TensorFlow emitters: normalization layers (BatchNormalization, LayerNormalization, InstanceNormalization,
GroupNormalization).

Keras' layers with the language's arguments written out (Keras' defaults differ: epsilon 1e-3, batch-norm
momentum 0.99); `momentum` is Keras' convention in both. The channel axis is wherever it arrives (Keras
takes any axis), so these layers never move a feature map. Batch norm is the generated `BatchNorm`, Keras'
layer with the language's defaults whose moving variance averages the unbiased batch variance (Keras' own
averages the biased one; the language follows PyTorch). Keras has no instance normalization: the generated `InstanceNormalization` (with PyTorch's optional
running statistics) stands in.
"""

from __future__ import annotations

from neural.layers.normalization import DEFAULT_EPSILON, DEFAULT_MOMENTUM, LayerNormalization, _Norm
from neural.layers.registry import get_spec
from neural.targets.tensorflow.emit import Binding, EmitContext, LayerCode, Piece, emitter, single


def _axis(e: EmitContext) -> int:
    """The channel axis of the batched tensor as it arrives (`-1` when last, as Keras writes it)."""
    spec = get_spec(e.node.kind)
    assert isinstance(spec, _Norm)
    rank = len(e.in_shape)
    axis = e.keras_axis(spec.channel_axis(e.config, e.in_shape, e.ctx), rank)
    return -1 if axis == rank else axis


def _affine(e: EmitContext, gain: str = "gamma", offset: str = "beta") -> tuple[dict[str, object], tuple[Binding, ...]]:
    cfg = e.config
    kwargs: dict[str, object] = {}
    weights = []
    if cfg.scale:
        weights.append(Binding("weight", gain))
    else:
        kwargs["scale"] = False
    if cfg.center:
        weights.append(Binding("bias", offset))
    else:
        kwargs["center"] = False
    return kwargs, tuple(weights)


@emitter("BatchNormalization")
def batch_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    axis = _axis(e)
    affine, weights = _affine(e)
    kwargs: dict[str, object] = {"axis": axis} if axis != -1 else {}
    if cfg.momentum != DEFAULT_MOMENTUM:
        kwargs["momentum"] = cfg.momentum
    if cfg.epsilon != DEFAULT_EPSILON:
        kwargs["epsilon"] = cfg.epsilon
    kwargs.update(affine)
    stats = (Binding("running_mean", "moving_mean"), Binding("running_var", "moving_variance"))
    return single(
        Piece("BatchNorm", kwargs=kwargs),
        helpers=("BatchNorm",),
        weights=(*weights, *stats),
    )


@emitter("GroupNormalization")
def group_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    axis = _axis(e)
    affine, weights = _affine(e)
    kwargs = {**({"axis": axis} if axis != -1 else {}), "epsilon": cfg.epsilon, **affine}
    return single(Piece("layers.GroupNormalization", (cfg.groups,), kwargs), weights=weights)


@emitter("InstanceNormalization")
def instance_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    axis = _axis(e)
    kwargs: dict[str, object] = {**({"axis": axis} if axis != -1 else {})}
    if cfg.epsilon != 1e-5:
        kwargs["epsilon"] = cfg.epsilon
    weights: tuple[Binding, ...] = ()
    if cfg.center:
        kwargs["center"] = True
        weights += (Binding("bias", "bias"),)
    if cfg.scale:
        kwargs["scale"] = True
        weights += (Binding("weight", "weight"),)
    if cfg.track_running_stats:
        kwargs["track_running_stats"] = True
        if cfg.momentum != 0.9:
            kwargs["momentum"] = cfg.momentum
        weights += (Binding("running_mean", "running_mean"), Binding("running_var", "running_var"))
    return single(Piece("InstanceNormalization", kwargs=kwargs), helpers=("InstanceNormalization",), weights=weights)


@emitter("LayerNormalization")
def layer_normalization(e: EmitContext) -> LayerCode:
    cfg = e.config
    spec = get_spec(e.node.kind)
    assert isinstance(spec, LayerNormalization)
    rank = len(e.in_shape)
    count = len(spec.normalized_axes(cfg, e.in_shape))
    axis: object = -1 if count == 1 else list(range(rank - count + 1, rank + 1))
    affine, weights = _affine(e)
    kwargs = {**({"axis": axis} if axis != -1 else {}), "epsilon": cfg.epsilon, **affine}
    return single(Piece("layers.LayerNormalization", kwargs=kwargs), needs="lang", produces="lang", weights=weights)
