"""Regularization layers, active only in training: Dropout, SpatialDropout1D/2D/3D, GaussianNoise,
GaussianDropout, AlphaDropout.

All are shape-preserving and have no parameters. `rate` is the probability of dropping a unit
(PyTorch's `p`), in [0, 1). SpatialDropout drops whole channels (feature maps); its channel axis
follows the network's layout (PyTorch's Dropout1d/2d/3d are the channels-first forms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from neural.config.args import Arg, Config, Float
from neural.layers.base import LayerContext, LayerSpec, Outputs, Shape
from neural.layers.registry import register

RATE = Float(0.0, 1.0, max_open=True)


def _rate_arg(doc: str = "probability of dropping each unit") -> Arg:
    return Arg("rate", RATE, positional=True, aliases=("p",), doc=doc)


class _Regularizer(LayerSpec):
    family = "regularization"
    shape_rule = "output shape equals input shape"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        return inputs[0]


@register
class Dropout(_Regularizer):
    """Zeroes each unit with probability `rate` and scales the rest by 1 / (1 - rate); shape-preserving."""

    kind = "Dropout"
    schema = (_rate_arg(),)


class _SpatialDropout(_Regularizer):
    """Drops whole channels; needs a feature map of `spatial_rank` spatial dims plus channels."""

    spatial_rank: ClassVar[int] = 2
    schema = (_rate_arg("probability of dropping each channel"),)

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        self.expect_rank(shape, self.spatial_rank + 1, ctx.spatial_names(self.spatial_rank))
        return shape


@register
class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of a sequence (steps, channels) with probability `rate`; shape-preserving."""

    kind = "SpatialDropout1D"
    aliases = ("Dropout1d", "Dropout1D")
    spatial_rank = 1
    shape_rule = "(steps, channels) (channels-last) -> same shape; whole channels are dropped"


@register
class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of an image (height, width, channels) with probability `rate`; shape-preserving."""

    kind = "SpatialDropout2D"
    aliases = ("Dropout2d", "Dropout2D")
    spatial_rank = 2
    shape_rule = "(height, width, channels) (channels-last) -> same shape; whole channels are dropped"


@register
class SpatialDropout3D(_SpatialDropout):
    """Drops whole channels of a volume (depth, height, width, channels) with probability `rate`; shape-preserving."""

    kind = "SpatialDropout3D"
    aliases = ("Dropout3d", "Dropout3D")
    spatial_rank = 3
    shape_rule = "(depth, height, width, channels) (channels-last) -> same shape; whole channels are dropped"


@register
class GaussianNoise(_Regularizer):
    """Adds zero-mean Gaussian noise of standard deviation `stddev`; shape-preserving."""

    kind = "GaussianNoise"
    schema = (Arg("stddev", Float(min=0.0), positional=True, aliases=("std",), doc="standard deviation of the noise"),)


@register
class GaussianDropout(_Regularizer):
    """Multiplies by Gaussian noise of mean 1 and variance rate / (1 - rate); shape-preserving."""

    kind = "GaussianDropout"
    schema = (_rate_arg("drop probability; noise variance is rate / (1 - rate)"),)


@register
class AlphaDropout(_Regularizer):
    """Dropout that keeps the self-normalizing mean and variance (for SELU networks); shape-preserving."""

    kind = "AlphaDropout"
    schema = (_rate_arg(),)
