"""JAX emitters: activation layers (jax.nn functions; nnx.PReLU for a learned slope)."""

from __future__ import annotations

from neural.targets.jax.emit import EmitContext, LayerCode, Layout, WeightSlot, call, emitter, lit
from neural.targets.jax.emitters.common import activation_expr

_NAMED = {
    "ReLU": "relu",
    "ReLU6": "relu6",
    "SELU": "selu",
    "SiLU": "silu",
    "Mish": "mish",
    "Sigmoid": "sigmoid",
    "HardSigmoid": "hard_sigmoid",
    "Tanh": "tanh",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "Exponential": "exponential",
}


def _axis(e: EmitContext, axis: int = -1) -> int:
    """The batched array's axis of language axis `axis` (-1 when it is the last one)."""
    found = e.jax_axis(axis, len(e.in_shape))
    return -1 if found == len(e.in_shape) else found


@emitter(*_NAMED)
def named(e: EmitContext) -> LayerCode:
    name = _NAMED[e.node.kind]
    return LayerCode(forward=lambda inputs, m: activation_expr(name, inputs[0]))


@emitter("Activation")
def activation(e: EmitContext) -> LayerCode:
    name = e.config.activation or "linear"
    if name == "prelu":
        return LayerCode(
            module="nnx.PReLU(0.25)",
            forward=lambda inputs, m: f"{m}({inputs[0]})",
            weights={"weight": WeightSlot(("negative_slope",))},
        )
    return LayerCode(forward=lambda inputs, m: activation_expr(name, inputs[0], axis=_axis(e)))


@emitter("LeakyReLU")
def leaky_relu(e: EmitContext) -> LayerCode:
    slope = e.config.negative_slope
    return LayerCode(forward=lambda inputs, m: f"jax.nn.leaky_relu({inputs[0]}, {lit(slope)})")


@emitter("ELU")
def elu(e: EmitContext) -> LayerCode:
    alpha = e.config.alpha
    return LayerCode(forward=lambda inputs, m: f"jax.nn.elu({inputs[0]}, alpha={lit(alpha)})")


@emitter("GELU")
def gelu(e: EmitContext) -> LayerCode:
    approximate = e.config.approximate == "tanh"
    return LayerCode(forward=lambda inputs, m: f"jax.nn.gelu({inputs[0]}, approximate={approximate!r})")


@emitter("Softmax", "LogSoftmax")
def softmax(e: EmitContext) -> LayerCode:
    fn = "jax.nn.softmax" if e.node.kind == "Softmax" else "jax.nn.log_softmax"
    return LayerCode(forward=lambda inputs, m: f"{fn}({inputs[0]}, axis={_axis(e, e.config.axis)})")


@emitter("PReLU")
def prelu(e: EmitContext) -> LayerCode:
    count = e.config.num_parameters
    init = float(e.config.init)
    if count == 1:
        return LayerCode(
            module=call("nnx.PReLU", init),
            forward=lambda inputs, m: f"{m}({inputs[0]})",
            weights={"weight": WeightSlot(("negative_slope",))},
        )
    # one slope per channel: on the channel axis of the layout the input arrives in
    layout: Layout = e.layout
    axis = e.jax_axis(-1 if e.ctx.channels_last else 0, len(e.in_shape), layout)
    return LayerCode(
        module=call("ChannelPReLU", count, init, axis=axis),
        forward=lambda inputs, m: f"{m}({inputs[0]})",
        helpers=("ChannelPReLU",),
        weights={"weight": WeightSlot(("negative_slope",))},
    )
