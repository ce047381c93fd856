"""The layer spec: one class per layer kind, declaring its arguments and its pure shape/count rules.

Shapes exclude the batch dimension. A dimension is an int, or None when only known at run time
(a variable sequence length). Layouts: the language is channels-last unless a network declares
`layout: channels_first`; `LayerContext` tells spatial layers which axis holds the channels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from neural.config.args import Arg, Config
from neural.errors import ShapeError

Dim = Union[int, None]
Shape = tuple[Dim, ...]
Outputs = Union[Shape, tuple[Shape, ...]]


@dataclass(frozen=True)
class Weight:
    """One parameter tensor of a layer (PyTorch layout and name). `trainable=False` marks state."""

    shape: tuple[int, ...]
    trainable: bool = True

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class LayerContext:
    """What a shape rule may know besides its inputs: the network's data layout."""

    layout: str = "channels_last"

    @property
    def channels_last(self) -> bool:
        return self.layout == "channels_last"

    def split(self, shape: Shape) -> tuple[Shape, Dim]:
        """(spatial dims, channels) of a feature map in this layout."""
        if self.channels_last:
            return shape[:-1], shape[-1]
        return shape[1:], shape[0]

    def join(self, spatial: Sequence[Dim], channels: Dim) -> Shape:
        """A feature-map shape from spatial dims and a channel count, in this layout."""
        return (*spatial, channels) if self.channels_last else (channels, *spatial)

    def spatial_names(self, n: int) -> str:
        names = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}[n]
        parts = (*names, "channels") if self.channels_last else ("channels", *names)
        return "(" + ", ".join(parts) + ")"


def fmt_shape(shape: Shape) -> str:
    """`(28, 28, 1)`; unknown dims print as `None`."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def known(*dims: Dim) -> bool:
    return all(d is not None for d in dims)


def mul(*dims: Dim) -> int | None:
    """Product of dims, None if any is unknown."""
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= d
    return total


class LayerSpec:
    """Base of every layer kind. Subclasses set the class attributes and override the rules.

    - `output_shape(cfg, inputs, ctx)`: output shape (a tuple of shapes for several outputs);
      raises `ShapeError` naming what it received and what it expects.
    - `weights(cfg, inputs, ctx)`: name -> `Weight`, PyTorch names and layouts.
    - `macs(cfg, inputs, outputs, ctx)`: multiply-accumulates of matrix products and convolutions
      for one sample (None when a dimension is unknown).
    """

    kind: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[str] = ""
    schema: ClassVar[tuple[Arg, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    shape_rule: ClassVar[str] = ""
    integer_input: ClassVar[bool] = False
    terminal: ClassVar[bool] = False

    @property
    def doc(self) -> str:
        text = (type(self).__doc__ or "").strip()
        return text.splitlines()[0] if text else self.kind

    def check_config(self, cfg: Config) -> Config:
        """Cross-argument checks and normalization after binding; raise `InvalidValueError`."""
        return cfg

    def num_outputs(self, cfg: Config) -> int:
        return 1

    def output_shape(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Outputs:
        raise NotImplementedError

    def weights(self, cfg: Config, inputs: Sequence[Shape], ctx: LayerContext) -> Mapping[str, Weight]:
        return {}

    def macs(self, cfg: Config, inputs: Sequence[Shape], outputs: Sequence[Shape], ctx: LayerContext) -> int | None:
        return 0

    # --- helpers for shape rules ---
    def fail(self, expected: str, received: Shape | str) -> ShapeError:
        got = received if isinstance(received, str) else fmt_shape(received)
        return ShapeError(f"{self.kind} expects {expected}, received {got}")

    def expect_rank(self, shape: Shape, rank: int | tuple[int, ...], what: str = "") -> None:
        ranks = (rank,) if isinstance(rank, int) else rank
        if len(shape) not in ranks:
            words = " or ".join(str(r) for r in ranks)
            suffix = f" {what}" if what else ""
            raise self.fail(f"input of rank {words}{suffix}", shape)

    def expect_min_rank(self, shape: Shape, rank: int, what: str = "") -> None:
        if len(shape) < rank:
            suffix = f" {what}" if what else ""
            raise self.fail(f"input of rank at least {rank}{suffix}", shape)

    def expect_known(self, shape: Shape, axes: Sequence[int], what: str) -> None:
        for axis in axes:
            if shape[axis] is None:
                raise self.fail(f"a known {what}", shape)


def describe_config(cfg: Mapping[str, Any]) -> str:
    from neural.config.values import describe

    return ", ".join(f"{k}={describe(v)}" for k, v in cfg.items())
