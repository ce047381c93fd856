"""PyTorch emitters: structural layers (TimeDistributed, SqueezeExcitation).

TimeDistributed reuses the inner kind's own emitter on the per-step shapes: the inner module becomes
the wrapper's attribute itself (the spec gives the inner layer's weights unprefixed, so its canonical
names are `<node>.<weight>`), applied to the (N * T, *step) batch and reshaped back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from neural.ir import Node
from neural.layers.nested import NestedLayer
from neural.layers.structure import squeeze_size
from neural.shapes.engine import NodeShape
from neural.targets.pytorch.emit import EmitContext, LayerCode, Layout, call, emitter, require_emitter
from neural.targets.pytorch.emitters.attention import activation_module


def _inner_code(e: EmitContext, inner: NestedLayer, layer: NodeShape) -> tuple[LayerCode, Layout]:
    """The inner layer's code and the layout its (N * T, *step) input must be in."""
    emit = require_emitter(inner.kind, where=" inside TimeDistributed")
    step_rank = len(layer.input_shapes[0])
    probe = emit(EmitContext(layer, e.ctx, ("lang",)))
    layout: Layout = "torch" if probe.needs == "torch" and step_rank >= 2 and e.ctx.channels_last else "lang"
    return (emit(EmitContext(layer, e.ctx, (layout,))) if layout != "lang" else probe), layout


@emitter("TimeDistributed")
def time_distributed(e: EmitContext) -> LayerCode:
    inner: NestedLayer = e.config.layer
    node: Node = replace(e.node, kind=inner.kind, config=inner.config, span=inner.span or e.node.span, device=None)
    layer = NodeShape(
        node=node,
        input_shapes=(e.in_shape[1:],),
        output_shapes=(e.out_shape[1:],),
        weights=e.layer.weights,
        macs=None,
    )
    code, layout = _inner_code(e, inner, layer)
    produced = code.produces if code.produces != "any" else layout
    to_torch = layout == "torch"
    from_torch = produced == "torch" and len(e.out_shape) - 1 >= 2 and e.ctx.channels_last

    def forward(inputs: Sequence[str], m: str) -> str:
        x = inputs[0]
        steps = f"{x}.flatten(0, 1)" + (".movedim(-1, 1)" if to_torch else "")
        out = code.forward([steps], m)
        if from_torch:
            out = f"{out}.movedim(1, -1)"
        return f"{out}.unflatten(0, {x}.shape[:2])"

    return LayerCode(
        module=code.module,
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=code.helpers,
        comment=code.comment,
        init_after=code.init_after,
    )


@emitter("SqueezeExcitation")
def squeeze_excitation(e: EmitContext) -> LayerCode:
    cfg = e.config
    channels = e.channels()
    dims = len(e.in_shape) - 1
    module = call(
        "SqueezeExcitation",
        channels,
        squeeze_size(cfg, channels),
        activation_module(cfg.activation, dim=1),
        "nn.Hardsigmoid()" if cfg.gate == "hard_sigmoid" else "nn.Sigmoid()",
        **({"dims": dims} if dims != 2 else {}),
    )
    return LayerCode(
        module=module,
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="torch",
        produces="torch",
        helpers=("SqueezeExcitation",),
    )
