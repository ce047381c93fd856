"""TensorFlow emitters: activation layers, as Keras layers (LeakyReLU, ELU and GELU with the language's
arguments written out, PReLU with its slope shared or per channel, softmax over the mapped axis)."""

from __future__ import annotations

from neural.targets.tensorflow.emit import Binding, Code, EmitContext, LayerCode, Piece, emitter, single
from neural.targets.tensorflow.emitters.common import activation_value, prelu_piece, softmax_piece

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


def _activation(e: EmitContext, name: str) -> LayerCode:
    rank = len(e.in_shape)
    if name in ("softmax", "log_softmax"):
        return single(softmax_piece(name, e.keras_axis(-1, rank), role=""))
    if name == "prelu":
        weights = (Binding("weight", "alpha", (("reshape", (1,) * rank),)),)
        return single(prelu_piece(rank, role=""), weights=weights)
    value, helpers = activation_value(name)
    if value is None:
        return single(Piece("layers.Identity"))
    return single(Piece("layers.Activation", (value,)), helpers=helpers)


@emitter(*_NAMED)
def named(e: EmitContext) -> LayerCode:
    return _activation(e, _NAMED[e.node.kind])


@emitter("Activation")
def activation(e: EmitContext) -> LayerCode:
    return _activation(e, e.config.activation or "linear")


@emitter("LeakyReLU")
def leaky_relu(e: EmitContext) -> LayerCode:
    return single(Piece("layers.LeakyReLU", kwargs={"negative_slope": e.config.negative_slope}))


@emitter("ELU")
def elu(e: EmitContext) -> LayerCode:
    return single(Piece("layers.ELU", kwargs={"alpha": e.config.alpha}))


@emitter("GELU")
def gelu(e: EmitContext) -> LayerCode:
    if e.config.approximate == "none":
        return single(Piece("layers.Activation", ("gelu",)))  # Keras' gelu is the exact (erf) one
    return single(Piece("layers.Activation", (Code("lambda x: ops.gelu(x, approximate=True)"),)))


@emitter("Softmax", "LogSoftmax")
def softmax(e: EmitContext) -> LayerCode:
    name = "softmax" if e.node.kind == "Softmax" else "log_softmax"
    return single(softmax_piece(name, e.keras_axis(e.config.axis, len(e.in_shape)), role=""))


@emitter("PReLU")
def prelu(e: EmitContext) -> LayerCode:
    cfg = e.config
    rank = len(e.in_shape)
    if cfg.num_parameters == 1:
        weights = (Binding("weight", "alpha", (("reshape", (1,) * rank),)),)
        return single(prelu_piece(rank, role="", init=cfg.init), weights=weights)
    channel = e.keras_axis(0 if not e.ctx.channels_last else -1, rank)
    shared = [axis for axis in range(1, rank + 1) if axis != channel]
    shape = tuple(cfg.num_parameters if axis == channel else 1 for axis in range(1, rank + 1))
    init = Code(f"keras.initializers.Constant({cfg.init!r})")
    piece = Piece("layers.PReLU", kwargs={"alpha_initializer": init, **({"shared_axes": shared} if shared else {})})
    return single(piece, weights=(Binding("weight", "alpha", (("reshape", shape),)),))
