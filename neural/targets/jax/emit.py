"""What an emitter returns for one layer, and the registry of emitters by layer kind (JAX/Flax NNX).

An emitter turns one analysed node into Flax NNX code: an optional constructor expression (the layer
becomes `self.<name> = <module>` in the model's `__init__`, which receives `rngs`), more modules the
layer owns under derived attribute names (a fused PReLU slope), a function writing the `__call__`
expression from the input expressions, the data layout it needs, and where each of the layer's
canonical weights (PyTorch names and layouts) lives in the NNX state.

Layouts: "flax" (feature maps channels-last, as flax's convolutions and poolings take them), "lang"
(the .neural file's layout) or "any" (element-wise layers keep whatever they get). For a
channels-last network the two are the same; a channels-first network is moved channels-last before
the first spatial layer and back where the language's layout is needed. Every literal is `repr()`'d.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from neural.targets.common.emit import EmitContextBase, EmitterRegistry, call, lit

__all__ = ["call", "lit"]

Layout = Literal["flax", "lang", "any"]
Path = tuple[str | int, ...]


class Refs(str):
    """The expression of a layer's main module (`self.conv2d_1`); `refs["activation"]` gives the expression
    of a module the layer owns besides it (`self.conv2d_1_activation`)."""

    extras: Mapping[str, str]

    def __new__(cls, main: str, extras: Mapping[str, str] | None = None) -> Refs:
        obj = super().__new__(cls, main)
        obj.extras = dict(extras or {})
        return obj

    def __getitem__(self, name: str) -> str:  # type: ignore[override]
        return self.extras[name]


@dataclass(frozen=True)
class WeightSlot:
    """Where one canonical weight lives: in module `owner` ("" = the layer's main module, else a key of
    `LayerCode.extras`) at `path` below it, converted by the named `layout` transform (weights.py)."""

    path: Path
    layout: str = "same"
    owner: str = ""


@dataclass(frozen=True)
class LayerCode:
    """Generated code for one node.

    `module`: constructor expression or None for stateless layers. `extras`: more modules the layer owns
    (key -> constructor), each an attribute `<layer>_<key>`. `forward(inputs, refs)`: the output
    expression (a tuple expression for several outputs). `needs`: the layout its inputs must be in;
    `produces`: the layout of its output ("any" = the layout of its first input). `helpers`: support
    definitions the code uses. `weights`: canonical weight name (without the node prefix) -> slot.
    """

    forward: Callable[[Sequence[str], Refs], str]
    module: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    needs: Layout = "any"
    produces: Layout = "any"
    helpers: tuple[str, ...] = ()
    comment: str = ""
    weights: Mapping[str, WeightSlot] = field(default_factory=dict)


@dataclass(frozen=True)
class EmitContext(EmitContextBase[Layout]):
    """What an emitter may read (see `EmitContextBase`), and flax's axes."""

    def moved(self, layout: Layout) -> bool:
        """Whether a feature map in `layout` is laid out differently from the language's layout."""
        return layout == "flax" and not self.ctx.channels_last

    def jax_axis(self, lang_axis: int, rank: int, layout: Layout | None = None) -> int:
        """A language axis (of the non-batch dims, negatives from the end) as an axis of the batched
        array in `layout` (default: the first input's)."""
        axis = lang_axis % rank
        if self.moved(layout or self.layout) and rank >= 2:
            axis = rank - 1 if axis == 0 else axis - 1
        return axis + 1

    def spatial_axes(self, rank: int, layout: Layout | None = None) -> tuple[int, ...]:
        """The batched array's spatial axes of a feature map with `rank` spatial dims in `layout`."""
        first = 1 if self.ctx.channels_last or self.moved(layout or self.layout) else 2
        return tuple(range(first, first + rank))


Emitter = Callable[[EmitContext], LayerCode]
REGISTRY: EmitterRegistry[Emitter] = EmitterRegistry("JAX", "neural.targets.jax.emitters.catalogue")
emitter, unsupported, require_emitter = REGISTRY.emitter, REGISTRY.unsupported, REGISTRY.require
get_emitter, support_status = REGISTRY.get, REGISTRY.status
_EMITTERS, _UNSUPPORTED, _ensure_loaded = REGISTRY.emitters, REGISTRY.reasons, REGISTRY.ensure_loaded


def with_rngs(ctor: str) -> str:
    """`ctor` with `rngs=rngs` added as the last argument."""
    assert ctor.endswith(")")
    return f"{ctor[:-1]}, rngs=rngs)" if not ctor.endswith("()") else f"{ctor[:-1]}rngs=rngs)"


def single(fn: Callable[[str], str]) -> Callable[[Sequence[str], Refs], str]:
    """A forward for one-input layers written as a function of that input."""
    return lambda inputs, m: fn(inputs[0])


def linear_slots(prefix: str = "", path: Path = (), bias: bool = True, owner: str = "") -> dict[str, WeightSlot]:
    """The canonical `weight` (out, in) / `bias` of an nnx.Linear at `path`."""
    found = {f"{prefix}weight": WeightSlot((*path, "kernel"), "linear", owner)}
    if bias:
        found[f"{prefix}bias"] = WeightSlot((*path, "bias"), "same", owner)
    return found
