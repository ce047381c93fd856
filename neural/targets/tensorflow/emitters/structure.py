"""TensorFlow emitters: structural layers (TimeDistributed, SqueezeExcitation).

TimeDistributed reuses the inner kind's own emitter on the per-step shapes and wraps each of its Keras
layers in `MergedTimeDistributed`: keras.layers.TimeDistributed calls a layer step by step, the language
(as PyTorch) on all steps as one batch, which batch statistics can tell apart (the spec gives the inner layer's weights unprefixed, so they
bind to `layer.<attribute>` of the wrapper). In a channels-first network a per-step feature map is moved
channels last inside the wrapper where the inner layer needs it.
"""

from __future__ import annotations

from dataclasses import replace

from neural.errors import BackendError
from neural.ir import Node
from neural.layers.nested import NestedLayer
from neural.layers.structure import squeeze_size
from neural.shapes.engine import NodeShape
from neural.targets.tensorflow.emit import (
    Binding,
    Code,
    EmitContext,
    LayerCode,
    Layout,
    Piece,
    call,
    emitter,
    require_emitter,
    transpose,
)


@emitter("TimeDistributed")
def time_distributed(e: EmitContext) -> LayerCode:
    inner: NestedLayer = e.config.layer
    node: Node = replace(e.node, kind=inner.kind, config=inner.config, span=inner.span or e.node.span, device=None)
    layer = NodeShape(
        node=node, input_shapes=(e.in_shape[1:],), output_shapes=(e.out_shape[1:],), weights=e.layer.weights, macs=None
    )
    emit = require_emitter(inner.kind, where=" inside TimeDistributed")
    step_rank = len(layer.input_shapes[0])
    code = emit(EmitContext(layer, e.ctx, ("lang",)))
    moved = code.needs == "keras" and step_rank >= 2 and not e.ctx.channels_last
    if moved:
        code = emit(EmitContext(layer, e.ctx, ("keras",)))
    if code.call is not None:
        raise BackendError(f"TimeDistributed cannot wrap {inner.kind} (it takes more than one input)")
    produced: Layout = code.produces if code.produces != "any" else ("keras" if moved else "lang")
    pieces = [
        Piece("MergedTimeDistributed", (Code(call(p.func, *p.args, **p.kwargs)),), role=p.role) for p in code.pieces
    ]
    if moved:
        pieces.insert(0, _permute(step_rank, to_last=True))
    if produced == "keras" and len(layer.output_shapes[0]) >= 2 and not e.ctx.channels_last:
        pieces.append(_permute(len(layer.output_shapes[0]), to_last=False))
    weights = tuple(replace(b, attr=f"layer.{b.attr}") for b in code.weights)
    helpers = ("MergedTimeDistributed", *code.helpers)
    return LayerCode(pieces=tuple(pieces), needs="lang", produces="lang", helpers=helpers, weights=weights)


def _permute(rank: int, *, to_last: bool) -> Piece:
    """A per-step Permute moving the channel axis last (or back first)."""
    dims = (*range(2, rank + 1), 1) if to_last else (rank, *range(1, rank))
    return Piece(
        "MergedTimeDistributed",
        (Code(call("layers.Permute", dims)),),
        role="channels_last" if to_last else "channels_first",
    )


@emitter("SqueezeExcitation")
def squeeze_excitation(e: EmitContext) -> LayerCode:
    cfg = e.config
    channels = e.channels()
    squeeze = squeeze_size(cfg, channels)
    kwargs: dict[str, object] = {}
    if cfg.activation != "relu":
        kwargs["activation"] = cfg.activation
    if cfg.gate != "sigmoid":
        kwargs["gate"] = cfg.gate
    weights = e.layer.weights
    bindings: tuple[Binding, ...] = (
        Binding("fc1.weight", "fc1.kernel", (("reshape", (squeeze, channels)), transpose(2))),
        Binding("fc1.bias", "fc1.bias"),
        Binding("fc2.weight", "fc2.kernel", (("reshape", (channels, squeeze)), transpose(2))),
        Binding("fc2.bias", "fc2.bias"),
    )
    if "activation.weight" in weights:
        bindings += (Binding("activation.weight", "activation.alpha"),)
    return LayerCode(
        pieces=(Piece("SqueezeExcitation", (squeeze,), kwargs),),
        needs="keras",
        produces="keras",
        helpers=("SqueezeExcitation",),
        weights=bindings,
    )
