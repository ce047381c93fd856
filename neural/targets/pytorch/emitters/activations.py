"""PyTorch emitters: activation layers."""

from __future__ import annotations

from neural.targets.pytorch.emit import EmitContext, LayerCode, Layout, call, emitter, lit
from neural.targets.pytorch.emitters.common import activation_expr

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


def _dim(e: EmitContext, axis: int = -1) -> int:
    layout = e.input_layouts[0] if e.input_layouts else "lang"
    return e.torch_axis(axis, len(e.in_shape), layout)


@emitter(*_NAMED)
def named(e: EmitContext) -> LayerCode:
    name = _NAMED[e.node.kind]
    return LayerCode(forward=lambda inputs, m: activation_expr(name, inputs[0]))


@emitter("Activation")
def activation(e: EmitContext) -> LayerCode:
    name = e.config.activation or "linear"
    if name == "prelu":
        return LayerCode(module="nn.PReLU()", forward=lambda inputs, m: f"{m}({inputs[0]})")
    return LayerCode(forward=lambda inputs, m: activation_expr(name, inputs[0], dim=_dim(e)))


@emitter("LeakyReLU")
def leaky_relu(e: EmitContext) -> LayerCode:
    slope = e.config.negative_slope
    return LayerCode(forward=lambda inputs, m: f"F.leaky_relu({inputs[0]}, {lit(slope)})")


@emitter("ELU")
def elu(e: EmitContext) -> LayerCode:
    alpha = e.config.alpha
    return LayerCode(forward=lambda inputs, m: f"F.elu({inputs[0]}, alpha={lit(alpha)})")


@emitter("GELU")
def gelu(e: EmitContext) -> LayerCode:
    approximate = e.config.approximate
    extra = "" if approximate == "none" else f", approximate={approximate!r}"
    return LayerCode(forward=lambda inputs, m: f"F.gelu({inputs[0]}{extra})")


@emitter("Softmax", "LogSoftmax")
def softmax(e: EmitContext) -> LayerCode:
    fn = "torch.softmax" if e.node.kind == "Softmax" else "torch.log_softmax"
    return LayerCode(forward=lambda inputs, m: f"{fn}({inputs[0]}, dim={_dim(e, e.config.axis)})")


@emitter("PReLU")
def prelu(e: EmitContext) -> LayerCode:
    count = e.config.num_parameters
    extra = {} if e.config.init == 0.25 else {"init": e.config.init}
    module = call("nn.PReLU", **({"num_parameters": count} if count != 1 else {}), **extra)
    needs: Layout = "torch" if count != 1 else "any"
    return LayerCode(module=module, forward=lambda inputs, m: f"{m}({inputs[0]})", needs=needs)
