"""JAX emitters: structural layers (TimeDistributed, SqueezeExcitation).

TimeDistributed reuses the inner kind's own emitter on the per-step shapes: the inner module becomes
the wrapper's attribute itself (the spec gives the inner layer's weights unprefixed, so its canonical
names are `<node>.<weight>`), applied by `time_distributed` to the (N * T, *step) batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from neural.ir import Node
from neural.layers.nested import NestedLayer
from neural.layers.structure import squeeze_size
from neural.shapes.engine import NodeShape
from neural.targets.jax.emit import (
    EmitContext,
    LayerCode,
    Layout,
    Refs,
    WeightSlot,
    call,
    emitter,
    linear_slots,
    require_emitter,
)
from neural.targets.jax.emitters.common import activation_callable


def _inner_code(e: EmitContext, inner: NestedLayer, layer: NodeShape) -> tuple[LayerCode, Layout]:
    """The inner layer's code and the layout its (N * T, *step) input must be in."""
    emit = require_emitter(inner.kind, where=" inside TimeDistributed")
    step_rank = len(layer.input_shapes[0])
    probe = emit(EmitContext(layer, e.ctx, ("lang",)))
    layout: Layout = "flax" if probe.needs == "flax" and step_rank >= 2 and not e.ctx.channels_last else "lang"
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
    to_flax = layout == "flax"
    from_flax = produced == "flax" and len(e.out_shape) - 1 >= 2 and not e.ctx.channels_last

    def forward(inputs: Sequence[str], m: Refs) -> str:
        step = "jnp.moveaxis(step, 1, -1)" if to_flax else "step"
        out = code.forward([step], m)
        if from_flax:
            out = f"jnp.moveaxis({out}, -1, 1)"
        return f"time_distributed(lambda step: {out}, {inputs[0]})"

    return LayerCode(
        module=code.module,
        extras=code.extras,
        forward=forward,
        needs="lang",
        produces="lang",
        helpers=(*code.helpers, "time_distributed"),
        comment=code.comment,
        weights=code.weights,
    )


@emitter("SqueezeExcitation")
def squeeze_excitation(e: EmitContext) -> LayerCode:
    cfg = e.config
    channels = e.channels()
    prelu = cfg.activation == "prelu"
    activation = "nnx.PReLU(0.25)" if prelu else activation_callable(cfg.activation)
    gate = "jax.nn.hard_sigmoid" if cfg.gate == "hard_sigmoid" else "jax.nn.sigmoid"
    module = call("SqueezeExcitation", channels, squeeze_size(cfg, channels), activation, gate)
    module = f"{module[:-1]}, rngs=rngs)"
    weights = {**linear_slots("fc1.", ("fc1",)), **linear_slots("fc2.", ("fc2",))}
    if prelu:
        weights["activation.weight"] = WeightSlot(("activation", "negative_slope"))
    return LayerCode(
        module=module,
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        needs="flax",
        produces="flax",
        helpers=("SqueezeExcitation",),
        weights=weights,
    )
