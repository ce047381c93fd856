"""Core layers: Dense, Output, Flatten, Reshape, Permute, RepeatVector, Embedding, Identity."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from neural.config.args import Arg, Bool, Config, Int, IntSeq, Optional_
from neural.errors import InvalidValueError
from neural.layers.activations import activation_arg, activation_weights
from neural.layers.base import LayerContext, LayerSpec, Outputs, Shape, Weight, fmt_shape, mul
from neural.layers.registry import register


@register
class Dense(LayerSpec):
    """Fully connected layer on the last axis: (..., in) -> (..., units)."""

    kind = "Dense"
    aliases: ClassVar[tuple[str, ...]] = ("Linear",)
    family = "core"
    schema = (
        Arg("units", Int(min=1), positional=True, aliases=("out_features",), doc="output features"),
        activation_arg(),
        Arg("use_bias", Bool(), True, aliases=("bias",), doc="add a learned bias"),
    )
    shape_rule = "(..., in_features) -> (..., units)"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        self.expect_min_rank(shape, 1, "(..., features)")
        if shape[-1] is None:
            raise self.fail("a known number of input features (last axis)", shape)
        return (*shape[:-1], cfg.units)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        in_features = inputs[0][-1]
        assert in_features is not None
        found = {"weight": Weight((cfg.units, in_features))}
        if cfg.use_bias:
            found["bias"] = Weight((cfg.units,))
        return {**found, **activation_weights(cfg)}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        return mul(*inputs[0], cfg.units)


@register
class Output(Dense):
    """A Dense layer that ends the network: `Output(10, "softmax")`."""

    kind = "Output"
    aliases: ClassVar[tuple[str, ...]] = ()
    terminal = True


@register
class Identity(LayerSpec):
    """Passes its input through unchanged."""

    kind = "Identity"
    family = "core"
    shape_rule = "output shape equals input shape"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        return inputs[0]


@register
class Flatten(LayerSpec):
    """Flattens all non-batch axes into one: (d1, d2, ...) -> (d1 * d2 * ...,)."""

    kind = "Flatten"
    family = "core"
    shape_rule = "(d1, d2, ...) -> (d1 * d2 * ...,)"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        if any(d is None for d in shape):
            raise self.fail("an input whose dimensions are all known", shape)
        return (math.prod(d for d in shape if d is not None),)


@register
class Reshape(LayerSpec):
    """Reshapes to `target_shape` (without the batch axis); one entry may be -1."""

    kind = "Reshape"
    family = "core"
    schema = (Arg("target_shape", IntSeq(allow_neg1=True), positional=True, aliases=("shape",), doc="new shape"),)
    shape_rule = "(...) -> target_shape, same number of elements"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        target: tuple[int, ...] = cfg.target_shape
        total = mul(*shape)
        known_part = math.prod(d for d in target if d != -1)
        if total is None:
            if -1 in target:
                return tuple(None if d == -1 else d for d in target)
            raise self.fail(f"an input with a known size to reshape to {fmt_shape(target)}", shape)
        if -1 in target:
            if total % known_part:
                raise self.fail(f"a size divisible by {known_part} to reshape to {fmt_shape(target)}", shape)
            return tuple(total // known_part if d == -1 else d for d in target)
        if known_part != total:
            raise self.fail(
                f"{known_part} elements to reshape to {fmt_shape(target)}", f"{fmt_shape(shape)} ({total} elements)"
            )
        return target


@register
class Permute(LayerSpec):
    """Reorders the non-batch axes; `dims` are 1-based as in Keras: Permute((2, 1)) swaps two axes."""

    kind = "Permute"
    family = "core"
    schema = (Arg("dims", IntSeq(), positional=True, doc="1-based permutation of the non-batch axes"),)
    shape_rule = "output[i] = input[dims[i] - 1]"

    def check_config(self, cfg: Config) -> Config:
        if sorted(cfg.dims) != list(range(1, len(cfg.dims) + 1)):
            raise InvalidValueError(
                f"`Permute` argument `dims` must be a permutation of 1..{len(cfg.dims)}; received {cfg.dims}"
            )
        return cfg

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        shape = inputs[0]
        self.expect_rank(shape, len(cfg.dims))
        return tuple(shape[d - 1] for d in cfg.dims)


@register
class RepeatVector(LayerSpec):
    """Repeats a vector `n` times: (features,) -> (n, features)."""

    kind = "RepeatVector"
    family = "core"
    schema = (Arg("n", Int(min=1), positional=True, doc="number of repetitions"),)
    shape_rule = "(features,) -> (n, features)"

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        self.expect_rank(inputs[0], 1, "(features,)")
        return (cfg.n, inputs[0][0])


@register
class Embedding(LayerSpec):
    """Looks up integer ids in a table: (...) -> (..., output_dim)."""

    kind = "Embedding"
    family = "core"
    integer_input = True
    schema = (
        Arg("input_dim", Int(min=1), positional=True, aliases=("num_embeddings", "vocab_size"), doc="vocabulary size"),
        Arg("output_dim", Int(min=1), positional=True, aliases=("embedding_dim",), doc="vector size"),
        Arg("padding_idx", Optional_(Int(min=0)), None, doc="id whose vector stays zero and gets no gradient"),
    )
    shape_rule = "(...) integer ids -> (..., output_dim)"

    def check_config(self, cfg: Config) -> Config:
        if cfg.padding_idx is not None and cfg.padding_idx >= cfg.input_dim:
            raise InvalidValueError(
                f"`Embedding` argument `padding_idx` must be below input_dim={cfg.input_dim}; received {cfg.padding_idx}"
            )
        return cfg

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        return (*inputs[0], cfg.output_dim)

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return {"weight": Weight((cfg.input_dim, cfg.output_dim))}
