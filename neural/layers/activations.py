"""Activation functions: the names `activation=` accepts, and one layer kind per function.

Defaults follow PyTorch where frameworks differ (leaky_relu slope 0.01, exact erf GELU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from neural.config.args import Arg, Choice, Config, Float, Int, Optional_
from neural.layers.base import LayerContext, LayerSpec, Outputs, Shape, Weight
from neural.layers.registry import register

ACTIVATION_NAMES: tuple[str, ...] = (
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "exponential",
)
ACTIVATION_ALIASES: dict[str, str] = {
    "swish": "silu",
    "identity": "linear",
    "none": "linear",
    "leakyrelu": "leaky_relu",
    "hardsigmoid": "hard_sigmoid",
    "logsoftmax": "log_softmax",
    "exp": "exponential",
}
ACTIVATION = Optional_(
    Choice(ACTIVATION_NAMES, ACTIVATION_ALIASES, what="an activation name (relu, gelu, tanh, softmax, ...)")
)
LEAKY_RELU_SLOPE = 0.01
PRELU_INIT = 0.25


def activation_arg(default: str = "linear", *, positional: bool = True) -> Arg:
    return Arg("activation", ACTIVATION, default, positional=positional, doc="activation applied to the output")


def activation_name(cfg: Config) -> str:
    """The canonical activation of a layer config (`linear` when none)."""
    name = cfg.get("activation")
    return "linear" if name is None else str(name)


def activation_weights(cfg: Config) -> dict[str, Weight]:
    """Parameters added by a fused activation (only `prelu`: one shared slope, as torch.nn.PReLU())."""
    return {"activation.weight": Weight((1,))} if activation_name(cfg) == "prelu" else {}


class _Elementwise(LayerSpec):
    family = "activations"
    function: ClassVar[str] = ""
    shape_rule = "output shape equals input shape"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        return inputs[0]


@register
class Activation(_Elementwise):
    """Applies an activation function by name: `Activation("relu")`."""

    kind = "Activation"
    schema = (Arg("activation", ACTIVATION, positional=True, doc="activation name"),)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return {"weight": Weight((1,))} if activation_name(cfg) == "prelu" else {}


def _simple(kind: str, function: str, doc: str, aliases: tuple[str, ...] = ()) -> None:
    cls = type(kind, (_Elementwise,), {"kind": kind, "aliases": aliases, "function": function, "__doc__": doc})
    register(cls)


for _kind, _fn, _doc, _aliases in (
    ("ReLU", "relu", "max(x, 0).", ()),
    ("ReLU6", "relu6", "min(max(x, 0), 6).", ()),
    ("SELU", "selu", "Scaled exponential linear unit.", ()),
    ("SiLU", "silu", "x * sigmoid(x).", ("Swish",)),
    ("Mish", "mish", "x * tanh(softplus(x)).", ()),
    ("Sigmoid", "sigmoid", "1 / (1 + exp(-x)).", ()),
    ("HardSigmoid", "hard_sigmoid", "relu6(x + 3) / 6.", ()),
    ("Tanh", "tanh", "Hyperbolic tangent.", ()),
    ("Softplus", "softplus", "log(1 + exp(x)).", ()),
    ("Softsign", "softsign", "x / (1 + |x|).", ()),
    ("Exponential", "exponential", "exp(x).", ()),
):
    _simple(_kind, _fn, _doc, _aliases)


@register
class LeakyReLU(_Elementwise):
    """max(x, 0) + negative_slope * min(x, 0)."""

    kind = "LeakyReLU"
    function = "leaky_relu"
    schema = (
        Arg(
            "negative_slope",
            Float(min=0.0),
            LEAKY_RELU_SLOPE,
            positional=True,
            aliases=("alpha",),
            doc="slope for x < 0",
        ),
    )


@register
class ELU(_Elementwise):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    kind = "ELU"
    function = "elu"
    schema = (Arg("alpha", Float(min=0.0), 1.0, positional=True, doc="scale of the negative part"),)


@register
class GELU(_Elementwise):
    """Gaussian error linear unit; `approximate="tanh"` for the tanh approximation."""

    kind = "GELU"
    function = "gelu"
    schema = (Arg("approximate", Choice(("none", "tanh")), "none", doc='"none" (exact, erf) or "tanh"'),)


@register
class Softmax(_Elementwise):
    """exp(x) / sum(exp(x)) along `axis`."""

    kind = "Softmax"
    function = "softmax"
    schema = (Arg("axis", Int(), -1, positional=True, doc="axis to normalize (of the non-batch dims; -1 = last)"),)

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        check_axis(self, inputs[0], cfg.axis)
        return inputs[0]


@register
class LogSoftmax(Softmax):
    """log(softmax(x)) along `axis`."""

    kind = "LogSoftmax"
    function = "log_softmax"


@register
class PReLU(_Elementwise):
    """max(x, 0) + a * min(x, 0) with a learned slope `a`, shared or one per channel."""

    kind = "PReLU"
    function = "prelu"
    schema = (
        Arg("num_parameters", Int(min=1), 1, positional=True, doc="1 (shared slope) or the number of channels"),
        Arg("init", Float(), PRELU_INIT, doc="initial slope"),
    )
    shape_rule = "output shape equals input shape; num_parameters is 1 or the channel count"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        if cfg.num_parameters != 1:
            channels = shape[-1 if ctx.channels_last else 0] if shape else None
            if channels != cfg.num_parameters:
                raise self.fail(f"{cfg.num_parameters} channels (num_parameters)", shape)
        return shape

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return {"weight": Weight((cfg.num_parameters,))}


def check_axis(spec: LayerSpec, shape: Shape, axis: int) -> int:
    """Normalize `axis` (of the non-batch dims, negative from the end); shape error if out of range."""
    rank = len(shape)
    resolved = axis + rank if axis < 0 else axis
    if not 0 <= resolved < rank:
        raise spec.fail(f"an input with an axis {axis}", shape)
    return resolved
