"""Normalization layers: BatchNormalization, LayerNormalization, InstanceNormalization, GroupNormalization.

Conventions where the frameworks differ (decided once, here):
- `epsilon` defaults to PyTorch's 1e-5 (Keras uses 1e-3); `eps` is accepted as an alias.
- `momentum` is stored in the Keras convention (weight of the old running value:
  `running = momentum * running + (1 - momentum) * batch`). PyTorch's `momentum` is the weight of the
  new value, so `torch_momentum = 1 - momentum`. The default 0.9 equals PyTorch's default 0.1.
  (A PyTorch user writing `momentum=0.1` gets Keras semantics: write `momentum=0.9`.)
- `center` (learned offset, PyTorch `bias`) and `scale` (learned gain, PyTorch `weight`) are Keras'
  switches; PyTorch's `affine` (`elementwise_affine` for LayerNorm), when given, sets both and is then
  normalized away (`affine` reads none after checking).
- The channel axis defaults to the network's layout: the last axis channels-last, the first of the
  non-batch axes channels-first.

Weights use PyTorch names: "weight" (scale) and "bias" (center) are trainable; batch norm's
"running_mean" and "running_var" are non-trainable state (PyTorch's `num_batches_tracked` is not
counted). Normalization performs no matrix products: MACs are 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neural.config.args import Arg, ArgTypeError, Bool, Config, Custom, Float, Int, IntSeq, Optional_
from neural.layers.activations import check_axis
from neural.layers.base import Dim, LayerContext, LayerSpec, Outputs, Shape, Weight, fmt_shape
from neural.layers.registry import register

DEFAULT_EPSILON = 1e-5
DEFAULT_MOMENTUM = 0.9  # Keras convention; PyTorch momentum = 1 - 0.9 = 0.1 (PyTorch's default)


def torch_momentum(momentum: float) -> float:
    """PyTorch's `momentum` for a Keras-convention `momentum` (the weight of the new batch statistic)."""
    return 1.0 - momentum


def _epsilon_arg() -> Arg:
    return Arg(
        "epsilon",
        Float(min=0.0, min_open=True),
        DEFAULT_EPSILON,
        aliases=("eps",),
        doc="added to the variance (PyTorch default 1e-5)",
    )


def _center_arg(default: bool, aliases: tuple[str, ...] = ()) -> Arg:
    return Arg("center", Bool(), default, aliases=aliases, doc='learn an offset beta ("bias")')


def _scale_arg(default: bool) -> Arg:
    return Arg("scale", Bool(), default, doc='learn a gain gamma ("weight")')


def _affine_arg(aliases: tuple[str, ...] = ()) -> Arg:
    return Arg(
        "affine", Optional_(Bool()), None, aliases=aliases, doc="PyTorch switch: when given, sets both center and scale"
    )


def _channel_axis_arg() -> Arg:
    return Arg(
        "axis",
        Optional_(Int()),
        None,
        aliases=("dim",),
        doc="channel axis of the non-batch dims (default: from the layout)",
    )


def _num_features_arg(name: str = "num_features", aliases: tuple[str, ...] = ()) -> Arg:
    return Arg(
        name,
        Optional_(Int(min=1)),
        None,
        positional=True,
        aliases=aliases,
        doc="expected channel count (PyTorch style; checked)",
    )


class _Norm(LayerSpec):
    """Shared rules: the `affine` switch and the channel axis."""

    family = "normalization"
    shape_rule = "output shape equals input shape"

    def check_config(self, cfg: Config) -> Config:
        if cfg.get("affine") is not None:
            return cfg.replace(center=cfg.affine, scale=cfg.affine, affine=None)
        return cfg

    def channel_axis(self, cfg: Config, shape: Shape, ctx: LayerContext) -> int:
        """Index (of the non-batch dims) of the channel axis: `axis` if given, else from the layout."""
        if cfg.axis is None:
            return len(shape) - 1 if ctx.channels_last else 0
        return check_axis(self, shape, cfg.axis)

    def channels(self, cfg: Config, shape: Shape, ctx: LayerContext, *, need_known: bool) -> Dim:
        """The channel count (checked against `num_features`/`num_channels` when given)."""
        axis = self.channel_axis(cfg, shape, ctx)
        count = shape[axis]
        declared = "num_features" if "num_features" in cfg else "num_channels"
        expected = cfg.get(declared)
        if count is None and (need_known or expected is not None):
            raise self.fail(f"a known channel count on axis {self._axis_text(cfg, axis)}", shape)
        if expected is not None and count != expected:
            raise self.fail(f"{expected} channels ({declared}={expected}) on axis {self._axis_text(cfg, axis)}", shape)
        return count

    def _axis_text(self, cfg: Config, axis: int) -> str:
        return str(cfg.axis) if cfg.axis is not None else str(axis)

    def affine_weights(self, cfg: Config, shape: tuple[int, ...]) -> dict[str, Weight]:
        found: dict[str, Weight] = {}
        if cfg.scale:
            found["weight"] = Weight(shape)
        if cfg.center:
            found["bias"] = Weight(shape)
        return found


@register
class BatchNormalization(_Norm):
    """Normalizes each channel with batch statistics: shape-preserving; weight/bias (C,), running stats (C,)."""

    kind = "BatchNormalization"
    aliases = ("BatchNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "BatchNorm1D", "BatchNorm2D", "BatchNorm3D")
    schema = (
        _num_features_arg(),
        _channel_axis_arg(),
        Arg(
            "momentum",
            Float(0.0, 1.0),
            DEFAULT_MOMENTUM,
            doc="Keras convention: weight of the old running value (PyTorch's is 1 - this)",
        ),
        _epsilon_arg(),
        _center_arg(True),
        _scale_arg(True),
        _affine_arg(),
    )
    shape_rule = "output shape equals input shape; C = the channel axis (last channels-last, first channels-first)"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        self.expect_min_rank(shape, 1)
        self.channels(cfg, shape, ctx, need_known=True)
        return shape

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        channels = self.channels(cfg, inputs[0], ctx, need_known=True)
        assert channels is not None
        return {
            **self.affine_weights(cfg, (channels,)),
            "running_mean": Weight((channels,), trainable=False),
            "running_var": Weight((channels,), trainable=False),
        }


def _axes(value: Any) -> tuple[int, ...]:
    """An axis or a tuple of axes (negative counts from the end)."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    if not items or any(isinstance(v, bool) or not isinstance(v, int) for v in items):
        raise ArgTypeError("an integer or a tuple of integers")
    return tuple(items)


AXES = Custom("an integer or a tuple of integers", _axes)


@register
class LayerNormalization(_Norm):
    """Normalizes each sample over its trailing axes: shape-preserving; weight/bias over the normalized shape."""

    kind = "LayerNormalization"
    aliases = ("LayerNorm",)
    schema = (
        Arg(
            "normalized_shape",
            Optional_(IntSeq()),
            None,
            positional=True,
            doc="PyTorch style: the trailing dims to normalize (checked)",
        ),
        Arg(
            "axis",
            Optional_(AXES),
            None,
            aliases=("dim",),
            doc="axis or trailing axes to normalize (default -1, or those of normalized_shape)",
        ),
        _epsilon_arg(),
        _center_arg(True, aliases=("bias",)),
        _scale_arg(True),
        _affine_arg(aliases=("elementwise_affine",)),
    )
    shape_rule = "output shape equals input shape; normalizes (and learns weight/bias over) the trailing axes"

    def normalized_axes(self, cfg: Config, shape: Shape) -> tuple[int, ...]:
        """The normalized axes (indices of the non-batch dims), checked to be the trailing ones."""
        rank = len(shape)
        if cfg.axis is not None:
            raw: tuple[int, ...] = cfg.axis
        elif cfg.normalized_shape is not None:
            raw = tuple(range(-len(cfg.normalized_shape), 0))
        else:
            raw = (-1,)
        if len(raw) > rank:
            raise self.fail(f"an input of rank at least {len(raw)} to normalize {len(raw)} axes", shape)
        resolved = sorted({check_axis(self, shape, a) for a in raw})
        if len(resolved) != len(raw) or resolved != list(range(rank - len(raw), rank)):
            raise self.fail(
                f"`axis` {_axis_text(raw)} to name the trailing axes of the input (as PyTorch's LayerNorm)", shape
            )
        return tuple(resolved)

    def normalized_shape(self, cfg: Config, shape: Shape) -> tuple[int, ...]:
        dims = tuple(shape[a] for a in self.normalized_axes(cfg, shape))
        if any(d is None for d in dims):
            raise self.fail("known sizes on the normalized axes", shape)
        known_dims = tuple(d for d in dims if d is not None)
        if cfg.normalized_shape is not None and tuple(cfg.normalized_shape) != known_dims:
            expected = ", ".join(str(d) for d in cfg.normalized_shape)
            raise self.fail(f"trailing dims ({expected}) (normalized_shape)", shape)
        return known_dims

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        self.normalized_shape(cfg, inputs[0])
        return inputs[0]

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return self.affine_weights(cfg, self.normalized_shape(cfg, inputs[0]))


def _axis_text(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(str(a) for a in axes) + ")"


@register
class InstanceNormalization(_Norm):
    """Normalizes each channel of each sample over its spatial dims: shape-preserving; optional weight/bias (C,)."""

    kind = "InstanceNormalization"
    aliases = (
        "InstanceNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "InstanceNorm1D",
        "InstanceNorm2D",
        "InstanceNorm3D",
    )
    schema = (
        _num_features_arg(),
        _channel_axis_arg(),
        _epsilon_arg(),
        _center_arg(False),
        _scale_arg(False),
        _affine_arg(),
        Arg("track_running_stats", Bool(), False, doc="keep running statistics (state) as batch norm does"),
        Arg(
            "momentum",
            Float(0.0, 1.0),
            DEFAULT_MOMENTUM,
            doc="Keras convention, for the running statistics (PyTorch's is 1 - this)",
        ),
    )
    shape_rule = "(*spatial, C) -> same shape (any spatial rank >= 1); weight/bias (C,) when affine"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        self.expect_min_rank(shape, 2, "(spatial..., channels)" if ctx.channels_last else "(channels, spatial...)")
        self.channels(cfg, shape, ctx, need_known=self._needs_channels(cfg))
        return shape

    def _needs_channels(self, cfg: Config) -> bool:
        return bool(cfg.center or cfg.scale or cfg.track_running_stats)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        if not self._needs_channels(cfg):
            return {}
        channels = self.channels(cfg, inputs[0], ctx, need_known=True)
        assert channels is not None
        found = self.affine_weights(cfg, (channels,))
        if cfg.track_running_stats:
            found["running_mean"] = Weight((channels,), trainable=False)
            found["running_var"] = Weight((channels,), trainable=False)
        return found


@register
class GroupNormalization(_Norm):
    """Normalizes groups of channels of each sample: shape-preserving; weight/bias (C,); groups must divide C."""

    kind = "GroupNormalization"
    aliases = ("GroupNorm",)
    schema = (
        Arg(
            "groups",
            Int(min=1),
            32,
            positional=True,
            aliases=("num_groups",),
            doc="number of channel groups (divides the channels)",
        ),
        _num_features_arg("num_channels"),
        _channel_axis_arg(),
        _epsilon_arg(),
        _center_arg(True),
        _scale_arg(True),
        _affine_arg(),
    )
    shape_rule = "output shape equals input shape; the channel count C is divisible by groups"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        self._checked_channels(cfg, inputs[0], ctx)
        return inputs[0]

    def _checked_channels(self, cfg: Config, shape: Shape, ctx: LayerContext) -> int:
        self.expect_min_rank(shape, 1)
        channels = self.channels(cfg, shape, ctx, need_known=True)
        assert channels is not None
        if channels % cfg.groups:
            axis = self._axis_text(cfg, self.channel_axis(cfg, shape, ctx))
            received = f"{fmt_shape(shape)} ({channels} channels on axis {axis})"
            raise self.fail(f"a channel count divisible by groups={cfg.groups}", received)
        return channels

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return self.affine_weights(cfg, (self._checked_channels(cfg, inputs[0], ctx),))
