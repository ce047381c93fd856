"""Structural layers: TimeDistributed (one inner layer applied to every step) and SqueezeExcitation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neural.config.args import Arg, Choice, Config, Float, Int, Optional_
from neural.errors import InvalidValueError, ShapeError
from neural.layers.activations import activation_arg, activation_weights
from neural.layers.base import LayerContext, LayerSpec, Outputs, Shape, Weight, fmt_shape
from neural.layers.nested import NestedLayer, nested_layer_type
from neural.layers.registry import register


def _per_step(spec: LayerSpec) -> bool:
    """Kinds TimeDistributed can wrap: one float input, not a network-ending layer."""
    return spec.min_inputs <= 1 and spec.max_inputs == 1 and not spec.integer_input and not spec.terminal


@register
class TimeDistributed(LayerSpec):
    """Applies one layer to every step of a sequence: (T, *step) -> (T, *step_out), weights shared across steps.

    The weights are the inner layer's (same names); MACs are the inner layer's times T.
    """

    kind = "TimeDistributed"
    family = "structure"
    schema = (
        Arg(
            "layer",
            nested_layer_type("a single-input layer such as Dense(10) or Conv2D(16, 3)", _per_step),
            positional=True,
            doc="the layer applied to each step",
        ),
    )
    shape_rule = "(T, *step) -> (T, *inner(step))"

    def check_config(self, cfg: Config) -> Config:
        inner: NestedLayer = cfg.layer
        if inner.spec.num_outputs(inner.config) != 1:
            raise InvalidValueError(
                f"`TimeDistributed` wraps a layer with one output; `{inner.kind}` as configured has "
                f"{inner.spec.num_outputs(inner.config)}",
                inner.span,
            )
        return cfg

    def _step(self, cfg: Config, shape: Shape) -> tuple[NestedLayer, Shape]:
        inner: NestedLayer = cfg.layer
        if len(shape) < 2:
            raise self.fail(f"input of rank at least 2 (steps, ...) to apply {inner.kind} to each step", shape)
        return inner, shape[1:]

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        inner, step = self._step(cfg, inputs[0])
        try:
            out = inner.spec.output_shape(inner.config, [step], ctx)
        except ShapeError as exc:
            raise ShapeError(
                f"TimeDistributed applies {inner.kind} to each step of shape {fmt_shape(step)}: {exc.message}",
                hint=exc.hint,
                notes=exc.notes,
            ) from None
        if out and isinstance(out[0], tuple):
            raise self.fail(f"an inner layer with one output ({inner.kind} gives {len(out)})", inputs[0])
        return (inputs[0][0], *out)  # type: ignore[misc]

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        inner, step = self._step(cfg, inputs[0])
        return inner.spec.weights(inner.config, [step], ctx)

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        inner, step = self._step(cfg, inputs[0])
        steps = inputs[0][0]
        per_step = inner.spec.macs(inner.config, [step], [outputs[0][1:]], ctx)
        if steps is None or per_step is None:
            return None
        return steps * per_step


def squeeze_size(cfg: Config, channels: int) -> int:
    """Channels of the squeeze: `squeeze_channels`, else max(1, int(channels * ratio)) as Keras' EfficientNet."""
    if cfg.squeeze_channels is not None:
        return int(cfg.squeeze_channels)
    return max(1, int(channels * cfg.ratio))


@register
class SqueezeExcitation(LayerSpec):
    """Squeeze-and-excitation (torchvision.ops.SqueezeExcitation): feature map (*spatial, C) -> same shape.

    Global average pool -> 1x1 conv to S channels -> activation -> 1x1 conv back to C -> gate
    (sigmoid) -> scales the input per channel. S = squeeze_channels, else max(1, int(C * ratio)).
    """

    kind = "SqueezeExcitation"
    aliases = ("SE", "SEBlock")
    family = "structure"
    schema = (
        Arg(
            "squeeze_channels",
            Optional_(Int(min=1)),
            None,
            positional=True,
            doc="channels of the squeeze (overrides ratio)",
        ),
        Arg(
            "ratio",
            Float(0.0, 1.0, min_open=True),
            0.25,
            aliases=("se_ratio",),
            doc="squeeze channels as a fraction of C",
        ),
        activation_arg("relu", positional=False),
        Arg(
            "gate",
            Choice(("sigmoid", "hard_sigmoid"), {"hardsigmoid": "hard_sigmoid"}),
            "sigmoid",
            aliases=("scale_activation",),
            doc='activation of the channel weights: "sigmoid" or "hard_sigmoid"',
        ),
    )
    shape_rule = "(*spatial, C) -> (*spatial, C), 1 to 3 spatial dims, C known"

    def _channels(self, shape: Shape, ctx: LayerContext) -> tuple[int, int]:
        """(channels, number of spatial dims) of a feature map in the network's layout."""
        if len(shape) not in (2, 3, 4):
            raise self.fail("a feature map of rank 2, 3 or 4 (spatial dims and channels)", shape)
        spatial, channels = ctx.split(shape)
        if channels is None:
            raise self.fail(f"a known number of channels {ctx.spatial_names(len(spatial))}", shape)
        return channels, len(spatial)

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        self._channels(inputs[0], ctx)
        return inputs[0]

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        channels, rank = self._channels(inputs[0], ctx)
        squeeze = squeeze_size(cfg, channels)
        ones = (1,) * rank
        return {
            "fc1.weight": Weight((squeeze, channels, *ones)),
            "fc1.bias": Weight((squeeze,)),
            "fc2.weight": Weight((channels, squeeze, *ones)),
            "fc2.bias": Weight((channels,)),
            **activation_weights(cfg),
        }

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        channels, _ = self._channels(inputs[0], ctx)
        return 2 * channels * squeeze_size(cfg, channels)
