"""Kernels of the activation layers."""

from __future__ import annotations

from neural.runtime import activations
from neural.runtime.kernels import Call, kernel
from neural.runtime.kernels.common import batch_axis, channel_axis
from neural.runtime.tensor import Tensor

_BY_KIND = {
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


@kernel("Activation")
def activation(call: Call) -> Tensor:
    name = call.config.activation or "linear"
    return activations.apply(name, call.x, weight=call.params.get("weight"), channel_axis=channel_axis(call))


@kernel(*_BY_KIND)
def named(call: Call) -> Tensor:
    return activations.apply(_BY_KIND[call.node.kind], call.x)


@kernel("LeakyReLU")
def leaky_relu(call: Call) -> Tensor:
    return activations.leaky_relu(call.x, call.config.negative_slope)


@kernel("ELU")
def elu(call: Call) -> Tensor:
    return activations.elu(call.x, call.config.alpha)


@kernel("GELU")
def gelu(call: Call) -> Tensor:
    return activations.gelu(call.x, call.config.approximate)


@kernel("Softmax", "LogSoftmax")
def softmax(call: Call) -> Tensor:
    name = "softmax" if call.node.kind == "Softmax" else "log_softmax"
    return activations.apply(name, call.x, axis=batch_axis(call.config.axis))


@kernel("PReLU")
def prelu(call: Call) -> Tensor:
    return activations.prelu(call.x, call.params["weight"], channel_axis(call))
